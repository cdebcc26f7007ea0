//! Pretrained LLMs that run with any set of blocks removed.
//!
//! - [`hf`]: Hugging Face checkpoints (config.json, tokenizer.json, safetensors);
//! - [`weights`]: the one interface both formats give the architectures;
//! - [`llama`], [`gemma3`], [`qwen`]: one file per architecture, each a readable forward pass;
//! - [`layers`]: the pieces they share (linear, RMSNorm, RoPE, attention);
//! - [`vocabulary`]: the tokenization objectives are built from, with or without the weights;
//!
//! [`Model`] ties an architecture to its tokenizer. Its forward is split at block boundaries
//! (`embed` → `run_block` … → `Head`) so callers can start from a cached residual stream, and the
//! output head runs only at the positions a caller asks for.

pub mod gemma3;
pub mod hf;
pub mod layers;
pub mod layout;
pub mod llama;
pub mod placement;
pub mod qwen;
pub mod vocabulary;
pub mod weights;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

pub use crate::blocks::{parse_block_list, BlockMask};
use crate::gguf;
use crate::tokenizer::{SpecialTokens, Tokenizer};
pub use layout::{Layout, PackedSeq};
pub use placement::{DeviceSpec, Precision};
pub use vocabulary::{Tokenization, Vocabulary};

/// Logits computed at once by the output head: bounds the `rows × vocab` buffer (128 MB) while
/// keeping the matmul large (682 rows for SmolLM2's 49k vocabulary, 128 for Gemma's 262k).
const HEAD_CHUNK_LOGITS: usize = 1 << 25;

/// One architecture's forward pass, cut at block boundaries.
pub trait Transformer: Send + Sync {
    fn n_blocks(&self) -> usize;
    /// Token ids `[batch, seq]` → residual stream `[batch, seq, hidden]` entering block 0.
    fn embed(&self, tokens: &Tensor) -> candle_core::Result<Tensor>;
    /// Block `index` applied to the residual stream `[batch, seq, hidden]` laid out as
    /// `layout` says. `slot` is the block's position among the blocks that run (its index in
    /// the pruned model).
    fn run_block(
        &self,
        index: usize,
        slot: usize,
        x: &Tensor,
        layout: &Layout,
    ) -> candle_core::Result<Tensor>;
    fn head(&self) -> &Head;
}

/// How a pruned model assigns per-layer types (Gemma 3's local/global attention and RoPE base)
/// to the blocks that remain. Architectures without layer types ignore it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum LayerTypeRule {
    /// Each block keeps the type it was trained with.
    #[default]
    Own,
    /// Each remaining block takes the type of its position in the pruned stack, as when layers
    /// are deleted from a Hugging Face model whose forward indexes layer types by position.
    Renumbered,
}

/// Final norm and output projection, applied to selected rows of the residual stream.
pub struct Head {
    pub norm: Tensor,
    pub rms_eps: f32,
    /// `[vocab, hidden]`; the embedding matrix when they are tied.
    pub weight: Tensor,
    pub softcap: Option<f32>,
}

impl Head {
    /// The final norm and the output projection, or the tied embeddings `embed` where the
    /// weights have no `output.weight`.
    pub fn load(
        w: &mut dyn weights::WeightSource,
        embed: &Tensor,
        rms_eps: f32,
        softcap: Option<f32>,
    ) -> Result<Self> {
        Ok(Self {
            norm: w.tensor("output_norm.weight")?,
            rms_eps,
            weight: if w.has_tensor("output.weight") {
                w.tensor("output.weight")?
            } else {
                embed.clone()
            },
            softcap,
        })
    }

    /// Logits `[rows, vocab]` for residual-stream rows `[rows, hidden]`.
    pub fn logits(&self, rows: &Tensor) -> candle_core::Result<Tensor> {
        let h = layers::rms_norm(rows, &self.norm, self.rms_eps)?;
        let logits = h.matmul(&self.weight.t()?)?;
        match self.softcap {
            Some(cap) => (logits / cap as f64)?.tanh()? * cap as f64,
            None => Ok(logits),
        }
    }

