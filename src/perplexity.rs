//! Token-level perplexity over fixed windows, the rule the reference fixtures use.
//!
//! Cut consecutive, non-overlapping windows from the start of the token stream; with a BOS
//! token each window is `[BOS] + next N-1 tokens`, otherwise the next N tokens. A trailing
//! partial window is dropped and the first M are kept. Every window is an independent forward
//! from position 0 and all N-1 next-token predictions are scored; NLL is summed in f64.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::model::{BlockMask, Model};

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

/// NLL sum of each window of `batch` (equal lengths), all next-token predictions scored.
pub fn batch_nll(model: &Model, batch: &[Vec<u32>], mask: &BlockMask) -> Result<Vec<f64>> {
    let tokens = model.token_tensor(batch)?;
    let hidden = model.hidden_states(&tokens, mask)?;
    scored_nll(model, &hidden, batch)
}

/// NLL sums per window from the final residual stream of `batch`.
pub fn scored_nll(
    model: &Model,
    hidden: &candle_core::Tensor,
    batch: &[Vec<u32>],
) -> Result<Vec<f64>> {
    let seq = batch[0].len();
    let mut rows = Vec::with_capacity(batch.len() * (seq - 1));
    let mut targets = Vec::with_capacity(rows.capacity());
    for (b, window) in batch.iter().enumerate() {
        for t in 0..seq - 1 {
            rows.push((b * seq + t) as u32);
            targets.push(window[t + 1]);
        }
    }
    let log_probs = model.target_log_probs(hidden, &rows, &targets)?;
    Ok(log_probs
        .chunks(seq - 1)
        .map(|w| -w.iter().sum::<f64>())
        .collect())
}

pub fn perplexity(
    model: &Model,
    windows: &[Vec<u32>],
    mask: &BlockMask,
    batch_size: usize,
) -> Result<PerplexityReport> {
    let mut nll_sum = 0.0;
    let mut tokens_scored = 0;
    for batch in windows.chunks(batch_size.max(1)) {
        nll_sum += batch_nll(model, batch, mask)?.iter().sum::<f64>();
        tokens_scored += batch.iter().map(|w| w.len() - 1).sum::<usize>();
    }
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
