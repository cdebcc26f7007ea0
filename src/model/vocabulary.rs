//! What preparing an objective's inputs needs of a model, and a way to have it without the
//! weights: [`Tokenization`] (the tokenizer, the BOS id, where token tensors go), implemented by
//! a loaded [`super::Model`] and by a [`Vocabulary`] read from the model's files alone. Weighing
//! a suite's groups (`run --shard`, `plan`'s token proxy) counts tokens and batches only, so it
//! opens vocabularies, not models.

use std::path::Path;

use anyhow::Result;
use candle_core::{Device, Tensor};

use super::hf;
use crate::gguf::GgufFile;
use crate::tokenizer::{SpecialTokens, Tokenizer};

/// A model's tokenization: what objectives are built from.
pub trait Tokenization {
    fn tokenizer(&self) -> &Tokenizer;
    fn bos(&self) -> Option<u32>;
    /// Where the model's batches live.
    fn device(&self) -> &Device;
    /// The model itself, when its weights are loaded (an objective that needs the unpruned
    /// model's outputs, the KL objective, builds only from one).
    fn model(&self) -> Option<&super::Model> {
        None
    }

    /// Token ids `[batch][seq]` as a tensor, shorter sequences right-padded with token 0
    /// (padding is never attended to by real tokens, and never scored).
    fn token_tensor(&self, batch: &[Vec<u32>]) -> Result<Tensor> {
        let seq = batch.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut flat = Vec::with_capacity(batch.len() * seq);
        for s in batch {
            flat.extend(s);
            flat.extend(std::iter::repeat_n(0, seq - s.len()));
        }
        Ok(Tensor::from_vec(flat, (batch.len(), seq), self.device())?)
    }
}

/// A model's tokenizer, BOS and block count, read without its weights (on the CPU).
pub struct Vocabulary {
    pub tokenizer: Tokenizer,
    pub special: SpecialTokens,
    pub n_blocks: usize,
    device: Device,
}

impl Vocabulary {
    pub fn open_gguf(path: &Path) -> Result<Self> {
        let g = GgufFile::open(path)?;
        Ok(Self {
            tokenizer: Tokenizer::from_gguf(&g)?,
            special: SpecialTokens::from_gguf(&g)?,
            n_blocks: super::gguf_block_count(&g)?,
            device: Device::Cpu,
        })
    }

    pub fn open_hf_dir(dir: &Path) -> Result<Self> {
        let ckpt = hf::Checkpoint::open(dir)?;
        let tokenizer = Tokenizer::from_json_file(&ckpt.tokenizer)?;
        Ok(Self {
            special: hf_special_tokens(&ckpt, &tokenizer)?,
            tokenizer,
            n_blocks: ckpt.config.num_hidden_layers,
            device: Device::Cpu,
        })
    }
}

impl Tokenization for Vocabulary {
    fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
    fn bos(&self) -> Option<u32> {
        self.special.bos
    }
    fn device(&self) -> &Device {
        &self.device
    }
}

/// The BOS a Hugging Face checkpoint's inputs start with, if it wants one: config.json's
/// `bos_token_id`, else tokenizer_config.json's `bos_token` looked up in the tokenizer.
pub fn hf_special_tokens(ckpt: &hf::Checkpoint, tokenizer: &Tokenizer) -> Result<SpecialTokens> {
    let bos = if ckpt.wants_bos()? {
        let id = ckpt.config.bos_token_id.or_else(|| {
            ckpt.bos_token
                .as_deref()
                .and_then(|t| tokenizer.token_id(t))
        });
        Some(id.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: inputs need a BOS token but neither config.json (bos_token_id) nor tokenizer_config.json (bos_token) names one",
                ckpt.dir.display()
            )
        })?)
    } else {
        None
    };
    Ok(SpecialTokens { bos })
}
