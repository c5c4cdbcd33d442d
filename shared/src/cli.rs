//! One command-line convention for every binary of the workspace.
//!
//! Every chapter binary flattens the same argument structs into its own clap parser
//! ([`ModelArgs`], [`PromptArgs`], [`SamplingArgs`], [`OutArgs`]), so an option has the same
//! name, range, message and exit code everywhere, and parses through [`parse_or_exit`]:
//!
//! - a usage error (unknown option, value out of range, `--model` that is not a folder,
//!   `--out` that cannot be written) is one `error: ... (see --help)` line and exit code **2**;
//! - a run that fails (a corrupt checkpoint, a prompt longer than the context) is one
//!   `error: ...` line and exit code **1** ([`crate::exit_code`]);
//! - `--help` and `--version` print and exit 0.
//!
//! [`conformance`] is the table of bad inputs each binary's tests run against it.

use clap::{Args, Parser};
use std::path::{Path, PathBuf};

/// Exit code of a usage error (what clap itself uses).
pub const USAGE_ERROR: u8 = 2;

/// Parse the command line; on a usage error print one line and exit with [`USAGE_ERROR`].
pub fn parse_or_exit<T: Parser>() -> T {
    match T::try_parse() {
        Ok(args) => args,
        Err(e) => match usage_error_line(&e) {
            None => {
                let _ = e.print(); // --help, --version
                std::process::exit(0);
            }
            Some(line) => {
                eprintln!("error: {line}");
                std::process::exit(USAGE_ERROR as i32);
            }
        },
    }
}

/// A clap error as our one line (without the `error: ` prefix), or `None` for `--help` and
/// `--version`, which are not errors.
pub fn usage_error_line(e: &clap::Error) -> Option<String> {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand) {
        return None;
    }
    // clap's message up to the first blank line (before its usage block), on one line
    let rendered = e.render().to_string();
    let message: Vec<&str> = rendered.lines().map(str::trim).take_while(|l| !l.is_empty()).collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    Some(format!("{message} (see --help)"))
}

/// The model chapter 4's and chapter 8's binaries run when no --model is given, relative to
/// the workspace: a GPT-2 of 3.5M parameters that chapter 5 trained on its generated stories
/// (`tools/train-default-model.sh` rebuilds it).
pub const DEFAULT_MODEL: &str = "models/gpt2-stories-3.5m";

/// [`DEFAULT_MODEL`] in this workspace, found from this crate's source folder (not the current
/// directory), so `cargo run` finds it from anywhere.
pub fn default_model_dir() -> PathBuf {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")); // <workspace>/shared
    shared.parent().unwrap_or(shared).join(DEFAULT_MODEL)
}

/// `--weights`: how a model's weight matrices are held in memory (the binaries that measure
/// decode take it: the bench tool, chapter 8's demo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Weights {
    /// 4 bytes a weight (a 16-bit checkpoint widened when it is read).
    F32,
    /// bfloat16, 2 bytes a weight, widened to f32 inside the decode kernel.
    Bf16,
    /// IEEE half, 2 bytes a weight, widened to f32 inside the decode kernel.
    F16,
}

impl Weights {
    /// `"f32"`, `"bf16"` or `"f16"`.
    pub fn name(self) -> &'static str {
        match self {
            Weights::F32 => "f32",
            Weights::Bf16 => "bf16",
            Weights::F16 => "f16",
        }
    }
    /// Bytes a weight takes in memory.
    pub fn bytes(self) -> usize {
        if self == Weights::F32 { 4 } else { 2 }
    }
    /// The 16-bit format, `None` for f32.
    pub fn half_format(self) -> Option<crate::half_matrix::HalfFormat> {
        match self {
            Weights::F32 => None,
            Weights::Bf16 => Some(crate::half_matrix::HalfFormat::Bf16),
            Weights::F16 => Some(crate::half_matrix::HalfFormat::F16),
        }
    }
    fn of(format: crate::half_matrix::HalfFormat) -> Self {
        match format {
            crate::half_matrix::HalfFormat::Bf16 => Weights::Bf16,
            crate::half_matrix::HalfFormat::F16 => Weights::F16,
        }
    }
}

