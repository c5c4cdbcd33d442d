//! Reading the committed transformers fixtures (`tests/fixtures/NAME/reference.json`, made by
//! `tools/make_fixtures.py`) in the parity tests of every chapter: where a folder is, its
//! reference, and the comparison of a model's logits with transformers' for every case.

use crate::Float;
use ndarray::Array2;
use serde_json::Value;
use std::path::PathBuf;

/// `tests/fixtures/NAME` of the workspace.
pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name)
}

/// The folder's `reference.json` (panics with the path if it is missing: a test helper).
pub fn reference(name: &str) -> Value {
    let path = fixture_dir(name).join("reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON list of token ids.
pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array().expect("a list of ids").iter().map(|x| x.as_u64().expect("an id") as u32).collect()
}

/// The logits `logits_of(input_ids)` (`[seq, vocab]`) of every case of fixture `name` against
/// transformers' array `key` (`logits_f32`, `logits_f64`): every position, every id within
/// `tol`. Returns the largest difference (and prints it).
pub fn check_logits<F: Float>(name: &str, key: &str, tol: f64, mut logits_of: impl FnMut(&[u32]) -> Array2<F>) -> f64 {
    let mut worst = 0.0f64;
    for case in reference(name)["cases"].as_array().expect("cases") {
        let expected = case[key].as_array().expect("logits");
        let logits = logits_of(&ids(&case["input_ids"])); // [seq, vocab]
        assert_eq!(logits.nrows(), expected.len(), "{name} {}: rows", case["name"]);
        for (t, row) in expected.iter().enumerate() {
            let row = row.as_array().expect("a row of logits");
            assert_eq!(logits.ncols(), row.len(), "{name} {}: vocabulary", case["name"]);
            for (v, e) in row.iter().enumerate() {
                let e = e.as_f64().expect("a logit");
                let d = (logits[[t, v]].as_f64() - e).abs();
                worst = worst.max(d);
                assert!(d <= tol, "{name} {} ({}): logit [{t}, {v}] = {} vs transformers {e} (|d| = {d:e})",
                    case["name"], F::NAME, logits[[t, v]]);
            }
        }
    }
    eprintln!("{name} ({}): max |logit - transformers| = {worst:e} (tolerance {tol:e})", F::NAME);
    worst
}
