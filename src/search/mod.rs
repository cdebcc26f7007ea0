//! Search algorithms that choose exactly k of a model's blocks to remove.
//!
//! Every searcher solves the same [`Problem`] through an [`Oracle`] (a budgeted view of a
//! [`ScoreFn`], normally the memoised `crate::evaluator::Evaluator`) and returns the chosen
//! set, its score, a ranking of all removable blocks (the order in which it would remove them;
//! its first k are the chosen set) and the trace of every evaluation it asked for.
//!
//! The seven, one file each: [`one_shot`], [`greedy`], [`beam`], [`evolutionary`],
//! [`annealing`], [`random`], [`local`]; and two references that are not among them:
//! [`exhaustive`] (the optimum, for small problems), [`contiguous`] (the best run of k
//! consecutive blocks) and three baselines that search nothing:
//! [`block_influence`] (ShortGPT's objective-free proxy, whose per-block influences arrive as
//! data), [`angular_distance`] (Gromov et al.'s contiguous run, from angular distances that
//! arrive as data) and [`last_k`] (the deepest blocks before the final one); and a control that
//! must lose, [`contrarian`]. [`SearcherKind`] is the one list of them that suites and the command
//! line share.
//!
//! This layer knows nothing of models or data: it sees block sets and the numbers a score
//! function gives them, so it is tested on synthetic objectives.
//!
//! Stochastic searchers draw only from `rng_for(seed, their name)`, so adding a searcher never
//! changes another's result. Ties between equal scores go to the lexicographically smaller
//! block set, so results do not depend on last-bit float noise in the order of evaluation.

pub mod angular_distance;
pub mod annealing;
pub mod beam;
pub mod block_influence;
pub mod contiguous;
pub mod contrarian;
pub mod evolutionary;
pub mod exhaustive;
pub mod greedy;
pub mod last_k;
pub mod local;
pub mod one_shot;
pub mod random;
pub mod sampled;
pub mod sieve;

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Which way a score is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Minimize,
    Maximize,
}

impl Direction {
    /// Whether `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Self::Minimize => a < b,
            Self::Maximize => a > b,
        }
    }
}

/// Choose exactly `k` of `n_blocks` blocks, none of them protected, to optimise the objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub n_blocks: usize,
    pub k: usize,
    #[serde(default)]
    pub protected: BTreeSet<usize>,
    pub direction: Direction,
    /// Maximum evaluations; `None`: the searcher's default.
    #[serde(default)]
    pub budget: Option<usize>,
    /// A budget in compute instead, in full-evaluation equivalents: a full score costs 1, a
    /// candidate screened out costs the share of the fidelity levels it was scored on, and
    /// finishing a set this search screened costs only the levels it adds. Replaces `budget`
    /// when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<f64>,
}

impl Problem {
    pub fn removable(&self) -> Vec<usize> {
        (0..self.n_blocks)
            .filter(|b| !self.protected.contains(b))
            .collect()
    }

    pub fn validate(&self) -> Result<()> {
        if let Some(&p) = self.protected.iter().find(|&&p| p >= self.n_blocks) {
            bail!(
                "protected block {p} does not exist (the model has {} blocks)",
                self.n_blocks
            );
        }
        let removable = self.removable().len();
        if self.k > removable {
            bail!(
                "cannot remove {} blocks: only {removable} of {} are removable ({} protected)",
                self.k,
                self.n_blocks,
                self.protected.len()
            );
        }
        if self.k >= self.n_blocks && self.n_blocks > 0 {
            bail!("cannot remove all {} blocks", self.n_blocks);
        }
        Ok(())
    }

    /// Whether `a` scores strictly better than `b`, ties going to the smaller set.
    pub fn prefer(&self, a: (f64, &[usize]), b: (f64, &[usize])) -> bool {
        self.direction.better(a.0, b.0) || (a.0 == b.0 && a.1 < b.1)
    }
}

