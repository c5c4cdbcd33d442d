//! `ch10-paged-attention`: generation through a paged KV cache (under construction).

fn main() -> std::process::ExitCode {
    eprintln!("error: chapter 10's binary is not built yet");
    std::process::ExitCode::from(1)
}
