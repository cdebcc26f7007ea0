//! Llama architecture (SmolLM2, Llama 3 and friends), from a GGUF file or a Hugging Face
//! checkpoint, with removable blocks.
//!
//! Pre-norm blocks: `x += attn(rms_norm(x))`, `x += mlp(rms_norm(x))`, SwiGLU MLP, grouped-query
//! attention, RoPE. GGUF Llama weights are permuted for interleaved RoPE; Hugging Face weights
//! use the halves layout. Embeddings are tied to the output head when there is no
//! `output.weight`.

use anyhow::Result;
use candle_core::Tensor;

use super::hf::HfConfig;
use super::layers::{
    attention, embedding, merge_heads, rms_norm, split_heads, Activation, GatedMlp, Linear, Rope,
    RopeScaling, RopeStyle,
};
use super::layout::Layout;
use super::weights::WeightSource;
use super::{Head, Transformer};
use crate::gguf::GgufFile;

#[derive(Debug, Clone)]
pub struct Config {
    pub n_blocks: usize,
    pub hidden: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub rms_eps: f32,
    pub rope_theta: f32,
    pub rope_style: RopeStyle,
    pub rope_scaling: RopeScaling,
}

impl Config {
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        if g.has_tensor("rope_freqs.weight") {
            anyhow::bail!(
                "{}: Llama 3.1-style RoPE frequency factors (rope_freqs.weight) are not supported in GGUF files; use the Hugging Face checkpoint (hf:...) instead",
                g.path().display()
            );
        }
        let hidden = g.u32("llama.embedding_length")? as usize;
        let n_heads = g.u32("llama.attention.head_count")? as usize;
        let head_dim = match g.opt_u32("llama.rope.dimension_count")? {
            Some(d) => d as usize,
            None => hidden / n_heads,
        };
        Ok(Self {
            n_blocks: g.u32("llama.block_count")? as usize,
            hidden,
            n_heads,
            n_kv_heads: g
                .opt_u32("llama.attention.head_count_kv")?
                .map_or(n_heads, |v| v as usize),
            head_dim,
            rms_eps: g.f32("llama.attention.layer_norm_rms_epsilon")?,
            rope_theta: g.opt_f32("llama.rope.freq_base")?.unwrap_or(10_000.0),
            rope_style: RopeStyle::Interleaved,
            rope_scaling: RopeScaling::None,
        })
    }

    pub fn from_hf(c: &HfConfig) -> Result<Self> {
        Ok(Self {
            n_blocks: c.num_hidden_layers,
            hidden: c.hidden_size,
            n_heads: c.num_attention_heads,
            n_kv_heads: c.n_kv_heads(),
            head_dim: c.head_dim(),
            rms_eps: c.rms_norm_eps as f32,
            rope_theta: c.rope_theta.unwrap_or(10_000.0) as f32,
            rope_style: RopeStyle::Halves,
            rope_scaling: c.rope_scaling()?,
        })
    }
}

struct Block {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    ffn_norm: Tensor,
    mlp: GatedMlp,
}

impl Block {
    fn load(g: &mut dyn WeightSource, i: usize) -> Result<Self> {
        let mut t = |name: &str| g.tensor(&format!("blk.{i}.{name}.weight"));
        Ok(Self {
            attn_norm: t("attn_norm")?,
            wq: Linear::from_out_in(t("attn_q")?)?,
            wk: Linear::from_out_in(t("attn_k")?)?,
            wv: Linear::from_out_in(t("attn_v")?)?,
            wo: Linear::from_out_in(t("attn_output")?)?,
            ffn_norm: t("ffn_norm")?,
            mlp: GatedMlp {
                gate: Linear::from_out_in(t("ffn_gate")?)?,
                up: Linear::from_out_in(t("ffn_up")?)?,
                down: Linear::from_out_in(t("ffn_down")?)?,
                activation: Activation::Silu,
            },
        })
    }

    fn forward(
        &self,
        cfg: &Config,
        x: &Tensor,
        rope: &Rope,
        mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let h = rms_norm(x, &self.attn_norm, cfg.rms_eps)?;
        let q = rope.apply(&split_heads(&self.wq.forward(&h)?, cfg.n_heads)?)?;
        let k = rope.apply(&split_heads(&self.wk.forward(&h)?, cfg.n_kv_heads)?)?;
        let v = split_heads(&self.wv.forward(&h)?, cfg.n_kv_heads)?;
        let y = attention(&q, &k, &v, mask, 1.0 / (cfg.head_dim as f64).sqrt())?;
        let x = (x + self.wo.forward(&merge_heads(&y)?)?)?;

        let h = rms_norm(&x, &self.ffn_norm, cfg.rms_eps)?;
        x + self.mlp.forward(&h)?
    }
}

pub struct Llama {
    cfg: Config,
    embed: Tensor,
    blocks: Vec<Block>,
    head: Head,
}

impl Llama {
    pub fn load(cfg: Config, w: &mut dyn WeightSource) -> Result<Self> {
        let embed = w.tensor("token_embd.weight")?;
        let blocks = (0..cfg.n_blocks)
            .map(|i| Block::load(w, i))
            .collect::<Result<Vec<_>>>()?;
        let head = Head::load(w, &embed, cfg.rms_eps, None)?;
        Ok(Self {
            cfg,
            embed,
            blocks,
            head,
        })
    }
}

impl Transformer for Llama {
    fn n_blocks(&self) -> usize {
        self.cfg.n_blocks
    }

    fn embed(&self, tokens: &Tensor) -> candle_core::Result<Tensor> {
        embedding(&self.embed, tokens)
    }

    fn run_block(
        &self,
        index: usize,
        _slot: usize,
        x: &Tensor,
        layout: &Layout,
    ) -> candle_core::Result<Tensor> {
        let rope = layout.rope(
            self.cfg.rope_theta,
            self.cfg.head_dim,
            self.cfg.rope_style,
            self.cfg.rope_scaling,
            x,
        )?;
        let mask = layout.mask(None, x)?;
        self.blocks[index].forward(&self.cfg, x, &rope, &mask)
    }

    fn head(&self) -> &Head {
        &self.head
    }
}