/// What a searcher scores: a set of removed blocks → a number. The score function keeps the
/// one trace of what it was asked (every call, answered or abandoned, appends one step);
/// searchers read it through their [`Oracle`].
pub trait ScoreFn {
    fn n_blocks(&self) -> usize;
    fn direction(&self) -> Direction;
    fn score(&mut self, removed: &[usize]) -> Result<f64>;
    /// Every request so far, in order.
    fn trace(&self) -> &[TraceStep];
    /// The exact score, or `None` when the set provably does not beat `threshold`.
    fn score_unless_worse(&mut self, removed: &[usize], threshold: f64) -> Result<Option<f64>> {
        let s = self.score(removed)?;
        Ok((!self.direction().better(threshold, s)).then_some(s))
    }
    /// Scores a batch of candidate sets of which the caller keeps the best `keep`, through the
    /// multi-fidelity [`sieve`]: one verdict per candidate, in order, each appearing once in the
    /// trace; at least `min(keep, candidates)` of them are exact, and every exact one is the
    /// full score. `None` when this score function has no sieve (or it would not save
    /// anything): the caller scores the candidates itself.
    fn screen(&mut self, _candidates: &[Vec<usize>], _keep: usize) -> Result<Option<Vec<Verdict>>> {
        Ok(None)
    }
    /// Screens one candidate against `reference` (a set this score function has fully scored)
    /// and `threshold`: the candidate is scored on the sieve's rungs, and dropped at the first
    /// one where its partial score is worse than the reference's on the same items, shifted
    /// by `threshold` minus the reference's full score, by more than `margin` times the
    /// reference's partial score; otherwise it gets its full, exact score (which may still be
    /// worse than `threshold`). One trace step either way. `None` when this score function
    /// cannot (no sieve, one level, the reference's items unknown): the caller scores it.
    fn screen_against(
        &mut self,
        _removed: &[usize],
        _reference: &[usize],
        _threshold: f64,
        _margin: f64,
    ) -> Result<Option<Verdict>> {
        Ok(None)
    }
    /// The sieve's fidelity levels and the fewest its first rung scores, when it has more
    /// than one level (`None`: nothing can be screened).
    fn levels(&self) -> Option<(usize, usize)> {
        None
    }
}

/// Relative margin of [`ScoreFn::screen_against`] unless a searcher sets its own: a proposal
/// is dropped only when its partial score is worse than the reference's by more than 1 %.
pub const DEFAULT_SCREEN_MARGIN: f64 = 0.01;

/// What the sieve says of one candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Its full score.
    Exact(f64),
    /// Screened out on part of the calibration items.
    Dropped(Screening),
}

impl Verdict {
    pub fn exact(self) -> Option<f64> {
        match self {
            Self::Exact(s) => Some(s),
            Self::Dropped(_) => None,
        }
    }
}

/// Where the sieve stopped a candidate: after `levels` of the objective's `of` fidelity levels
/// (batches of items), at `partial` (the objective's score on those items only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Screening {
    pub levels: usize,
    pub of: usize,
    pub partial: f64,
}

/// Where the answer to a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Computed,
    /// Already answered in this process.
    Memo,
    /// Answered by an earlier run, from the evaluation store.
    Store,
    /// Provably not better than the threshold it was asked against; no score.
    Abandoned,
    /// Screened out by the sieve on part of the items; no score (see `TraceStep::screened`).
    Screened,
}

/// One request to a score function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    pub removed: Vec<usize>,
    /// `None` when abandoned early against a threshold.
    pub score: Option<f64>,
    pub source: Source,
    /// Wall time of the request.
    pub seconds: f64,
    /// What the answer cost to compute: this request's time when computed or abandoned, the
    /// stored cost when served from a store (0 for records older than the cost field), 0 for a
    /// memo hit (an earlier request paid for it).
    #[serde(default)]
    pub cost: f64,
    /// Tokens this request ran through the model (a batch's padded tokens, once per batch
    /// computed, whatever the prefix cache saved): 0 when answered from memory or the store.
    #[serde(default)]
    pub tokens: u64,
    /// For a [`Source::Screened`] request: where the sieve stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screened: Option<Screening>,
}

