#!/usr/bin/env bash
# For every exercise (chapters/*/exercises/info.toml), what rustlings' `dev check` proves: with
# its feature the chapter compiles, its tests fail on the committed stub, and they pass on the
# reference solution. Prints one row per exercise; exits non-zero if any row is wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p exercises -- dev-check
