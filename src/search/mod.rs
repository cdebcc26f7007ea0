//! Search algorithms that choose exactly k of a model's blocks to remove.
//!
//! Every searcher solves the same [`Problem`] through an [`Oracle`] (a budgeted, traced view of
//! a [`ScoreFn`], normally the memoised [`crate::evaluator::Evaluator`]) and returns the chosen
//! set, its score, a ranking of all removable blocks (the order in which it would remove them;
//! its first k are the chosen set) and the trace of every evaluation it asked for.
//!
//! The seven, one file each: [`one_shot`], [`greedy`], [`beam`], [`evolutionary`],
//! [`annealing`], [`random`], [`local`]; and two references that are not among them:
//! [`exhaustive`] (the optimum, for small problems) and [`block_influence`] (ShortGPT's
//! objective-free proxy, which needs the model rather than an oracle).
//!
//! Stochastic searchers draw only from `rng_for(seed, their name)`, so adding a searcher never
//! changes another's result. Ties between equal scores go to the lexicographically smaller
//! block set, so results do not depend on last-bit float noise in the order of evaluation.

pub mod annealing;
pub mod beam;
pub mod block_influence;
pub mod evolutionary;
pub mod exhaustive;
pub mod greedy;
pub mod local;
pub mod one_shot;
pub mod random;

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::evaluator::{Evaluator, Outcome};
use crate::model::BlockMask;
use crate::objective::Direction;

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

/// What a searcher scores: a set of removed blocks → a number.
pub trait ScoreFn {
    fn n_blocks(&self) -> usize;
    fn direction(&self) -> Direction;
    fn score(&mut self, removed: &[usize]) -> Result<f64>;
    /// The exact score, or `None` when the set provably does not beat `threshold`.
    fn score_unless_worse(&mut self, removed: &[usize], threshold: f64) -> Result<Option<f64>> {
        let s = self.score(removed)?;
        Ok((!self.direction().better(threshold, s)).then_some(s))
    }
}

impl ScoreFn for Evaluator<'_> {
    fn n_blocks(&self) -> usize {
        Evaluator::n_blocks(self)
    }
    fn direction(&self) -> Direction {
        Evaluator::direction(self)
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

/// One evaluation a searcher asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    pub removed: Vec<usize>,
    /// `None` when abandoned early against a threshold.
    pub score: Option<f64>,
}

/// A budgeted, traced view of a [`ScoreFn`]. Every request counts against the budget.
pub struct Oracle<'a> {
    inner: &'a mut dyn ScoreFn,
    budget: usize,
    trace: Vec<TraceStep>,
}

impl<'a> Oracle<'a> {
    pub fn new(inner: &'a mut dyn ScoreFn, budget: usize) -> Self {
        Self {
            inner,
            budget,
            trace: Vec::new(),
        }
    }

    pub fn used(&self) -> usize {
        self.trace.len()
    }

    pub fn remaining(&self) -> usize {
        self.budget - self.used()
    }

    fn charge(&self, removed: &[usize]) -> Result<()> {
        if self.remaining() == 0 {
            bail!(
                "evaluation budget of {} exhausted before scoring {removed:?}",
                self.budget
            );
        }
        Ok(())
    }

    /// The exact score of removing `removed` (any order; it is sorted first).
    pub fn score(&mut self, removed: &[usize]) -> Result<f64> {
        let removed = sorted(removed);
        self.charge(&removed)?;
        let s = self.inner.score(&removed)?;
        self.trace.push(TraceStep {
            removed,
            score: Some(s),
        });
        Ok(s)
    }

    pub fn score_unless_worse(&mut self, removed: &[usize], threshold: f64) -> Result<Option<f64>> {
        let removed = sorted(removed);
        self.charge(&removed)?;
        let s = self.inner.score_unless_worse(&removed, threshold)?;
        self.trace.push(TraceStep { removed, score: s });
        Ok(s)
    }

    pub fn into_trace(self) -> Vec<TraceStep> {
        self.trace
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
    let budget = problem
        .budget
        .unwrap_or_else(|| searcher.default_budget(problem));
    let needed = searcher.min_budget(problem);
    if budget < needed {
        bail!(
            "{} needs at least {needed} evaluations for this problem; the budget is {budget}",
            searcher.name()
        );
    }
    let mut oracle = Oracle::new(scorer, budget);
    let found = searcher.run(problem, &mut oracle, seed)?;
    let evaluations = oracle.used();
    Ok(SearchResult {
        searcher: searcher.name().to_string(),
        removed: sorted(&found.removed),
        score: found.score,
        ranking: found.ranking,
        evaluations,
        trace: oracle.into_trace(),
    })
}

/// Names of the seven searchers, as a suite or the CLI writes them.
pub const SEVEN: [&str; 7] = [
    "one_shot",
    "greedy",
    "beam",
    "evolutionary",
    "annealing",
    "random",
    "local",
];

/// Parameters a suite or the CLI may set; each searcher reads those it has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearcherParams {
    pub beam_width: Option<usize>,
    pub offspring: Option<usize>,
    pub initial_temperature: Option<f64>,
    pub cooling: Option<f64>,
    pub max_subsets: Option<usize>,
}

/// The searcher registered under `name`.
pub fn by_name(name: &str, params: &SearcherParams) -> Result<Box<dyn Searcher>> {
    Ok(match name {
        "one_shot" => Box::new(one_shot::OneShot),
        "greedy" => Box::new(greedy::Greedy),
        "beam" => Box::new(beam::BeamSearch {
            width: params.beam_width.unwrap_or(4),
        }),
        "evolutionary" => Box::new(evolutionary::Evolutionary {
            offspring: params.offspring.unwrap_or(8),
        }),
        "annealing" => Box::new(annealing::SimulatedAnnealing {
            initial_temperature: params.initial_temperature.unwrap_or(0.05),
            cooling: params.cooling.unwrap_or(0.97),
        }),
        "random" => Box::new(random::RandomSearch),
        "local" => Box::new(local::LocalSearch),
        "exhaustive" => Box::new(exhaustive::Exhaustive {
            max_subsets: params.max_subsets.unwrap_or(20_000),
        }),
        other => bail!(
            "unknown searcher '{other}': known searchers are {}, exhaustive",
            SEVEN.join(", ")
        ),
    })
}

/// Like [`by_name`], and also `block_influence`, which measures the model on the objective's
/// calibration inputs.
pub fn by_name_for_model(
    name: &str,
    params: &SearcherParams,
    model: &crate::model::Model,
    workload: &crate::objective::Workload,
) -> Result<Box<dyn Searcher>> {
    if name == "block_influence" {
        let influence = block_influence::block_influence(model, workload)?;
        return Ok(Box::new(block_influence::BlockInfluence { influence }));
    }
    by_name(name, params).map_err(|e| e.context("block_influence is also available"))
}

/// Parses `--protect`: `ends` (first and last block), `none`, or a list like `0,29`.
pub fn parse_protected(text: &str, n_blocks: usize) -> Result<BTreeSet<usize>> {
    match text.trim() {
        "ends" => Ok(BTreeSet::from([0, n_blocks.saturating_sub(1)])),
        "none" | "" => Ok(BTreeSet::new()),
        list => Ok(crate::model::parse_block_list(list)?.into_iter().collect()),
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
