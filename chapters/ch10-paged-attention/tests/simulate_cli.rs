//! `simulate --json`: the keys the issue names, and the property it asks for (paged holds at
//! least 90% real tokens, more than either contiguous strategy).

use std::process::Command;

fn simulate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ch10-paged-attention")).arg("simulate").args(args).output().expect("the binary runs")
}

#[test]
fn json_names_paged_and_contiguous_and_paging_wins() {
    let out = simulate(&["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let utilization = |key: &str| json[key]["utilization"].as_f64().unwrap_or_else(|| panic!("no {key}.utilization in {json}"));
    let paged = utilization("paged");
    assert!(paged >= 0.9, "paged utilization {paged}");
    for key in ["contiguous_context", "contiguous_max_tokens"] {
        assert!(utilization(key) < paged, "{key}");
        assert!(json[key]["requests_fit"].as_u64() < json["paged"]["requests_fit"].as_u64(), "{key}");
    }
    // the shares are tokens / reserved slots, and every strategy holds the same tokens
    let tokens = json["paged"]["tokens"].as_f64().unwrap();
    for key in ["paged", "contiguous_context", "contiguous_max_tokens"] {
        assert_eq!(json[key]["tokens"].as_f64(), Some(tokens));
        assert!((utilization(key) - tokens / json[key]["reserved_token_slots"].as_f64().unwrap()).abs() < 1e-12);
    }
}

#[test]
fn the_plot_is_an_svg_file() {
    let dir = std::env::temp_dir().join(format!("ch10-simulate-plot-{}", std::process::id()));
    let path = dir.join("waste.svg");
    let out = simulate(&["--requests", "50", "--plot", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("paged: blocks of 16"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_input_is_one_error_line_and_exit_2() {
    for args in [&["--block-size", "0"][..], &["--requests", "-1"], &["--no-such-option"]] {
        let out = simulate(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: ") && stderr.trim_end().lines().count() == 1, "{args:?}: {stderr}");
    }
}
