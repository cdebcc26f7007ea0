//! A [`Workload`]: the token batches an objective runs, with the rows to score in each and the
//! items (windows, options) the scores are summed into. It is what the evaluator caches and
//! what every objective and the `ppl` command hand to the model.

use anyhow::Result;
use candle_core::Tensor;

use crate::model::{BlockMask, DenseReference, Layout, Model};

/// Token batches to run and the rows to score in each.
pub struct Workload {
    pub batches: Vec<WorkBatch>,
    /// Number of items (windows, options) the scored rows are summed into.
    pub n_items: usize,
    /// The fewest batches the sieve's first rung scores: 1, or an eighth of the batches once
    /// they are cut fine ([`Workload::refined`]), so no candidate is dropped on one or two
    /// questions alone.
    pub first_rung: usize,
    /// The batches a fine cut made, by the batch they were cut from (in order; none before a
    /// cut, nor for a batch left whole).
    pub groups: Vec<Group>,
}

/// Consecutive batches cut from one batch, kept whole beside them: an evaluation that runs
/// all of them at once runs the whole batch instead, every row computing the bits it computes
/// in its part, in fewer and larger products (fine batches of two questions cost about twice
/// as much per token).
pub struct Group {
    pub batches: std::ops::Range<usize>,
    pub tokens: Tensor,
    pub layout: Layout,
}

/// Sequences per batch of a [`Workload::refined`] workload: two keep both threads of a
/// two-core machine busy (`Model::run_block` gives each thread a run of sequences) while
/// making every question (or window pair) a fidelity level of its own.
pub const FINE_SEQUENCES: usize = 2;

/// A refined workload's first rung covers at least `1 / FIRST_RUNG_DIVISOR` of its batches.
pub const FIRST_RUNG_DIVISOR: usize = 8;

/// How finely an objective's items are cut into the sieve's fidelity levels.
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
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Rungs {
    /// One level per batch as packed (windows in fours, questions up to 2,048 tokens).
    #[default]
    Batches,
    /// One level per [`FINE_SEQUENCES`] sequences (questions or windows), the first rung an
    /// eighth of them.
    Fine,
}

impl Workload {
    /// No batches: a placeholder while a workload is recut.
    pub fn empty() -> Self {
        Self {
            batches: vec![],
            n_items: 0,
            first_rung: 1,
            groups: vec![],
        }
    }

    /// Summed log-probability of every item with `mask`, batch by batch, without caching.
    pub fn run(&self, model: &Model, mask: &BlockMask) -> Result<Vec<f64>> {
        let mut sums = vec![0.0; self.n_items];
        for batch in &self.batches {
            let hidden = model.hidden_states_with(&batch.tokens, &batch.layout, mask)?;
            batch.accumulate(model, &hidden, &mut sums)?;
        }
        Ok(sums)
    }

    /// [`Self::run`] over the batches `which` alone: their items' sums, NaN for every other
    /// item (a spot check of a stored record).
    pub fn run_batches(
        &self,
        model: &Model,
        mask: &BlockMask,
        which: &[usize],
    ) -> Result<Vec<f64>> {
        let mut sums = vec![f64::NAN; self.n_items];
        for &b in which {
            let batch = &self.batches[b];
            for &i in &batch.items {
                sums[i as usize] = 0.0;
            }
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

    /// The same items cut into batches of at most `per_batch` sequences: every batch split
    /// along its sequences in order, each part keeping the batch's padded length, so every row
    /// goes through the same operations as in the whole batch (the invariant that lets
    /// `Model::run_block` give each thread a run of sequences) and an item's value keeps its
    /// bits. Items keep their order, so a store record's per-item values (in batch order)
    /// read the same under either cut.
    pub fn refined(self, per_batch: usize) -> Result<Workload> {
        let per_batch = per_batch.max(1);
        let mut batches = Vec::new();
        let mut groups = Vec::new();
        for batch in self.batches {
            let (n, seq) = (batch.layout.batch(), batch.layout.seq());
            if n <= per_batch {
                batches.push(batch);
                continue;
            }
            let first = batches.len();
            for (start, layout) in batch.layout.split(n.div_ceil(per_batch)) {
                let len = layout.batch();
                let rows_in = (start * seq) as u32..((start + len) * seq) as u32;
                let (mut rows, mut targets, mut items) = (Vec::new(), Vec::new(), Vec::new());
                let mut kept = Vec::new();
                for (k, ((&r, &t), &i)) in batch
                    .rows
                    .iter()
                    .zip(&batch.targets)
                    .zip(&batch.items)
                    .enumerate()
                {
                    if rows_in.contains(&r) {
                        rows.push(r - rows_in.start);
                        targets.push(t);
                        items.push(i);
                        kept.push(k as u32);
                    }
                }
                let reference = match &batch.reference {
                    Some(r) => Some(r.select(&kept)?),
                    None => None,
                };
                batches.push(WorkBatch {
                    tokens: batch.tokens.narrow(0, start, len)?.contiguous()?,
                    layout,
                    rows,
                    targets,
                    items,
                    reference,
                });
            }
            groups.push(Group {
                batches: first..batches.len(),
                tokens: batch.tokens,
                layout: batch.layout,
            });
        }
        let first_rung = batches.len().div_ceil(FIRST_RUNG_DIVISOR).max(1);
        Ok(Workload {
            batches,
            n_items: self.n_items,
            first_rung,
            groups,
        })
    }

    /// Which items the first `batches` batches score, and how many rows (tokens) they score:
    /// what a partial score over a prefix of the batches reads, whatever else a store holds.
    pub fn prefix_items(&self, batches: usize) -> (Vec<bool>, usize) {
        let mut covered = vec![false; self.n_items];
        let mut rows = 0;
        for b in &self.batches[..batches.min(self.batches.len())] {
            rows += b.rows.len();
            for &i in &b.items {
                covered[i as usize] = true;
            }
        }
        (covered, rows)
    }

    /// The group that starts at batch `b` and ends by `to`, if any.
    pub fn whole_group(&self, b: usize, to: usize) -> Option<&Group> {
        let g = self
            .groups
            .binary_search_by_key(&b, |g| g.batches.start)
            .ok()?;
        Some(&self.groups[g]).filter(|g| g.batches.end <= to)
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
    /// The KL objective's: the unpruned model's distributions at `rows`, which a row is
    /// scored against instead of its target (`−KL` in place of a log-probability).
    pub reference: Option<DenseReference>,
}

impl WorkBatch {
    /// Adds the log-probabilities of this batch's scored rows to `sums`, given the residual
    /// stream after the last block.
    pub fn accumulate(&self, model: &Model, hidden: &Tensor, sums: &mut [f64]) -> Result<()> {
        let log_probs = match &self.reference {
            Some(reference) => {
                model.head_neg_kl(&model.select_rows(hidden, &self.rows)?, reference)?
            }
            None => model.target_log_probs(hidden, &self.rows, &self.targets)?,
        };
        for (&item, lp) in self.items.iter().zip(log_probs) {
            sums[item as usize] += lp;
        }
        Ok(())
    }
}
