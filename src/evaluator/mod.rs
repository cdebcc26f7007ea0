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
//! - **Per-item records**: an evaluation keeps each item's log-likelihood (window, option) per
//!   batch computed, in memory and in the store, so a partial evaluation is a prefix of the full
//!   one and finishing it later recomputes nothing.
//! - **The sieve** ([`crate::search::sieve`]): a batch of candidates of which a searcher keeps
//!   the best few is scored by successive halving over the workload's batches
//!   ([`ScoreFn::screen`]); the survivors get their full, exact score.
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
use crate::search::{ScoreFn, Screening, TraceStep, Verdict};
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
    /// Whether [`ScoreFn::screen`] sieves (otherwise searchers score every candidate fully).
    pub sieve: bool,
    /// Serve every evaluation from the store and fail on one it lacks instead of computing
    /// it: a shipped store is replayed, never silently extended.
    pub replay: bool,
}

impl Default for EvaluatorOptions {
    fn default() -> Self {
        Self {
            prefix_cache: true,
            memo: true,
            cache_budget_bytes: prefix_cache::DEFAULT_BUDGET_BYTES,
            sieve: true,
            replay: false,
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
    /// Candidates the sieve dropped on part of the items.
    pub screened: usize,
    /// Tokens run through the model (each batch's padded tokens, once per batch computed).
    pub tokens: u64,
    /// Blocks actually run, over all batches (the prefix cache's saving shows here).
    pub blocks_run: usize,
    pub cache_peak_bytes: usize,
}

/// What is known of one mask's items: their log-likelihood sums (indexed by item) over the
/// workload's first `batches` batches, and what computing them cost.
#[derive(Debug, Clone)]
struct Items {
    sums: Vec<f64>,
    batches: usize,
    seconds: f64,
}

pub struct Evaluator<'a> {
    model: &'a Model,
    objective: &'a dyn Objective,
    options: EvaluatorOptions,
    memo: HashMap<Vec<usize>, Evaluation>,
    /// Per-item values of masks evaluated (fully or partly) in this process.
    items: HashMap<Vec<usize>, Items>,
    /// Bounds that proved a mask hopeless; reused while they still prove it.
    abandoned: HashMap<Vec<usize>, f64>,
    store: Option<Store>,
    cache: PrefixCache,
    /// The workload's items in batch order, and how many the first b + 1 batches cover.
    item_order: Vec<usize>,
    covered: Vec<usize>,
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
        let (item_order, covered) = objective.workload().item_order();
        Ok(Self {
            model,
            objective,
            options,
            memo: HashMap::new(),
            items: HashMap::new(),
            abandoned: HashMap::new(),
            store: None,
            cache: PrefixCache::new(options.cache_budget_bytes),
            item_order,
            covered,
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
            .map(|e| (e, Source::Store, store.cost(removed).unwrap_or(0.0)))
    }

    /// What is known of `removed`'s items (this process first, then the store); a fresh start
    /// when nothing is. Stored items that do not fit this workload's batches are ignored.
    fn known_items(&self, removed: &[usize]) -> Items {
        let n_batches = self.covered.len();
        let fresh = Items {
            sums: vec![0.0; self.objective.workload().n_items],
            batches: 0,
            seconds: 0.0,
        };
        if !self.options.memo {
            return fresh;
        }
        if let Some(i) = self.items.get(removed) {
            return i.clone();
        }
        let Some(r) = self.store.as_ref().and_then(|s| s.record(removed)) else {
            return fresh;
        };
        // Read by its length, not its batch count: the same items cut into other batches
        // (`Rungs`) keep their order, so a record written under one cut is a prefix under
        // the other, down to the last whole batch it covers.
        let Some(values) = &r.items else {
            return fresh;
        };
        let full = r.batches.is_none_or(|b| b >= n_batches);
        if values.len() > self.item_order.len() || (full && values.len() != self.item_order.len()) {
            return fresh;
        }
        let batches = self.covered.partition_point(|&c| c <= values.len());
        if batches == 0 {
            return fresh;
        }
        let mut sums = fresh.sums;
        for (&item, &v) in self.item_order[..self.covered[batches - 1]]
            .iter()
            .zip(values)
        {
            sums[item] = v;
        }
        Items {
            sums,
            batches,
            seconds: r.seconds.unwrap_or(0.0),
        }
    }

    /// `items`' sums with every item past the first `batches` batches at 0, as
    /// [`Objective::partial`] expects them (perplexity sums every item it is given).
    fn prefix(&self, items: &Items, batches: usize) -> Vec<f64> {
        let mut sums = vec![0.0; items.sums.len()];
        for &i in &self.item_order[..self.covered[batches - 1]] {
            sums[i] = items.sums[i];
        }
        sums
    }

    /// The per-item values of the first `batches` batches, in batch order (a store record's).
    fn ordered(&self, items: &Items) -> Vec<f64> {
        let n = if items.batches == 0 {
            0
        } else {
            self.covered[items.batches - 1]
        };
        self.item_order[..n]
            .iter()
            .map(|&i| items.sums[i])
            .collect()
    }

    /// Runs batches `items.batches..to` of `mask`, adding to `items`; returns the tokens run.
    fn extend(&mut self, mask: &BlockMask, items: &mut Items, to: usize) -> Result<u64> {
        if self.options.replay {
            let store = self
                .store
                .as_ref()
                .map_or("no store".to_string(), |s| s.path().display().to_string());
            bail!(
                "replay: the store ({store}) lacks blocks {:?} removed (batches {}..{to} of the \
                 objective {}): it does not hold this suite's evaluations; run without --replay \
                 to compute what is missing",
                mask.removed(),
                items.batches,
                self.objective.spec().key()
            );
        }
        let started = Instant::now();
        let mut tokens = 0;
        // The head runs once over the scored rows of every batch: its weight is streamed (and
        // packed by gemm) per call, which fine batches would otherwise pay per pair of
        // questions. A row's bits do not depend on the rows beside it in the call, and each
        // item's rows are added in the same order as batch by batch.
        let (mut selected, mut targets, mut scored) = (Vec::new(), Vec::new(), Vec::new());
        let mut references = Vec::new();
        let mut b = items.batches;
        while b < to {
            for hidden in self.streams_from(b, to, mask)? {
                let batch = &self.objective.workload().batches[b];
                selected.push(self.model.select_rows(&hidden, &batch.rows)?);
                targets.extend_from_slice(&batch.targets);
                scored.extend_from_slice(&batch.items);
                references.extend(batch.reference.as_ref());
                tokens += self.objective.workload().batch_tokens(b) as u64;
                b += 1;
            }
        }
        if !selected.is_empty() {
            let rows = candle_core::Tensor::cat(&selected, 0)?;
            // A KL objective scores each row against the dense model's distribution there.
            let log_probs = match references.len() {
                0 => self.model.head_log_probs(&rows, &targets)?,
                n if n == selected.len() => self
                    .model
                    .head_neg_kl(&rows, &crate::model::DenseReference::concat(&references)?)?,
                _ => bail!("some batches of the objective have a dense reference, others not"),
            };
            for (&item, lp) in scored.iter().zip(log_probs) {
                items.sums[item as usize] += lp;
            }
        }
        items.batches = items.batches.max(to);
        items.seconds += started.elapsed().as_secs_f64();
        self.stats.tokens += tokens;
        Ok(tokens)
    }

    /// Finishes a fully computed mask: memo, store (with its items), stats.
    fn finished(&mut self, removed: &[usize], items: &Items) -> Result<Evaluation> {
        let eval = self.objective.finish(removed, &items.sums);
        self.stats.computed += 1;
        if self.options.memo {
            self.memo.insert(removed.to_vec(), eval.clone());
            let ordered = self.ordered(items);
            if let Some(store) = self.store.as_mut() {
                store.put(removed, &eval, items.seconds, Some(&ordered))?;
            }
            self.items.insert(removed.to_vec(), items.clone());
        }
        Ok(eval)
    }

    /// Keeps what a partial evaluation computed, in memory and in the store.
    fn keep_partial(&mut self, removed: &[usize], items: &Items) -> Result<()> {
        if !self.options.memo || items.batches == 0 {
            return Ok(());
        }
        let ordered = self.ordered(items);
        if let Some(store) = self.store.as_mut() {
            store.put_partial(removed, items.batches, &ordered, items.seconds)?;
        }
        self.items.insert(removed.to_vec(), items.clone());
        Ok(())
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
            self.record(removed, Some(e.value), source, started, Some(cost), 0);
            return Ok(Outcome::Exact(e));
        }
        let direction = self.direction();
        // Abandon only when the threshold is strictly better than anything the mask can reach,
        // so a mask that would tie the threshold is always scored exactly.
        let hopeless = |bound: f64, t: f64| direction.better(t, bound);
        if let (Some(t), Some(&bound)) = (threshold, self.abandoned.get(&removed)) {
            if hopeless(bound, t) {
                self.stats.abandoned += 1;
                self.record(removed, None, Source::Abandoned, started, None, 0);
                return Ok(Outcome::Abandoned { bound });
            }
        }

        // A partial evaluation (the sieve's) is resumed where it stopped.
        let mut items = self.known_items(&removed);
        let prior = items.seconds;
        let n_batches = self.covered.len();
        let mut tokens = 0;
        // Batch by batch only where a threshold can abandon the evaluation between batches.
        let stepwise = threshold.is_some() && self.objective.bound(&items.sums).is_some();
        while items.batches < n_batches {
            let b = items.batches;
            let to = if stepwise { b + 1 } else { n_batches };
            tokens += self.extend(mask, &mut items, to)?;
            if let (Some(t), Some(bound)) = (threshold, self.objective.bound(&items.sums)) {
                let last = items.batches == n_batches;
                if !last && hopeless(bound, t) {
                    self.stats.abandoned += 1;
                    self.abandoned.insert(removed.clone(), bound);
                    self.record(removed, None, Source::Abandoned, started, None, tokens);
                    return Ok(Outcome::Abandoned { bound });
                }
            }
        }
        let eval = self.finished(&removed, &items)?;
        let cost = prior + started.elapsed().as_secs_f64();
        self.record(
            removed,
            Some(eval.value),
            Source::Computed,
            started,
            Some(cost),
            tokens,
        );
        Ok(Outcome::Exact(eval))
    }

    /// Successive halving of `candidates` over the workload's batches (see
    /// [`crate::search::sieve`]); `None` when the sieve is off, the objective has a single
    /// batch, or too few candidates would be dropped to gain anything.
    fn sieve(&mut self, candidates: &[Vec<usize>], keep: usize) -> Result<Option<Vec<Verdict>>> {
        use crate::search::sieve::{min_survivors, successive_halving};
        let n_batches = self.covered.len();
        if !self.options.sieve || n_batches < 2 || candidates.len() <= min_survivors(keep) {
            return Ok(None);
        }
        let n = self.n_blocks();
        let started = Instant::now();
        // A known answer takes part in the halving with its items, for free, and gets the
        // verdict the halving gives it: what a candidate is told depends on its items alone,
        // never on whether this process or the store already holds it, so a search takes the
        // same path on a fresh store, a shared one and in a replay. Stored answers without items
        // (written before items were kept) cannot be compared on part of the items: they stay
        // out and are answered exactly.
        let known: Vec<Option<(Evaluation, Source, f64)>> =
            candidates.iter().map(|c| self.recall(c)).collect();
        let mut states: Vec<Items> = candidates.iter().map(|c| self.known_items(c)).collect();
        let prior: Vec<f64> = states.iter().map(|s| s.seconds).collect();
        let halved: Vec<usize> = (0..candidates.len())
            .filter(|&c| known[c].is_none() || states[c].batches == n_batches)
            .collect();
        let mut tokens = vec![0u64; candidates.len()];
        let masks = candidates
            .iter()
            .map(|c| BlockMask::with_removed(n, c))
            .collect::<Result<Vec<_>>>()?;
        let reached = successive_halving(
            halved.len(),
            keep,
            n_batches,
            self.objective.workload().first_rung,
            self.direction(),
            |a, b| candidates[halved[a]].cmp(&candidates[halved[b]]),
            |h, level| {
                let c = halved[h];
                if states[c].batches < level {
                    tokens[c] += self.extend(&masks[c], &mut states[c], level)?;
                }
                Ok(self.objective.partial(&states[c].sums, level))
            },
        )?;
        let mut verdicts = Vec::with_capacity(candidates.len());
        let mut stopped_at = vec![n_batches; candidates.len()];
        for (h, &(level, partial)) in halved.iter().zip(&reached) {
            stopped_at[*h] = level;
            let _ = partial;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let total_tokens: u64 = tokens.iter().sum::<u64>().max(1);
        for (c, removed) in candidates.iter().enumerate() {
            self.stats.calls += 1;
            // Wall time shared out by tokens computed (the halving interleaves candidates).
            let seconds = elapsed * tokens[c] as f64 / total_tokens as f64;
            let (score, source, cost, screened) = if stopped_at[c] < n_batches {
                self.stats.screened += 1;
                if known[c].is_none() {
                    self.keep_partial(removed, &states[c].clone())?;
                }
                let partial = self.objective.partial(&states[c].sums, stopped_at[c]);
                let screening = Screening {
                    levels: stopped_at[c],
                    of: n_batches,
                    partial,
                };
                (None, Source::Screened, seconds, Some(screening))
            } else if let Some((e, source, cost)) = &known[c] {
                match source {
                    Source::Memo => self.stats.memo_hits += 1,
                    _ => self.stats.store_hits += 1,
                }
                self.memo.insert(removed.clone(), e.clone());
                (Some(e.value), *source, *cost, None)
            } else {
                let eval = self.finished(removed, &states[c].clone())?;
                (Some(eval.value), Source::Computed, prior[c] + seconds, None)
            };
            verdicts.push(match (score, screened) {
                (Some(s), _) => Verdict::Exact(s),
                (None, Some(sc)) => Verdict::Dropped(sc),
                (None, None) => unreachable!("a verdict is a score or a screening"),
            });
            self.trace.push(TraceStep {
                removed: removed.clone(),
                score,
                source,
                seconds,
                cost,
                tokens: tokens[c],
                screened,
            });
        }
        Ok(Some(verdicts))
    }

    /// [`ScoreFn::screen_against`]: `removed` scored on the sieve's rungs and dropped at the
    /// first where it falls behind `reference` (on the same items) by more than the margin;
    /// the survivors are scored on every item.
    fn screen_one(
        &mut self,
        removed: &[usize],
        reference: &[usize],
        threshold: f64,
        margin: f64,
    ) -> Result<Option<Verdict>> {
        let n_batches = self.covered.len();
        if !self.options.sieve || !self.options.memo || n_batches < 2 {
            return Ok(None);
        }
        let Some((reference_eval, ..)) = self.recall(reference) else {
            return Ok(None);
        };
        let reference_items = self.known_items(reference);
        if reference_items.batches < n_batches {
            return Ok(None);
        }
        let mask = BlockMask::with_removed(self.n_blocks(), removed)?;
        // A known answer is screened on its items like any other (see `sieve`): the verdict
        // must not depend on what this process or the store holds. Only a stored answer without
        // items (written before items were kept) is answered exactly.
        let mut items = self.known_items(removed);
        let known = self.recall(removed).is_some();
        if known && items.batches < n_batches {
            return Ok(Some(Verdict::Exact(self.evaluate(&mask)?.value)));
        }
        let started = Instant::now();
        let direction = self.direction();
        // The threshold's distance from the reference (annealing's slack) carries over to
        // every rung; the margin is what the first items may be off by without dropping.
        let shift = threshold - reference_eval.value;
        let prior = items.seconds;
        let mut tokens = 0;
        let rungs = crate::search::sieve::rungs(n_batches, self.objective.workload().first_rung);
        for &level in &rungs[..rungs.len() - 1] {
            if items.batches < level {
                tokens += self.extend(&mask, &mut items, level)?;
            }
            let partial = self.objective.partial(&self.prefix(&items, level), level);
            let yardstick = self
                .objective
                .partial(&self.prefix(&reference_items, level), level)
                + shift;
            let slack = margin * yardstick.abs();
            let bar = match direction {
                Direction::Minimize => yardstick + slack,
                Direction::Maximize => yardstick - slack,
            };
            if direction.better(bar, partial) {
                self.stats.calls += 1;
                self.stats.screened += 1;
                if !known {
                    self.keep_partial(removed, &items)?;
                }
                let screened = Screening {
                    levels: level,
                    of: n_batches,
                    partial,
                };
                let seconds = started.elapsed().as_secs_f64();
                self.progress.inc(1);
                self.trace.push(TraceStep {
                    removed: removed.to_vec(),
                    score: None,
                    source: Source::Screened,
                    seconds,
                    cost: seconds,
                    tokens,
                    screened: Some(screened),
                });
                return Ok(Some(Verdict::Dropped(screened)));
            }
        }
        if known {
            return Ok(Some(Verdict::Exact(self.evaluate(&mask)?.value)));
        }
        self.stats.calls += 1;
        if items.batches < n_batches {
            tokens += self.extend(&mask, &mut items, n_batches)?;
        }
        let eval = self.finished(removed, &items)?;
        let cost = prior + started.elapsed().as_secs_f64();
        self.record(
            removed.to_vec(),
            Some(eval.value),
            Source::Computed,
            started,
            Some(cost),
            tokens,
        );
        Ok(Some(Verdict::Exact(eval.value)))
    }

    /// The per-item values (log-likelihood sums, indexed by item) of a set fully evaluated in
    /// this process or held by the store, or `None`: what another score over the same items
    /// (another accuracy metric) is computed from without running the model again.
    pub fn item_values(&self, removed: &[usize]) -> Option<Vec<f64>> {
        let items = self.known_items(removed);
        (items.batches == self.covered.len()).then_some(items.sums)
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
            let n = self.objective.workload().batches.len();
            let mut b = 0;
            while b < n {
                b += self.streams_from(b, n, mask)?.len();
            }
        }
        Ok(())
    }

    /// The final streams of batch `b` and, where it starts a group that ends by `to` and can
    /// run whole, of the rest of that group: one stream per batch, in order.
    fn streams_from(
        &mut self,
        b: usize,
        to: usize,
        mask: &BlockMask,
    ) -> Result<Vec<candle_core::Tensor>> {
        Ok(match self.group_streams(b, to, mask)? {
            Some(streams) => streams,
            None => vec![self.final_stream(b, mask)?],
        })
    }

    /// The residual stream of batch `b` after the last block of `mask`, from the deepest cached
    /// prefix, caching every stream computed on the way.
    fn final_stream(&mut self, b: usize, mask: &BlockMask) -> Result<candle_core::Tensor> {
        let batch = &self.objective.workload().batches[b];
        let (depth, x) = match self
            .options
            .prefix_cache
            .then(|| self.cache.deepest(b, mask))
            .flatten()
        {
            Some(found) => found,
            None => (0, self.model.embed(&batch.tokens)?),
        };
        let whole = [(b, 0, batch.layout.batch())];
        self.run_caching(depth, x, &batch.layout, &whole, mask)
    }

    /// Runs the kept blocks of `mask` from block `depth` on `x` (laid out as `layout`), caching
    /// the stream entering each later block for every `(batch, first sequence, sequences)`
    /// part of `x`, as if each part had run alone.
    fn run_caching(
        &mut self,
        mut depth: usize,
        mut x: candle_core::Tensor,
        layout: &crate::model::Layout,
        parts: &[(usize, usize, usize)],
        mask: &BlockMask,
    ) -> Result<candle_core::Tensor> {
        let n = mask.n_blocks();
        let mut slot = mask.kept().filter(|&i| i < depth).count();
        while depth < n {
            if mask.is_kept(depth) {
                x = self.model.run_block(depth, slot, &x, layout)?;
                slot += 1;
                self.stats.blocks_run += parts.len();
            }
            depth += 1;
            // The stream after the last block is never a prefix of anything else.
            if self.options.prefix_cache && depth < n {
                for &(batch, start, len) in parts {
                    // A view of a group would keep the whole group's storage alive after its
                    // neighbours are evicted: the cache counts only what it holds. (`copy`
                    // would clone the whole storage behind the view.)
                    let part = match parts.len() {
                        1 => x.clone(),
                        _ => x.narrow(0, start, len)?.force_contiguous()?,
                    };
                    self.cache.insert(batch, depth, mask, &part);
                }
            }
        }
        Ok(x)
    }

    /// The streams of the batches of the group that starts at `b`, run together as the batch
    /// they were cut from, when the group ends by `to`, every part starts from the same cached
    /// depth and the model runs on the CPU; `None` otherwise (each part then runs alone, to the
    /// same bits). Every part's stream is cached as if it had run alone.
    fn group_streams(
        &mut self,
        b: usize,
        to: usize,
        mask: &BlockMask,
    ) -> Result<Option<Vec<candle_core::Tensor>>> {
        let workload = self.objective.workload();
        let Some(group) = workload.whole_group(b, to).filter(|_| self.model.is_cpu()) else {
            return Ok(None);
        };
        let parts = group.batches.clone();
        let mut found = Vec::with_capacity(parts.len());
        for part in parts.clone() {
            let cached = self
                .options
                .prefix_cache
                .then(|| self.cache.deepest(part, mask))
                .flatten();
            found.push(cached);
        }
        let depth_of = |f: &Option<(usize, candle_core::Tensor)>| f.as_ref().map_or(0, |f| f.0);
        let depth = depth_of(&found[0]);
        if found.iter().any(|f| depth_of(f) != depth) {
            return Ok(None);
        }
        let x = match depth {
            0 => self.model.embed(&group.tokens)?,
            _ => candle_core::Tensor::cat(
                &found
                    .into_iter()
                    .flatten()
                    .map(|(_, s)| s)
                    .collect::<Vec<_>>(),
                0,
            )?,
        };
        let spans: Vec<(usize, usize, usize)> = parts
            .scan(0, |start, part| {
                let len = workload.batches[part].layout.batch();
                *start += len;
                Some((part, *start - len, len))
            })
            .collect();
        let x = self.run_caching(depth, x, &group.layout, &spans, mask)?;
        let streams = spans
            .iter()
            .map(|&(_, start, len)| x.narrow(0, start, len))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Some(streams))
    }

    /// `cost`: the answer's original cost when it differs from this call's time.
    fn record(
        &mut self,
        removed: Vec<usize>,
        score: Option<f64>,
        source: Source,
        started: Instant,
        cost: Option<f64>,
        tokens: u64,
    ) {
        let seconds = started.elapsed().as_secs_f64();
        self.progress.inc(1);
        self.trace.push(TraceStep {
            removed,
            score,
            source,
            seconds,
            cost: cost.unwrap_or(seconds),
            tokens,
            screened: None,
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
    fn screen(&mut self, candidates: &[Vec<usize>], keep: usize) -> Result<Option<Vec<Verdict>>> {
        self.sieve(candidates, keep)
    }
    fn screen_against(
        &mut self,
        removed: &[usize],
        reference: &[usize],
        threshold: f64,
        margin: f64,
    ) -> Result<Option<Verdict>> {
        self.screen_one(removed, reference, threshold, margin)
    }
    fn levels(&self) -> Option<(usize, usize)> {
        let n = self.covered.len();
        (self.options.sieve && n >= 2).then(|| (n, self.objective.workload().first_rung))
    }
}
