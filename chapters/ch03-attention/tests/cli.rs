//! The chapter 3 demo: the cached queries get exactly the prefill's last rows, every row of
//! weights sums to 1 with nothing after the diagonal, and it writes its plot.

use std::process::Command;

#[test]
fn cached_rows_equal_prefill_rows_and_the_plot_is_written() {
    let out = std::env::temp_dir().join(format!("ch03-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new(env!("CARGO_BIN_EXE_ch03-attention")).args(["--out", out.to_str().unwrap()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("max |difference| with rows 5..8 of step 1: 0\n"), "{stdout}");
    // the prefill table: rows q0..q7, `·` right of the diagonal, weights summing to 1
    let rows: Vec<&str> = stdout.lines().skip_while(|l| !l.starts_with("1. prefill")).skip(2).take(8).collect();
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<&str> = row.split_whitespace().skip(1).collect();
        assert_eq!(cells.len(), 8, "{row}");
        assert!(cells[i + 1..].iter().all(|c| *c == "·"), "query {i} must not see later keys: {row}");
        let sum: f64 = cells[..=i].iter().map(|c| c.parse::<f64>().unwrap()).sum();
        assert!((sum - 1.0).abs() < 0.05, "query {i}'s weights (2 decimals) should sum to 1: {row}");
    }
    let svg = std::fs::read_to_string(out.join("attention_weights.svg")).expect("the plot is written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "a whole SVG file");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_ch03-attention"));
    let problems = check(exe, &[], &[Group::Any, Group::Out]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
