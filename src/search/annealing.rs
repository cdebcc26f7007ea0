//! Simulated annealing over k-subsets: swap moves, Metropolis acceptance, geometric cooling.
//!
//! Temperatures are relative to the current score's magnitude, so one setting suits both
//! perplexity (tens) and accuracy (fractions). The acceptance threshold is drawn before a move
//! is scored, so a move that cannot be accepted is abandoned early, or, screened, dropped on the
//! first rungs when it falls behind the current state shifted by the same slack.

use anyhow::Result;
use rand::Rng;

use super::Direction;
use super::{complete_ranking, mean_score_key, random_subset, Found, Oracle, Problem, Searcher};
use crate::rng::rng_for;

pub struct SimulatedAnnealing {
    /// Initial temperature, as a fraction of the current score.
    pub initial_temperature: f64,
    /// Temperature multiplier per move.
    pub cooling: f64,
    /// The screen's margin, when each move is screened against the current state.
    pub screen: Option<f64>,
}

impl Searcher for SimulatedAnnealing {
    fn name(&self) -> &'static str {
        "annealing"
    }

    fn default_budget(&self, _problem: &Problem) -> usize {
        150
    }

    fn min_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, seed: u64) -> Result<Found> {
        let mut rng = rng_for(seed, self.name());
        let removable = problem.removable();
        let mut current = random_subset(&mut rng, &removable, problem.k);
        let mut current_score = oracle.score(&current)?;
        let mut best = (current.clone(), current_score);
        let mut temperature = self.initial_temperature;
        while oracle.remaining() > 0 {
            let Some(candidate) = super::random_swap(&mut rng, &current, &removable) else {
                break;
            };
            // Accept iff worsening < T·|score|·(−ln u), u uniform in (0, 1].
            let u: f64 = 1.0 - rng.random::<f64>();
            let slack = temperature * current_score.abs().max(1e-9) * -u.ln();
            let threshold = match problem.direction {
                Direction::Minimize => current_score + slack,
                Direction::Maximize => current_score - slack,
            };
            let scored = match self.screen {
                Some(margin) => oracle.screen_against(&candidate, &current, threshold, margin)?,
                None => oracle.score_unless_worse(&candidate, threshold)?,
            };
            if let Some(s) = scored {
                if !problem.direction.better(threshold, s) {
                    current = candidate;
                    current_score = s;
                    if problem.prefer((s, &current), (best.1, &best.0)) {
                        best = (current.clone(), s);
                    }
                }
            }
            temperature *= self.cooling;
        }
        // The ranking averages over the proposals only, not the random start.
        let proposals = &oracle.trace()[1..];
        let ranking = complete_ranking(problem, &best.0, mean_score_key(problem, proposals));
        Ok(Found {
            removed: best.0,
            score: best.1,
            ranking,
        })
    }
}
