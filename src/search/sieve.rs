//! The multi-fidelity sieve: successive halving over an objective's items.
//!
//! A searcher that keeps the best `keep` of a batch of candidates (greedy's step, beam's
//! expansion) does not need every candidate's full score, only the winners'. The sieve scores
//! every candidate on the first fidelity level (the first batch of calibration items), keeps
//! the better part, scores those on more levels, and so on; the survivors of the last rung are
//! scored on every item, so what the searcher keeps always carries its exact full score. Levels
//! double from rung to rung (1, 2, 4, … batches, the last one all of them), and each rung keeps
//! a third of the candidates still alive, never fewer than [`min_survivors`]: a candidate is
//! only dropped once at least twice `keep` others beat it on the same items.
//!
//! This is a heuristic, unlike early abandonment: a candidate that is worse on the first items
//! but better on all of them can be dropped, and then the searcher keeps another set than the
//! exhaustive step would. What it cannot do is report a wrong number: dropped candidates get no
//! score at all. The function here only decides; the score function (the evaluator) computes
//! each partial score as an exact prefix of the full one, so nothing is computed twice.

use anyhow::Result;

use super::Direction;

/// Of the candidates alive at a rung, roughly `1 / ETA` go on to the next.
pub const ETA: usize = 3;

/// Candidates a rung keeps at the least when the caller keeps `keep`.
pub fn min_survivors(keep: usize) -> usize {
    2 * keep.max(1)
}

/// The fidelity levels of the rungs for an objective of `levels` levels whose first rung
/// scores at least `first` of them: `levels` halved (rounding up) down to `first` (so 1, 2,
/// 4, … `levels` when `first` is 1), in increasing order; `[levels]` alone when there is only
/// one.
pub fn rungs(levels: usize, first: usize) -> Vec<usize> {
    let first = first.max(1);
    let mut v = vec![levels.max(1)];
    loop {
        let last = *v.last().expect("non-empty");
        let next = last.div_ceil(2);
        if last <= first || next < first || next == last {
            break;
        }
        v.push(next);
    }
    v.reverse();
    v
}

/// Where each candidate ended: the level it was last scored at and its score there (level ==
/// `levels`: the exact full score).
pub type Reached = Vec<(usize, f64)>;

/// Successive halving of `n` candidates over `levels` fidelity levels, the first rung at
/// `first` levels or more ([`rungs`]). `partial(c, level)` is
/// candidate `c`'s score on the first `level` levels (at `levels`, its full score); it is asked
/// for increasing levels per candidate, so a score function can extend what it computed.
/// `tie(a, b)` orders equal scores (the searchers' rule: the smaller set first). Candidates
/// are kept, at every rung, by score in `direction`.
pub fn successive_halving(
    n: usize,
    keep: usize,
    levels: usize,
    first: usize,
    direction: Direction,
    tie: impl Fn(usize, usize) -> std::cmp::Ordering,
    mut partial: impl FnMut(usize, usize) -> Result<f64>,
) -> Result<Reached> {
    let mut reached: Reached = vec![(0, f64::NAN); n];
    let mut alive: Vec<usize> = (0..n).collect();
    let rungs = rungs(levels, first);
    for (r, &level) in rungs.iter().enumerate() {
        let last = r + 1 == rungs.len();
        // Nothing to gain from a partial rung once no candidate would be dropped after it.
        if !last && alive.len() <= min_survivors(keep) {
            continue;
        }
        for &c in &alive {
            reached[c] = (level, partial(c, level)?);
        }
        if last {
            break;
        }
        alive.sort_by(|&a, &b| {
            let (sa, sb) = (reached[a].1, reached[b].1);
            if direction.better(sa, sb) {
                std::cmp::Ordering::Less
            } else if direction.better(sb, sa) {
                std::cmp::Ordering::Greater
            } else {
                tie(a, b)
            }
        });
        let survivors = alive.len().div_ceil(ETA).max(min_survivors(keep));
        alive.truncate(survivors);
    }
    Ok(reached)
}

