#!/usr/bin/env bash
# Shows that each regression test of chapter 8 fails on the bug it guards: put the bug back
# (a small edit of the reference code), run the test, expect a failure, restore the file.
# Run from the repository root with a clean working tree for the files it touches.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
touched=()
restore() { for f in "${touched[@]}"; do git checkout -q -- "$f"; done; touched=(); }
trap restore EXIT

# mutate FILE PERL_SUBSTITUTION: apply and check that it changed the file
mutate() {
  local file=$1 expr=$2
  cp "$file" "$file.orig"
  perl -0pi -e "$expr" "$file"
  if cmp -s "$file" "$file.orig"; then
    echo "  ! mutation did not apply to $file: $expr"; rm "$file.orig"; return 1
  fi
  rm "$file.orig"; touched+=("$file")
}

# bug NAME TEST (FILE EXPR)...: apply the edits, the test must fail (the test is in
# chapter 8's tests/regressions.rs, or in tests/$suite.rs when `suite` is set)
bug() {
  local name=$1 test=$2; shift 2
  local ok=1
  while [ $# -gt 0 ]; do mutate "$1" "$2" || ok=0; shift 2; done
  if [ $ok = 0 ]; then status=1; restore; return; fi
  if cargo test -q -p ch08-kv-cache --test "${suite:-regressions}" "$test" >/dev/null 2>&1; then
    echo "FAIL  $name: test '$test' still passes with the bug"; status=1
  else
    echo "ok    $name: test '$test' fails with the bug"
  fi
  restore
}

bug "mask not offset by the cached length" mask_is_offset_by_the_cached_length \
  shared/src/mask.rs 's/let offset = kv_len - q_len;/let offset = 0;/'
bug "positions not taken from the caches" positions_advance_with_every_token \
  chapters/ch08-kv-cache/src/kv_model/position.rs 's/let start = self\.current_pos\(\)\?;/let start = 0;/g'
bug "caches not reset between prompts" reset_clears_every_layer_and_the_position \
  chapters/ch08-kv-cache/src/kv_model/position.rs 's/(pub fn reset_kv_cache\(&mut self\) \{\n(?:\s*\/\/[^\n]*\n)?)\s*self\.model\.reset_kv_cache\(\);/$1/'
bug "a cached generation does not start clean" generate_starts_clean_for_every_prompt \
  chapters/ch08-kv-cache/src/kv_model/next_token.rs 's/(fn start\(&mut self\) -> Result<\(\)> \{\n)\s*self\.reset_kv_cache\(\);/$1/'
bug "an uncached generation leaves stale state" generate_without_cache_then_forward_with_cache_gives_the_uncached_logits \
  chapters/ch08-kv-cache/src/cached_attention.rs 's/(fn reset_cache\(&mut self\) \{\n)\s*self\.cache\.reset\(\);/$1/'
bug "no context guard" context_overflow_is_a_clear_error_and_changes_nothing \
  chapters/ch08-kv-cache/src/kv_model.rs 's/(fn check_fits\(&self, start: usize, t: usize\) -> Result<\(\)> \{\n)/$1        return Ok(());\n/' \
  chapters/ch02-embeddings/src/forward.rs 's/if end > self\.context_length\(\) \{/if false {/'
suite=rotary bug "rotary keys rotated as if at position 0" cached_keys_and_values_equal_a_full_recompute \
  chapters/ch08-kv-cache/src/cached_attention.rs 's/let start_pos = if use_cache \{ self\.cache\.len\(\) \} else \{ 0 \};/let start_pos = 0;/'

# the reference passes again
if cargo test -q -p ch08-kv-cache --test regressions --test rotary >/dev/null 2>&1; then
  echo "ok    reference code: all regression tests pass"
else
  echo "FAIL  reference code: regression tests fail"; status=1
fi
exit $status
