//! Every contiguous run of k removable blocks, each scored in full: the best run by the
//! objective, and the reference the deeper-layers claim needs (Gromov et al., arXiv
//! 2403.17887, remove a contiguous block of layers; is the one angular distance picks the
//! cheapest?). A reference, like [`super::exhaustive`], not one of the seven searchers.

use anyhow::{bail, Result};

use super::{complete_ranking, mean_score_key, Found, Oracle, Problem, Searcher};

pub struct Contiguous;

/// The starts `l` whose run `l..l + k` holds only removable blocks.
pub fn run_starts(problem: &Problem) -> Vec<usize> {
    let k = problem.k;
    (0..=problem.n_blocks.saturating_sub(k))
        .filter(|&l| (l..l + k).all(|b| !problem.protected.contains(&b)))
        .collect()
}

impl Searcher for Contiguous {
    fn name(&self) -> &'static str {
        "contiguous"
    }

    fn default_budget(&self, problem: &Problem) -> usize {
        self.min_budget(problem)
    }

    fn min_budget(&self, problem: &Problem) -> usize {
        run_starts(problem).len().max(1)
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        let mut best: Option<(Vec<usize>, f64)> = None;
        // Every run in full, no abandonment: each run's exact score is in the trace and the
        // store, for a claim that compares one run with the others.
        for start in run_starts(problem) {
            let set: Vec<usize> = (start..start + problem.k).collect();
            let s = oracle.score(&set)?;
            if best
                .as_ref()
                .is_none_or(|(bs, b)| problem.prefer((s, &set), (*b, bs)))
            {
                best = Some((set, s));
            }
        }
        let Some((removed, score)) = best else {
            bail!(
                "no {} contiguous removable blocks among {} (protected: {:?})",
                problem.k,
                problem.n_blocks,
                problem.protected
            );
        };
        let ranking = complete_ranking(problem, &removed, mean_score_key(problem, oracle.trace()));
        Ok(Found {
            removed,
            score,
            ranking,
        })
    }
}
