//! Command-line pieces every measuring binary shares: model presets, lists of lengths, and
//! clap's errors as one line.

use clap::ValueEnum;
use shared::GptConfig;

/// Model shapes a binary can build with random weights.
///
/// A preset is a name: the GPT-2 ones carry their [`GptConfig`] ([`Preset::gpt2_config`]);
/// the others are built by the adapter of their family (the `bench` tool maps `smollm2-135m`
/// to chapter 6's `DecoderConfig::smollm2_135m()`), which this library cannot see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// GPT-2 small: 124M parameters, 12 layers, 12 heads, 768 wide, context 1024.
    #[value(name = "124m")]
    Gpt2_124m,
    /// 4 layers, 4 heads, 256 wide, GPT-2's vocabulary and context.
    #[value(name = "small")]
    Small,
    /// 2 layers, 2 heads, 32 wide, context 256: for fast tests of the whole program.
    #[value(name = "tiny", hide = true)]
    Tiny,
    /// SmolLM2-135M's shape, a Llama: 30 layers, 576 wide, 9 query heads sharing 3 key/value
    /// heads, MLP 1536, vocabulary 49152, tied embeddings.
    #[value(name = "smollm2-135m")]
    Smollm2_135m,
    /// A 2-layer Llama, 32 wide, with grouped-query attention: for fast tests of the whole program.
    #[value(name = "llama-tiny", hide = true)]
    LlamaTiny,
    /// A small Mixtral (chapter 7): 6 layers, 768 wide, 12 query heads sharing 4 key/value
    /// heads, 8 experts of width 2048 with 2 per token, vocabulary 32000, tied embeddings
    /// (260M parameters, 91M read per token).
    #[value(name = "mixtral-small")]
    MixtralSmall,
}

impl Preset {
    /// The shape of a GPT-2 preset; `None` for a preset of another family.
    pub fn gpt2_config(self) -> Option<GptConfig> {
        match self {
            Preset::Gpt2_124m => Some(GptConfig::gpt2_124m()),
            Preset::Small => Some(GptConfig::small()),
            Preset::Tiny => Some(GptConfig::gpt2_like(50257, 256, 32, 2, 2)),
            Preset::Smollm2_135m | Preset::LlamaTiny | Preset::MixtralSmall => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Gpt2_124m => "gpt2-124m",
            Preset::Small => "small",
            Preset::Tiny => "tiny",
            Preset::Smollm2_135m => "smollm2-135m",
            Preset::LlamaTiny => "llama-tiny",
            Preset::MixtralSmall => "mixtral-small",
        }
    }
}

/// A comma-separated list of positive token counts (`10,20,50`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lengths(pub Vec<usize>);

/// Parse `10,20,50` into sorted, distinct, positive counts.
pub fn parse_lengths(text: &str) -> Result<Lengths, String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err("expected positive whole numbers separated by commas, like 10,20,50".into());
        }
        match part.parse::<usize>() {
            Ok(0) => return Err("0 is not a length: every length must be at least 1 token".into()),
            Ok(n) => out.push(n),
            Err(_) => return Err(format!("{part:?} is not a positive whole number")),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(Lengths(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_parse_sort_and_reject() {
        assert_eq!(parse_lengths("50, 10,20,10").unwrap(), Lengths(vec![10, 20, 50]));
        assert!(parse_lengths("").is_err());
        assert!(parse_lengths("10,,20").is_err());
        assert!(parse_lengths("0").is_err());
        assert!(parse_lengths("-3").is_err());
        assert!(parse_lengths("ten").is_err());
    }
}
