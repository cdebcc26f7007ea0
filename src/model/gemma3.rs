//! Gemma 3 (text), from a GGUF file or a Hugging Face checkpoint, with removable blocks.
//!
//! What sets it apart from Llama:
//! - embeddings are scaled by sqrt(hidden);
//! - sandwich norms: RMSNorm before *and after* attention and the MLP, before the residual add
//!   (the GGUF converter has already folded Gemma's `1 + w` into the norm weights; the Hugging
//!   Face loader does the same);
//! - RMSNorm on q and k per head;
//! - GELU (tanh approximation) in the gated MLP;
//! - sliding-window (local) and global attention layers with different RoPE bases;
//! - optional final logit soft-capping.
//!
//! The GGUF records the global RoPE base and the window size but neither the local base nor the
//! layer pattern, so the architecture's values are used: local base 10,000, every 6th block
//! global (blocks 5, 11, 17, ...); a Hugging Face config.json states them, the pattern as
//! `sliding_window_pattern` or each layer's type as `layer_types`. A removed block is the identity. By default the blocks that
//! remain keep their own type, so removing block 5 does not make block 6 global;
//! [`LayerTypeRule::Renumbered`] instead gives each remaining block the type of its new position,
//! which is what deleting layers from a Hugging Face `Gemma3` model computes (and what the
//! perplexity fixture was produced with).

use anyhow::Result;
use candle_core::Tensor;

use super::hf::HfConfig;
use super::layers::{
    attention, embedding, merge_heads, rms_norm, split_heads, Activation, GatedMlp, Linear, Rope,
    RopeScaling, RopeStyle,
};
use super::layout::Layout;
use super::weights::WeightSource;
use super::{Head, LayerTypeRule, Transformer};
use crate::gguf::GgufFile;

/// Gemma 3's local RoPE base; absent from the GGUF.
const LOCAL_ROPE_THETA: f32 = 10_000.0;
/// Every `GLOBAL_EVERY`-th block attends globally; absent from the GGUF.
pub const GLOBAL_EVERY: usize = 6;
/// Used when the GGUF lacks `gemma3.attention.sliding_window`.
const DEFAULT_SLIDING_WINDOW: usize = 512;

#[derive(Debug, Clone)]
pub struct Config {
    pub n_blocks: usize,
    pub hidden: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub rms_eps: f32,
    pub global_rope_theta: f32,
    /// RoPE scaling of the global layers (local layers have none).
    pub global_rope_scaling: RopeScaling,
    pub local_rope_theta: f32,
    /// Every `global_every`-th block (1-based) attends globally...
    pub global_every: usize,
    /// ...unless config.json lists each layer's type (`layer_types`): then block i is global
    /// when `global_layers[i]` is.
    pub global_layers: Option<Vec<bool>>,
    pub sliding_window: usize,
    /// `query_pre_attn_scalar^-1/2`.
    pub attn_scale: f64,
    pub final_logit_softcap: Option<f32>,
}

impl Config {
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let hidden = g.u32("gemma3.embedding_length")? as usize;
        let n_heads = g.u32("gemma3.attention.head_count")? as usize;
        let head_dim = match g.opt_u32("gemma3.attention.key_length")? {
            Some(d) => d as usize,
            None => hidden / n_heads,
        };
        let global_rope_scaling = match g.opt_string("gemma3.rope.scaling.type") {
            Some("linear") => match g.opt_f32("gemma3.rope.scaling.factor")? {
                Some(factor) if factor != 1.0 => RopeScaling::Linear(factor),
                _ => RopeScaling::None,
            },
            _ => RopeScaling::None,
        };
        Ok(Self {
            n_blocks: g.u32("gemma3.block_count")? as usize,
            hidden,
            n_heads,
            n_kv_heads: g
                .opt_u32("gemma3.attention.head_count_kv")?
                .map_or(n_heads, |v| v as usize),
            head_dim,
            rms_eps: g.f32("gemma3.attention.layer_norm_rms_epsilon")?,
            global_rope_theta: g.opt_f32("gemma3.rope.freq_base")?.unwrap_or(1_000_000.0),
            global_rope_scaling,
            local_rope_theta: LOCAL_ROPE_THETA,
            global_every: GLOBAL_EVERY,
            global_layers: None,
            sliding_window: g
                .opt_u32("gemma3.attention.sliding_window")?
                .map_or(DEFAULT_SLIDING_WINDOW, |w| w as usize),
            // query_pre_attn_scalar equals head_dim for the Gemma 3 sizes up to 12B.
            attn_scale: 1.0 / (head_dim as f64).sqrt(),
            final_logit_softcap: g.opt_f32("gemma3.final_logit_softcapping")?,
        })
    }

    pub fn from_hf(c: &HfConfig) -> Result<Self> {
        let head_dim = c.head_dim();
        Ok(Self {
            n_blocks: c.num_hidden_layers,
            hidden: c.hidden_size,
            n_heads: c.num_attention_heads,
            n_kv_heads: c.n_kv_heads(),
            head_dim,
            rms_eps: c.rms_norm_eps as f32,
            global_rope_theta: c.rope_theta.unwrap_or(1_000_000.0) as f32,
            global_rope_scaling: c.rope_scaling()?,
            local_rope_theta: c.rope_local_base_freq.unwrap_or(LOCAL_ROPE_THETA as f64) as f32,
            global_every: c.sliding_window_pattern.unwrap_or(GLOBAL_EVERY),
            global_layers: c.global_layers()?,
            sliding_window: c.sliding_window.unwrap_or(DEFAULT_SLIDING_WINDOW),
            attn_scale: 1.0 / c.query_pre_attn_scalar.unwrap_or(head_dim as f64).sqrt(),
            final_logit_softcap: c.final_logit_softcapping.map(|v| v as f32),
        })
    }

    /// Whether the layer at `block` attends globally.
    pub fn is_global(&self, block: usize) -> bool {
        match self.global_layers.as_ref().and_then(|g| g.get(block)) {
            Some(&global) => global,
            None => (block + 1).is_multiple_of(self.global_every),
        }
    }
}