/// A budgeted view of a [`ScoreFn`]: every request counts against the budget, and the
/// searcher sees the part of the score function's trace its own requests made.
///
/// The budget is in evaluations (every request counts one) or, with [`Oracle::with_compute`],
/// in compute: each request is charged what it adds to what this search has paid for its set
/// (a full score 1, a screened-out candidate the share of the fidelity levels it reached; a
/// request that adds nothing is charged its share again), a
/// request goes ahead only when its most expensive outcome still fits, and [`Self::remaining`]
/// counts the full evaluations left. The charge depends only on the trace's answers, not on
/// whether they were computed, served from the store or from memory, so a replay spends the
/// same budget as the run that wrote the store.
pub struct Oracle<'a> {
    inner: &'a mut dyn ScoreFn,
    budget: usize,
    /// Length of the score function's trace before this search.
    start: usize,
    compute: Option<Compute>,
}

struct Compute {
    limit: f64,
    spent: f64,
    /// Per set, the largest share of its levels this search has paid for.
    paid: std::collections::HashMap<Vec<usize>, f64>,
    /// Trace steps (from `start`) already charged.
    settled: usize,
}

impl<'a> Oracle<'a> {
    pub fn new(inner: &'a mut dyn ScoreFn, budget: usize) -> Self {
        let start = inner.trace().len();
        Self {
            inner,
            budget,
            start,
            compute: None,
        }
    }

    /// An oracle whose budget is `limit` full-evaluation equivalents.
    pub fn with_compute(inner: &'a mut dyn ScoreFn, limit: f64) -> Self {
        let mut oracle = Self::new(inner, usize::MAX);
        oracle.compute = Some(Compute {
            limit,
            spent: 0.0,
            paid: std::collections::HashMap::new(),
            settled: 0,
        });
        oracle
    }

    pub fn used(&self) -> usize {
        self.trace().len()
    }

    /// Compute spent so far, in full-evaluation equivalents (`None`: the budget counts
    /// evaluations).
    pub fn spent(&self) -> Option<f64> {
        self.compute.as_ref().map(|c| c.spent)
    }

    /// This search's requests, in order.
    pub fn trace(&self) -> &[TraceStep] {
        &self.inner.trace()[self.start..]
    }

    /// Evaluations left; under a compute budget, the full evaluations it still pays for.
    pub fn remaining(&self) -> usize {
        match &self.compute {
            Some(c) => (c.limit - c.spent).max(0.0).floor() as usize,
            None => self.budget - self.used(),
        }
    }

    /// Whether the score function screens ([`ScoreFn::screen_against`] can drop candidates).
    pub fn can_screen(&self) -> bool {
        self.inner.levels().is_some()
    }

    /// Charges the requests answered since the last call.
    fn settle(&mut self) {
        let Some(c) = self.compute.as_mut() else {
            return;
        };
        let trace = &self.inner.trace()[self.start..];
        for step in &trace[c.settled..] {
            let share = match (step.score, step.screened) {
                (None, Some(s)) => s.levels as f64 / s.of.max(1) as f64,
                _ => 1.0,
            };
            // Resuming a set costs only the levels it adds; asking again for no more than was
            // paid costs the answer again, as under an evaluation budget, so every request
            // costs something and no search can spin on free answers.
            let paid = c.paid.entry(step.removed.clone()).or_insert(0.0);
            if share > *paid {
                c.spent += share - *paid;
                *paid = share;
            } else {
                c.spent += share;
            }
        }
        c.settled = trace.len();
    }

    /// Fails unless `worst` full evaluations (what the request can cost at the most) fit.
    fn charge(&self, worst: f64, what: impl FnOnce() -> String) -> Result<()> {
        let fits = match &self.compute {
            Some(c) => c.spent + worst <= c.limit + 1e-9,
            None => self.budget - self.used() >= worst.ceil() as usize,
        };
        if !fits {
            match &self.compute {
                Some(c) => bail!(
                    "compute budget of {} full evaluations ({:.3} spent) cannot pay for {}",
                    c.limit,
                    c.spent,
                    what()
                ),
                None => bail!(
                    "evaluation budget of {} exhausted before scoring {}",
                    self.budget,
                    what()
                ),
            }
        }
        Ok(())
    }

    /// The exact score of removing `removed` (any order; it is sorted first).
    pub fn score(&mut self, removed: &[usize]) -> Result<f64> {
        let removed = sorted(removed);
        self.charge(1.0, || format!("{removed:?}"))?;
        let s = self.inner.score(&removed);
        self.settle();
        s
    }

