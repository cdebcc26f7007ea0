//! A [`Workload`]: the token batches an objective runs, with the rows to score in each and the
//! items (windows, options) the scores are summed into. It is what the evaluator caches and
//! what every objective and the `ppl` command hand to the model.

use anyhow::Result;
use candle_core::Tensor;

use crate::model::{BlockMask, Layout, Model};

/// Token batches to run and the rows to score in each.
pub struct Workload {
    pub batches: Vec<WorkBatch>,
    /// Number of items (windows, options) the scored rows are summed into.
    pub n_items: usize,
}

impl Workload {
    /// Summed log-probability of every item with `mask`, batch by batch, without caching.
    pub fn run(&self, model: &Model, mask: &BlockMask) -> Result<Vec<f64>> {
        let mut sums = vec![0.0; self.n_items];
        for batch in &self.batches {
            let hidden = model.hidden_states_with(&batch.tokens, &batch.layout, mask)?;
            batch.accumulate(model, &hidden, &mut sums)?;
        }
        Ok(sums)
    }

    /// Every item in the order the batches first score it, and how many of them the first
    /// `b + 1` batches cover, for each `b`: a store record's per-item values are in this
    /// order, so the values of the first batches are a prefix of the list. An item is scored
    /// by one batch only (a window; an option, packed with its question).
    pub fn item_order(&self) -> (Vec<usize>, Vec<usize>) {
        let mut seen = vec![false; self.n_items];
        let mut order = Vec::with_capacity(self.n_items);
        let mut covered = Vec::with_capacity(self.batches.len());
        for batch in &self.batches {
            for &i in &batch.items {
                if !std::mem::replace(&mut seen[i as usize], true) {
                    order.push(i as usize);
                }
            }
            covered.push(order.len());
        }
        (order, covered)
    }

    /// Tokens batch `b` runs through the model (padding included).
    pub fn batch_tokens(&self, b: usize) -> usize {
        let l = &self.batches[b].layout;
        l.batch() * l.seq()
    }

    pub fn n_tokens(&self) -> usize {
        self.batches
            .iter()
            .map(|b| b.layout.batch() * b.layout.seq())
            .sum()
    }
}

pub struct WorkBatch {
    /// `[batch, seq]` token ids.
    pub tokens: Tensor,
    pub layout: Layout,
    /// Flat row indices (`b * seq + t`) whose next-token prediction is scored...
    pub rows: Vec<u32>,
    /// ...against these targets...
    pub targets: Vec<u32>,
    /// ...and summed into these items.
    pub items: Vec<u32>,
}

impl WorkBatch {
    /// Adds the log-probabilities of this batch's scored rows to `sums`, given the residual
    /// stream after the last block.
    pub fn accumulate(&self, model: &Model, hidden: &Tensor, sums: &mut [f64]) -> Result<()> {
        let log_probs = model.target_log_probs(hidden, &self.rows, &self.targets)?;
        for (&item, lp) in self.items.iter().zip(log_probs) {
            sums[item as usize] += lp;
        }
        Ok(())
    }
}
