//! Changing the objective moves the chosen sets more than a new calibration sample alone.

use std::collections::BTreeMap;

use rand::seq::IndexedRandom;

use super::procedure::{Test, Tested, Units};
use super::table::{pairs, RunTable};
use super::ClaimSettings;
use crate::rng::rng_for;
use crate::stats::{mean, permutations_of};

/// Up to this many relabellings the test enumerates them all; beyond, it draws the suite's
/// `permutations` at random (two objectives: exact up to 16 seeds).
pub const EXACT_RELABELLINGS_MAX: usize = 1 << 16;

/// Same objective across seeds vs different objectives across seeds: the difference of mean
/// Jaccard, tested by swapping the objective labels of whole calibration groups within seeds.
///
/// The test has no per-unit statistic (every seed pair enters the statistic), so `power`
/// cannot size it; its floor is that of the relabellings.
pub(super) fn objective_beyond_resampling(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    if table.objectives.len() < 2 {
        return Err("needs two objectives".into());
    }
    let n_obj = table.objectives.len();
    let n_seeds = table.seeds.len();
    // Every cross-seed pair of one searcher's runs: (seed i, objective a, seed j, objective b, J).
    let mut entries = Vec::new();
    for (ti, tj) in pairs(&(0..n_seeds).collect::<Vec<_>>()) {
        for (oa, &a) in table.objectives.iter().enumerate() {
            for (ob, &b) in table.objectives.iter().enumerate() {
                for &sr in &table.searchers {
                    let j = table
                        .j((a, sr, table.seeds[ti]), (b, sr, table.seeds[tj]))
                        .ok_or("a run is missing")?;
                    entries.push((ti, oa, tj, ob, j));
                }
            }
        }
    }
    // label[seed index][objective index] = the objective label it carries.
    let statistic = |label: &[&Vec<usize>]| -> f64 {
        let (mut same, mut n_same, mut other, mut n_other) = (0.0, 0usize, 0.0, 0usize);
        for &(ti, oa, tj, ob, j) in &entries {
            if label[ti][oa] == label[tj][ob] {
                same += j;
                n_same += 1;
            } else {
                other += j;
                n_other += 1;
            }
        }
        same / n_same as f64 - other / n_other as f64
    };
    let relabellings = permutations_of(n_obj);
    let identity: Vec<&Vec<usize>> = vec![&relabellings[0]; n_seeds];
    let observed = statistic(&identity);
    let at_least = |label: &[&Vec<usize>]| (statistic(label) >= observed - 1e-12) as usize;
    let total = relabellings
        .len()
        .checked_pow(n_seeds as u32)
        .filter(|t| *t <= EXACT_RELABELLINGS_MAX);
    let (holds, floor) = match total {
        Some(total) => {
            let mut hits = 0;
            for code in 0..total {
                let mut c = code;
                let label: Vec<&Vec<usize>> = (0..n_seeds)
                    .map(|_| {
                        let l = &relabellings[c % relabellings.len()];
                        c /= relabellings.len();
                        l
                    })
                    .collect();
                hits += at_least(&label);
            }
            // A global relabelling of the objectives leaves the statistic unchanged, so the
            // floor is (number of global relabellings) / total.
            (
                hits as f64 / total as f64,
                relabellings.len() as f64 / total as f64,
            )
        }
        None => {
            // Monte Carlo: the observed labelling counts as one draw (p never below the floor).
            let mut rng = rng_for(n_seeds as u64, "objective_beyond_resampling");
            let mut hits = 1;
            for _ in 0..s.permutations {
                let label: Vec<&Vec<usize>> = (0..n_seeds)
                    .map(|_| {
                        relabellings
                            .choose(&mut rng)
                            .expect("one relabelling at least")
                    })
                    .collect();
                hits += at_least(&label);
            }
            stats.insert("relabellings_drawn".into(), s.permutations as f64);
            let draws = (s.permutations + 1) as f64;
            (hits as f64 / draws, 1.0 / draws)
        }
    };
    stats.insert(
        "cross_seed_jaccard_same_objective_minus_other_objective".into(),
        observed,
    );
    if let Some(j) = table.cross_seed(&table.objectives) {
        stats.insert("cross_seed_jaccard".into(), j);
    }
    let co: Vec<f64> = table
        .seeds
        .iter()
        .filter_map(|&t| table.cross_objective(t))
        .collect();
    if !co.is_empty() {
        stats.insert("cross_objective_jaccard".into(), mean(&co));
    }
    stats.insert("chance_jaccard".into(), table.chance);
    // This test can show the effect, not its absence.
    let test = Test {
        holds,
        fails: None,
        floor_holds: floor,
        floor_fails: 1.0,
    };
    Ok((test, Units::default()))
}

#[cfg(test)]
mod tests {
    use crate::suite::claims::testing::{objective_decides, search_decides, settings, verdicts};
    use crate::suite::claims::Verdict;

    /// The same objective picks the same set at every seed, the other objective a disjoint one.
    #[test]
    fn holds_when_the_objective_moves_the_sets() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["objective_beyond_resampling"];
        assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
    }

    /// The objective changes nothing: the relabelling test finds no effect, and since it can
    /// show an effect but not its absence, the claim cannot fail, only stay inconclusive.
    #[test]
    fn cannot_fail_only_stay_inconclusive_when_the_objective_changes_nothing() {
        let v = verdicts(&search_decides(), &settings());
        let c = &v["objective_beyond_resampling"];
        assert_eq!(c.verdict, Verdict::Inconclusive, "{c:?}");
        assert_eq!(c.p_fails, None);
        assert!(c.reason.contains("not its absence"), "{}", c.reason);
    }

    /// Past 16 seeds the relabellings are drawn, as many as the suite's `permutations`: the
    /// draws are reported, the floor is one over draws + 1, and the observed labelling is
    /// still found extreme. At 16 seeds every relabelling is enumerated and nothing is drawn.
    #[test]
    fn beyond_the_exact_limit_relabellings_are_drawn() {
        let s = settings();
        let v = verdicts(&objective_decides(24), &s);
        let c = &v["objective_beyond_resampling"];
        assert_eq!(c.statistics["relabellings_drawn"], s.permutations as f64);
        assert_eq!(c.p_floor, Some(1.0 / (s.permutations + 1) as f64));
        assert!(c.p_holds.unwrap() < 0.05, "{c:?}");
        let exact = &verdicts(&objective_decides(16), &s)["objective_beyond_resampling"];
        assert!(!exact.statistics.contains_key("relabellings_drawn"));
        assert_eq!(exact.p_floor, Some(2.0 / 65536.0));
    }
}