/// Open a model folder's checkpoint for `--weights`, and say how its matrices will be held:
/// with no `--weights`, as stored (a bf16 or f16 checkpoint stays 16-bit, anything else is
/// read as f32); `f32` widens; `bf16` or `f16` needs a checkpoint stored so (16-bit weights are
/// kept as stored, never rounded down from f32).
pub fn open_weights(dir: &Path, wanted: Option<Weights>) -> crate::Result<(crate::Checkpoint, Weights)> {
    let ckpt = crate::Checkpoint::open_folder(dir)?;
    let stored = ckpt.matrices_half_format()?.map(Weights::of);
    let held = match (wanted, stored) {
        (None, stored) => stored.unwrap_or(Weights::F32),
        (Some(Weights::F32), _) => Weights::F32,
        (Some(w), Some(s)) if w == s => w,
        (Some(w), _) => {
            return Err(crate::Error::InvalidArgument(format!(
                "--weights {}: {} does not store its weight matrices in {0} (16-bit weights are kept as stored, \
                 never rounded down): use --weights f32, or leave --weights out to run them as stored",
                w.name(),
                ckpt.path().display()
            )))
        }
    };
    Ok((ckpt.keeping_16_bit(held != Weights::F32), held))
}

/// Which model to run.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// A Hugging Face model folder (config.json, model.safetensors, tokenizer.json), loaded
    /// unchanged. Without it: the binary's default (a trained model, or random weights of a
    /// preset shape), and it says which.
    #[arg(long, value_name = "DIR", value_parser = existing_folder)]
    pub model: Option<PathBuf>,

    /// Seed of the random weights (without --model) and of sampling (--temperature > 0).
    #[arg(long, value_name = "S", default_value_t = 42, value_parser = seed, allow_negative_numbers = true)]
    pub seed: u64,
}

impl ModelArgs {
    /// The folder to load, `--model` or [`default_model_dir`], and the name to print for it.
    pub fn dir_or_default(&self) -> (PathBuf, String) {
        match &self.model {
            Some(dir) => (dir.clone(), dir.display().to_string()),
            None => (default_model_dir(), format!("{DEFAULT_MODEL} (the default model)")),
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Args)]
pub struct PromptArgs {
    /// The text to continue.
    #[arg(long, value_name = "TEXT", default_value = "The KV cache makes generation", value_parser = non_empty_text)]
    pub prompt: String,

    /// How many new tokens to generate (at least 1; prompt + new tokens must fit the context).
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = positive_count, allow_negative_numbers = true)]
    pub max_new_tokens: usize,
}

/// How to pick each next token.
#[derive(Debug, Clone, Copy, Args)]
pub struct SamplingArgs {
    /// Sampling temperature: 0 (the default) is greedy decoding, higher is more random.
    #[arg(long, value_name = "T", default_value_t = 0.0, value_parser = temperature, allow_negative_numbers = true)]
    pub temperature: f64,

    /// Sample only among the K most likely tokens (K >= 1; with --temperature > 0).
    #[arg(long, value_name = "K", value_parser = positive_count, allow_negative_numbers = true)]
    pub top_k: Option<usize>,

    /// Sample only among the most likely tokens whose probabilities add up to P (0 < P <= 1;
    /// with --temperature > 0).
    #[arg(long, value_name = "P", value_parser = top_p, allow_negative_numbers = true)]
    pub top_p: Option<f64>,
}

/// Where plots and reports go.
#[derive(Debug, Clone, Args)]
pub struct OutArgs {
    /// Folder the plots are written to (created if missing; checked before any work starts).
    #[arg(long, value_name = "DIR", value_parser = writable_folder)]
    pub out: Option<PathBuf>,
}

impl OutArgs {
    /// `--out`, or the binary's default folder (checked the same way).
    pub fn dir_or(&self, default: &str) -> Result<PathBuf, String> {
        match &self.out {
            Some(dir) => Ok(dir.clone()),
            None => writable_folder(default),
        }
    }
}

/// `--model DIR`: an existing folder.
pub fn existing_folder(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_dir() {
        Ok(path)
    } else if path.exists() {
        Err("not a folder (expected a folder with config.json and model.safetensors)".into())
    } else {
        Err("no such folder (expected a folder with config.json and model.safetensors)".into())
    }
}

/// `--out DIR`: a folder we can write into, created if missing. Checked at parse time, so a bad
/// folder is reported before minutes of measuring, not after.
pub fn writable_folder(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    check_writable(&path)?;
    Ok(path)
}

fn check_writable(dir: &Path) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!("cannot write into {}: it is a file, not a folder", dir.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
    let probe = dir.join(format!(".write-check-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// `--seed S`: a whole number >= 0.
pub fn seed(text: &str) -> Result<u64, String> {
    text.parse::<u64>().map_err(|_| format!("the seed must be a whole number >= 0, got {text}"))
}

/// `--prompt TEXT` and other texts: at least one character.
pub fn non_empty_text(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("the prompt is empty: give at least one character".into())
    } else {
        Ok(text.to_string())
    }
}

/// A count of at least 1 (`--max-new-tokens`, a batch size, a number of steps).
pub fn positive_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1, got 0".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("must be a whole number >= 1, got {text}")),
    }
}

