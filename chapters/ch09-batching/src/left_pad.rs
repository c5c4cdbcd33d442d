//! Prompts of different lengths stacked into one array, padded on the left.

use ndarray::Array2;
use shared::{Error, Result};

// ANCHOR: left_pad
/// A batch of prompts as one `[batch, seq]` array: each row is `seq - len` pad tokens, then the
/// prompt, so every prompt ends in the last column and new tokens are appended in step.
///
/// ```text
/// prompt 0:  The  cat  sat           ids   [pad, The, cat, sat]    mask [0, 1, 1, 1]
/// prompt 1:  A    dog  ran  away ->        [A,   dog, ran, away]        [1, 1, 1, 1]
/// prompt 2:  Hi                            [pad, pad, pad, Hi  ]        [0, 0, 0, 1]
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LeftPadded {
    pub ids: Array2<u32>,   // [batch, seq]
    pub mask: Array2<bool>, // [batch, seq]: true for a prompt token, false for padding
}

impl LeftPadded {
    /// Pad every prompt to the longest with `pad_id` (any id the model knows: the mask hides it).
    pub fn new(prompts: &[Vec<u32>], pad_id: u32) -> Result<Self> {
        let seq = prompts.iter().map(Vec::len).max().ok_or(Error::EmptyPrompt)?;
        if prompts.iter().any(Vec::is_empty) {
            return Err(Error::EmptyPrompt);
        }
        let mut ids = Array2::from_elem((prompts.len(), seq), pad_id);
        let mut mask = Array2::from_elem((prompts.len(), seq), false);
        for (b, prompt) in prompts.iter().enumerate() {
            let pad = seq - prompt.len();
            for (t, &id) in prompt.iter().enumerate() {
                ids[[b, pad + t]] = id;
                mask[[b, pad + t]] = true;
            }
        }
        Ok(LeftPadded { ids, mask })
    }
}
// ANCHOR_END: left_pad

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn pads_on_the_left_and_marks_the_prompt() {
        let b = LeftPadded::new(&[vec![5, 6], vec![7, 8, 9], vec![4]], 0).unwrap();
        assert_eq!(b.ids, array![[0, 5, 6], [7, 8, 9], [0, 0, 4]]);
        assert_eq!(b.mask, array![[false, true, true], [true, true, true], [false, false, true]]);
        assert!(LeftPadded::new(&[], 0).is_err());
        assert!(LeftPadded::new(&[vec![1], vec![]], 0).is_err());
    }
}
