//! The README promises a minimum Rust version; this checks that promise against the lock file.
//!
//! The workspace declares `rust-version` once (Cargo.toml, `[workspace.package]`), every crate
//! inherits it, and the README repeats it. A locked dependency that needs a newer compiler than
//! that (proptest 1.12 needs 1.88, for example) would make the promise false: this test reads
//! every package's `rust_version` from `cargo metadata` and fails on the first one above ours.

use std::process::Command;

/// `1.85`, `1.85.0` -> `[1, 85, 0]`
fn parse(version: &str) -> Vec<u64> {
    let mut parts: Vec<u64> = version.split('.').map(|p| p.parse().expect("numeric rust-version")).collect();
    parts.resize(3, 0);
    parts
}

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let host = Command::new(&rustc).arg("-vV").output().expect("rustc -vV");
    let host = String::from_utf8_lossy(&host.stdout);
    let host = host.lines().find_map(|l| l.strip_prefix("host: ")).expect("rustc -vV names the host").to_string();
    // --filter-platform: only the packages this machine builds (Windows-only crates are never
    // downloaded here, and --offline must not need them)
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline", "--filter-platform", &host])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn no_locked_dependency_needs_a_newer_rust_than_the_workspace_declares() {
    let meta = metadata();
    let packages = meta["packages"].as_array().expect("packages");
    let members: Vec<&str> = meta["workspace_members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    let ours: Vec<&serde_json::Value> = packages.iter().filter(|p| members.contains(&p["id"].as_str().unwrap())).collect();
    assert!(!ours.is_empty());
    // every member inherits the one declaration
    let declared = ours[0]["rust_version"].as_str().expect("the workspace declares rust-version").to_string();
    for p in &ours {
        assert_eq!(p["rust_version"].as_str(), Some(declared.as_str()), "{} must inherit rust-version.workspace", p["name"]);
    }
    let too_new: Vec<String> = packages
        .iter()
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (parse(needs) > parse(&declared)).then(|| format!("{} {} needs Rust {needs}", p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
        })
        .collect();
    assert!(too_new.is_empty(), "the workspace declares rust-version {declared}, but: {}", too_new.join("; "));
    // and the README says the same
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    assert!(readme.contains(&format!("Rust {declared} or newer")), "README.md must say \"Rust {declared} or newer\"");
}

#[test]
fn versions_compare_numerically() {
    assert!(parse("1.88") > parse("1.85.0"));
    assert!(parse("1.100") > parse("1.99.9"));
    assert_eq!(parse("1.85"), parse("1.85.0"));
}
