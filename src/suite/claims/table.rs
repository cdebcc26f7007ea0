//! One model's runs indexed by (objective, searcher, seed), and the agreement helpers every
//! claim shares.

use std::collections::{BTreeMap, BTreeSet};

use crate::objective::Direction;
use crate::search::SearcherKind;
use crate::stats::{chance_corrected, expected_jaccard, jaccard, kendall_tau_b, mean};
use crate::suite::run::RunRecord;

/// A run's place in the design: (objective, searcher, seed).
pub type Key<'k> = (&'k str, &'k str, u64);

/// One model's runs indexed by (objective, searcher, seed), with what the claims and the
/// report's agreement plots need to know about them.
pub struct RunTable<'a> {
    pub(super) runs: BTreeMap<(&'a str, &'a str, u64), &'a RunRecord>,
    pub(super) objectives: Vec<&'a str>,
    /// The seven (or fewer) searchers, the baselines excluded.
    pub(super) searchers: Vec<&'a str>,
    pub(super) seeds: Vec<u64>,
    /// Jaccard of two independent uniform k-subsets of the removable blocks.
    pub(super) chance: f64,
    /// Each objective's direction: the perplexity objective minimises.
    pub(super) directions: BTreeMap<&'a str, Direction>,
    /// Each held-out outcome's direction.
    pub(super) heldout: &'a BTreeMap<String, Direction>,
}

impl<'a> RunTable<'a> {
    pub fn new(runs: &[&'a RunRecord], heldout: &'a BTreeMap<String, Direction>) -> Self {
        let objectives: BTreeSet<&str> = runs.iter().map(|r| r.objective.as_str()).collect();
        let seeds: BTreeSet<u64> = runs.iter().map(|r| r.seed).collect();
        let mut searchers: Vec<&str> = Vec::new();
        for r in runs
            .iter()
            .filter(|r| !SearcherKind::is_baseline_name(&r.searcher))
        {
            if !searchers.contains(&r.searcher.as_str()) {
                searchers.push(&r.searcher);
            }
        }
        let chance = runs
            .first()
            .map_or(f64::NAN, |r| expected_jaccard(r.ranking.len(), r.k));
        RunTable {
            runs: runs
                .iter()
                .map(|r| ((r.objective.as_str(), r.searcher.as_str(), r.seed), *r))
                .collect(),
            objectives: objectives.into_iter().collect(),
            searchers,
            seeds: seeds.into_iter().collect(),
            chance,
            directions: runs
                .iter()
                .map(|r| (r.objective.as_str(), r.direction))
                .collect(),
            heldout,
        }
    }

    /// The first objective that minimises (perplexity).
    pub(super) fn perplexity_objective(&self) -> Option<&'a str> {
        self.objectives
            .iter()
            .copied()
            .find(|o| self.directions[o] == Direction::Minimize)
    }

