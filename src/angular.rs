//! Angular distance (Gromov et al., "The Unreasonable Ineffectiveness of the Deeper Layers",
//! arXiv 2403.17887): how far the representation of a sequence's last token turns between the
//! residual stream entering block ℓ and the one entering block ℓ + n, `arccos(cos) / π`, averaged
//! over the workload's sequences with every block running. The `angular_distance` baseline
//! removes the contiguous run of k blocks with the smallest distance.
//!
//! The stream "entering" block `n_blocks` is the last block's output before the final norm: the
//! paper's representations are the blocks' inputs, and the final norm is no block's.

use anyhow::{bail, Result};
use candle_core::DType;

use crate::model::{BlockMask, Model};
use crate::workload::Workload;

/// Mean angular distance between the streams entering every two block boundaries.
#[derive(Debug, Clone, PartialEq)]
pub struct AngularDistances {
    /// `distance[l][m]` for `l < m <= n_blocks`: between the stream entering block `l` and the
    /// one entering block `m` (0 on and below the diagonal).
    pub distance: Vec<Vec<f64>>,
    /// Sequences averaged over.
    pub sequences: usize,
}

impl AngularDistances {
    pub fn n_blocks(&self) -> usize {
        self.distance.len() - 1
    }

    /// Between the streams entering block `start` and block `start + n`: what removing the
    /// `n` blocks from `start` skips.
    pub fn of_run(&self, start: usize, n: usize) -> f64 {
        self.distance[start][start + n]
    }
}

/// The angular distances of `model` on the last token of every sequence of `workload`.
/// Only plain windows have one last token per sequence, so a packed workload (multiple-choice
/// questions) is refused.
pub fn angular_distances(model: &Model, workload: &Workload) -> Result<AngularDistances> {
    let n = model.n_blocks();
    let mut sums = vec![vec![0.0f64; n + 1]; n + 1];
    let mut sequences = 0;
    let full = BlockMask::full(n);
    for batch in &workload.batches {
        if batch.layout.is_packed() {
            bail!(
                "angular distance reads the last token of each calibration window: give it a \
                 perplexity objective (its windows), not multiple-choice questions"
            );
        }
        let (b, seq) = (batch.layout.batch(), batch.layout.seq());
        let last: Vec<u32> = (0..b).map(|i| (i * seq + seq - 1) as u32).collect();
        let mut x = model.embed(&batch.tokens)?;
        // states[boundary][sequence]: the last token's stream entering each block.
        let mut states: Vec<Vec<Vec<f32>>> = Vec::with_capacity(n + 1);
        states.push(last_rows(model, &x, &last)?);
        for (slot, i) in full.kept().enumerate() {
            x = model.run_block(i, slot, &x, &batch.layout)?;
            states.push(last_rows(model, &x, &last)?);
        }
        for l in 0..=n {
            for m in l + 1..=n {
                for (a, b) in states[l].iter().zip(&states[m]) {
                    sums[l][m] += angle(a, b);
                }
            }
        }
        sequences += b;
    }
    if sequences == 0 {
        bail!("angular distance needs at least one calibration window");
    }
    for row in &mut sums {
        for d in row.iter_mut() {
            *d /= sequences as f64;
        }
    }
    Ok(AngularDistances {
        distance: sums,
        sequences,
    })
}

fn last_rows(model: &Model, x: &candle_core::Tensor, rows: &[u32]) -> Result<Vec<Vec<f32>>> {
    Ok(model
        .select_rows(x, rows)?
        .to_dtype(DType::F32)?
        .to_vec2::<f32>()?)
}

/// `arccos(cos(a, b)) / π`, in f64, the cosine clamped to [−1, 1].
pub fn angle(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    let cos = (dot / (aa.sqrt() * bb.sqrt())).clamp(-1.0, 1.0);
    cos.acos() / std::f64::consts::PI
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles_are_in_half_turns() {
        assert_eq!(angle(&[1.0, 0.0], &[2.0, 0.0]), 0.0);
        assert!((angle(&[1.0, 0.0], &[0.0, 3.0]) - 0.5).abs() < 1e-15);
        assert!((angle(&[1.0, 0.0], &[-1.0, 0.0]) - 1.0).abs() < 1e-15);
    }
}
