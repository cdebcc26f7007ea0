//! Byte-level BPE (`tokenizer.ggml.model = gpt2`) on top of the `tokenizers` crate.

use anyhow::{anyhow, Result};
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{PreTokenizerWrapper, SplitDelimiterBehavior};

use crate::gguf::GgufFile;

pub struct Gpt2Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl Gpt2Tokenizer {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let tokens = gguf.string_array("tokenizer.ggml.tokens")?;
        let merges = gguf.string_array("tokenizer.ggml.merges")?;
        let vocab: tokenizers::models::bpe::Vocab = tokens
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t, i as u32))
            .collect();
        let merges = merges
            .iter()
            .map(|m| {
                m.split_once(' ')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or_else(|| anyhow!("{}: malformed merge '{m}'", gguf.path().display()))
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| anyhow!("{}: building BPE: {e}", gguf.path().display()))?;

        let pre = gguf.opt_string("tokenizer.ggml.pre").unwrap_or("default");
        let pre_tokenizer = pre_tokenizer(pre).ok_or_else(|| {
            anyhow!(
                "{}: pre-tokenizer '{pre}' is not supported (supported: smollm, gpt2, default)",
                gguf.path().display()
            )
        })??;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tokenizer));
        Ok(Self { inner })
    }

    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| anyhow!("tokenizing: {e}"))?;
        Ok(enc.get_ids().to_vec())
    }
}

/// The pre-tokenizer the reference runtime uses for each `tokenizer.ggml.pre` value.
fn pre_tokenizer(pre: &str) -> Option<Result<PreTokenizerWrapper>> {
    let byte_level: PreTokenizerWrapper = ByteLevel::new(false, true, true).into();
    match pre {
        "gpt2" | "default" => Some(Ok(byte_level)),
        // StarCoder-style: every numeric character is a piece of its own (`\p{N}`, so non-ASCII
        // digits too), then the GPT-2 split. Python transformers' GGUF converter misses the
        // first step and merges digits.
        "smollm" | "starcoder" => Some(
            Split::new(
                SplitPattern::Regex(r"\p{N}".into()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| anyhow!("building the digit splitter: {e}"))
            .map(|split| Sequence::new(vec![split.into(), byte_level]).into()),
        ),
        _ => None,
    }
}
