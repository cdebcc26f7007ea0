//! Tokenizers: from a Hugging Face checkpoint's tokenizer.json (the `tokenizers` crate), or
//! rebuilt from GGUF metadata alone (the catalogued GGUF models ship no tokenizer.json).
//!
//! Two GGUF kinds, chosen by `tokenizer.ggml.model`:
//! - `gpt2`: byte-level BPE with merges ([`gpt2`]), e.g. SmolLM2;
//! - `llama`: SentencePiece-style BPE driven by token scores, with byte fallback ([`spm`]), e.g.
//!   Gemma 3.
//!
//! Both reproduce the reference GGUF runtime's ids exactly on the fixture text. Text that looks
//! like a special token (`<|im_start|>`, `<start_of_turn>`) is encoded as plain text.

mod gpt2;
mod spm;

use anyhow::{bail, Result};

use crate::gguf::GgufFile;

pub use gpt2::Gpt2Tokenizer;
pub use spm::SpmTokenizer;

pub enum Tokenizer {
    Gpt2(Box<Gpt2Tokenizer>),
    Spm(Box<SpmTokenizer>),
    /// A tokenizer.json, used without its special-token post-processing (the harness adds BOS
    /// itself, as for GGUF models).
    Json(Box<tokenizers::Tokenizer>),
}

impl Tokenizer {
    pub fn from_json_file(path: &std::path::Path) -> Result<Self> {
        let t = tokenizers::Tokenizer::from_file(path).map_err(|e| {
            anyhow::anyhow!("{} is not a readable tokenizer.json: {e}", path.display())
        })?;
        Ok(Self::Json(Box::new(t)))
    }

    /// The id of a token given by its text (e.g. `<bos>`), if the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        match self {
            Self::Json(t) => t.token_to_id(token),
            _ => None,
        }
    }

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
            Self::Json(t) => Ok(t
                .encode(text, false)
                .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?
                .get_ids()
                .to_vec()),
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
