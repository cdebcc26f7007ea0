//! [`Evaluator`]: the engine every searcher calls to score a block mask, built so the same
//! work is never done twice.
//!
//! - **Memo**: a mask already scored under the same model (`Model::scores_key`: weights sha256,
//!   layer-type rule, dtype, device kind) and objective description (its stable key) is
//!   answered from memory, and across runs from the on-disk [`Store`].
//! - **Prefix cache**: the residual stream entering block j depends only on which blocks before
//!   j ran; [`PrefixCache`] keeps such streams so a mask is evaluated from the deepest prefix it
//!   shares with anything seen before.
//! - **Early abandonment**: [`Evaluator::evaluate_unless_worse`] stops a perplexity evaluation as
//!   soon as the NLL accumulated so far proves the mask cannot beat a threshold. Returned scores
//!   are always exact.
//!
//! Every call is recorded in the trace, with where its answer came from.

pub mod prefix_cache;
pub mod store;

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::model::{BlockMask, Model};
use crate::objective::{Direction, Evaluation, Objective};
use crate::progress::Progress;
pub use crate::search::Source;
use crate::search::{ScoreFn, TraceStep};
pub use prefix_cache::PrefixCache;
pub use store::Store;

/// The answer to a thresholded request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Exact(Evaluation),
    /// The mask provably does not beat the threshold; `bound` is what proved it.
    Abandoned {
        bound: f64,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct EvaluatorOptions {
    pub prefix_cache: bool,
    pub memo: bool,
    pub cache_budget_bytes: usize,
}

impl Default for EvaluatorOptions {
    fn default() -> Self {
        Self {
            prefix_cache: true,
            memo: true,
            cache_budget_bytes: prefix_cache::DEFAULT_BUDGET_BYTES,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EvaluatorStats {
    pub calls: usize,
    pub computed: usize,
    pub memo_hits: usize,
    pub store_hits: usize,
    pub abandoned: usize,
    /// Blocks actually run, over all batches (the prefix cache's saving shows here).
    pub blocks_run: usize,
    pub cache_peak_bytes: usize,
}

pub struct Evaluator<'a> {
    model: &'a Model,
    objective: &'a dyn Objective,
    options: EvaluatorOptions,
    memo: HashMap<Vec<usize>, Evaluation>,
    /// Bounds that proved a mask hopeless; reused while they still prove it.
    abandoned: HashMap<Vec<usize>, f64>,
    store: Option<Store>,
    cache: PrefixCache,
    /// Every request, in order: the one trace searchers see through their oracle.
    trace: Vec<TraceStep>,
    stats: EvaluatorStats,
    /// Counts every answered request (`search`'s progress on stderr).
    progress: Progress,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        model: &'a Model,
        objective: &'a dyn Objective,
        options: EvaluatorOptions,
    ) -> Result<Self> {
        if model.n_blocks() > PrefixCache::MAX_BLOCKS {
            bail!(
                "models with more than {} blocks are not supported by the evaluator",
                PrefixCache::MAX_BLOCKS
            );
        }
        Ok(Self {
            model,
            objective,
            options,
            memo: HashMap::new(),
            abandoned: HashMap::new(),
            store: None,
            cache: PrefixCache::new(options.cache_budget_bytes),
            trace: Vec::new(),
            stats: EvaluatorStats::default(),
            progress: Progress::hidden(),
        })
    }

    /// Adds the on-disk store under `dir` (ignored when memoisation is off).
    pub fn with_store(mut self, dir: &std::path::Path) -> Result<Self> {
        if self.options.memo {
            let spec = self.objective.spec();
            let json = serde_json::to_string_pretty(spec)?;
            self.store = Some(Store::open(
                dir,
                &self.model.scores_key(),
                &spec.key(),
                &json,
            )?);
        }
        Ok(self)
    }

    /// Reports every request it answers on `progress`.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    pub fn n_blocks(&self) -> usize {
        self.model.n_blocks()
    }

    pub fn direction(&self) -> Direction {
        self.objective.spec().direction()
    }

    pub fn trace(&self) -> &[TraceStep] {
        &self.trace
    }

    pub fn stats(&self) -> EvaluatorStats {
        EvaluatorStats {
            cache_peak_bytes: self.cache.peak_bytes(),
            ..self.stats.clone()
        }
    }

    /// The exact score of `mask`.
    pub fn evaluate(&mut self, mask: &BlockMask) -> Result<Evaluation> {
        match self.run(mask, None)? {
            Outcome::Exact(e) => Ok(e),
            Outcome::Abandoned { .. } => unreachable!("no threshold, no abandonment"),
        }
    }

    /// The exact score of `mask`, or `Abandoned` as soon as it provably does not beat
    /// `threshold` (strictly better, in the objective's direction).
    pub fn evaluate_unless_worse(&mut self, mask: &BlockMask, threshold: f64) -> Result<Outcome> {
        self.run(mask, Some(threshold))
    }

    /// A known answer, where it came from and what it originally cost.
    fn recall(&self, removed: &[usize]) -> Option<(Evaluation, Source, f64)> {
        if !self.options.memo {
            return None;
        }
        if let Some(e) = self.memo.get(removed) {
            return Some((e.clone(), Source::Memo, 0.0));
        }
        let store = self.store.as_ref()?;
        store
            .get(removed)
            .map(|e| (e.clone(), Source::Store, store.cost(removed).unwrap_or(0.0)))
    }

    fn run(&mut self, mask: &BlockMask, threshold: Option<f64>) -> Result<Outcome> {
        let started = Instant::now();
        let removed = mask.removed();
        self.stats.calls += 1;
        if let Some((e, source, cost)) = self.recall(&removed) {
            match source {
                Source::Memo => self.stats.memo_hits += 1,
                _ => self.stats.store_hits += 1,
            }
            self.memo.insert(removed.clone(), e.clone());
            self.record(removed, Some(e.value), source, started, Some(cost));
            return Ok(Outcome::Exact(e));
        }
        let direction = self.direction();
        // Abandon only when the threshold is strictly better than anything the mask can reach,
        // so a mask that would tie the threshold is always scored exactly.
        let hopeless = |bound: f64, t: f64| direction.better(t, bound);
        if let (Some(t), Some(&bound)) = (threshold, self.abandoned.get(&removed)) {
            if hopeless(bound, t) {
                self.stats.abandoned += 1;
                self.record(removed, None, Source::Abandoned, started, None);
                return Ok(Outcome::Abandoned { bound });
            }
        }

        let workload = self.objective.workload();
        let mut sums = vec![0.0; workload.n_items];
        for (b, batch) in workload.batches.iter().enumerate() {
            let hidden = self.final_stream(b, mask)?;
            batch.accumulate(self.model, &hidden, &mut sums)?;
            if let (Some(t), Some(bound)) = (threshold, self.objective.bound(&sums)) {
                let last = b + 1 == workload.batches.len();
                if !last && hopeless(bound, t) {
                    self.stats.abandoned += 1;
                    self.abandoned.insert(removed.clone(), bound);
                    self.record(removed, None, Source::Abandoned, started, None);
                    return Ok(Outcome::Abandoned { bound });
                }
            }
        }
        let eval = self.objective.finish(&sums);
        self.stats.computed += 1;
        if self.options.memo {
            self.memo.insert(removed.clone(), eval.clone());
            if let Some(store) = self.store.as_mut() {
                store.put(&removed, &eval, started.elapsed().as_secs_f64())?;
            }
        }
        self.record(removed, Some(eval.value), Source::Computed, started, None);
        Ok(Outcome::Exact(eval))
    }

    /// Whether `mask`'s score is already known (memo or store) without computing anything.
    pub fn is_known(&self, mask: &BlockMask) -> bool {
        self.recall(&mask.removed()).is_some()
    }

    /// Fills the prefix cache with `mask`'s residual streams at every depth without scoring
    /// (the output head is skipped). Worth it when `mask`'s score came from the store but masks
    /// sharing its prefixes still have to be computed, as in a resumed scan.
    pub fn warm(&mut self, mask: &BlockMask) -> Result<()> {
        if self.options.prefix_cache {
            for b in 0..self.objective.workload().batches.len() {
                self.final_stream(b, mask)?;
            }
        }
        Ok(())
    }

    /// The residual stream of batch `b` after the last block of `mask`, from the deepest cached
    /// prefix, caching every stream computed on the way.
    fn final_stream(&mut self, b: usize, mask: &BlockMask) -> Result<candle_core::Tensor> {
        let batch = &self.objective.workload().batches[b];
        let n = mask.n_blocks();
        let (mut depth, mut x) = match self
            .options
            .prefix_cache
            .then(|| self.cache.deepest(b, mask))
            .flatten()
        {
            Some(found) => found,
            None => (0, self.model.embed(&batch.tokens)?),
        };
        let mut slot = mask.kept().filter(|&i| i < depth).count();
        while depth < n {
            if mask.is_kept(depth) {
                x = self.model.run_block(depth, slot, &x, &batch.layout)?;
                slot += 1;
                self.stats.blocks_run += 1;
            }
            depth += 1;
            // The stream after the last block is never a prefix of anything else.
            if self.options.prefix_cache && depth < n {
                self.cache.insert(b, depth, mask, &x);
            }
        }
        Ok(x)
    }

    /// `cost`: the answer's original cost when it differs from this call's time.
    fn record(
        &mut self,
        removed: Vec<usize>,
        score: Option<f64>,
        source: Source,
        started: Instant,
        cost: Option<f64>,
    ) {
        let seconds = started.elapsed().as_secs_f64();
        self.progress.inc(1);
        self.trace.push(TraceStep {
            removed,
            score,
            source,
            seconds,
            cost: cost.unwrap_or(seconds),
        });
    }
}

/// Searchers see the evaluator through the score function their layer defines.
impl ScoreFn for Evaluator<'_> {
    fn n_blocks(&self) -> usize {
        Evaluator::n_blocks(self)
    }
    fn direction(&self) -> Direction {
        Evaluator::direction(self)
    }
    fn trace(&self) -> &[TraceStep] {
        Evaluator::trace(self)
    }
    fn score(&mut self, removed: &[usize]) -> Result<f64> {
        let mask = BlockMask::with_removed(Evaluator::n_blocks(self), removed)?;
        Ok(self.evaluate(&mask)?.value)
    }
    fn score_unless_worse(&mut self, removed: &[usize], threshold: f64) -> Result<Option<f64>> {
        let mask = BlockMask::with_removed(Evaluator::n_blocks(self), removed)?;
        Ok(match self.evaluate_unless_worse(&mask, threshold)? {
            Outcome::Exact(e) => Some(e.value),
            Outcome::Abandoned { .. } => None,
        })
    }
}
