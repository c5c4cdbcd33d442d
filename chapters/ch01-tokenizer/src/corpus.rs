//! A training corpus this project writes itself: no copied text, fully deterministic.
//!
//! Sentences are built from templates and small hand-written word lists about the topics of
//! this book, mixed with invented words (syllables glued together, with Zipf-like frequencies)
//! so that byte-pair encoding finds enough distinct pairs to learn a GPT-2 sized vocabulary,
//! and with some accented, CJK and emoji text so multi-byte characters are in the data.

/// A small, seeded xorshift generator (no dependency, same numbers everywhere).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SUBJECTS: &[&str] = &[
    "the model", "a token", "the cache", "every layer", "the attention head", "our tokenizer",
    "the learner", "this chapter", "the decoder", "a small network", "the query", "each key",
    "the value vector", "the embedding table", "the prompt", "a long sequence", "the sampler",
    "the engineer", "my notebook", "the benchmark", "the softmax", "the residual stream",
];
const VERBS: &[&str] = &[
    "reads", "writes", "stores", "computes", "remembers", "predicts", "appends", "skips",
    "measures", "compares", "copies", "forgets", "grows", "learns", "samples", "explains",
    "checks", "loads", "saves", "splits", "merges", "counts", "repeats", "follows",
];
const OBJECTS: &[&str] = &[
    "the next word", "a new row", "the keys and values", "every position", "the whole prompt",
    "one vector", "the logits", "a probability", "the mask", "the old tokens", "its own output",
    "a number", "the weights", "the bytes", "a short story", "the memory bill", "the context",
];
const ENDINGS: &[&str] = &[
    "quickly", "again and again", "without a copy", "in one pass", "at every step", "for free",
    "one token at a time", "before the deadline", "with care", "in the morning", "twice",
];
const MULTIBYTE: &[&str] = &[
    "café", "naïve", "façade", "über", "Ångström", "señor", "crème brûlée", "déjà vu", "Zürich",
    "猫", "東京", "日本語", "学习", "模型", "缓存", "한국어", "Привет", "мир", "Ελληνικά", "λόγος",
    "🙂", "🚀", "✨", "🧠", "📚", "∑", "π ≈ 3.14", "x² + y²", "→", "€5", "½",
];
const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
    "br", "cl", "dr", "fl", "gr", "pl", "pr", "sh", "st", "th", "tr", "ch", "qu", "sk", "sp",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "y", "ai", "ea", "ou", "oo", "ie", "au"];
const CODAS: &[&str] = &["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck", "x", "ng", "rk"];

/// One invented word of 1-4 syllables.
fn pseudo_word(rng: &mut Rng) -> String {
    let n = 1 + rng.below(4);
    (0..n)
        .map(|_| format!("{}{}{}", rng.pick(ONSETS), rng.pick(VOWELS), rng.pick(CODAS)))
        .collect()
}

// ANCHOR: corpus
/// `n_sentences` lines of generated text (deterministic for a given seed).
pub fn generate(n_sentences: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    // an invented lexicon; word i is drawn with probability ~ 1/(i+1) (Zipf), so frequent
    // words become whole tokens and rare ones stay split into pieces
    let lexicon: Vec<String> = (0..60_000).map(|_| pseudo_word(&mut rng)).collect();
    let harmonic: f64 = (1..=lexicon.len()).map(|i| 1.0 / i as f64).sum();
    let zipf = |rng: &mut Rng| -> usize {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * harmonic;
        let mut acc = 0.0;
        // walking the harmonic series is fine: it is only done once per invented word
        for i in 0..lexicon.len() {
            acc += 1.0 / (i + 1) as f64;
            if acc >= u {
                return i;
            }
        }
        lexicon.len() - 1
    };
    let mut lines = Vec::with_capacity(n_sentences);
    for i in 0..n_sentences {
        let mut s = match rng.below(4) {
            0 => format!("{} {} {} {}.", rng.pick(SUBJECTS), rng.pick(VERBS), rng.pick(OBJECTS), rng.pick(ENDINGS)),
            1 => {
                let words: Vec<&str> = (0..3 + rng.below(8)).map(|_| lexicon[zipf(&mut rng)].as_str()).collect();
                let mut s = words.join(" ");
                s.push(if rng.below(5) == 0 { '?' } else { '.' });
                s
            }
            2 => format!(
                "{} {} {} {} and {}, {}.",
                lexicon[zipf(&mut rng)],
                rng.pick(VERBS),
                lexicon[zipf(&mut rng)],
                rng.pick(ENDINGS),
                rng.pick(MULTIBYTE),
                lexicon[zipf(&mut rng)]
            ),
            _ => format!(
                "In step {} the {} {} {} tokens ({}%).",
                rng.below(10_000),
                lexicon[zipf(&mut rng)],
                rng.pick(VERBS),
                rng.below(1000),
                rng.below(100)
            ),
        };
        if let Some(first) = s.get(0..1) {
            if i % 2 == 0 {
                s = first.to_uppercase() + &s[1..];
            }
        }
        lines.push(s);
    }
    lines
}
// ANCHOR_END: corpus

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_varied() {
        let a = generate(200, 1);
        assert_eq!(a, generate(200, 1));
        assert_ne!(a, generate(200, 2));
        let distinct: std::collections::HashSet<&String> = a.iter().collect();
        assert!(distinct.len() > 190);
        assert!(a.iter().any(|l| l.chars().any(|c| c.len_utf8() > 1)), "has multi-byte text");
    }
}