    /// `log p(target_i | row_i)` for each row, computed chunk by chunk with a fused
    /// log-softmax-and-gather so the full `rows × vocab` matrix never exists.
    pub fn target_log_probs(&self, rows: &Tensor, targets: &[u32]) -> Result<Vec<f64>> {
        let n = rows.dim(0)?;
        if n != targets.len() {
            bail!("{n} rows but {} targets", targets.len());
        }
        let vocab = self.weight.dim(0)?;
        let chunk_rows = (HEAD_CHUNK_LOGITS / vocab).clamp(16, 1024);
        let mut out = Vec::with_capacity(n);
        for start in (0..n).step_by(chunk_rows) {
            let len = chunk_rows.min(n - start);
            let mut chunk = rows.narrow(0, start, len)?;
            let mut chunk_targets = targets[start..start + len].to_vec();
            // A one-row product takes gemm's matrix-vector path, which sums in another order:
            // a lone row runs as one of two, so a row's bits do not depend on the rows it
            // shares a chunk with (how finely a workload is cut, how many batches share a call).
            if len == 1 {
                chunk = Tensor::cat(&[&chunk, &chunk], 0)?;
                chunk_targets.push(chunk_targets[0]);
            }
            let gather = |flat: &[f32]| -> Vec<f64> {
                flat.par_chunks(vocab)
                    .zip(chunk_targets.par_iter())
                    .map(|(row, &t)| log_softmax_at(row, t as usize))
                    .take(len)
                    .collect()
            };
            if let Some(log_probs) = self.with_cpu_f32_logits(&chunk, gather)? {
                out.extend(log_probs);
                continue;
            }
            let logits = self.logits(&chunk)?.to_dtype(DType::F32)?.contiguous()?;
            // Read CPU logits in place; other devices copy them out first.
            let (storage, layout) = logits.storage_and_layout();
            match &*storage {
                candle_core::Storage::Cpu(cpu) => {
                    let offset = layout.start_offset();
                    let rows = chunk_targets.len();
                    out.extend(gather(
                        &cpu.as_slice::<f32>()?[offset..offset + rows * vocab],
                    ));
                }
                _ => {
                    drop(storage);
                    out.extend(gather(&logits.flatten_all()?.to_vec1::<f32>()?));
                }
            }
        }
        Ok(out)
    }
}

/// The unpruned model's next-token distributions at some rows, as the KL objective needs
/// them: `u = Wᵀ p` per row (`[rows, hidden]`, W the output projection) and the row's
/// `Σ_v p_v log p_v`. Since `log q_v = z_v − LSE(z)` and `Σ_v p_v = 1`, the cross term
/// `Σ_v p_v log q_v` of any pruned row h is `h_n · u − LSE(z)` (h_n the row after the final
/// norm, z = W h_n), so KL(p ‖ q) needs this `hidden`-wide vector per row, not the
/// vocabulary-wide p (Gemma 3: 262,144 floats, 1 MB, per scored token).
#[derive(Debug, Clone)]
pub struct DenseReference {
    pub u: Tensor,
    pub neg_entropy: Vec<f64>,
}

impl DenseReference {
    /// The reference of rows `rows` (indices into this one's rows), in that order.
    pub fn select(&self, rows: &[u32]) -> Result<Self> {
        let index = Tensor::from_slice(rows, rows.len(), self.u.device())?;
        Ok(Self {
            u: self.u.index_select(&index, 0)?,
            neg_entropy: rows.iter().map(|&r| self.neg_entropy[r as usize]).collect(),
        })
    }

    /// Several references' rows one after another.
    pub fn concat(parts: &[&Self]) -> Result<Self> {
        let us: Vec<&Tensor> = parts.iter().map(|p| &p.u).collect();
        Ok(Self {
            u: Tensor::cat(&us, 0)?,
            neg_entropy: parts.iter().flat_map(|p| p.neg_entropy.clone()).collect(),
        })
    }
}

