//! What the uncached generation binaries share (this chapter's GPT-2 and chapter 6's
//! families): the options, the prompt checks, streaming the text and the `--json` report.

use crate::causal_lm::CausalLm;
use crate::generate::{generate, GenerateOptions};
use crate::sampling::Sampling;
use ch01_tokenizer::{StreamDecoder, Tokenizer};
use shared::cli::{ModelArgs, PromptArgs, SamplingArgs};
use std::io::Write;

/// The options of a generation binary.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Print one JSON object (prompt ids, generated ids, text, timings) at the end, instead of the text.
    #[arg(long)]
    pub json: bool,
}

/// Every way a generation binary can fail.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Model(#[from] shared::Error),
    #[error(transparent)]
    Tokenizer(#[from] ch01_tokenizer::TokenizerError),
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

impl GenerateArgs {
    /// The sampling options, checked.
    pub fn sampling(&self) -> Result<Sampling, RunError> {
        let SamplingArgs { temperature, top_k, top_p } = self.sampling;
        let sampling = Sampling { temperature, top_k, top_p };
        sampling.validate()?;
        Ok(sampling)
    }

    /// The prompt's ids, checked to be non-empty and to fit `context_length` with the new tokens
    /// (before any weights are loaded).
    pub fn prompt_ids(&self, tokenizer: &Tokenizer, context_length: usize) -> Result<Vec<u32>, RunError> {
        let prompt_ids = tokenizer.encode_prompt(&self.prompt.prompt)?;
        if prompt_ids.is_empty() {
            return Err(shared::Error::EmptyPrompt.into());
        }
        let len = prompt_ids.len() + self.prompt.max_new_tokens;
        if len > context_length {
            return Err(shared::Error::ContextOverflow { len, context_length }.into());
        }
        Ok(prompt_ids)
    }

    /// [`GenerateArgs::generate_and_print_named`] without a model name: random weights exactly
    /// when no --model was given.
    pub fn generate_and_print<M: CausalLm>(
        &self,
        model: &mut M,
        tokenizer: &Tokenizer,
        prompt_ids: &[u32],
        eos_token_id: Option<u32>,
    ) -> Result<(), RunError> {
        self.generate_and_print_named(model, tokenizer, prompt_ids, eos_token_id, None, self.model.model.is_none())
    }

    /// Generate, uncached, streaming the text to stdout as it comes (a timing line on stderr),
    /// or print one JSON object with `--json`. Generation stops after `eos_token_id`.
    /// `model_name` (which model ran) goes into the JSON as `model`.
    pub fn generate_and_print_named<M: CausalLm>(
        &self,
        model: &mut M,
        tokenizer: &Tokenizer,
        prompt_ids: &[u32],
        eos_token_id: Option<u32>,
        model_name: Option<&str>,
        random_weights: bool,
    ) -> Result<(), RunError> {
        let options = GenerateOptions {
            max_new_tokens: self.prompt.max_new_tokens,
            sampling: self.sampling()?,
            seed: self.model.seed,
            eos_token_id,
        };
        let mut stream = StreamDecoder::new(tokenizer);
        let mut stdout = std::io::stdout().lock();
        if !self.json {
            write!(stdout, "{}", self.prompt.prompt)?;
            stdout.flush()?;
        }
        let generation = generate(model, prompt_ids, &options, |id| {
            if !self.json {
                let piece = stream.push(id).map_err(|e| shared::Error::InvalidArgument(e.to_string()))?;
                if let Some(piece) = piece {
                    let _ = write!(stdout, "{piece}");
                    let _ = stdout.flush();
                }
            }
            Ok(())
        })?;
        let text = tokenizer.decode(&generation.new_ids)?;
        if self.json {
            let mut out = serde_json::json!({
                "prompt": self.prompt.prompt,
                "prompt_ids": generation.prompt_ids,
                "generated_ids": generation.new_ids,
                "text": text,
                "stopped_at_eos": generation.stopped_at_eos,
                "random_weights": random_weights,
                "time_to_first_token_s": generation.time_to_first_token.as_secs_f64(),
                "total_s": generation.total_time.as_secs_f64(),
                "tokens_per_s": generation.tokens_per_second(),
            });
            if let Some(name) = model_name {
                out["model"] = name.into();
            }
            writeln!(stdout, "{out}")?;
        } else {
            if let Some(rest) = stream.finish()? {
                write!(stdout, "{rest}")?;
            }
            writeln!(stdout)?;
            let eos = eos_token_id.and_then(|id| tokenizer.id_to_token(id)).unwrap_or_default();
            eprintln!(
                "{} prompt tokens, {} new tokens in {:.2} s ({:.1} tokens/s, uncached){}",
                generation.prompt_ids.len(),
                generation.new_ids.len(),
                generation.total_time.as_secs_f64(),
                generation.tokens_per_second(),
                if generation.stopped_at_eos { format!(", stopped at {eos}") } else { String::new() }
            );
        }
        Ok(())
    }
}
