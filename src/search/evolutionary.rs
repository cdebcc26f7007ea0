//! Evolutionary search (EvoPress-style (1+λ)): start from the one-shot solution; each
//! generation makes λ offspring by swap mutations that keep |set| = k and keeps the best of
//! parent and offspring, until the budget is spent.

use std::collections::BTreeSet;

use anyhow::Result;
use rand::Rng;

use super::{order_by_scores, single_removal_scores, Found, Oracle, Problem, Searcher};
use crate::rng::rng_for;

pub struct Evolutionary {
    /// λ, offspring per generation.
    pub offspring: usize,
}

/// Generations run under the default budget.
const DEFAULT_GENERATIONS: usize = 20;

impl Searcher for Evolutionary {
    fn name(&self) -> &'static str {
        "evolutionary"
    }

    fn default_budget(&self, problem: &Problem) -> usize {
        self.min_budget(problem) + DEFAULT_GENERATIONS * self.offspring.max(1)
    }

    fn starts_from_one_shot(&self) -> bool {
        true
    }

    fn min_budget(&self, problem: &Problem) -> usize {
        problem.removable().len() + 1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, seed: u64) -> Result<Found> {
        let mut rng = rng_for(seed, self.name());
        let removable = problem.removable();
        let singles = single_removal_scores(problem, oracle)?;
        let one_shot = order_by_scores(problem, &singles);
        let mut parent = super::sorted(&one_shot[..problem.k]);
        let mut parent_score = oracle.score(&parent)?;
        let mut seen: BTreeSet<Vec<usize>> = BTreeSet::from([parent.clone()]);
        let can_mutate = problem.k > 0 && problem.k < removable.len();
        while can_mutate && oracle.remaining() > 0 {
            let mut best = (parent.clone(), parent_score);
            let mut fresh = 0;
            for _ in 0..self.offspring.max(1).min(oracle.remaining()) {
                // Mostly one swap, sometimes two, so the search can step over a neighbour.
                let Some(mut child) = mutate(&mut rng, &parent, &removable) else {
                    break;
                };
                let mut tries = 0;
                while seen.contains(&child) && tries < 20 {
                    child = mutate(&mut rng, &parent, &removable).expect("mutable");
                    tries += 1;
                }
                if !seen.insert(child.clone()) {
                    continue;
                }
                fresh += 1;
                if let Some(s) = oracle.score_unless_worse(&child, best.1)? {
                    if problem.prefer((s, &child), (best.1, &best.0)) {
                        best = (child, s);
                    }
                }
            }
            (parent, parent_score) = best;
            if fresh == 0 {
                break; // the parent's neighbourhood is exhausted: nothing new to try
            }
        }
        // Chosen blocks first, each group in one-shot order.
        let mut ranking: Vec<usize> = one_shot
            .iter()
            .copied()
            .filter(|b| parent.contains(b))
            .collect();
        ranking.extend(one_shot.iter().copied().filter(|b| !parent.contains(b)));
        Ok(Found {
            removed: parent,
            score: parent_score,
            ranking,
        })
    }
}

fn mutate(rng: &mut impl Rng, parent: &[usize], removable: &[usize]) -> Option<Vec<usize>> {
    let once = super::random_swap(rng, parent, removable)?;
    if rng.random_bool(0.3) {
        super::random_swap(rng, &once, removable)
    } else {
        Some(once)
    }
}