impl Head {
    fn check_no_softcap(&self) -> Result<()> {
        if self.softcap.is_some() {
            bail!(
                "the KL objective needs a head without logit softcapping (its cross term is \
                 linear in the logits); this model caps its logits: use perplexity"
            );
        }
        Ok(())
    }

    /// The [`DenseReference`] of rows `[rows, hidden]` of the unpruned model's final stream.
    /// From the f32 logits every evaluation computes, in f64: p, `Σ p log p`, and `u = Wᵀ p`
    /// summed over vocabulary chunks, so the cross term `h_n · u` of the unpruned model
    /// itself differs from `Σ p z` only by the logits' own f32 rounding (its KL comes out
    /// about 1e-7, not the 1e-4 an f32 `Wᵀ p` over 49k–262k terms leaves).
    pub fn dense_reference(&self, rows: &Tensor) -> Result<DenseReference> {
        self.check_no_softcap()?;
        let n = rows.dim(0)?;
        let vocab = self.weight.dim(0)?;
        let chunk_rows = (HEAD_CHUNK_LOGITS / vocab).clamp(16, 1024);
        const VOCAB_CHUNK: usize = 16_384;
        let (mut us, mut neg_entropy) = (Vec::new(), Vec::with_capacity(n));
        for start in (0..n).step_by(chunk_rows) {
            let len = chunk_rows.min(n - start);
            let logits = self
                .logits(&rows.narrow(0, start, len)?)?
                .to_dtype(DType::F64)?;
            let max = logits.max_keepdim(1)?;
            let lse = (logits.broadcast_sub(&max)?.exp()?.sum_keepdim(1)?.log()? + &max)?;
            let log_p = logits.broadcast_sub(&lse)?;
            let p = log_p.exp()?;
            neg_entropy.extend((&p * &log_p)?.sum(1)?.to_vec1::<f64>()?);
            let mut u: Option<Tensor> = None;
            for v in (0..vocab).step_by(VOCAB_CHUNK) {
                let width = VOCAB_CHUNK.min(vocab - v);
                let w = self.weight.narrow(0, v, width)?.to_dtype(DType::F64)?;
                let part = p.narrow(1, v, width)?.contiguous()?.matmul(&w)?;
                u = Some(match u {
                    Some(u) => (u + part)?,
                    None => part,
                });
            }
            us.push(u.expect("a vocabulary"));
        }
        let us: Vec<&Tensor> = us.iter().collect();
        Ok(DenseReference {
            u: Tensor::cat(&us, 0)?,
            neg_entropy,
        })
    }

    /// `−KL(p ‖ q)` for each row `[rows, hidden]` of a (pruned) final stream, p the dense
    /// distribution `reference` holds for the same row, q this row's: `h_n · u − LSE(z) −
    /// Σ p log p`, in f64 from the f32 logits and normed row. Lone rows run as one of two, as in
    /// [`Self::target_log_probs`], so a row's value does not depend on the rows beside it.
    pub fn neg_kl(&self, rows: &Tensor, reference: &DenseReference) -> Result<Vec<f64>> {
        self.check_no_softcap()?;
        let n = rows.dim(0)?;
        if n != reference.neg_entropy.len() {
            bail!(
                "{n} rows but a reference of {}",
                reference.neg_entropy.len()
            );
        }
        let vocab = self.weight.dim(0)?;
        let chunk_rows = (HEAD_CHUNK_LOGITS / vocab).clamp(16, 1024);
        let mut out = Vec::with_capacity(n);
        for start in (0..n).step_by(chunk_rows) {
            let len = chunk_rows.min(n - start);
            let mut chunk = rows.narrow(0, start, len)?;
            if len == 1 {
                chunk = Tensor::cat(&[&chunk, &chunk], 0)?;
            }
            let logits = self.logits(&chunk)?.to_dtype(DType::F32)?;
            let flat = logits.flatten_all()?.to_vec1::<f32>()?;
            let lse: Vec<f64> = flat
                .par_chunks(vocab)
                .take(len)
                .map(|row| row[0] as f64 - log_softmax_at(row, 0))
                .collect();
            let normed = layers::rms_norm(&chunk.narrow(0, 0, len)?, &self.norm, self.rms_eps)?
                .to_dtype(DType::F64)?;
            let u = reference.u.narrow(0, start, len)?;
            let cross: Vec<f64> = (normed * u)?.sum(1)?.to_vec1()?;
            for i in 0..len {
                out.push(cross[i] - lse[i] - reference.neg_entropy[start + i]);
            }
        }
        Ok(out)
    }
}

