//! Which saved context to load for a prompt (the reference solution of exercise ch11-2).

// ANCHOR: longest_prefix
// ANCHOR: longest_prefix_signature
/// The index in `saved` of the longest token-id sequence that is a strict prefix of `prompt`
/// (at least one prompt token must remain to compute), or `None` when none is. Ties go to the
/// first. By ids, not text: two texts can tokenize differently at the join.
///
/// ```text
/// prompt [5, 6, 7, 8]   saved [[5, 6], [5, 6, 7], [5, 9], [5, 6, 7, 8]] -> Some(1)
/// ```
pub fn longest_prefix(prompt: &[u32], saved: &[Vec<u32>]) -> Option<usize> {
    // ANCHOR_END: longest_prefix_signature
    let mut best: Option<usize> = None;
    for (i, ids) in saved.iter().enumerate() {
        let fits = ids.len() < prompt.len() && prompt.starts_with(ids);
        if fits && best.is_none_or(|b| ids.len() > saved[b].len()) {
            best = Some(i);
        }
    }
    best
}
// ANCHOR_END: longest_prefix
