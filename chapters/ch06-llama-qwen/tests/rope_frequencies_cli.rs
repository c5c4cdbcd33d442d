//! The `rope-frequencies` plot binary: the frequencies it prints are theta^(-2i/128) worked out
//! by hand, the shared bad inputs get the shared answers, and it writes a whole SVG.

use std::process::Command;

const EXE: &str = env!("CARGO_BIN_EXE_rope-frequencies");

#[test]
fn prints_the_frequencies_of_theta_and_writes_the_plot() {
    let out = std::env::temp_dir().join(format!("ch06-rope-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new(EXE).args(["--out", out.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    // pair 32 of 64: theta^(-64/128) = 1 / sqrt(theta): 10000 -> 0.01, 500000 -> 1.414e-3.
    // Llama 3.1: wavelength 2 pi / 1.414e-3 = 4443 tokens lies between 8192 / 4 and 8192, so
    // smooth = (8192 / 4443 - 1) / 3 = 0.2813 and the frequency is
    // ((1 - 0.2813) / 8 + 0.2813) x 1.414e-3 = 5.248e-4.
    let row = stdout.lines().find(|l| l.trim_start().starts_with("32 ")).expect("a row for pair 32");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, ["32", "1.000e-2", "628", "1.414e-3", "4,443", "5.248e-4", "11,971"], "{row}");
    // head_dim 128 at theta 500000: pair i keeps its frequency when 2 pi 500000^(2i/128) < 2048,
    // i.e. i <= 28 (29 pairs); it is divided by 8 when the wavelength passes 8192, i.e. i >= 35.
    assert!(stdout.contains("29 pairs with a wavelength under 2048 tokens are kept, 29 above 8192"), "{stdout}");
    let svg = std::fs::read_to_string(out.join("rope_frequencies.svg")).expect("the plot is written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "a whole SVG file");
    assert!(svg.contains("Llama 3.1: theta 500,000, llama3 scaling x8"), "the legend names the series");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let problems = check(std::path::Path::new(EXE), &[], &[Group::Any, Group::Out]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn help_says_what_it_draws() {
    let run = Command::new(EXE).arg("--help").output().unwrap();
    assert!(run.status.success());
    let help = String::from_utf8_lossy(&run.stdout);
    assert!(help.contains("--out <DIR>") && help.contains("rope_frequencies.svg"), "{help}");
}