    pub fn score_unless_worse(&mut self, removed: &[usize], threshold: f64) -> Result<Option<f64>> {
        let removed = sorted(removed);
        self.charge(1.0, || format!("{removed:?}"))?;
        let s = self.inner.score_unless_worse(&removed, threshold);
        self.settle();
        s
    }

    /// [`ScoreFn::screen_against`]: `Some(score)` when `removed` was scored fully (its exact
    /// score, which may still be worse than `threshold`), `None` when it cannot win: screened
    /// out on the first rungs or, where the score function cannot screen, abandoned against
    /// `threshold` ([`Self::score_unless_worse`]).
    pub fn screen_against(
        &mut self,
        removed: &[usize],
        reference: &[usize],
        threshold: f64,
        margin: f64,
    ) -> Result<Option<f64>> {
        let removed = sorted(removed);
        let reference = sorted(reference);
        self.charge(1.0, || format!("{removed:?}"))?;
        let before = self.used();
        let verdict = self
            .inner
            .screen_against(&removed, &reference, threshold, margin)?;
        let Some(verdict) = verdict else {
            return self.score_unless_worse(&removed, threshold);
        };
        if self.used() != before + 1 {
            bail!("a screen must answer, and trace, its candidate once");
        }
        self.settle();
        Ok(verdict.exact())
    }

    /// Whether the budget pays for [`Self::screen`] of `n` candidates whatever it answers:
    /// `n` full evaluations, what it costs when every candidate survives.
    pub fn affords_screen(&self, n: usize) -> bool {
        match &self.compute {
            Some(c) => c.spent + n as f64 <= c.limit + 1e-9,
            None => n <= self.remaining(),
        }
    }

    /// [`ScoreFn::screen`], each candidate charged one evaluation (under a compute budget: the
    /// share of the levels it reached); `None` (nothing charged) when the score function has
    /// no sieve.
    pub fn screen(
        &mut self,
        candidates: &[Vec<usize>],
        keep: usize,
    ) -> Result<Option<Vec<Verdict>>> {
        let candidates: Vec<Vec<usize>> = candidates.iter().map(|c| sorted(c)).collect();
        self.charge(candidates.len() as f64, || {
            format!("{} candidates", candidates.len())
        })?;
        let before = self.used();
        let verdicts = self.inner.screen(&candidates, keep)?;
        if let Some(v) = &verdicts {
            if v.len() != candidates.len() || self.used() != before + candidates.len() {
                bail!("the sieve must answer, and trace, every candidate once");
            }
        }
        self.settle();
        Ok(verdicts)
    }
}

pub fn sorted(blocks: &[usize]) -> Vec<usize> {
    let mut v = blocks.to_vec();
    v.sort_unstable();
    v
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub searcher: String,
    /// The chosen blocks, ascending.
    pub removed: Vec<usize>,
    pub score: f64,
    /// Every removable block, in the order the searcher would remove them.
    pub ranking: Vec<usize>,
    pub evaluations: usize,
    /// Full-evaluation equivalents spent, under a compute budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<f64>,
    pub trace: Vec<TraceStep>,
}

/// A search algorithm.
pub trait Searcher {
    fn name(&self) -> &'static str;
    /// Evaluations it uses when the problem sets no budget.
    fn default_budget(&self, problem: &Problem) -> usize;
    /// Evaluations it needs at the least to return anything.
    fn min_budget(&self, problem: &Problem) -> usize;
    /// Whether it starts from one-shot's answer, so its result is never worse on calibration.
    fn starts_from_one_shot(&self) -> bool {
        false
    }
    /// Chosen set, score and ranking; the caller wraps this into a [`SearchResult`].
    fn run(&self, problem: &Problem, oracle: &mut Oracle, seed: u64) -> Result<Found>;
}

/// What a searcher found.
pub struct Found {
    pub removed: Vec<usize>,
    pub score: f64,
    pub ranking: Vec<usize>,
}

