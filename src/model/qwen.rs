//! Qwen2 / Qwen2.5 and Qwen3 from a Hugging Face checkpoint, with removable blocks.
//!
//! A Llama-style pre-norm decoder (SwiGLU MLP, grouped-query attention, RoPE in the halves
//! layout) with the two things that set the generations apart:
//! - Qwen2 adds biases to the q, k and v projections;
//! - Qwen3 drops them (unless `attention_bias` says otherwise) and applies an RMSNorm to each
//!   head of q and k before RoPE.

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

#[derive(Debug, Clone)]
pub struct Config {
    pub n_blocks: usize,
    pub hidden: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub rms_eps: f32,
    pub rope_theta: f32,
    /// Biases on q, k and v (Qwen2; optional in Qwen3).
    pub qkv_bias: bool,
    /// RMSNorm on each head of q and k (Qwen3).
    pub qk_norm: bool,
}

impl Config {
    pub fn from_hf(c: &HfConfig) -> Result<Self> {
        let qwen3 = c.model_type == "qwen3";
        Ok(Self {
            n_blocks: c.num_hidden_layers,
            hidden: c.hidden_size,
            n_heads: c.num_attention_heads,
            n_kv_heads: c.n_kv_heads(),
            head_dim: c.head_dim(),
            rms_eps: c.rms_norm_eps as f32,
            rope_theta: c.rope_theta.unwrap_or(1_000_000.0) as f32,
            qkv_bias: c.attention_bias.unwrap_or(!qwen3),
            qk_norm: qwen3,
        })
    }
}

/// A projection with an optional bias.
struct Projection {
    weight: Linear,
    bias: Option<Tensor>,
}

impl Projection {
    fn load(w: &mut dyn WeightSource, name: &str, with_bias: bool) -> Result<Self> {
        Ok(Self {
            weight: Linear::from_out_in(w.tensor(&format!("{name}.weight"))?)?,
            bias: if with_bias {
                Some(w.tensor(&format!("{name}.bias"))?)
            } else {
                None
            },
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = self.weight.forward(x)?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

struct Block {
    attn_norm: Tensor,
    q: Projection,
    k: Projection,
    v: Projection,
    /// Per-head norms of q and k (Qwen3).
    qk_norms: Option<(Tensor, Tensor)>,
    wo: Linear,
    ffn_norm: Tensor,
    mlp: GatedMlp,
}

impl Block {
    fn load(w: &mut dyn WeightSource, cfg: &Config, i: usize) -> Result<Self> {
        let name = |n: &str| format!("blk.{i}.{n}");
        let bias = cfg.qkv_bias;
        Ok(Self {
            attn_norm: w.tensor(&name("attn_norm.weight"))?,
            q: Projection::load(w, &name("attn_q"), bias)?,
            k: Projection::load(w, &name("attn_k"), bias)?,
            v: Projection::load(w, &name("attn_v"), bias)?,
            qk_norms: if cfg.qk_norm {
                Some((
                    w.tensor(&name("attn_q_norm.weight"))?,
                    w.tensor(&name("attn_k_norm.weight"))?,
                ))
            } else {
                None
            },
            wo: Linear::from_out_in(w.tensor(&name("attn_output.weight"))?)?,
            ffn_norm: w.tensor(&name("ffn_norm.weight"))?,
            mlp: GatedMlp {
                gate: Linear::from_out_in(w.tensor(&name("ffn_gate.weight"))?)?,
                up: Linear::from_out_in(w.tensor(&name("ffn_up.weight"))?)?,
                down: Linear::from_out_in(w.tensor(&name("ffn_down.weight"))?)?,
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
        let eps = cfg.rms_eps;
        let h = rms_norm(x, &self.attn_norm, eps)?;
        let mut q = split_heads(&self.q.forward(&h)?, cfg.n_heads)?;
        let mut k = split_heads(&self.k.forward(&h)?, cfg.n_kv_heads)?;
        let v = split_heads(&self.v.forward(&h)?, cfg.n_kv_heads)?;
        if let Some((q_norm, k_norm)) = &self.qk_norms {
            q = rms_norm(&q, q_norm, eps)?;
            k = rms_norm(&k, k_norm, eps)?;
        }
        let (q, k) = (rope.apply(&q)?, rope.apply(&k)?);
        let y = attention(&q, &k, &v, mask, 1.0 / (cfg.head_dim as f64).sqrt())?;
        let x = (x + self.wo.forward(&merge_heads(&y)?)?)?;

        let h = rms_norm(&x, &self.ffn_norm, eps)?;
        x + self.mlp.forward(&h)?
    }
}

pub struct Qwen {
    cfg: Config,
    embed: Tensor,
    blocks: Vec<Block>,
    head: Head,
}

impl Qwen {
    pub fn load(cfg: Config, w: &mut dyn WeightSource) -> Result<Self> {
        let embed = w.tensor("token_embd.weight")?;
        let blocks = (0..cfg.n_blocks)
            .map(|i| Block::load(w, &cfg, i))
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

impl Transformer for Qwen {
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
            RopeStyle::Halves,
            RopeScaling::None,
            x,
        )?;
        let mask = layout.mask(None, x)?;
        self.blocks[index].forward(&self.cfg, x, &rope, &mask)
    }

    fn head(&self) -> &Head {
        &self.head
    }
}