thread_local! {
    /// The head's logits chunk (up to 128 MB), kept between chunks and evaluations.
    static LOGITS: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Head {
    /// `f` of the logits `[rows, vocab]` (row-major), for f32 weights on the CPU without a
    /// softcap; `None` otherwise. The same gemm call as candle's CPU matmul (same operands,
    /// strides and arguments, so the same bits), written into a buffer kept per thread instead
    /// of a fresh zero-filled 128 MB one per chunk: zeroing and faulting that in were ~4 % of a
    /// scan.
    fn with_cpu_f32_logits<R>(
        &self,
        rows: &Tensor,
        f: impl FnOnce(&[f32]) -> R,
    ) -> Result<Option<R>> {
        let on_cpu_f32 = |t: &Tensor| t.device().is_cpu() && t.dtype() == DType::F32;
        if self.softcap.is_some() || !on_cpu_f32(&self.weight) || !on_cpu_f32(rows) {
            return Ok(None);
        }
        let h = layers::rms_norm(rows, &self.norm, self.rms_eps)?;
        let (m, k) = h.dims2()?;
        let n = self.weight.dim(0)?;
        let (h_storage, h_layout) = h.storage_and_layout();
        let (w_storage, w_layout) = self.weight.storage_and_layout();
        let (candle_core::Storage::Cpu(h_cpu), candle_core::Storage::Cpu(w_cpu)) =
            (&*h_storage, &*w_storage)
        else {
            return Ok(None);
        };
        if !h_layout.is_contiguous() || !w_layout.is_contiguous() {
            return Ok(None);
        }
        let lhs = &h_cpu.as_slice::<f32>()?[h_layout.start_offset()..][..m * k];
        let rhs = &w_cpu.as_slice::<f32>()?[w_layout.start_offset()..][..n * k];
        let threads = candle_core::utils::get_num_threads();
        let parallelism = if threads > 1 {
            gemm::Parallelism::Rayon(threads)
        } else {
            gemm::Parallelism::None
        };
        // Taken out of the cell while in use: gemm and `f` run rayon jobs, and a thread
        // waiting on them may steal work that calls the head again.
        let mut dst = LOGITS.take();
        // Every element is written by gemm (read_dst false), so stale values never show.
        if dst.len() < m * n {
            dst.resize(m * n, 0.0);
        }
        // SAFETY: dst holds m × n f32 (row stride n), lhs m × k (row stride k), rhs the
        // [n, k] weight read as its k × n transpose (row stride 1, column stride k), all
        // in bounds; nothing else aliases dst.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr(),
                1,
                n as isize,
                false,
                lhs.as_ptr(),
                1,
                k as isize,
                rhs.as_ptr(),
                k as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
        let result = f(&dst[..m * n]);
        LOGITS.set(dst);
        Ok(Some(result))
    }
}

/// `log softmax(row)[target]`. Exponentials in f32 (each term is in (0, 1]), their sum in
/// f64: a vocabulary of 262k terms would lose digits in an f32 sum.
///
/// The crate is compiled for baseline x86-64 (SSE2), so the arithmetic below runs 4 lanes wide
/// unless a wider instruction set is enabled for it: on AVX2 or AVX-512 machines the same
/// code is compiled again with those features and chosen at run time. The two compilations
/// do the same f32 operations in the same order (Rust never contracts `a * b + c` into an FMA),
/// so the result is the same bits on every machine.
fn log_softmax_at(row: &[f32], target: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, the only requirement of the compiled code.
            return unsafe { log_softmax_at_avx512(row, target) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above, for AVX2.
            return unsafe { log_softmax_at_avx2(row, target) };
        }
    }
    log_softmax_at_portable(row, target)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn log_softmax_at_avx512(row: &[f32], target: usize) -> f64 {
    log_softmax_at_portable(row, target)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn log_softmax_at_avx2(row: &[f32], target: usize) -> f64 {
    log_softmax_at_portable(row, target)
}

#[inline(always)]
fn log_softmax_at_portable(row: &[f32], target: usize) -> f64 {
    // Sixteen running maxima vectorise where one fold over `f32::max` does not; the maximum
    // of a set does not depend on the order it is taken in.
    let mut maxima = [f32::NEG_INFINITY; 16];
    let mut parts = row.chunks_exact(16);
    for part in &mut parts {
        for (m, &x) in maxima.iter_mut().zip(part) {
            *m = m.max(x);
        }
    }
    let max = parts
        .remainder()
        .iter()
        .chain(&maxima)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    // Eight independent f32 partial sums over short stretches vectorise; folding each stretch
    // into the f64 total keeps the rounding error at the level of a 512-term f32 sum.
    // The exponentials of a stretch go to a buffer first, in a loop of independent iterations
    // that vectorises at the full width; the sums then add them in the order above.
    let mut total = 0f64;
    let mut terms = [0f32; 512];
    for stretch in row.chunks(512) {
        let terms = &mut terms[..stretch.len()];
        for (term, &x) in terms.iter_mut().zip(stretch) {
            *term = exp_nonpositive(x - max);
        }
        let mut lanes = [0f32; 8];
        let mut parts = terms.chunks_exact(8);
        for part in &mut parts {
            for (lane, &e) in lanes.iter_mut().zip(part) {
                *lane += e;
            }
        }
        let tail: f32 = parts.remainder().iter().sum();
        total += lanes.iter().map(|&l| l as f64).sum::<f64>() + tail as f64;
    }
    (row[target] - max) as f64 - total.ln()
}

/// `e^x` for `x <= 0`, to about 2 ulp, in straight-line arithmetic the compiler vectorises
/// (the libm call does not, and the head's log-softmax evaluates one per vocabulary entry).
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    // e^x = 2^n · e^r with n = round(x / ln 2) and |r| <= ln 2 / 2; e^r by its Taylor series
    // to degree 7 (truncation error < 1e-8 on that interval).
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5·2^23 rounds to the nearest integer without a libm call, and
    // leaves that integer in the low bits of the sum (its ulp is 1 between 2^23 and 2^24), where
    // it is read without a float-to-int conversion.
    const ROUND: f32 = 12_582_912.0;
    let x = x.max(-87.0);
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    f32::from_bits((n_bits.wrapping_add(127) << 23) as u32) * p
}

/// The number of blocks of the model at `path` (a GGUF file or a checkpoint folder), from its
/// metadata alone: what a suite is checked against before any model loads.
pub fn count_blocks(path: &Path) -> Result<usize> {
    if path.is_dir() {
        return Ok(hf::HfConfig::load(&path.join("config.json"))?
            .0
            .num_hidden_layers);
    }
    gguf_block_count(&gguf::GgufFile::open(path)?)
}

/// The block count in an opened GGUF file's metadata.
pub(crate) fn gguf_block_count(g: &gguf::GgufFile) -> Result<usize> {
    let architecture = g.architecture()?;
    Ok(g.u32(&format!("{architecture}.block_count"))? as usize)
}

/// Choices made when loading a model.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    pub layer_types: LayerTypeRule,
    pub device: DeviceSpec,
    pub dtype: Precision,
}

