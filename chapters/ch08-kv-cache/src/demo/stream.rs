//! Printing generated text token by token, as a chat interface does.

use crate::demo::error::DemoResult;
use measure::output::say_now;
use ch01_tokenizer::{StreamDecoder, Tokenizer};

/// Collects the text of the ids pushed one at a time, and prints each piece at once if `echo`.
///
/// Chapter 1's [`StreamDecoder`] holds back a character split over two tokens until it is
/// complete, so the terminal never shows half of one.
pub struct TextStream<'t> {
    decoder: StreamDecoder<'t>,
    echo: bool,
    pub text: String,
}

impl<'t> TextStream<'t> {
    pub fn new(tokenizer: &'t Tokenizer, echo: bool) -> Self {
        TextStream { decoder: StreamDecoder::new(tokenizer), echo, text: String::new() }
    }

    /// Add one generated id; prints the completed text, if any.
    pub fn push(&mut self, id: u32) -> DemoResult<()> {
        if let Some(piece) = self.decoder.push(id)? {
            self.emit(piece)?;
        }
        Ok(())
    }

    /// End of generation: print what was held back.
    pub fn finish(mut self) -> DemoResult<String> {
        if let Some(piece) = self.decoder.finish()? {
            self.emit(piece)?;
        }
        Ok(self.text)
    }

    fn emit(&mut self, piece: String) -> DemoResult<()> {
        if self.echo {
            say_now(&piece)?;
        }
        self.text.push_str(&piece);
        Ok(())
    }
}
