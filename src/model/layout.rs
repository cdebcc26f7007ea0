//! [`Layout`]: where each token of a batch sits (its RoPE position) and what it may attend to.
//!
//! Plain batches are causal sequences from position 0. Packed batches share work between the
//! options of a multiple-choice question: the options' common token prefix appears once
//! (segment 0), then each option's own suffix (segment 1, 2, ...) continues the positions from
//! the end of the prefix and attends to the prefix and to earlier tokens of its own segment only.
//! Every option is then scored exactly as if it had been run alone.

use std::sync::{Arc, Mutex};

use candle_core::{Device, Result, Tensor};

use super::layers::{Rope, RopeScaling, RopeStyle};

#[derive(Debug, Clone)]
pub struct Layout {
    batch: usize,
    seq: usize,
    /// `None` for plain causal batches; else per token (row-major `[batch, seq]`).
    packed: Option<Packed>,
    /// Masks and RoPE tables already built for this layout: every block of every evaluation
    /// of the batch asks for the same few, so each is built once.
    built: Arc<Mutex<Built>>,
}

type RopeKey = (u32, usize, RopeStyle, RopeScaling);

#[derive(Debug, Default)]
struct Built {
    masks: Vec<(Option<usize>, Tensor)>,
    ropes: Vec<(RopeKey, Rope)>,
    /// [`Layout::split`]'s parts, by the number asked for.
    splits: Vec<(usize, Vec<(usize, Layout)>)>,
}

#[derive(Debug, Clone)]
struct Packed {
    positions: Vec<u32>,
    segments: Vec<u32>,
}

/// One packed sequence before padding: positions and segments of each token.
#[derive(Debug, Clone, Default)]
pub struct PackedSeq {
    pub positions: Vec<u32>,
    pub segments: Vec<u32>,
}

impl Layout {
    pub fn causal(batch: usize, seq: usize) -> Self {
        Self {
            batch,
            seq,
            packed: None,
            built: Arc::default(),
        }
    }

    /// Packed sequences, right-padded to the longest. Padding tokens continue the last
    /// position in segment 0; nothing reads them.
    pub fn packed(seqs: &[PackedSeq]) -> Self {
        let seq = seqs.iter().map(|s| s.positions.len()).max().unwrap_or(0);
        let mut positions = Vec::with_capacity(seqs.len() * seq);
        let mut segments = Vec::with_capacity(seqs.len() * seq);
        for s in seqs {
            positions.extend(&s.positions);
            segments.extend(&s.segments);
            let next = s.positions.iter().max().map_or(0, |p| p + 1);
            for k in 0..(seq - s.positions.len()) {
                positions.push(next + k as u32);
                segments.push(0);
            }
        }
        Self {
            batch: seqs.len(),
            seq,
            packed: Some(Packed {
                positions,
                segments,
            }),
            built: Arc::default(),
        }
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    pub fn seq(&self) -> usize {
        self.seq
    }

    /// Whether sequences are packed (multiple-choice options sharing a prefix) rather than
    /// plain causal rows.
    pub fn is_packed(&self) -> bool {
        self.packed.is_some()
    }

    /// The batch cut into at most `parts` runs of consecutive sequences, each with its first
    /// sequence's index and its own layout (same `seq`, so every row is computed exactly as in
    /// the whole batch). Built once per `parts`, like masks and RoPE tables.
    pub fn split(&self, parts: usize) -> Vec<(usize, Layout)> {
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, split)) = built.splits.iter().find(|(p, _)| *p == parts) {
            return split.clone();
        }
        let per_part = self.batch.div_ceil(parts.max(1)).max(1);
        let split: Vec<(usize, Layout)> = (0..self.batch)
            .step_by(per_part)
            .map(|start| {
                let len = per_part.min(self.batch - start);
                let rows = start * self.seq..(start + len) * self.seq;
                let packed = self.packed.as_ref().map(|p| Packed {
                    positions: p.positions[rows.clone()].to_vec(),
                    segments: p.segments[rows].to_vec(),
                });
                let part = Self {
                    batch: len,
                    seq: self.seq,
                    packed,
                    built: Arc::default(),
                };
                (start, part)
            })
            .collect();
        built.splits.push((parts, split.clone()));
        split
    }

    /// RoPE tables for these positions, on the device and in the dtype of `like` (the
    /// activations they will rotate).
    pub fn rope(
        &self,
        theta: f32,
        head_dim: usize,
        style: RopeStyle,
        scaling: RopeScaling,
        like: &Tensor,
    ) -> Result<Rope> {
        let key = (theta.to_bits(), head_dim, style, scaling);
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, rope)) = built.ropes.iter().find(|(k, _)| *k == key) {
            return Ok(rope.clone());
        }
        let rope = self
            .build_rope(theta, head_dim, style, scaling)?
            .placed_like(like)?;
        built.ropes.push((key, rope.clone()));
        Ok(rope)
    }

    fn build_rope(
        &self,
        theta: f32,
        head_dim: usize,
        style: RopeStyle,
        scaling: RopeScaling,
    ) -> Result<Rope> {
        match &self.packed {
            None => {
                let positions: Vec<u32> = (0..self.seq as u32).collect();
                Rope::new(
                    theta,
                    head_dim,
                    &positions,
                    (self.seq,),
                    style,
                    scaling,
                    &Device::Cpu,
                )
            }
            Some(p) => Rope::new(
                theta,
                head_dim,
                &p.positions,
                (self.batch, self.seq),
                style,
                scaling,
                &Device::Cpu,
            ),
        }
    }

    /// Additive attention mask: `[seq, seq]` for plain batches, `[batch, 1, seq, seq]` for
    /// packed ones. With a `window`, a query also sees only keys less than `window` positions
    /// back. On the device and in the dtype of `like`.
    pub fn mask(&self, window: Option<usize>, like: &Tensor) -> Result<Tensor> {
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, mask)) = built.masks.iter().find(|(w, _)| *w == window) {
            return Ok(mask.clone());
        }
        let mask = self
            .build_mask(window)?
            .to_dtype(like.dtype())?
            .to_device(like.device())?;
        built.masks.push((window, mask.clone()));
        Ok(mask)
    }

    fn build_mask(&self, window: Option<usize>) -> Result<Tensor> {
        let t = self.seq;
        let in_window = |dq: u32, dk: u32| window.is_none_or(|w| ((dq - dk) as usize) < w);
        match &self.packed {
            None => {
                let mut mask = vec![f32::NEG_INFINITY; t * t];
                for i in 0..t {
                    for j in 0..=i {
                        if in_window(i as u32, j as u32) {
                            mask[i * t + j] = 0.0;
                        }
                    }
                }
                Tensor::from_vec(mask, (t, t), &Device::Cpu)
            }
            Some(p) => {
                let mut mask = vec![f32::NEG_INFINITY; self.batch * t * t];
                for b in 0..self.batch {
                    let pos = &p.positions[b * t..(b + 1) * t];
                    let seg = &p.segments[b * t..(b + 1) * t];
                    let m = &mut mask[b * t * t..(b + 1) * t * t];
                    for i in 0..t {
                        for j in 0..=i {
                            let visible = (seg[j] == 0 || seg[j] == seg[i]) && pos[j] <= pos[i];
                            if visible && in_window(pos[i], pos[j]) {
                                m[i * t + j] = 0.0;
                            }
                        }
                    }
                }
                Tensor::from_vec(mask, (self.batch, 1, t, t), &Device::Cpu)
            }
        }
    }
}
