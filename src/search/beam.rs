//! Beam search: keep the `width` best partial sets at each depth, extend each by one block.
//! Width 1 is exactly the greedy search. Where the score function sieves ([`Oracle::screen`]), a
//! level's children are screened by successive halving over the calibration items, keeping
//! `width`; otherwise children are abandoned against the width-th best so far.

use std::collections::BTreeSet;

use anyhow::Result;

use super::greedy::first_round_key;
use super::{complete_ranking, remove_nothing, Found, Oracle, Problem, Searcher};

pub struct BeamSearch {
    pub width: usize,
    /// Whether a level's candidates are sieved (see [`super::SearcherParams::sieve`]).
    pub sieve: bool,
}

/// A partial set with the order its blocks were added in.
#[derive(Clone)]
struct Partial {
    set: Vec<usize>,
    order: Vec<usize>,
    score: f64,
}

impl Searcher for BeamSearch {
    fn name(&self) -> &'static str {
        "beam"
    }

    fn default_budget(&self, problem: &Problem) -> usize {
        let n = problem.removable().len();
        if problem.k == 0 {
            return 1;
        }
        (0..problem.k)
            .map(|d| (self.width.max(1) * (n - d)).min(binomial(n, d + 1)))
            .sum()
    }

    fn min_budget(&self, problem: &Problem) -> usize {
        self.default_budget(problem)
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        if problem.k == 0 {
            return remove_nothing(problem, oracle);
        }
        let width = self.width.max(1);
        let mut frontier = vec![Partial {
            set: vec![],
            order: vec![],
            score: f64::NAN,
        }];
        let mut first_round: Vec<(usize, Option<f64>)> = Vec::new();
        for depth in 0..problem.k {
            let mut seen = BTreeSet::new();
            let mut level: Vec<Partial> = Vec::new();
            // Every child of the level, once, with its parent's order extended.
            let mut children: Vec<(Vec<usize>, Vec<usize>, usize)> = Vec::new();
            for parent in &frontier {
                for b in problem
                    .removable()
                    .into_iter()
                    .filter(|b| !parent.set.contains(b))
                {
                    let mut set = parent.set.clone();
                    set.push(b);
                    set.sort_unstable();
                    if !seen.insert(set.clone()) {
                        continue;
                    }
                    let mut order = parent.order.clone();
                    order.push(b);
                    children.push((set, order, b));
                }
            }
            let sets: Vec<Vec<usize>> = children.iter().map(|c| c.0.clone()).collect();
            let screened = match self.sieve {
                true => oracle.screen(&sets, width)?,
                false => None,
            };
            for (i, (set, order, b)) in children.into_iter().enumerate() {
                let s = match &screened {
                    Some(verdicts) => verdicts[i].exact(),
                    // Abandon against the width-th best of this level once the beam is full.
                    None if level.len() < width => Some(oracle.score(&set)?),
                    None => oracle.score_unless_worse(&set, level[width - 1].score)?,
                };
                if depth == 0 {
                    first_round.push((b, s));
                }
                if let Some(score) = s {
                    insert_ranked(problem, &mut level, Partial { set, order, score }, width);
                }
            }
            frontier = level;
        }
        let best = frontier
            .into_iter()
            .next()
            .expect("a feasible problem leaves a beam");
        let ranking =
            complete_ranking(problem, &best.order, first_round_key(problem, &first_round));
        Ok(Found {
            removed: best.order,
            score: best.score,
            ranking,
        })
    }
}

/// Inserts into `level` (kept sorted best first, at most `width` long).
fn insert_ranked(problem: &Problem, level: &mut Vec<Partial>, p: Partial, width: usize) {
    let at = level
        .iter()
        .position(|q| problem.prefer((p.score, &p.set), (q.score, &q.set)))
        .unwrap_or(level.len());
    level.insert(at, p);
    level.truncate(width);
}

/// Beam width when a suite or the command line gives none.
pub const DEFAULT_WIDTH: usize = 4;

pub fn binomial(n: usize, k: usize) -> usize {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    (0..k).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}
