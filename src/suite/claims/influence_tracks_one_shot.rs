//! ShortGPT (Men et al., arXiv 2403.03853): block influence, `1 − cos(input, output)` of each
//! block with every block running, finds the redundant blocks. Checked against what each
//! calibration objective itself says when a block is removed alone: per seed, Kendall τ-b
//! between block influence's ranking (least influential first) and one-shot's (least damaging
//! first), averaged over the objectives, above 0. The paper gives no threshold; 0 is "better
//! than an unrelated ranking", the weakest reading of "finds". Also reported: how deep block
//! influence's chosen blocks sit among the removable ones (0 the shallowest, 1 the deepest),
//! since the paper finds the least influential blocks deep.

use std::collections::BTreeMap;

use super::procedure::{both_ways_from_zero, effect_size, put_spread, Tested};
use super::table::{tau_between, RunTable};
use super::ONE_SHOT;
use crate::stats::mean;

const BLOCK_INFLUENCE: &str = "block_influence";

pub(super) fn influence_tracks_one_shot(
    table: &RunTable,
    alpha: f64,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    let (mut per_seed, mut depths) = (Vec::new(), Vec::new());
    let mut per_objective: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for &seed in &table.seeds {
        let mut taus = Vec::new();
        for &objective in &table.objectives {
            let (Some(influence), Some(one_shot)) = (
                table.get(objective, BLOCK_INFLUENCE, seed),
                table.get(objective, ONE_SHOT, seed),
            ) else {
                return Err(format!(
                    "needs block_influence and one_shot runs of every objective (seed {seed}, objective {objective})"
                ));
            };
            let tau = tau_between(influence, one_shot);
            taus.push(tau);
            per_objective.entry(objective).or_default().push(tau);
            // Depth among the removable blocks: 0 the shallowest, 1 the deepest.
            let mut removable = influence.ranking.clone();
            removable.sort_unstable();
            let last = (removable.len().max(2) - 1) as f64;
            depths.extend(influence.removed.iter().filter_map(|b| {
                removable
                    .iter()
                    .position(|x| x == b)
                    .map(|p| p as f64 / last)
            }));
        }
        per_seed.push((seed, mean(&taus)));
    }
    let taus: Vec<f64> = per_seed.iter().map(|(_, t)| *t).collect();
    put_spread(stats, "kendall_tau", &taus, alpha);
    stats.insert("effect_size_dz".into(), effect_size(&taus));
    stats.insert("chosen_depth/mean".into(), mean(&depths));
    // Per objective: an objective's agreement with anything is bounded by its own cross-seed
    // reliability (the `reliability` report beside the verdict), so a weak objective's τ here
    // says little about block influence.
    for (objective, taus) in &per_objective {
        stats.insert(format!("kendall_tau/{objective}"), mean(taus));
    }
    both_ways_from_zero(per_seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::claims::testing::record;
    use crate::suite::run::RunRecord;

    #[test]
    fn agreeing_rankings_hold_and_reversed_ones_fail() {
        let heldout = BTreeMap::new();
        let forward: Vec<usize> = (1..9).collect();
        let backward: Vec<usize> = (1..9).rev().collect();
        let run = |searcher: &str, seed: u64, ranking: &Vec<usize>| {
            record(
                "ppl",
                searcher,
                seed,
                &ranking[..2],
                ranking.clone(),
                0.0,
                0.0,
                0.0,
            )
        };
        for (influence, expect_up) in [(&forward, true), (&backward, false)] {
            let runs: Vec<RunRecord> = (0..6)
                .flat_map(|s| {
                    [
                        run(ONE_SHOT, s, &forward),
                        run(BLOCK_INFLUENCE, s, influence),
                    ]
                })
                .collect();
            let refs: Vec<&RunRecord> = runs.iter().collect();
            let table = RunTable::new(&refs, &heldout);
            let mut stats = BTreeMap::new();
            let (test, units) = influence_tracks_one_shot(&table, 0.05, &mut stats).unwrap();
            assert_eq!(units.points.len(), 6);
            let tau = stats["kendall_tau/mean"];
            assert_eq!(tau, if expect_up { 1.0 } else { -1.0 });
            let (up, down) = (test.holds, test.fails.unwrap());
            assert!(if expect_up { up < down } else { down < up });
        }
    }
}
