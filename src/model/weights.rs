//! Where an architecture's weights come from. Architectures ask for tensors by their GGUF names
//! (`blk.3.attn_q.weight`); a GGUF file answers directly, a Hugging Face checkpoint translates
//! the name (see [`super::hf`]). Every tensor arrives as f32 on the CPU.

use anyhow::Result;
use candle_core::Tensor;

use crate::gguf::GgufFile;

pub trait WeightSource {
    fn tensor(&mut self, name: &str) -> Result<Tensor>;
    fn has_tensor(&self, name: &str) -> bool;
}

impl WeightSource for GgufFile {
    fn tensor(&mut self, name: &str) -> Result<Tensor> {
        GgufFile::tensor(self, name)
    }

    fn has_tensor(&self, name: &str) -> bool {
        GgufFile::has_tensor(self, name)
    }
}