/// Levels a sieved step computes in all, its candidates' last levels summed, when `n`
/// candidates are sieved for `keep` over `levels` levels. How many candidates each rung keeps
/// does not depend on their scores, so this is exact before any score is known (`n × levels`
/// where the sieve cannot act): what `depthprune plan` charges a sieved step.
pub fn levels_computed(n: usize, keep: usize, levels: usize, first: usize) -> usize {
    if levels < 2 || n <= min_survivors(keep) {
        return n * levels.max(1);
    }
    successive_halving(
        n,
        keep,
        levels,
        first,
        Direction::Minimize,
        |a, b| a.cmp(&b),
        |_, _| Ok(0.0),
    )
    .expect("a constant score cannot fail")
    .iter()
    .map(|&(level, _)| level)
    .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Greedy's 23 candidates (keep 1) on 8 levels: 15 stop at level 1, 5 at 2, 1 at 4 and
    /// 2 reach all 8 (45 levels, 4.1x fewer than 184); no sieve below 2 levels or at 2 keep 1.
    #[test]
    fn levels_computed_counts_each_rung() {
        assert_eq!(levels_computed(23, 1, 8, 1), 15 + 5 * 2 + 4 + 2 * 8);
        assert_eq!(levels_computed(23, 1, 1, 1), 23);
        assert_eq!(levels_computed(2, 1, 8, 1), 16);
        // Fine rungs at 40 questions (20 levels, the first rung 3): 15 stop at 3, 5 at 5, 1 at
        // 10 and 2 reach all 20.
        assert_eq!(levels_computed(23, 1, 20, 3), 15 * 3 + 5 * 5 + 10 + 2 * 20);
    }

    #[test]
    fn rungs_double_up_to_every_level() {
        assert_eq!(rungs(1, 1), vec![1]);
        assert_eq!(rungs(2, 1), vec![1, 2]);
        assert_eq!(rungs(4, 1), vec![1, 2, 4]);
        assert_eq!(rungs(6, 1), vec![1, 2, 3, 6]);
        assert_eq!(rungs(8, 1), vec![1, 2, 4, 8]);
        // A first rung of at least `first` levels.
        assert_eq!(rungs(20, 3), vec![3, 5, 10, 20]);
        assert_eq!(rungs(68, 9), vec![9, 17, 34, 68]);
        assert_eq!(rungs(8, 1), rungs(8, 0));
        assert_eq!(rungs(3, 3), vec![3]);
    }

    /// 27 candidates on 8 levels: a third of the alive go on, never fewer than 2; each partial
    /// is asked once per candidate and rung, at increasing levels; the best (here: the one
    /// that is best at every level) reaches the full score.
    #[test]
    fn halving_keeps_the_consistent_best_and_costs_less() {
        let n = 27;
        let mut asked: Vec<Vec<usize>> = vec![vec![]; n];
        let reached = successive_halving(
            n,
            1,
            8,
            1,
            Direction::Minimize,
            |a, b| a.cmp(&b),
            |c, level| {
                asked[c].push(level);
                Ok(((c * 7) % n) as f64 * level as f64)
            },
        )
        .unwrap();
        let full: Vec<usize> = (0..n).filter(|&c| reached[c].0 == 8).collect();
        assert_eq!(full.len(), 2);
        assert!(full.contains(&0)); // (0 * 7) % 27 = 0: best everywhere
        for a in &asked {
            assert!(a.windows(2).all(|w| w[0] < w[1]));
        }
        let cost: usize = reached.iter().map(|r| r.0).sum();
        // Dropped: 18 at level 1, 6 at 2, 1 at 4; 2 reach 8: 18 + 12 + 4 + 16 = 50 levels
        // against 27 x 8 = 216 without the sieve.
        assert_eq!(cost, 50);
    }

    /// Too few candidates to drop any: every one is scored only at the full level.
    #[test]
    fn few_candidates_go_straight_to_the_full_score() {
        let reached = successive_halving(
            3,
            2,
            4,
            1,
            Direction::Maximize,
            |a, b| a.cmp(&b),
            |_, l| Ok(l as f64),
        )
        .unwrap();
        assert!(reached.iter().all(|r| *r == (4, 4.0)));
    }
}