/// Where a model came from.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// Catalogue id (e.g. `smollm2-135m`), `hf:` id, or the file or folder as given.
    pub name: String,
    pub path: PathBuf,
    /// Identifies the weights in memo and store keys (see `crate::fetch::Resolved`).
    pub sha256: String,
}

/// A loaded model: architecture, tokenizer and provenance.
pub struct Model {
    pub info: ModelInfo,
    net: Box<dyn Transformer>,
    pub tokenizer: Tokenizer,
    pub special: SpecialTokens,
    /// Where the weights (and every batch) live.
    device: Device,
    /// How it was loaded: the layer-type rule and the precision change its scores.
    options: LoadOptions,
}

impl Tokenization for Model {
    fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
    fn bos(&self) -> Option<u32> {
        self.special.bos
    }
    fn device(&self) -> &Device {
        &self.device
    }
    fn model(&self) -> Option<&Model> {
        Some(self)
    }
}

impl Model {
    /// Loads a GGUF file of a supported architecture; `sha256` identifies its weights.
    pub fn load_gguf(
        path: &Path,
        name: &str,
        sha256: String,
        options: &LoadOptions,
    ) -> Result<Self> {
        let mut g = gguf::GgufFile::open(path)?;
        let architecture = g.architecture()?;
        let device = options.device.device()?;
        enum Arch {
            Llama(llama::Config),
            Gemma3(gemma3::Config),
        }
        let arch = match architecture.as_str() {
            "llama" => Arch::Llama(llama::Config::from_gguf(&g)?),
            "gemma3" => Arch::Gemma3(gemma3::Config::from_gguf(&g)?),
            other => bail!(
                "{}: architecture '{other}' is not supported (supported: llama, gemma3)",
                path.display()
            ),
        };
        let tokenizer = Tokenizer::from_gguf(&g)?;
        let special = SpecialTokens::from_gguf(&g)?;
        let mut w = placement::Placed {
            inner: &mut g,
            device: device.clone(),
            dtype: options.dtype.dtype(),
        };
        let net: Box<dyn Transformer> = match arch {
            Arch::Llama(cfg) => Box::new(llama::Llama::load(cfg, &mut w)?),
            Arch::Gemma3(cfg) => Box::new(gemma3::Gemma3::load(cfg, &mut w, options.layer_types)?),
        };
        let info = ModelInfo {
            name: name.to_string(),
            path: path.to_path_buf(),
            sha256,
        };
        Ok(Self {
            info,
            net,
            tokenizer,
            special,
            device,
            options: *options,
        })
    }

