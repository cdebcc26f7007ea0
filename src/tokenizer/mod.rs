//! Tokenizers built from GGUF metadata alone (no tokenizer.json exists offline).
//!
//! Two kinds, chosen by `tokenizer.ggml.model`:
//! - `gpt2`: byte-level BPE with merges ([`gpt2`]), e.g. SmolLM2;
//! - `llama`: SentencePiece-style BPE driven by token scores, with byte fallback ([`spm`]), e.g.
//!   Gemma 3.
//!
//! Both reproduce the reference GGUF runtime's ids exactly on the fixture text. Text that looks
//! like a special token (`<|im_start|>`, `<start_of_turn>`) is encoded as plain text.

mod gpt2;
mod spm;

use anyhow::{bail, Result};

use crate::model::gguf::GgufFile;

pub use gpt2::Gpt2Tokenizer;
pub use spm::SpmTokenizer;

pub enum Tokenizer {
    Gpt2(Box<Gpt2Tokenizer>),
    Spm(Box<SpmTokenizer>),
}

impl Tokenizer {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let kind = gguf.string("tokenizer.ggml.model")?;
        match kind {
            "gpt2" => Ok(Self::Gpt2(Box::new(Gpt2Tokenizer::from_gguf(gguf)?))),
            "llama" => Ok(Self::Spm(Box::new(SpmTokenizer::from_gguf(gguf)?))),
            other => bail!(
                "{}: tokenizer type '{other}' is not supported (supported: gpt2, llama)",
                gguf.path().display()
            ),
        }
    }

    /// Token ids of `text`, without BOS.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match self {
            Self::Gpt2(t) => t.encode(text),
            Self::Spm(t) => Ok(t.encode(text)),
        }
    }
}

/// What the GGUF says about special tokens the harness inserts itself.
#[derive(Debug, Clone, Copy)]
pub struct SpecialTokens {
    /// The BOS id, when the GGUF asks for one to be prepended (`tokenizer.ggml.add_bos_token`).
    pub bos: Option<u32>,
}

impl SpecialTokens {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let add_bos = gguf.bool_or("tokenizer.ggml.add_bos_token", false)?;
        let bos = if add_bos {
            Some(gguf.u32("tokenizer.ggml.bos_token_id")?)
        } else {
            None
        };
        Ok(Self { bos })
    }
}
