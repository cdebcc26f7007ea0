//! "The Unreasonable Ineffectiveness of the Deeper Layers" (Gromov et al., arXiv 2403.17887):
//! the start ℓ* of the contiguous run whose ends' streams are closest in angle lies deep. Per
//! seed, averaged over the objectives (each measures the angles on its own calibration
//! windows), ℓ*'s place among the possible starts (0 the first, 1 the last) minus ½; holds
//! above 0, fails below, two-sided exact sign flips. The paper gives no threshold; ½ is "in
//! the deeper half".

use std::collections::BTreeMap;

use super::procedure::{both_ways_from_zero, effect_size, put_spread, Tested};
use super::table::RunTable;
use crate::stats::mean;

pub(super) const ANGULAR_DISTANCE: &str = "angular_distance";

/// Where `start` lies among the starts of contiguous runs of `k` of the `ranking`'s blocks:
/// 0 the first, 1 the last. The removable blocks are the ranking's, so protected blocks
/// (which no run may hold) shorten the range as they shorten the search.
pub(super) fn start_depth(ranking: &[usize], k: usize, start: usize) -> Option<f64> {
    let removable: std::collections::BTreeSet<usize> = ranking.iter().copied().collect();
    let last = *removable.iter().next_back()?;
    let starts: Vec<usize> = (0..=last)
        .filter(|&l| (l..l + k).all(|b| removable.contains(&b)))
        .collect();
    let place = starts.iter().position(|&l| l == start)?;
    Some(if starts.len() < 2 {
        0.5
    } else {
        place as f64 / (starts.len() - 1) as f64
    })
}

pub(super) fn angular_run_lies_deep(
    table: &RunTable,
    alpha: f64,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    let mut per_seed = Vec::with_capacity(table.seeds.len());
    let mut starts = Vec::new();
    for &seed in &table.seeds {
        let mut depths = Vec::new();
        for &objective in &table.objectives {
            let run = table.get(objective, ANGULAR_DISTANCE, seed).ok_or_else(|| {
                format!("needs angular_distance runs of every objective (seed {seed}, objective {objective})")
            })?;
            let start = *run
                .removed
                .first()
                .ok_or("angular_distance removed nothing")?;
            starts.push(start as f64);
            depths.push(start_depth(&run.ranking, run.k, start).ok_or_else(|| {
                format!(
                    "angular_distance's run from block {start} is not a contiguous run of removable blocks (seed {seed})"
                )
            })?);
        }
        per_seed.push((seed, mean(&depths) - 0.5));
    }
    let d: Vec<f64> = per_seed.iter().map(|(_, v)| *v).collect();
    put_spread(stats, "start_depth_minus_half", &d, alpha);
    stats.insert("effect_size_dz".into(), effect_size(&d));
    stats.insert("start/mean".into(), mean(&starts));
    both_ways_from_zero(per_seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::claims::testing::record;
    use crate::suite::run::RunRecord;

    #[test]
    fn depth_counts_only_the_starts_a_run_can_take() {
        let removable: Vec<usize> = (1..11).collect();
        assert_eq!(start_depth(&removable, 3, 1), Some(0.0));
        assert_eq!(start_depth(&removable, 3, 8), Some(1.0));
        assert_eq!(start_depth(&removable, 3, 9), None);
    }

    #[test]
    fn a_deep_start_holds_and_a_shallow_one_fails() {
        let heldout = BTreeMap::new();
        let removable: Vec<usize> = (1..11).collect();
        for (start, expect_deep) in [(7usize, true), (2, false)] {
            let runs: Vec<RunRecord> = (0..6)
                .map(|s| {
                    let start = start + (s % 2) as usize;
                    record(
                        "ppl",
                        ANGULAR_DISTANCE,
                        s,
                        &[start, start + 1, start + 2],
                        removable.clone(),
                        0.0,
                        0.0,
                        0.0,
                    )
                })
                .collect();
            let refs: Vec<&RunRecord> = runs.iter().collect();
            let table = RunTable::new(&refs, &heldout);
            let mut stats = BTreeMap::new();
            let (test, units) = angular_run_lies_deep(&table, 0.05, &mut stats).unwrap();
            assert_eq!(units.points.len(), 6);
            let (up, down) = (test.holds, test.fails.unwrap());
            assert_eq!(up < down, expect_deep, "{stats:?}");
            assert!(up.min(down) <= 1.0 / 64.0 + 1e-12);
        }
    }
}