struct Block {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    q_norm: Tensor,
    k_norm: Tensor,
    wo: Linear,
    post_attn_norm: Tensor,
    ffn_norm: Tensor,
    mlp: GatedMlp,
    post_ffn_norm: Tensor,
}

impl Block {
    fn load(g: &mut dyn WeightSource, i: usize) -> Result<Self> {
        let mut t = |name: &str| g.tensor(&format!("blk.{i}.{name}.weight"));
        Ok(Self {
            attn_norm: t("attn_norm")?,
            wq: Linear::from_out_in(t("attn_q")?)?,
            wk: Linear::from_out_in(t("attn_k")?)?,
            wv: Linear::from_out_in(t("attn_v")?)?,
            q_norm: t("attn_q_norm")?,
            k_norm: t("attn_k_norm")?,
            wo: Linear::from_out_in(t("attn_output")?)?,
            post_attn_norm: t("post_attention_norm")?,
            ffn_norm: t("ffn_norm")?,
            mlp: GatedMlp {
                gate: Linear::from_out_in(t("ffn_gate")?)?,
                up: Linear::from_out_in(t("ffn_up")?)?,
                down: Linear::from_out_in(t("ffn_down")?)?,
                activation: Activation::GeluTanh,
            },
            post_ffn_norm: t("post_ffw_norm")?,
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
        let q = split_heads(&self.wq.forward(&h)?, cfg.n_heads)?;
        let k = split_heads(&self.wk.forward(&h)?, cfg.n_kv_heads)?;
        let v = split_heads(&self.wv.forward(&h)?, cfg.n_kv_heads)?;
        let q = rope.apply(&rms_norm(&q, &self.q_norm, eps)?)?;
        let k = rope.apply(&rms_norm(&k, &self.k_norm, eps)?)?;
        let y = attention(&q, &k, &v, mask, cfg.attn_scale)?;
        let attn_out = rms_norm(
            &self.wo.forward(&merge_heads(&y)?)?,
            &self.post_attn_norm,
            eps,
        )?;
        let x = (x + attn_out)?;

        let h = rms_norm(&x, &self.ffn_norm, eps)?;
        let mlp_out = rms_norm(&self.mlp.forward(&h)?, &self.post_ffn_norm, eps)?;
        x + mlp_out
    }
}

pub struct Gemma3 {
    cfg: Config,
    layer_types: LayerTypeRule,
    embed: Tensor,
    blocks: Vec<Block>,
    head: Head,
}

impl Gemma3 {
    pub fn load(cfg: Config, w: &mut dyn WeightSource, layer_types: LayerTypeRule) -> Result<Self> {
        let embed = w.tensor("token_embd.weight")?;
        let blocks = (0..cfg.n_blocks)
            .map(|i| Block::load(w, i))
            .collect::<Result<Vec<_>>>()?;
        let head = Head::load(w, &embed, cfg.rms_eps, cfg.final_logit_softcap)?;
        Ok(Self {
            cfg,
            layer_types,
            embed,
            blocks,
            head,
        })
    }
}

impl Transformer for Gemma3 {
    fn n_blocks(&self) -> usize {
        self.cfg.n_blocks
    }

    fn embed(&self, tokens: &Tensor) -> candle_core::Result<Tensor> {
        embedding(&self.embed, tokens)? * (self.cfg.hidden as f64).sqrt()
    }

    fn run_block(
        &self,
        index: usize,
        slot: usize,
        x: &Tensor,
        layout: &Layout,
    ) -> candle_core::Result<Tensor> {
        let cfg = &self.cfg;
        let type_index = match self.layer_types {
            LayerTypeRule::Own => index,
            LayerTypeRule::Renumbered => slot,
        };
        let (theta, scaling, window) = if cfg.is_global(type_index) {
            (cfg.global_rope_theta, cfg.global_rope_scaling, None)
        } else {
            (
                cfg.local_rope_theta,
                RopeScaling::None,
                Some(cfg.sliding_window),
            )
        };
        let rope = layout.rope(theta, cfg.head_dim, RopeStyle::Halves, scaling, x)?;
        let mask = layout.mask(window, x)?;
        self.blocks[index].forward(cfg, x, &rope, &mask)
    }

    fn head(&self) -> &Head {
        &self.head
    }
}
