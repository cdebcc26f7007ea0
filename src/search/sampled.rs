//! Every single removal, then distinct uniformly random k-subsets (of every removable block, or
//! of the `pool` blocks whose single removal scores best), each scored in full: the
//! reference EvoPress's monotonicity claim needs (Sieberling et al., arXiv 2410.14649: does
//! the sum of the blocks' single-removal errors order the sets as their joint error does?).
//! Like [`super::contiguous`], a reference that keeps every score, not one of the seven
//! searchers: unlike random search it never screens or abandons a set.

use std::collections::BTreeSet;

use anyhow::{bail, Result};

use super::beam::binomial;
use super::{
    complete_ranking, order_by_scores, random_subset, single_removal_scores, Found, Oracle,
    Problem, Searcher,
};
use crate::rng::rng_for;

/// Sets drawn beyond the single removals when the suite gives no budget.
const DEFAULT_SETS: usize = 32;

pub struct Sampled {
    /// Draw from this many blocks, best single removal first (`None`: every removable one).
    pub pool: Option<usize>,
}

impl Searcher for Sampled {
    fn name(&self) -> &'static str {
        "sampled"
    }

    fn default_budget(&self, problem: &Problem) -> usize {
        problem.removable().len() + DEFAULT_SETS
    }

    /// The singles and two sets: the least a rank correlation over sets can use.
    fn min_budget(&self, problem: &Problem) -> usize {
        problem.removable().len() + 2
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, seed: u64) -> Result<Found> {
        let removable = problem.removable();
        let singles = single_removal_scores(problem, oracle)?;
        let pool: Vec<usize> = match self.pool {
            None => removable.clone(),
            Some(n) => {
                if n < problem.k || n > removable.len() {
                    bail!(
                        "sampled's pool of {n} blocks must hold at least k = {} and at most the {} removable blocks",
                        problem.k,
                        removable.len()
                    );
                }
                order_by_scores(problem, &singles)[..n].to_vec()
            }
        };
        let mut rng = rng_for(seed, self.name());
        let all = binomial(pool.len(), problem.k);
        let mut seen = BTreeSet::new();
        let mut best: Option<(Vec<usize>, f64)> = None;
        while oracle.remaining() > 0 && seen.len() < all {
            let set = random_subset(&mut rng, &pool, problem.k);
            if !seen.insert(set.clone()) {
                continue;
            }
            let s = oracle.score(&set)?;
            if best
                .as_ref()
                .is_none_or(|(bs, b)| problem.prefer((s, &set), (*b, bs)))
            {
                best = Some((set, s));
            }
        }
        let (removed, score) = best.expect("the budget leaves at least two sets");
        // After the chosen set, the other blocks as one-shot ranks them: by their own single
        // removal.
        let single = |b: usize| {
            singles
                .iter()
                .find(|(x, _)| *x == b)
                .map_or(f64::NAN, |(_, s)| *s)
        };
        let ranking = complete_ranking(problem, &removed, single);
        Ok(Found {
            removed,
            score,
            ranking,
        })
    }
}
