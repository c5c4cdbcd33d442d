//! The `bench` tool run as a user would: the JSON has every figure (no timing is checked), and
//! bad input is one `error:` line.

use serde_json::Value;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bench")).args(args).output().expect("the binary runs")
}

#[test]
fn the_json_has_every_figure_and_the_machine() {
    let out = run(&[
        "--config", "tiny", "--json", "--prompt-len", "4,20", "--new-tokens", "4", "--uncached-new-tokens", "3",
        "--prefill-len", "32", "--runs", "2", "--bandwidth-mib", "8",
    ]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for key in [
        "cached_tokens_per_s", "uncached_tokens_per_s", "roofline_tokens_per_s", "prefill_gflops",
        "sgemm_peak_gflops", "bandwidth_gbps", "weight_bytes_per_token", "cached_vs_roofline",
        "prefill_vs_sgemm_peak",
    ] {
        assert!(v[key].is_number(), "{key} missing");
    }
    assert_eq!(v["config"], "tiny");
    assert_eq!(v["decode"].as_array().unwrap().len(), 2);
    // the CPU model is the one the kernel reports (an independent reading of /proc/cpuinfo)
    if let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") {
        if let Some(line) = cpuinfo.lines().find(|l| l.starts_with("model name")) {
            let name = line.split_once(':').unwrap().1.trim();
            assert_eq!(v["cpu"], name);
        }
    }
    assert!(v["kernels"]["gemv_dot_f32"].is_string() && v["kernels"]["sgemm"].is_string(), "{}", v["kernels"]);
    assert_eq!(v["weights"], "f32");
}

#[test]
fn bad_input_is_one_error_line() {
    for (args, expected) in [
        (&["--runs", "0"][..], "--runs"),
        (&["--prompt-len", "8,2000"][..], "context"),
        (&["--model", "/definitely/not/a/folder"][..], "not/a/folder"),
        (&["--no-such-option"][..], "--no-such-option"),
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr:?}");
        assert!(lines[0].starts_with("error: ") && lines[0].contains(expected), "{args:?}: {stderr:?}");
    }
}

#[test]
fn the_shared_bad_inputs_get_the_shared_answers() {
    use shared::cli::conformance::{check, Group};
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_bench"));
    let problems = check(exe, &[], &[Group::Any, Group::Model]);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
