//! Changing the objective moves the chosen sets more than a new calibration sample alone.

use std::collections::BTreeMap;

use super::procedure::Test;
use super::table::{pairs, RunTable};
use super::ClaimSettings;
use crate::stats::{mean, permutations_of};

/// Same objective across seeds vs different objectives across seeds: the difference of mean
/// Jaccard, tested by swapping the objective labels of whole calibration groups within seeds.
pub(super) fn objective_beyond_resampling(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Result<Test, String> {
    if table.objectives.len() < 2 {
        return Err("needs two objectives".into());
    }
    let n_obj = table.objectives.len();
    // label[seed index][objective index] = the objective label it carries.
    let statistic = |label: &[Vec<usize>]| -> Option<f64> {
        let (mut same, mut different) = (Vec::new(), Vec::new());
        for (ti, tj) in pairs(&(0..table.seeds.len()).collect::<Vec<_>>()) {
            for (oa, &a) in table.objectives.iter().enumerate() {
                for (ob, &b) in table.objectives.iter().enumerate() {
                    for &sr in &table.searchers {
                        let j = table.j((a, sr, table.seeds[ti]), (b, sr, table.seeds[tj]))?;
                        if label[ti][oa] == label[tj][ob] {
                            same.push(j);
                        } else {
                            different.push(j);
                        }
                    }
                }
            }
        }
        Some(mean(&same) - mean(&different))
    };
    let identity: Vec<Vec<usize>> = vec![(0..n_obj).collect(); table.seeds.len()];
    let observed = statistic(&identity).ok_or("a run is missing")?;
    let relabellings = permutations_of(n_obj);
    let total = relabellings
        .len()
        .checked_pow(table.seeds.len() as u32)
        .filter(|t| *t <= 1 << 20)
        .ok_or("too many seeds × objectives to enumerate the relabellings")?;
    let mut at_least = 0;
    for code in 0..total {
        let mut c = code;
        let label: Vec<Vec<usize>> = (0..table.seeds.len())
            .map(|_| {
                let l = relabellings[c % relabellings.len()].clone();
                c /= relabellings.len();
                l
            })
            .collect();
        at_least += (statistic(&label).ok_or("a run is missing")? >= observed - 1e-12) as usize;
    }
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
    let _ = s;
    // A global relabelling of the objectives leaves the statistic unchanged, so the floor is
    // (number of global relabellings) / total. This test can show the effect, not its absence.
    Ok(Test {
        holds: at_least as f64 / total as f64,
        fails: None,
        floor_holds: relabellings.len() as f64 / total as f64,
        floor_fails: 1.0,
    })
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
}
