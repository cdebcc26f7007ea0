//! A control, not a searcher: one-shot turned round. It scores each block removed alone and
//! removes the k whose removal hurts most, so it disagrees with every real searcher by
//! construction. Control suites put it beside greedy to show a claim that must fail doing so
//! (`suites/control-contrarian.yaml`); it is never among the seven.

use anyhow::Result;

use super::{order_by_scores, single_removal_scores, Found, Oracle, Problem, Searcher};

pub struct Contrarian;

impl Searcher for Contrarian {
    fn name(&self) -> &'static str {
        "contrarian"
    }

    fn default_budget(&self, problem: &Problem) -> usize {
        self.min_budget(problem)
    }

    fn min_budget(&self, problem: &Problem) -> usize {
        problem.removable().len() + 1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        let mut ranking = order_by_scores(problem, &single_removal_scores(problem, oracle)?);
        ranking.reverse();
        let removed = ranking[..problem.k].to_vec();
        let score = oracle.score(&removed)?;
        Ok(Found {
            removed,
            score,
            ranking,
        })
    }
}
