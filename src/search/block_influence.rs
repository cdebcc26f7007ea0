//! Block influence (ShortGPT): `1 − mean cosine(input, output)` of each block on the
//! calibration inputs, with every block running. Objective-free: a block that barely changes
//! its input looks redundant. As a searcher it removes the k least influential blocks and
//! scores that set once; the influences are measured on the model by `crate::influence`.

use anyhow::Result;

use super::{complete_ranking, Direction, Found, Oracle, Problem, Searcher};

/// Removes the k blocks of lowest influence.
pub struct BlockInfluence {
    pub influence: Vec<f64>,
}

impl Searcher for BlockInfluence {
    fn name(&self) -> &'static str {
        "block_influence"
    }

    fn default_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn min_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        // Least influential first, whatever the objective's direction.
        let as_min = Problem {
            direction: Direction::Minimize,
            ..problem.clone()
        };
        let ranking = complete_ranking(&as_min, &[], |b| self.influence[b]);
        let removed = ranking[..problem.k].to_vec();
        let score = oracle.score(&removed)?;
        Ok(Found {
            removed,
            score,
            ranking,
        })
    }
}
