//! Local search: steepest-descent swap hill-climbing from the one-shot solution, until no swap
//! improves or the budget is spent. Screened, each neighbour is scored on the first rungs
//! against the best of the sweep so far and fully only while it can still beat it.

use anyhow::Result;

use super::{order_by_scores, single_removal_scores, sorted, Found, Oracle, Problem, Searcher};

pub struct LocalSearch {
    /// The screen's margin, when each neighbour is screened against the best so far.
    pub screen: Option<f64>,
}

/// Sweeps over the whole swap neighbourhood the default budget allows for.
const DEFAULT_SWEEPS: usize = 4;

impl Searcher for LocalSearch {
    fn name(&self) -> &'static str {
        "local"
    }

    fn default_budget(&self, problem: &Problem) -> usize {
        let n = problem.removable().len();
        self.min_budget(problem) + DEFAULT_SWEEPS * problem.k * (n - problem.k)
    }

    fn starts_from_one_shot(&self) -> bool {
        true
    }

    fn min_budget(&self, problem: &Problem) -> usize {
        problem.removable().len() + 1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        let removable = problem.removable();
        let singles = single_removal_scores(problem, oracle)?;
        let one_shot = order_by_scores(problem, &singles);
        let mut current = sorted(&one_shot[..problem.k]);
        let mut current_score = oracle.score(&current)?;
        loop {
            // The best strictly improving neighbour; each candidate must beat the best so far.
            let mut best: Option<(Vec<usize>, f64)> = None;
            'sweep: for &out in &current {
                for &inn in removable.iter().filter(|b| !current.contains(b)) {
                    if oracle.remaining() == 0 {
                        break 'sweep;
                    }
                    let neighbour = sorted(
                        &current
                            .iter()
                            .map(|&b| if b == out { inn } else { b })
                            .collect::<Vec<_>>(),
                    );
                    let (t, ts) = best
                        .as_ref()
                        .map_or((current_score, &current), |(s, v)| (*v, s));
                    let ts = ts.clone();
                    let scored = match self.screen {
                        Some(margin) => oracle.screen_against(&neighbour, &ts, t, margin)?,
                        None => oracle.score_unless_worse(&neighbour, t)?,
                    };
                    if let Some(s) = scored {
                        if problem.prefer((s, &neighbour), (t, &ts))
                            && problem.direction.better(s, current_score)
                        {
                            best = Some((neighbour, s));
                        }
                    }
                }
            }
            match best {
                Some((set, s)) => (current, current_score) = (set, s),
                None => break,
            }
            if oracle.remaining() == 0 {
                break;
            }
        }
        let mut ranking: Vec<usize> = one_shot
            .iter()
            .copied()
            .filter(|b| current.contains(b))
            .collect();
        ranking.extend(one_shot.iter().copied().filter(|b| !current.contains(b)));
        Ok(Found {
            removed: current,
            score: current_score,
            ranking,
        })
    }
}
