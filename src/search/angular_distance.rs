//! Angular distance (Gromov et al., "The Unreasonable Ineffectiveness of the Deeper Layers",
//! arXiv 2403.17887): remove the contiguous run of k blocks `ℓ*..ℓ* + k` whose start minimises
//! the angular distance between the streams entering block ℓ and block ℓ + k, measured on the
//! calibration windows with every block running (`crate::angular`). Objective-free, like
//! [`super::block_influence`]: it scores its set once.

use anyhow::{bail, Result};

use super::{complete_ranking, Direction, Found, Oracle, Problem, Searcher};

/// Removes the contiguous run of k removable blocks of smallest angular distance.
pub struct AngularDistance {
    /// `distance[l][m]`: between the streams entering block `l` and block `m`, `l < m`.
    pub distance: Vec<Vec<f64>>,
}

impl AngularDistance {
    /// Every start `l` whose run `l..l + k` holds only removable blocks, with its distance.
    pub fn runs(&self, problem: &Problem) -> Vec<(usize, f64)> {
        super::contiguous::run_starts(problem)
            .into_iter()
            .map(|l| (l, self.distance[l][l + problem.k]))
            .collect()
    }
}

impl Searcher for AngularDistance {
    fn name(&self) -> &'static str {
        "angular_distance"
    }

    fn default_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn min_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        if self.distance.len() != problem.n_blocks + 1 {
            bail!(
                "angular distances measured for {} blocks, the problem has {}",
                self.distance.len().saturating_sub(1),
                problem.n_blocks
            );
        }
        // The earliest start wins a tie, so the answer does not depend on float noise order.
        let Some((start, _)) = self
            .runs(problem)
            .into_iter()
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        else {
            bail!(
                "no {} contiguous removable blocks among {} (protected: {:?})",
                problem.k,
                problem.n_blocks,
                problem.protected
            );
        };
        let removed: Vec<usize> = (start..start + problem.k).collect();
        // After the run, the other blocks in the order of their own (one-block) distance.
        let as_min = Problem {
            direction: Direction::Minimize,
            ..problem.clone()
        };
        let ranking = complete_ranking(&as_min, &removed, |b| self.distance[b][b + 1]);
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

    /// Distances that grow with the gap, with a dip for the run 4..7.
    fn distances(n: usize) -> Vec<Vec<f64>> {
        let mut d = vec![vec![0.0; n + 1]; n + 1];
        for (l, row) in d.iter_mut().enumerate() {
            for (m, x) in row.iter_mut().enumerate().skip(l + 1) {
                *x = 0.1 * (m - l) as f64 + 0.001 * l as f64;
            }
        }
        d[4][7] = 0.05;
        d
    }

    fn problem(protected: &[usize]) -> Problem {
        Problem {
            n_blocks: 10,
            k: 3,
            protected: protected.iter().copied().collect::<BTreeSet<_>>(),
            direction: Direction::Maximize,
            budget: None,
            compute: None,
        }
    }

    #[test]
    fn chooses_the_run_of_smallest_distance_among_removable_runs() {
        let searcher = AngularDistance {
            distance: distances(10),
        };
        let starts: Vec<usize> = searcher
            .runs(&problem(&[0, 9]))
            .iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(starts, vec![1, 2, 3, 4, 5, 6]);
        let best = |p: &Problem| {
            searcher
                .runs(p)
                .into_iter()
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                .unwrap()
                .0
        };
        assert_eq!(best(&problem(&[0, 9])), 4);
        // Protecting block 5 rules the dip out; the earliest of the rest is the smallest.
        assert_eq!(best(&problem(&[0, 5, 9])), 1);
    }
}