/// Runs `searcher` on `problem`, enforcing the budget and the shape of the answer.
pub fn search(
    searcher: &dyn Searcher,
    problem: &Problem,
    scorer: &mut dyn ScoreFn,
    seed: u64,
) -> Result<SearchResult> {
    problem.validate()?;
    if scorer.n_blocks() != problem.n_blocks || scorer.direction() != problem.direction {
        bail!("the problem does not match the objective (blocks or direction)");
    }
    let needed = searcher.min_budget(problem);
    let mut oracle = match problem.compute {
        Some(limit) => {
            if limit < needed as f64 {
                bail!(
                    "{} needs at least {needed} full evaluations for this problem; the compute \
                     budget is {limit}",
                    searcher.name()
                );
            }
            Oracle::with_compute(scorer, limit)
        }
        None => {
            let budget = problem
                .budget
                .unwrap_or_else(|| searcher.default_budget(problem));
            if budget < needed {
                bail!(
                    "{} needs at least {needed} evaluations for this problem; the budget is \
                     {budget}",
                    searcher.name()
                );
            }
            Oracle::new(scorer, budget)
        }
    };
    let found = searcher.run(problem, &mut oracle, seed)?;
    Ok(SearchResult {
        searcher: searcher.name().to_string(),
        removed: sorted(&found.removed),
        score: found.score,
        ranking: found.ranking,
        evaluations: oracle.used(),
        compute: oracle.spent(),
        trace: oracle.trace().to_vec(),
    })
}

/// Every search algorithm by the name a suite or the command line uses: the seven of the study
/// and the two references.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum SearcherKind {
    OneShot,
    Greedy,
    Beam,
    Evolutionary,
    Annealing,
    Random,
    Local,
    /// Every k-subset (the optimum; small problems only).
    Exhaustive,
    /// Every contiguous run of k removable blocks, the best kept (a reference).
    Contiguous,
    /// Every single removal, then uniformly random k-subsets, all scored in full (a
    /// reference).
    Sampled,
    /// ShortGPT's objective-free proxy: needs the blocks' influences.
    BlockInfluence,
    /// The k deepest blocks before the final one: no search, no measurement.
    LastK,
    /// The contiguous run of k blocks whose ends' streams are closest in angle (Gromov et
    /// al.): needs the angular distances.
    AngularDistance,
    /// A control: the k blocks whose single removal scores worst (one-shot turned round).
    Contrarian,
}

impl SearcherKind {
    /// The seven searchers the study compares.
    pub const SEVEN: [SearcherKind; 7] = [
        Self::OneShot,
        Self::Greedy,
        Self::Beam,
        Self::Evolutionary,
        Self::Annealing,
        Self::Random,
        Self::Local,
    ];

    /// The baselines that search nothing: reported beside the seven, never among them in a
    /// claim.
    pub const BASELINES: [SearcherKind; 3] =
        [Self::BlockInfluence, Self::LastK, Self::AngularDistance];

    /// Whether `name` is one of [`Self::BASELINES`].
    pub fn is_baseline_name(name: &str) -> bool {
        Self::BASELINES.iter().any(|b| b.name() == name)
    }

    /// The searchers that draw from their seed's random stream: a suite seed gives them a
    /// fresh calibration sample and a fresh random path at once, so their choice moves with a
    /// new seed even on one sample. Every other searcher's choice depends on the scores alone.
    pub const STOCHASTIC: [SearcherKind; 4] = [
        Self::Evolutionary,
        Self::Annealing,
        Self::Random,
        Self::Sampled,
    ];

    /// Whether `name` is one of [`Self::STOCHASTIC`].
    pub fn is_stochastic_name(name: &str) -> bool {
        Self::STOCHASTIC.iter().any(|b| b.name() == name)
    }

