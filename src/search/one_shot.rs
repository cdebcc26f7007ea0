//! One-shot ranking (Shortened-LLaMA's perplexity criterion): score each block removed alone,
//! remove the k best.

use anyhow::Result;

use super::{order_by_scores, single_removal_scores, Found, Oracle, Problem, Searcher};

pub struct OneShot;

impl Searcher for OneShot {
    fn name(&self) -> &'static str {
        "one_shot"
    }

    fn default_budget(&self, problem: &Problem) -> usize {
        self.min_budget(problem)
    }

    fn min_budget(&self, problem: &Problem) -> usize {
        problem.removable().len() + 1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        let singles = single_removal_scores(problem, oracle)?;
        let ranking = order_by_scores(problem, &singles);
        let removed = ranking[..problem.k].to_vec();
        let score = oracle.score(&removed)?;
        Ok(Found {
            removed,
            score,
            ranking,
        })
    }
}
