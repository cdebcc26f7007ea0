//! The last-k baseline: remove the k deepest removable blocks before the final one, looking at
//! nothing. Recent depth-pruning work (e.g. Gromov et al., "The Unreasonable Ineffectiveness of
//! the Deeper Layers") finds that the blocks just before the last are the least needed, so a
//! search that cannot beat this rule has found nothing the rule does not know. It scores its
//! set once, like [`super::block_influence`], and is not one of the seven searchers.

use anyhow::Result;

use super::{Found, Oracle, Problem, Searcher};

/// Removes the k deepest removable blocks, the final block excepted while others remain.
pub struct LastK;

/// Removal order: deepest first, the final block last (its output feeds the head, and the
/// baseline keeps it).
pub fn last_k_ranking(problem: &Problem) -> Vec<usize> {
    let last = problem.n_blocks.checked_sub(1);
    let mut ranking: Vec<usize> = problem
        .removable()
        .into_iter()
        .rev()
        .filter(|&b| Some(b) != last)
        .collect();
    if let Some(last) = last.filter(|b| !problem.protected.contains(b)) {
        ranking.push(last);
    }
    ranking
}

impl Searcher for LastK {
    fn name(&self) -> &'static str {
        "last_k"
    }

    fn default_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn min_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        let ranking = last_k_ranking(problem);
        let removed = ranking[..problem.k].to_vec();
        let score = oracle.score(&removed)?;
        Ok(Found {
            removed,
            score,
            ranking,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::search::Direction;

    fn problem(n_blocks: usize, k: usize, protected: &[usize]) -> Problem {
        Problem {
            n_blocks,
            k,
            protected: protected.iter().copied().collect::<BTreeSet<_>>(),
            direction: Direction::Minimize,
            budget: None,
            compute: None,
        }
    }

    #[test]
    fn removes_the_deepest_blocks_before_the_final_one() {
        assert_eq!(&last_k_ranking(&problem(8, 3, &[]))[..3], &[6, 5, 4]);
        // The ends protected, as in the suites: the final block is not removable at all.
        assert_eq!(
            last_k_ranking(&problem(8, 3, &[0, 7])),
            vec![6, 5, 4, 3, 2, 1]
        );
        // Protected blocks are skipped, and the final block comes last when it is removable.
        assert_eq!(last_k_ranking(&problem(6, 2, &[4])), vec![3, 2, 1, 0, 5]);
    }
}