    /// Loads a Hugging Face checkpoint folder (config.json, tokenizer.json, safetensors);
    /// `sha256` identifies its weights.
    pub fn load_hf_dir(
        dir: &Path,
        name: &str,
        sha256: String,
        options: &LoadOptions,
    ) -> Result<Self> {
        let ckpt = hf::Checkpoint::open(dir)?;
        let family = ckpt.config.family()?;
        let mut st = hf::SafetensorsWeights::open(&ckpt.weight_files, family, &ckpt.prefix)?;
        let device = options.device.device()?;
        let mut w = placement::Placed {
            inner: &mut st,
            device: device.clone(),
            dtype: options.dtype.dtype(),
        };
        let c = &ckpt.config;
        let net: Box<dyn Transformer> = match family {
            hf::Family::Llama => Box::new(llama::Llama::load(llama::Config::from_hf(c)?, &mut w)?),
            hf::Family::Qwen => Box::new(qwen::Qwen::load(qwen::Config::from_hf(c)?, &mut w)?),
            hf::Family::Gemma3 => Box::new(gemma3::Gemma3::load(
                gemma3::Config::from_hf(c)?,
                &mut w,
                options.layer_types,
            )?),
        };
        let tokenizer = Tokenizer::from_json_file(&ckpt.tokenizer)?;
        let special = vocabulary::hf_special_tokens(&ckpt, &tokenizer)?;
        Ok(Self {
            info: ModelInfo {
                name: name.to_string(),
                path: dir.to_path_buf(),
                sha256,
            },
            net,
            tokenizer,
            special,
            device,
            options: *options,
        })
    }

