//! Building blocks shared by the architectures: linear maps, RMSNorm, RoPE, causal attention.

use candle_core::{Device, Result, Tensor};

/// A linear map `x @ w^T`, its weight arriving as `[out, in]` (GGUF and PyTorch) and kept as
/// `[in, out]`: gemm then reads it in place instead of re-packing all of it at every call, which
/// dominated the small batches that screening runs (1.1-2.2x faster on the block shapes at
/// 64-2,048 rows on Zen 5; the products are bit-identical, packing only moves the operands).
pub struct Linear {
    weight_in_out: Tensor,
}

impl Linear {
    pub fn from_out_in(weight: Tensor) -> Result<Self> {
        Ok(Self {
            weight_in_out: weight.t()?.contiguous()?,
        })
    }

    /// `x: [.., in]` to `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let (in_dim, out_dim) = self.weight_in_out.dims2()?;
        let rows = x.elem_count() / in_dim;
        let y = x.reshape((rows, in_dim))?.matmul(&self.weight_in_out)?;
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().unwrap() = out_dim;
        y.reshape(out_dims)
    }
}

/// Rows of the embedding table `[vocab, hidden]` for token ids `[batch, seq]`.
pub fn embedding(table: &Tensor, tokens: &Tensor) -> Result<Tensor> {
    let (b, t) = tokens.dims2()?;
    let hidden = table.dim(1)?;
    table
        .index_select(&tokens.flatten_all()?, 0)?
        .reshape((b, t, hidden))
}

pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
    candle_nn::ops::rms_norm(&x.contiguous()?, weight, eps)
}

/// How a model lays out the two halves of each rotated pair in q and k.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Pairs are adjacent lanes (2i, 2i+1): llama.cpp's "normal" RoPE, which GGUF Llama weights
    /// are permuted for.
    Interleaved,
    /// Pairs are (i, i + d/2): GPT-NeoX style, Gemma.
    Halves,
}

/// How a model stretches RoPE beyond its training context.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by the factor (Gemma 3's global layers).
    Linear(f32),
    /// Llama 3.1: wavelengths longer than `original_max_position / low_freq_factor` are
    /// stretched by `factor`, shorter than `original_max_position / high_freq_factor` kept, a
    /// linear ramp between.
    Llama3 {
        factor: f32,
        low_freq_factor: f32,
        high_freq_factor: f32,
        original_max_position: f32,
    },
}

impl RopeScaling {
    /// The rotation frequency of each of the `head_dim / 2` pairs.
    pub fn inv_freq(self, theta: f32, head_dim: usize) -> Vec<f32> {
        let base = (0..head_dim / 2)
            .map(|i| 1.0 / (theta as f64).powf(2.0 * i as f64 / head_dim as f64) as f32);
        match self {
            RopeScaling::None | RopeScaling::Linear(_) => base.collect(),
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position,
            } => {
                let low_freq_wavelen = original_max_position / low_freq_factor;
                let high_freq_wavelen = original_max_position / high_freq_factor;
                base.map(|freq| {
                    let wavelen = 2.0 * std::f32::consts::PI / freq;
                    if wavelen < high_freq_wavelen {
                        freq
                    } else if wavelen > low_freq_wavelen {
                        freq / factor
                    } else {
                        let smooth = (original_max_position / wavelen - low_freq_factor)
                            / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * freq / factor + smooth * freq
                    }
                })
                .collect()
            }
        }
    }
}

/// Cosine and sine tables for given token positions.
#[derive(Debug, Clone)]
pub struct Rope {
    cos: Tensor,
    sin: Tensor,
    style: RopeStyle,
}

impl Rope {
    /// The tables on the device and in the dtype of `like`.
    pub fn placed_like(&self, like: &Tensor) -> Result<Self> {
        let place = |t: &Tensor| t.to_dtype(like.dtype())?.to_device(like.device());
        Ok(Self {
            cos: place(&self.cos)?,
            sin: place(&self.sin)?,
            style: self.style,
        })
    }

