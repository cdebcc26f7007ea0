//! "The Unreasonable Ineffectiveness of the Deeper Layers" (Gromov et al., arXiv 2403.17887):
//! the contiguous run angular distance picks costs less than the other contiguous runs of the
//! same size. Per seed, averaged over the objectives, the share of the other runs (every one
//! the `contiguous` reference scored in full on the same calibration sample) that score worse
//! than angular distance's, ties counting half, minus ½; holds above 0 (better than a typical
//! run), fails below, two-sided exact sign flips. The paper gives no threshold; ½ is the
//! weakest reading of "costs less than other blocks", and the stronger one, how often it is
//! the cheapest run of all, is reported beside it.

use std::collections::BTreeMap;

use super::angular_run_lies_deep::ANGULAR_DISTANCE;
use super::procedure::{both_ways_from_zero, effect_size, put_spread, Tested};
use super::table::RunTable;
use crate::stats::mean;

const CONTIGUOUS: &str = "contiguous";

pub(super) fn angular_run_beats_other_runs(
    table: &RunTable,
    alpha: f64,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    let mut per_seed = Vec::with_capacity(table.seeds.len());
    let (mut cheapest, mut cases) = (0usize, 0usize);
    for &seed in &table.seeds {
        let mut shares = Vec::new();
        for &objective in &table.objectives {
            let (Some(angular), Some(contiguous)) = (
                table.get(objective, ANGULAR_DISTANCE, seed),
                table.get(objective, CONTIGUOUS, seed),
            ) else {
                return Err(format!(
                    "needs angular_distance and contiguous runs of every objective (seed {seed}, objective {objective})"
                ));
            };
            let direction = table.directions[objective];
            let others: Vec<f64> = contiguous
                .scored
                .iter()
                .filter(|s| s.removed != angular.removed)
                .map(|s| s.score)
                .collect();
            if others.is_empty() {
                return Err(format!(
                    "the contiguous run of seed {seed} scored no run beside angular distance's: is the suite's contiguous searcher the one that keeps its scores?"
                ));
            }
            let beaten: f64 = others
                .iter()
                .map(|&o| {
                    if direction.better(angular.score, o) {
                        1.0
                    } else if direction.better(o, angular.score) {
                        0.0
                    } else {
                        0.5
                    }
                })
                .sum();
            let share = beaten / others.len() as f64;
            cases += 1;
            if share == 1.0 {
                cheapest += 1;
            }
            shares.push(share);
        }
        per_seed.push((seed, mean(&shares) - 0.5));
    }
    let d: Vec<f64> = per_seed.iter().map(|(_, v)| *v).collect();
    put_spread(stats, "share_beaten_minus_half", &d, alpha);
    stats.insert("effect_size_dz".into(), effect_size(&d));
    stats.insert("cheapest_run/share".into(), cheapest as f64 / cases as f64);
    both_ways_from_zero(per_seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::claims::testing::record;
    use crate::suite::run::{RunRecord, ScoredSet};

    /// Contiguous runs from blocks 1..=8 scored by their start (perplexity: the later the
    /// cheaper, or the other way round); angular distance picks the run from block 7.
    #[test]
    fn the_cheap_run_holds_and_an_expensive_one_fails() {
        let heldout = BTreeMap::new();
        let removable: Vec<usize> = (1..11).collect();
        for (cost_falls_with_depth, expect_holds) in [(true, true), (false, false)] {
            let score = |start: usize| {
                if cost_falls_with_depth {
                    20.0 - start as f64
                } else {
                    10.0 + start as f64
                }
            };
            let runs: Vec<RunRecord> = (0..6)
                .flat_map(|s| {
                    let mut angular = record(
                        "ppl",
                        ANGULAR_DISTANCE,
                        s,
                        &[7, 8, 9],
                        removable.clone(),
                        0.0,
                        0.0,
                        0.0,
                    );
                    angular.score = score(7);
                    let mut contiguous = record(
                        "ppl",
                        CONTIGUOUS,
                        s,
                        &[8, 9, 10],
                        removable.clone(),
                        0.0,
                        0.0,
                        0.0,
                    );
                    contiguous.scored = (1..=8)
                        .map(|l| ScoredSet {
                            removed: vec![l, l + 1, l + 2],
                            score: score(l),
                        })
                        .collect();
                    [angular, contiguous]
                })
                .collect();
            let refs: Vec<&RunRecord> = runs.iter().collect();
            let table = RunTable::new(&refs, &heldout);
            let mut stats = BTreeMap::new();
            let (test, _) = angular_run_beats_other_runs(&table, 0.05, &mut stats).unwrap();
            let (up, down) = (test.holds, test.fails.unwrap());
            assert_eq!(up < down, expect_holds, "{stats:?}");
            assert_eq!(stats["cheapest_run/share"], 0.0);
        }
    }
}
