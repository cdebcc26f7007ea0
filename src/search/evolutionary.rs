//! Evolutionary search (EvoPress-style (1+λ)): start from the one-shot solution; each
//! generation makes λ offspring by swap mutations that keep |set| = k and keeps the best of
//! parent and offspring, until the budget is spent.
//!
//! Screened, the offspring are selected in steps of growing fidelity, as EvoPress's
//! multi-step selection does: successive halving over the sieve's rungs
//! ([`Oracle::screen`]), and the survivors' exact scores against the parent's at the last
//! step (EvoPress adds the parent to its final selection step the same way).

use std::collections::BTreeSet;

use anyhow::Result;
use rand::Rng;

use super::{order_by_scores, single_removal_scores, Found, Oracle, Problem, Searcher};
use crate::rng::rng_for;

pub struct Evolutionary {
    /// λ, offspring per generation.
    pub offspring: usize,
    /// Whether offspring are selected in steps of growing fidelity (the margin is unused: the
    /// halving ranks them).
    pub screen: Option<f64>,
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
            let mut wanted = self.offspring.max(1).min(oracle.remaining());
            if self.screen.is_some() && oracle.can_screen() {
                wanted = self.offspring.max(1);
                while wanted > 0 && !oracle.affords_screen(wanted) {
                    wanted -= 1;
                }
                let children = offspring(&mut rng, &parent, &removable, &mut seen, wanted);
                if children.is_empty() {
                    break;
                }
                match oracle.screen(&children, 1)? {
                    Some(verdicts) => {
                        for (child, v) in children.into_iter().zip(verdicts) {
                            if let Some(s) = v.exact() {
                                if problem.prefer((s, &child), (best.1, &best.0)) {
                                    best = (child, s);
                                }
                            }
                        }
                    }
                    None => {
                        for child in children {
                            if let Some(s) = oracle.score_unless_worse(&child, best.1)? {
                                if problem.prefer((s, &child), (best.1, &best.0)) {
                                    best = (child, s);
                                }
                            }
                        }
                    }
                }
                (parent, parent_score) = best;
                continue;
            }
            for _ in 0..wanted {
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

/// Up to `n` children of `parent` not seen before (drawn as the unscreened loop draws them),
/// each added to `seen`.
fn offspring(
    rng: &mut impl Rng,
    parent: &[usize],
    removable: &[usize],
    seen: &mut BTreeSet<Vec<usize>>,
    n: usize,
) -> Vec<Vec<usize>> {
    let mut children = Vec::new();
    for _ in 0..n {
        let Some(mut child) = mutate(rng, parent, removable) else {
            break;
        };
        let mut tries = 0;
        while seen.contains(&child) && tries < 20 {
            child = mutate(rng, parent, removable).expect("mutable");
            tries += 1;
        }
        if seen.insert(child.clone()) {
            children.push(child);
        }
    }
    children
}

fn mutate(rng: &mut impl Rng, parent: &[usize], removable: &[usize]) -> Option<Vec<usize>> {
    let once = super::random_swap(rng, parent, removable)?;
    if rng.random_bool(0.3) {
        super::random_swap(rng, &once, removable)
    } else {
        Some(once)
    }
}