    /// Tables for `positions`, shaped `lead` + `[head_dim / 2]` (`lead` is `[seq]` when every
    /// sequence of the batch uses the same positions, `[batch, seq]` otherwise).
    pub fn new<S: Into<candle_core::Shape>>(
        theta: f32,
        head_dim: usize,
        positions: &[u32],
        lead: S,
        style: RopeStyle,
        scaling: RopeScaling,
        device: &Device,
    ) -> Result<Self> {
        let half = head_dim / 2;
        let inv_freq = scaling.inv_freq(theta, head_dim);
        let position_scale = match scaling {
            RopeScaling::Linear(factor) => factor,
            _ => 1.0,
        };
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        for &pos in positions {
            let p = pos as f32 / position_scale;
            for f in &inv_freq {
                let angle = p * f;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        let mut dims = lead.into().dims().to_vec();
        dims.push(half);
        Ok(Self {
            cos: Tensor::from_vec(cos, dims.clone(), device)?,
            sin: Tensor::from_vec(sin, dims, device)?,
            style,
        })
    }

    /// Rotates `x: [batch, heads, seq, head_dim]`.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let x = x.contiguous()?;
        match self.style {
            RopeStyle::Interleaved => candle_nn::rotary_emb::rope_i(&x, &self.cos, &self.sin),
            RopeStyle::Halves => candle_nn::rotary_emb::rope(&x, &self.cos, &self.sin),
        }
    }
}

/// Scaled dot-product attention with grouped KV heads.
///
/// `q: [b, n_heads, t, d]`, `k, v: [b, n_kv_heads, t, d]`, query head h reading KV head
/// `h / (n_heads / n_kv_heads)`. The query heads of a group are folded into the row dimension so
/// the KV heads are never copied.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: &Tensor, scale: f64) -> Result<Tensor> {
    let (b, n_heads, t, d) = q.dims4()?;
    let n_kv = k.dim(1)?;
    let group = n_heads / n_kv;
    let q = q.contiguous()?.reshape((b, n_kv, group * t, d))?;
    let scores = (q.matmul(&k.contiguous()?.t()?)? * scale)?;
    // `mask` is `[t, t]` or `[b, 1, t, t]`; either broadcasts over the heads.
    let scores = scores.reshape((b, n_heads, t, t))?.broadcast_add(mask)?;
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    let probs = probs.reshape((b, n_kv, group * t, t))?;
    probs.matmul(&v.contiguous()?)?.reshape((b, n_heads, t, d))
}

/// `[b, t, heads * d]` → `[b, heads, t, d]`.
pub fn split_heads(x: &Tensor, heads: usize) -> Result<Tensor> {
    let (b, t, hd) = x.dims3()?;
    x.reshape((b, t, heads, hd / heads))?
        .transpose(1, 2)?
        .contiguous()
}

/// `[b, heads, t, d]` → `[b, t, heads * d]`.
pub fn merge_heads(x: &Tensor) -> Result<Tensor> {
    let (b, h, t, d) = x.dims4()?;
    x.transpose(1, 2)?.contiguous()?.reshape((b, t, h * d))
}

/// What the gate of a [`GatedMlp`] passes through.
#[derive(Debug, Clone, Copy)]
pub enum Activation {
    /// Llama, Qwen (SwiGLU).
    Silu,
    /// Gemma (GeGLU, tanh approximation).
    GeluTanh,
}

/// The gated feed-forward of every supported architecture: `down(act(gate(h)) ⊙ up(h))`, from
/// `blk.N.ffn_{gate,up,down}.weight`.
pub struct GatedMlp {
    pub gate: Linear,
    pub up: Linear,
    pub down: Linear,
    pub activation: Activation,
}

impl GatedMlp {
    pub fn forward(&self, h: &Tensor) -> Result<Tensor> {
        let gate = self.gate.forward(h)?;
        let gate = match self.activation {
            Activation::Silu => candle_nn::ops::silu(&gate)?,
            Activation::GeluTanh => gate.gelu()?,
        };
        self.down.forward(&(gate * self.up.forward(h)?)?)
    }
}
