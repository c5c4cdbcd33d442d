//! `ch10-paged-attention`: generation through a paged KV cache (under construction).

mod simulate_cmd;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("simulate") {
        return simulate_cmd::main(args);
    }
    eprintln!("error: chapter 10's binary is not built yet");
    std::process::ExitCode::from(1)
}
