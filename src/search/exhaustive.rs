//! Exhaustive enumeration of every k-subset: the optimality oracle for small problems.

use anyhow::{bail, Result};

use super::beam::binomial;
use super::{complete_ranking, mean_score_key, Found, Oracle, Problem, Searcher};

pub struct Exhaustive {
    /// Problems with more subsets than this are refused.
    pub max_subsets: usize,
}

impl Searcher for Exhaustive {
    fn name(&self) -> &'static str {
        "exhaustive"
    }

    fn default_budget(&self, problem: &Problem) -> usize {
        self.min_budget(problem)
    }

    fn min_budget(&self, problem: &Problem) -> usize {
        binomial(problem.removable().len(), problem.k)
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        let removable = problem.removable();
        let total = binomial(removable.len(), problem.k);
        if total > self.max_subsets {
            bail!(
                "exhaustive search over C({}, {}) = {total} subsets exceeds its limit of {}; \
                 raise max_subsets or use another searcher",
                removable.len(),
                problem.k,
                self.max_subsets
            );
        }
        let mut best: Option<(Vec<usize>, f64)> = None;
        let mut idx: Vec<usize> = (0..problem.k).collect();
        loop {
            let set: Vec<usize> = idx.iter().map(|&i| removable[i]).collect();
            let s = match &best {
                None => Some(oracle.score(&set)?),
                Some((_, t)) => oracle.score_unless_worse(&set, *t)?,
            };
            if let Some(s) = s {
                if best
                    .as_ref()
                    .is_none_or(|(bs, b)| problem.prefer((s, &set), (*b, bs)))
                {
                    best = Some((set, s));
                }
            }
            if !next_combination(&mut idx, removable.len()) {
                break;
            }
        }
        let (removed, score) = best.expect("at least the empty or first subset");
        let ranking = complete_ranking(problem, &removed, mean_score_key(problem, oracle.trace()));
        Ok(Found {
            removed,
            score,
            ranking,
        })
    }
}

/// Advances `idx` (a strictly increasing k-tuple over 0..n) to the next in lexicographic order.
fn next_combination(idx: &mut [usize], n: usize) -> bool {
    let k = idx.len();
    for i in (0..k).rev() {
        if idx[i] < n - k + i {
            idx[i] += 1;
            for j in i + 1..k {
                idx[j] = idx[j - 1] + 1;
            }
            return true;
        }
    }
    false
}