    pub fn n_blocks(&self) -> usize {
        self.net.n_blocks()
    }

    /// Whether the model runs on the CPU, where a row's bits do not depend on the rows beside
    /// it (a GPU's BLAS may pick another kernel for another batch size).
    pub fn is_cpu(&self) -> bool {
        self.device.is_cpu()
    }

    /// What the model's scores depend on besides the objective: the weights' sha256, plus the
    /// layer-type rule, the dtype and the kind of device when they are not the defaults (so a
    /// bf16 or CUDA run never reuses, or pollutes, stored f32 CPU scores). The memo and the
    /// evaluation store are keyed by it.
    pub fn scores_key(&self) -> String {
        let mut key = self.info.sha256.clone();
        if self.options.layer_types != LayerTypeRule::default() {
            key.push_str(&format!("-{:?}", self.options.layer_types).to_lowercase());
        }
        if self.options.dtype != Precision::default() {
            key.push_str(&format!("-{:?}", self.options.dtype).to_lowercase());
        }
        if !self.device.is_cpu() {
            key.push_str("-cuda");
        }
        key
    }

    pub fn embed(&self, tokens: &Tensor) -> Result<Tensor> {
        Ok(self.net.embed(tokens)?)
    }

    /// Runs block `index` as the `slot`-th block that runs (see [`Transformer::run_block`]).
    ///
    /// On the CPU with several threads, the batch's sequences are cut into one run per thread
    /// and the runs go through the block side by side: a block's matmuls use every core on their
    /// own, but its attention, norms and element-wise maps mostly do not, and they are a quarter
    /// of a block's single-thread time. Each row is computed by the same operations in the same
    /// order whatever batch it sits in (gemm's blocking depends on the inner dimension only), so
    /// the scores keep their bits; `cutting_the_batch_keeps_every_bit_*` (tests/evaluator.rs) check it.
    pub fn run_block(
        &self,
        index: usize,
        slot: usize,
        x: &Tensor,
        layout: &Layout,
    ) -> Result<Tensor> {
        let parts = rayon::current_num_threads().min(layout.batch());
        // A run of a single one-token row would take gemm's matrix-vector path instead.
        if parts < 2 || layout.seq() < 2 || !self.device.is_cpu() {
            return Ok(self.net.run_block(index, slot, x, layout)?);
        }
        let outputs = layout
            .split(parts)
            .par_iter()
            .map(|(start, part)| {
                let x = x.narrow(0, *start, part.batch())?;
                self.net.run_block(index, slot, &x, part)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Tensor::cat(&outputs, 0)?)
    }

    /// Runs the kept blocks `from..` of `mask` on a residual stream entering block `from`.
    pub fn run_blocks_from(
        &self,
        mut x: Tensor,
        from: usize,
        mask: &BlockMask,
        layout: &Layout,
    ) -> Result<Tensor> {
        self.check_mask(mask)?;
        let first_slot = mask.kept().filter(|&i| i < from).count();
        for (slot, i) in (first_slot..).zip(mask.kept().filter(|&i| i >= from)) {
            x = self.run_block(i, slot, &x, layout)?;
        }
        Ok(x)
    }

    /// The residual stream after the last block, `[batch, seq, hidden]`, for plain causal
    /// sequences.
    pub fn hidden_states(&self, tokens: &Tensor, mask: &BlockMask) -> Result<Tensor> {
        let (b, t) = tokens.dims2()?;
        self.hidden_states_with(tokens, &Layout::causal(b, t), mask)
    }

    /// The residual stream after the last block for any layout.
    pub fn hidden_states_with(
        &self,
        tokens: &Tensor,
        layout: &Layout,
        mask: &BlockMask,
    ) -> Result<Tensor> {
        let x = self.embed(tokens)?;
        self.run_blocks_from(x, 0, mask, layout)
    }

    /// Rows `rows` (flat indices `b * seq + t`) of a `[batch, seq, hidden]` residual stream.
    pub fn select_rows(&self, hidden: &Tensor, rows: &[u32]) -> Result<Tensor> {
        let (b, t, d) = hidden.dims3()?;
        let index = Tensor::from_slice(rows, rows.len(), hidden.device())?;
        Ok(hidden.reshape((b * t, d))?.index_select(&index, 0)?)
    }

    /// Logits `[rows, vocab]` at the selected rows of the final residual stream.
    pub fn logits(&self, hidden: &Tensor, rows: &[u32]) -> Result<Tensor> {
        let selected = self.select_rows(hidden, rows)?;
        Ok(self.net.head().logits(&selected)?.to_dtype(DType::F32)?)
    }

    /// `log p(targets[i])` predicted at row `rows[i]` of the final residual stream.
    pub fn target_log_probs(
        &self,
        hidden: &Tensor,
        rows: &[u32],
        targets: &[u32],
    ) -> Result<Vec<f64>> {
        let selected = self.select_rows(hidden, rows)?;
        self.net.head().target_log_probs(&selected, targets)
    }

    /// `log p(targets[i])` predicted by row `i` of `selected` (rows of final residual
    /// streams, possibly gathered from several batches: one head call for all of them).
    pub fn head_log_probs(&self, selected: &Tensor, targets: &[u32]) -> Result<Vec<f64>> {
        self.net.head().target_log_probs(selected, targets)
    }

    /// The KL objective's [`DenseReference`] at the selected rows of the unpruned model's final
    /// stream.
    pub fn dense_reference(&self, selected: &Tensor) -> Result<DenseReference> {
        self.net.head().dense_reference(selected)
    }

    /// `−KL(p ‖ q)` of each selected row against the dense distributions of `reference`
    /// ([`Head::neg_kl`]).
    pub fn head_neg_kl(&self, selected: &Tensor, reference: &DenseReference) -> Result<Vec<f64>> {
        self.net.head().neg_kl(selected, reference)
    }

    fn check_mask(&self, mask: &BlockMask) -> Result<()> {
        if mask.n_blocks() != self.n_blocks() {
            bail!(
                "block mask has {} blocks but {} has {}",
                mask.n_blocks(),
                self.info.name,
                self.n_blocks()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_matches_libm() {
        let mut worst = 0f32;
        for i in 0..200_000 {
            let x = -(i as f32) * 87.0 / 200_000.0;
            let rel = ((exp_nonpositive(x) - x.exp()) / x.exp()).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
    }

    #[test]
    fn log_softmax_matches_the_definition() {
        let row: Vec<f32> = (0..1000)
            .map(|i| ((i * 37) % 101) as f32 * 0.13 - 4.0)
            .collect();
        let denom: f64 = row.iter().map(|&x| (x as f64).exp()).sum();
        for t in [0, 17, 999] {
            let expected = row[t] as f64 - denom.ln();
            assert!((log_softmax_at(&row, t) - expected).abs() < 1e-6);
        }
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        // Lengths that leave remainders for the 16-lane maxima, the 8-lane sums and the
        // 512-term stretches; values spread over the exponential's range.
        for len in [1, 7, 16, 513, 49_152 + 5] {
            let row: Vec<f32> = (0..len)
                .map(|i| ((i * 7919) % 4099) as f32 * 0.021 - 70.0)
                .collect();
            for t in [0, len / 2, len - 1] {
                let portable = log_softmax_at_portable(&row, t);
                assert_eq!(
                    log_softmax_at(&row, t).to_bits(),
                    portable.to_bits(),
                    "{len} {t}"
                );
                #[cfg(target_arch = "x86_64")]
                {
                    if std::arch::is_x86_feature_detected!("avx2") {
                        let avx2 = unsafe { log_softmax_at_avx2(&row, t) };
                        assert_eq!(avx2.to_bits(), portable.to_bits(), "{len} {t}");
                    }
                }
            }
        }
    }
}
