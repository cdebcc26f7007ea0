//! Token-level perplexity over fixed windows, the rule the reference fixtures use.
//!
//! Cut consecutive, non-overlapping windows from the start of the token stream; with a BOS
//! token each window is `[BOS] + next N-1 tokens`, otherwise the next N tokens. A trailing
//! partial window is dropped and the first M are kept. Every window is an independent forward
//! from position 0 and all N-1 next-token predictions are scored; NLL is summed in f64.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::model::{BlockMask, Layout, Model, Tokenization};
use crate::workload::{WorkBatch, Workload};

/// Windows processed per forward pass.
pub const DEFAULT_BATCH: usize = 4;

pub fn cut_windows(
    ids: &[u32],
    seq_len: usize,
    max_seqs: usize,
    bos: Option<u32>,
) -> Result<Vec<Vec<u32>>> {
    if seq_len < 2 {
        bail!("--seq-len must be at least 2 (one token to condition on, one to predict)");
    }
    let text_per_window = if bos.is_some() { seq_len - 1 } else { seq_len };
    let windows: Vec<Vec<u32>> = ids
        .chunks_exact(text_per_window)
        .take(max_seqs)
        .map(|chunk| bos.into_iter().chain(chunk.iter().copied()).collect())
        .collect();
    if windows.is_empty() {
        bail!(
            "the text has {} tokens, fewer than one window of {seq_len}: use a longer text or a smaller --seq-len",
            ids.len()
        );
    }
    Ok(windows)
}

#[derive(Debug, Clone, Serialize)]
pub struct PerplexityReport {
    pub windows: usize,
    pub tokens_scored: usize,
    pub nll_sum: f64,
    pub ppl: f64,
}

impl PerplexityReport {
    pub fn from_nll(windows: usize, tokens_scored: usize, nll_sum: f64) -> Self {
        Self {
            windows,
            tokens_scored,
            nll_sum,
            ppl: (nll_sum / tokens_scored as f64).exp(),
        }
    }
}

/// Plain causal batches of windows, `DEFAULT_BATCH` at a time; every next-token prediction
/// scored, one item per window.
pub fn window_workload(model: &dyn Tokenization, windows: &[Vec<u32>]) -> Result<Workload> {
    let mut batches = Vec::new();
    for (first, chunk) in (0..)
        .step_by(DEFAULT_BATCH)
        .zip(windows.chunks(DEFAULT_BATCH))
    {
        let seq = chunk[0].len();
        let (mut rows, mut targets, mut items) = (Vec::new(), Vec::new(), Vec::new());
        for (b, w) in chunk.iter().enumerate() {
            for t in 0..seq - 1 {
                rows.push((b * seq + t) as u32);
                targets.push(w[t + 1]);
                items.push((first + b) as u32);
            }
        }
        batches.push(WorkBatch {
            tokens: model.token_tensor(chunk)?,
            layout: Layout::causal(chunk.len(), seq),
            rows,
            targets,
            items,
            reference: None,
        });
    }
    Ok(Workload {
        batches,
        n_items: windows.len(),
        first_rung: 1,
        groups: Vec::new(),
    })
}

pub fn perplexity(
    model: &Model,
    windows: &[Vec<u32>],
    mask: &BlockMask,
) -> Result<PerplexityReport> {
    let nll_sum = -window_workload(model, windows)?
        .run(model, mask)?
        .iter()
        .sum::<f64>();
    let tokens_scored = windows.iter().map(|w| w.len() - 1).sum();
    Ok(PerplexityReport::from_nll(
        windows.len(),
        tokens_scored,
        nll_sum,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_with_and_without_bos() {
        let ids: Vec<u32> = (10..20).collect();
        let w = cut_windows(&ids, 4, 10, None).unwrap();
        assert_eq!(w, vec![vec![10, 11, 12, 13], vec![14, 15, 16, 17]]);
        let w = cut_windows(&ids, 4, 10, Some(2)).unwrap();
        assert_eq!(
            w,
            vec![
                vec![2, 10, 11, 12],
                vec![2, 13, 14, 15],
                vec![2, 16, 17, 18]
            ]
        );
        let w = cut_windows(&ids, 4, 1, Some(2)).unwrap();
        assert_eq!(w.len(), 1);
        assert!(cut_windows(&ids, 11, 1, None).is_err());
        assert!(cut_windows(&ids, 1, 1, None).is_err());
    }
}