    /// The name suites, records and reports use (`one_shot`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::OneShot => "one_shot",
            Self::Greedy => "greedy",
            Self::Beam => "beam",
            Self::Evolutionary => "evolutionary",
            Self::Annealing => "annealing",
            Self::Random => "random",
            Self::Local => "local",
            Self::Exhaustive => "exhaustive",
            Self::Contiguous => "contiguous",
            Self::Sampled => "sampled",
            Self::BlockInfluence => "block_influence",
            Self::LastK => "last_k",
            Self::AngularDistance => "angular_distance",
            Self::Contrarian => "contrarian",
        }
    }

    /// The references whose every scored set a claim reads (kept in the run's record as
    /// `scored`), not only the one they choose.
    pub fn keeps_scores(self) -> bool {
        matches!(self, Self::Contiguous | Self::Sampled)
    }

    /// What [`Self::build`] needs measured on the model, if anything.
    pub fn measure(self) -> Option<Measure> {
        match self {
            Self::BlockInfluence => Some(Measure::BlockInfluence),
            Self::AngularDistance => Some(Measure::AngularDistance),
            _ => None,
        }
    }

    /// The searcher, with `params` applied; `measured` is required exactly when
    /// [`Self::measure`] names a measure, and must be that one.
    pub fn build(
        self,
        params: &SearcherParams,
        measured: Option<Measured>,
    ) -> Result<Box<dyn Searcher>> {
        Ok(match self {
            Self::OneShot => Box::new(one_shot::OneShot),
            Self::Greedy => Box::new(greedy::Greedy {
                sieve: params.sieve.unwrap_or(true),
            }),
            Self::Beam => Box::new(beam::BeamSearch {
                width: params.beam_width.unwrap_or(beam::DEFAULT_WIDTH),
                sieve: params.sieve.unwrap_or(true),
            }),
            Self::Evolutionary => Box::new(evolutionary::Evolutionary {
                offspring: params.offspring.unwrap_or(8),
                screen: params.screening(),
            }),
            Self::Annealing => Box::new(annealing::SimulatedAnnealing {
                initial_temperature: params.initial_temperature.unwrap_or(0.05),
                cooling: params.cooling.unwrap_or(0.97),
                screen: params.screening(),
            }),
            Self::Random => Box::new(random::RandomSearch {
                screen: params.screening(),
            }),
            Self::Local => Box::new(local::LocalSearch {
                screen: params.screening(),
            }),
            Self::Exhaustive => Box::new(exhaustive::Exhaustive {
                max_subsets: params.max_subsets.unwrap_or(20_000),
            }),
            Self::BlockInfluence => match measured {
                Some(Measured::BlockInfluence(influence)) => {
                    Box::new(block_influence::BlockInfluence { influence })
                }
                _ => bail!("block_influence needs the blocks' influences, measured on the model"),
            },
            Self::AngularDistance => match measured {
                Some(Measured::AngularDistance(distance)) => {
                    Box::new(angular_distance::AngularDistance { distance })
                }
                _ => bail!("angular_distance needs the angular distances, measured on the model"),
            },
            Self::LastK => Box::new(last_k::LastK),
            Self::Contiguous => Box::new(contiguous::Contiguous),
            Self::Sampled => Box::new(sampled::Sampled { pool: params.pool }),
            Self::Contrarian => Box::new(contrarian::Contrarian),
        })
    }
}

/// A measurement of the model that a baseline ranks blocks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    BlockInfluence,
    AngularDistance,
}

/// A [`Measure`] taken (by the caller: this layer sees no model).
#[derive(Debug, Clone, PartialEq)]
pub enum Measured {
    /// Each block's influence, `1 − mean cosine(input, output)`.
    BlockInfluence(Vec<f64>),
    /// `[l][m]`: mean angular distance between the streams entering block `l` and block `m`,
    /// for `l < m <= n_blocks`.
    AngularDistance(Vec<Vec<f64>>),
}

impl std::fmt::Display for SearcherKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Parameters a suite or the CLI may set; each searcher reads those it has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearcherParams {
    pub beam_width: Option<usize>,
    pub offspring: Option<usize>,
    pub initial_temperature: Option<f64>,
    pub cooling: Option<f64>,
    pub max_subsets: Option<usize>,
    /// Whether the stochastic searchers screen their proposals on the sieve's first rungs
    /// (evolutionary: its offspring by successive halving; annealing, local and random: each
    /// proposal against the set it must beat) and score fully only those that can still win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<bool>,
    /// The relative margin of that screen ([`DEFAULT_SCREEN_MARGIN`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_margin: Option<f64>,
    /// Greedy and beam: whether their steps sieve the candidates by successive halving where
    /// the suite and the score function allow it (default true). The sieve is a heuristic that
    /// can drop the candidate exact greedy would keep; false scores every candidate in full
    /// (with early abandonment), so the chosen set is the exact step's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sieve: Option<bool>,
    /// `sampled`: draw the sets from this many blocks, those whose single removal scores
    /// best (the candidates a searcher weighs), instead of from every removable block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<usize>,
}