fn temperature(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err(format!("the temperature must be a number >= 0 (0 = greedy), got {text}")),
    }
}

fn top_p(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 1.0 => Ok(p),
        _ => Err(format!("top-p must be a number in (0, 1], got {text}")),
    }
}

/// The bad inputs every binary must answer the same way, and a checker the binaries' tests call.
pub mod conformance {
    use std::path::Path;
    use std::process::Command;

    /// Which option groups a binary flattens in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Group {
        /// Every binary: unknown options.
        Any,
        /// [`super::ModelArgs`]: --model, --seed.
        Model,
        /// [`super::PromptArgs`]: --prompt, --max-new-tokens.
        Prompt,
        /// [`super::SamplingArgs`]: --temperature, --top-k, --top-p.
        Sampling,
        /// [`super::OutArgs`]: --out.
        Out,
    }

    /// One bad input: the arguments, the exit code and a piece of the one error line.
    #[derive(Debug, Clone, Copy)]
    pub struct BadInput {
        pub group: Group,
        pub args: &'static [&'static str],
        pub exit_code: i32,
        pub message: &'static str,
    }

    /// The table (`{file}` stands for an existing file that is not a folder).
    pub const BAD_INPUTS: &[BadInput] = &[
        BadInput { group: Group::Any, args: &["--no-such-option"], exit_code: 2, message: "unexpected argument '--no-such-option'" },
        BadInput { group: Group::Model, args: &["--model", "no/such/folder"], exit_code: 2, message: "no such folder" },
        BadInput { group: Group::Model, args: &["--model", "{file}"], exit_code: 2, message: "not a folder" },
        BadInput { group: Group::Model, args: &["--seed", "-3"], exit_code: 2, message: "the seed must be a whole number >= 0, got -3" },
        BadInput { group: Group::Prompt, args: &["--prompt", ""], exit_code: 2, message: "the prompt is empty" },
        BadInput { group: Group::Prompt, args: &["--max-new-tokens", "0"], exit_code: 2, message: "must be at least 1, got 0" },
        BadInput { group: Group::Prompt, args: &["--max-new-tokens", "-1"], exit_code: 2, message: "must be a whole number >= 1, got -1" },
        BadInput { group: Group::Sampling, args: &["--temperature", "-1"], exit_code: 2, message: "the temperature must be a number >= 0 (0 = greedy), got -1" },
        BadInput { group: Group::Sampling, args: &["--temperature", "nan"], exit_code: 2, message: "the temperature must be a number >= 0" },
        BadInput { group: Group::Sampling, args: &["--top-k", "0"], exit_code: 2, message: "must be at least 1, got 0" },
        BadInput { group: Group::Sampling, args: &["--top-p", "1.5"], exit_code: 2, message: "top-p must be a number in (0, 1], got 1.5" },
        BadInput { group: Group::Sampling, args: &["--top-p", "0"], exit_code: 2, message: "top-p must be a number in (0, 1], got 0" },
        BadInput { group: Group::Out, args: &["--out", "{file}"], exit_code: 2, message: "cannot write into" },
    ];

    /// A failed run's stderr: exactly one `error: ...` line containing `needle` (`note:` lines
    /// aside), and no panic. Returns what is wrong, for the test to report.
    pub fn one_error_line(stderr: &str, needle: &str) -> Result<(), String> {
        if stderr.contains("panicked") {
            return Err(format!("panicked: {stderr}"));
        }
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("note:")).collect();
        match lines[..] {
            [line] if line.starts_with("error: ") && line.contains(needle) => Ok(()),
            _ => Err(format!("expected one line `error: ...{needle}...`, got: {stderr}")),
        }
    }

    /// Run every bad input of `groups` through the binary `exe` (with `base` arguments first,
    /// e.g. a required positional): each must print exactly one `error:` line containing the
    /// expected message, on stderr, nothing on stdout, and exit with the expected code.
    /// Returns one line per mismatch (empty: all conform).
    pub fn check(exe: &Path, base: &[&str], groups: &[Group]) -> Vec<String> {
        let file = std::env::temp_dir().join(format!("conformance-file-{}", std::process::id()));
        let _ = std::fs::write(&file, b"not a folder");
        let file = file.to_string_lossy().into_owned();
        let mut problems = vec![];
        for bad in BAD_INPUTS.iter().filter(|b| groups.contains(&b.group)) {
            let args: Vec<String> = base
                .iter()
                .chain(bad.args)
                .map(|a| a.replace("{file}", &file))
                .collect();
            let out = match Command::new(exe).args(&args).output() {
                Ok(out) => out,
                Err(e) => {
                    problems.push(format!("{args:?}: cannot run {}: {e}", exe.display()));
                    continue;
                }
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = stderr.lines().collect();
            let code = out.status.code().unwrap_or(-1);
            let one_line = lines.len() == 1 && lines[0].starts_with("error: ") && lines[0].contains(bad.message);
            if code != bad.exit_code || !one_line || !out.stdout.is_empty() {
                problems.push(format!(
                    "{args:?}: expected exit {} and one line `error: ...{}...`, got exit {code}, stderr {stderr:?}, {} bytes on stdout",
                    bad.exit_code,
                    bad.message,
                    out.stdout.len()
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Debug, Parser)]
    struct All {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        prompt: PromptArgs,
        #[command(flatten)]
        sampling: SamplingArgs,
        #[command(flatten)]
        out: OutArgs,
    }

    #[test]
    fn the_groups_fit_together() {
        All::command().debug_assert();
    }

    #[test]
    fn ranges_are_checked_at_parse_time() {
        let parse = |args: &[&str]| All::try_parse_from(std::iter::once("bin").chain(args.iter().copied()));
        let ok = parse(&["--temperature", "0.7", "--top-k", "5", "--top-p", "0.9", "--seed", "7"]).unwrap();
        assert_eq!((ok.sampling.temperature, ok.sampling.top_k, ok.sampling.top_p, ok.model.seed), (0.7, Some(5), Some(0.9), 7));
        assert_eq!(ok.prompt.max_new_tokens, 30);
        for bad in [
            &["--temperature", "-1"][..],
            &["--temperature", "inf"],
            &["--top-k", "0"],
            &["--top-p", "0"],
            &["--top-p", "1.01"],
            &["--seed", "-3"],
            &["--max-new-tokens", "0"],
            &["--prompt", ""],
            &["--model", "no/such/folder"],
        ] {
            let e = parse(bad).expect_err(&format!("{bad:?} must be refused"));
            assert_eq!(e.exit_code(), USAGE_ERROR as i32, "{bad:?}");
            assert!(usage_error_line(&e).unwrap().ends_with("(see --help)"));
        }
    }

    #[test]
    fn an_out_folder_that_is_a_file_is_refused() {
        let file = std::env::temp_dir().join(format!("cli-out-file-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        let e = writable_folder(file.to_str().unwrap()).unwrap_err();
        assert!(e.starts_with("cannot write into") && e.contains("not a folder"), "{e}");
        let dir = std::env::temp_dir().join(format!("cli-out-dir-{}/nested", std::process::id()));
        assert_eq!(writable_folder(dir.to_str().unwrap()).unwrap(), dir);
        assert!(dir.is_dir());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the write check leaves nothing behind");
        let below = file.join("below");
        assert!(writable_folder(below.to_str().unwrap()).unwrap_err().starts_with("cannot write into"));
    }

    #[test]
    fn weights_run_as_stored_unless_asked_and_are_never_rounded_down() {
        let dir = std::env::temp_dir().join(format!("shared-open-weights-{}", std::process::id()));
        let file = dir.join(crate::checkpoint::SINGLE_FILE);
        let w = |values: Vec<f32>| vec![("w.weight".to_string(), vec![2, 2], values), ("n.weight".to_string(), vec![2], vec![1.0, 1.0])];
        crate::checkpoint::save_f32(&file, &w(vec![1.0, 2.0, 3.0, 4.0])).unwrap();
        // an f32 folder: f32 as stored or asked; bf16 asked is an error, not a rounding
        assert_eq!(open_weights(&dir, None).unwrap().1, Weights::F32);
        assert!(!open_weights(&dir, Some(Weights::F32)).unwrap().0.keeps_16_bit());
        let err = open_weights(&dir, Some(Weights::Bf16)).map(|_| ()).unwrap_err();
        assert!(matches!(err, crate::Error::InvalidArgument(_)), "{err}");
        // a bf16 folder: bf16 as stored (kept 16-bit), f32 when asked, f16 refused
        crate::checkpoint::narrow_file(&file, crate::half_matrix::HalfFormat::Bf16).unwrap();
        let (ckpt, held) = open_weights(&dir, None).unwrap();
        assert_eq!((held, ckpt.keeps_16_bit()), (Weights::Bf16, true));
        assert_eq!(open_weights(&dir, Some(Weights::Bf16)).unwrap().1, Weights::Bf16);
        let (ckpt, held) = open_weights(&dir, Some(Weights::F32)).unwrap();
        assert_eq!((held, ckpt.keeps_16_bit()), (Weights::F32, false));
        assert!(open_weights(&dir, Some(Weights::F16)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
