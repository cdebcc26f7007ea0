//! Iterative greedy removal (SLEB): k rounds, each removing the block whose removal is best
//! given those already removed. Where the score function sieves ([`Oracle::screen`]), a round's
//! candidates are screened by successive halving over the calibration items and the best of
//! the survivors' exact scores is kept; otherwise candidates that provably cannot beat the
//! round's best so far are abandoned early.

use anyhow::Result;

use super::{complete_ranking, remove_nothing, Found, Oracle, Problem, Searcher};

pub struct Greedy {
    /// Whether a round's candidates are sieved (see [`SearcherParams::sieve`]).
    ///
    /// [`SearcherParams::sieve`]: super::SearcherParams::sieve
    pub sieve: bool,
}

/// Each candidate block with its score (`None`: abandoned early).
pub type CandidateScores = Vec<(usize, Option<f64>)>;

/// The best extension of `current` by one of `candidates`, as (block, score), and the score of
/// every candidate (`None`: abandoned or screened out), sieved when `sieve` and the score
/// function screens. The answer does not depend on the order of
/// `candidates`, but trying the likely best first makes the threshold tight early, so more of
/// the rest are abandoned.
pub fn best_extension(
    problem: &Problem,
    oracle: &mut Oracle,
    current: &[usize],
    candidates: &[usize],
    sieve: bool,
) -> Result<(Option<(usize, f64)>, CandidateScores)> {
    let sets: Vec<Vec<usize>> = candidates
        .iter()
        .map(|&b| {
            let mut set = current.to_vec();
            set.push(b);
            set.sort_unstable();
            set
        })
        .collect();
    let screened = match sieve {
        true => oracle.screen(&sets, 1)?,
        false => None,
    };
    if let Some(verdicts) = screened {
        let all: CandidateScores = candidates
            .iter()
            .zip(&verdicts)
            .map(|(&b, v)| (b, v.exact()))
            .collect();
        let best = all
            .iter()
            .zip(&sets)
            .filter_map(|(&(b, s), set)| s.map(|s| (b, s, set)))
            .reduce(|x, y| {
                if problem.prefer((y.1, y.2), (x.1, x.2)) {
                    y
                } else {
                    x
                }
            })
            .map(|(b, s, _)| (b, s));
        return Ok((best, all));
    }
    let mut best: Option<(usize, f64, Vec<usize>)> = None;
    let mut all = Vec::new();
    for &b in candidates {
        let mut set = current.to_vec();
        set.push(b);
        set.sort_unstable();
        let s = match &best {
            None => Some(oracle.score(&set)?),
            Some((_, t, _)) => oracle.score_unless_worse(&set, *t)?,
        };
        all.push((b, s));
        if let Some(s) = s {
            if best
                .as_ref()
                .is_none_or(|(_, t, bs)| problem.prefer((s, &set), (*t, bs)))
            {
                best = Some((b, s, set));
            }
        }
    }
    Ok((best.map(|(b, s, _)| (b, s)), all))
}

/// Ranking key from first-round scores: abandoned, screened-out or unscored blocks rank last.
pub fn first_round_key<'a>(
    problem: &Problem,
    first_round: &'a [(usize, Option<f64>)],
) -> impl Fn(usize) -> f64 + 'a {
    let worst = match problem.direction {
        super::Direction::Minimize => f64::INFINITY,
        super::Direction::Maximize => f64::NEG_INFINITY,
    };
    move |b| {
        first_round
            .iter()
            .find(|(x, _)| *x == b)
            .and_then(|(_, s)| *s)
            .unwrap_or(worst)
    }
}

impl Searcher for Greedy {
    fn name(&self) -> &'static str {
        "greedy"
    }

    fn default_budget(&self, problem: &Problem) -> usize {
        self.min_budget(problem)
    }

    fn min_budget(&self, problem: &Problem) -> usize {
        let n = problem.removable().len();
        if problem.k == 0 {
            1
        } else {
            (0..problem.k).map(|r| n - r).sum()
        }
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        if problem.k == 0 {
            return remove_nothing(problem, oracle);
        }
        let mut order = Vec::new();
        let mut score = f64::NAN;
        let mut first_round: CandidateScores = Vec::new();
        let mut previous: CandidateScores = Vec::new();
        for round in 0..problem.k {
            // Round 0 in index order; later rounds best-first by the previous round's scores.
            let mut candidates: Vec<usize> = problem
                .removable()
                .into_iter()
                .filter(|b| !order.contains(b))
                .collect();
            if round > 0 {
                let key = first_round_key(problem, &previous);
                candidates = complete_ranking(problem, &order, key)[order.len()..].to_vec();
            }
            let (best, all) = best_extension(problem, oracle, &order, &candidates, self.sieve)?;
            let (b, s) = best.expect("a feasible problem has a candidate every round");
            if round == 0 {
                first_round = all.clone();
            }
            previous = all;
            order.push(b);
            score = s;
        }
        let ranking = complete_ranking(problem, &order, first_round_key(problem, &first_round));
        Ok(Found {
            removed: order,
            score,
            ranking,
        })
    }
}
