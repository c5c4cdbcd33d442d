//! The benchmark on chapter 7's Mixtral fixture: the roofline counts the active weights only.

use serde_json::Value;
use std::process::Command;

#[test]
fn an_moe_folder_is_measured_by_its_active_weights() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/mixtral-tiny");
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--model", dir, "--json", "--prompt-len", "4", "--new-tokens", "4", "--uncached-new-tokens", "3"])
        .args(["--prefill-len", "16", "--runs", "1", "--bandwidth-mib", "8"])
        .output()
        .unwrap();
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    // by hand (vocab 311, 32 wide, 2 layers, 4 query / 2 kv heads of 8, 4 experts of width 40,
    // top-2, untied head): a layer's attention 32 x (32 + 2 x 16) + 32 x 32 = 3,072, two
    // norms 64, router 4 x 32 = 128, one expert 3 x 32 x 40 = 3,840
    let layer = |experts: u64| 3_072 + 64 + 128 + experts * 3_840;
    assert_eq!(v["n_params"], 2 * layer(4) + 32 + 2 * 311 * 32);
    // read per token: 2 of the 4 experts, the final norm, the head, one embedding row
    assert_eq!(v["weight_bytes_per_token"], 4.0 * (2 * layer(2) + 32 + 311 * 32 + 32) as f64);
}
