//! Random search: the best of N uniformly random k-subsets, the floor every method must beat.
//! Screened, each sample after the first is scored on the first rungs against the best so far
//! and fully only while it can still beat it.

use std::collections::BTreeSet;

use anyhow::Result;

use super::{complete_ranking, mean_score_key, random_subset, Found, Oracle, Problem, Searcher};
use crate::rng::rng_for;

pub struct RandomSearch {
    /// The screen's margin, when each sample is screened against the best so far.
    pub screen: Option<f64>,
}

impl Searcher for RandomSearch {
    fn name(&self) -> &'static str {
        "random"
    }

    fn default_budget(&self, _problem: &Problem) -> usize {
        100
    }

    fn min_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, seed: u64) -> Result<Found> {
        let mut rng = rng_for(seed, self.name());
        let removable = problem.removable();
        let all = super::beam::binomial(removable.len(), problem.k);
        let mut seen = BTreeSet::new();
        let mut best: Option<(Vec<usize>, f64)> = None;
        // Distinct samples while there are unseen subsets.
        while oracle.remaining() > 0 && seen.len() < all {
            let set = random_subset(&mut rng, &removable, problem.k);
            if !seen.insert(set.clone()) {
                continue;
            }
            let s = match (&best, self.screen) {
                (Some((bs, b)), Some(margin)) => oracle.screen_against(&set, bs, *b, margin)?,
                _ => Some(oracle.score(&set)?),
            };
            let Some(s) = s else {
                continue;
            };
            if best
                .as_ref()
                .is_none_or(|(bs, b)| problem.prefer((s, &set), (*b, bs)))
            {
                best = Some((set, s));
            }
        }
        let (removed, score) = best.expect("at least one sample");
        let ranking = complete_ranking(problem, &removed, mean_score_key(problem, oracle.trace()));
        Ok(Found {
            removed,
            score,
            ranking,
        })
    }
}