    /// The first held-out outcome with `direction` (perplexity: minimise; accuracy: maximise).
    pub(super) fn heldout_of(&self, direction: Direction) -> Option<&'a String> {
        self.heldout
            .iter()
            .find(|(_, d)| **d == direction)
            .map(|(n, _)| n)
    }

    pub(super) fn get(&self, objective: &str, searcher: &str, seed: u64) -> Option<&'a RunRecord> {
        self.runs.get(&(objective, searcher, seed)).copied()
    }

    pub(super) fn j(&self, a: Key, b: Key) -> Option<f64> {
        Some(jaccard(
            &self.get(a.0, a.1, a.2)?.removed,
            &self.get(b.0, b.1, b.2)?.removed,
        ))
    }

    /// Chance-corrected Jaccard of two runs' chosen sets: 0 for unrelated sets, 1 for equal
    /// ones. What the tetrad of `objective_over_search` multiplies: a product of agreements
    /// needs a zero that means "no agreement", which raw Jaccard (chance > 0) has not.
    pub(super) fn kappa(&self, a: Key, b: Key) -> Option<f64> {
        Some(chance_corrected(self.j(a, b)?, self.chance))
    }

    /// Mean Jaccard over the pairs of runs named by `keys` (pairs with a missing run skipped).
    pub fn mean_jaccard<'k>(&self, keys: impl Iterator<Item = (Key<'k>, Key<'k>)>) -> Option<f64> {
        let js: Vec<f64> = keys.filter_map(|(a, b)| self.j(a, b)).collect();
        (!js.is_empty()).then(|| mean(&js))
    }

    /// Mean Jaccard among searchers at `seed` (pairs within each objective).
    pub(super) fn cross_searcher(&self, seed: u64) -> Option<f64> {
        self.mean_jaccard(self.objectives.iter().flat_map(|&o| {
            pairs(&self.searchers)
                .into_iter()
                .map(move |(a, b)| ((o, a, seed), (o, b, seed)))
        }))
    }

    /// Mean Jaccard between objectives at `seed` (pairs within each searcher).
    pub(super) fn cross_objective(&self, seed: u64) -> Option<f64> {
        self.mean_jaccard(self.searchers.iter().flat_map(|&s| {
            pairs(&self.objectives)
                .into_iter()
                .map(move |(a, b)| ((a, s, seed), (b, s, seed)))
        }))
    }

    /// Mean Jaccard of the same objective and searcher across different seeds.
    pub(super) fn cross_seed(&self, objectives: &[&str]) -> Option<f64> {
        self.mean_jaccard(
            objectives
                .iter()
                .flat_map(|&o| self.searchers.iter().map(move |&s| (o, s)))
                .flat_map(|(o, s)| {
                    pairs(&self.seeds)
                        .into_iter()
                        .map(move |(t, u)| ((o, s, t), (o, s, u)))
                }),
        )
    }

    /// The runs of `seed` (every objective × searcher), for a within-seed decomposition.
    pub(super) fn seed_runs(&self, seed: u64) -> Vec<&'a RunRecord> {
        self.objectives
            .iter()
            .flat_map(|&o| self.searchers.iter().map(move |&s| (o, s)))
            .filter_map(|(o, s)| self.get(o, s, seed))
            .collect()
    }

    /// Every run but the proxy's, ordered objective, seed, searcher.
    pub(super) fn all_runs(&self) -> Vec<&'a RunRecord> {
        self.objectives
            .iter()
            .flat_map(|&o| self.seeds.iter().map(move |&t| (o, t)))
            .flat_map(|(o, t)| self.searchers.iter().map(move |&s| (o, s, t)))
            .filter_map(|(o, s, t)| self.get(o, s, t))
            .collect()
    }

    pub(super) fn complete(&self) -> bool {
        self.runs
            .keys()
            .filter(|(_, s, _)| !SearcherKind::is_baseline_name(s))
            .count()
            == self.objectives.len() * self.searchers.len() * self.seeds.len()
    }
}

/// Every unordered pair of distinct items, each once.
pub(super) fn pairs<T: Copy>(items: &[T]) -> Vec<(T, T)> {
    items
        .iter()
        .enumerate()
        .flat_map(|(i, a)| items[i + 1..].iter().map(move |b| (*a, *b)))
        .collect()
}

/// Positions of `blocks` in `ranking` (0 = removed first).
pub(super) fn positions(ranking: &[usize], blocks: &[usize]) -> Vec<f64> {
    blocks
        .iter()
        .map(|b| {
            ranking
                .iter()
                .position(|x| x == b)
                .map_or(f64::NAN, |p| p as f64)
        })
        .collect()
}

pub(super) fn tau_between(x: &RunRecord, y: &RunRecord) -> f64 {
    let mut blocks = x.ranking.clone();
    blocks.sort_unstable();
    kendall_tau_b(
        &positions(&x.ranking, &blocks),
        &positions(&y.ranking, &blocks),
    )
}