impl SearcherParams {
    /// The screen's margin when the params turn screening on.
    pub fn screening(&self) -> Option<f64> {
        self.screen
            .unwrap_or(false)
            .then(|| self.screen_margin.unwrap_or(DEFAULT_SCREEN_MARGIN))
    }
}

/// Completes a ranking: `first` in order, then every other removable block by `key` (better
/// first in the problem's direction), ties by index.
pub fn complete_ranking(
    problem: &Problem,
    first: &[usize],
    key: impl Fn(usize) -> f64,
) -> Vec<usize> {
    let mut rest: Vec<usize> = problem
        .removable()
        .into_iter()
        .filter(|b| !first.contains(b))
        .collect();
    rest.sort_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        if problem.direction.better(ka, kb) {
            std::cmp::Ordering::Less
        } else if problem.direction.better(kb, ka) {
            std::cmp::Ordering::Greater
        } else {
            a.cmp(&b)
        }
    });
    first.iter().copied().chain(rest).collect()
}

/// Single-block scores of every removable block (one evaluation each), used by the searchers
/// that start from one-shot.
pub fn single_removal_scores(problem: &Problem, oracle: &mut Oracle) -> Result<Vec<(usize, f64)>> {
    problem
        .removable()
        .into_iter()
        .map(|b| Ok((b, oracle.score(&[b])?)))
        .collect()
}

/// Removable blocks ordered best single-removal score first, ties by index.
pub fn order_by_scores(problem: &Problem, scores: &[(usize, f64)]) -> Vec<usize> {
    let mut v = scores.to_vec();
    v.sort_by(|a, b| {
        if problem.direction.better(a.1, b.1) {
            std::cmp::Ordering::Less
        } else if problem.direction.better(b.1, a.1) {
            std::cmp::Ordering::Greater
        } else {
            a.0.cmp(&b.0)
        }
    });
    v.into_iter().map(|(b, _)| b).collect()
}

/// The answer to a problem with k = 0: the full model, ranking in index order (nothing was
/// learnt about the blocks).
pub fn remove_nothing(problem: &Problem, oracle: &mut Oracle) -> Result<Found> {
    let score = oracle.score(&[])?;
    Ok(Found {
        removed: vec![],
        score,
        ranking: problem.removable(),
    })
}

/// A uniformly random k-subset of `removable`, ascending.
pub fn random_subset(rng: &mut impl rand::Rng, removable: &[usize], k: usize) -> Vec<usize> {
    use rand::seq::IndexedRandom;
    sorted(
        &removable
            .choose_multiple(rng, k)
            .copied()
            .collect::<Vec<_>>(),
    )
}

/// `set` with one member swapped for a removable non-member (`None` when no swap exists).
pub fn random_swap(
    rng: &mut impl rand::Rng,
    set: &[usize],
    removable: &[usize],
) -> Option<Vec<usize>> {
    use rand::seq::IndexedRandom;
    let outside: Vec<usize> = removable
        .iter()
        .copied()
        .filter(|b| !set.contains(b))
        .collect();
    let out = *set.choose(rng)?;
    let inn = *outside.choose(rng)?;
    Some(sorted(
        &set.iter()
            .map(|&b| if b == out { inn } else { b })
            .collect::<Vec<_>>(),
    ))
}

/// Ranking key: mean score of the evaluated sets that contain the block (abandoned
/// evaluations and blocks never seen rank last).
pub fn mean_score_key(problem: &Problem, trace: &[TraceStep]) -> impl Fn(usize) -> f64 {
    let worst = match problem.direction {
        Direction::Minimize => f64::INFINITY,
        Direction::Maximize => f64::NEG_INFINITY,
    };
    let mut sums = vec![(0.0, 0usize); problem.n_blocks];
    for step in trace {
        if let Some(s) = step.score {
            for &b in &step.removed {
                sums[b].0 += s;
                sums[b].1 += 1;
            }
        }
    }
    move |b| {
        if sums[b].1 == 0 {
            worst
        } else {
            sums[b].0 / sums[b].1 as f64
        }
    }
}
