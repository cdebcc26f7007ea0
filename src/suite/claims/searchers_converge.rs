//! Study statement 1b: the searchers' chosen sets agree beyond chance.

use std::collections::BTreeMap;

use super::procedure::{put_spread, two_sided, Test, Tested, Units};
use super::table::RunTable;
use super::ClaimSettings;
use crate::stats::chance_corrected;

/// Statement 1: per seed, the chance-corrected agreement among searchers against the threshold.
pub(super) fn searchers_converge(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    let kappas: Option<Vec<f64>> = table
        .seeds
        .iter()
        .map(|&t| Some(chance_corrected(table.cross_searcher(t)?, table.chance)))
        .collect();
    match kappas {
        Some(k) if table.searchers.len() >= 2 => {
            put_spread(stats, "cross_searcher_agreement", &k, s.alpha);
            stats.insert("chance_jaccard".into(), table.chance);
            if let Some(j) = table.cross_seed(&table.objectives) {
                stats.insert(
                    "cross_seed_agreement".into(),
                    chance_corrected(j, table.chance),
                );
            }
            stats.insert("threshold".into(), s.min_cross_searcher_agreement);
            let d: Vec<f64> = k
                .iter()
                .map(|x| x - s.min_cross_searcher_agreement)
                .collect();
            two_sided(&d)
                .ok_or_else(|| "agreement is undefined".to_string())
                .map(|(h, f, floor)| {
                    let units = Units::per_seed(&table.seeds, &k, s.min_cross_searcher_agreement);
                    (Test::simple(h, f, floor), units)
                })
        }
        _ => Err("needs at least two searchers".into()),
    }
}

#[cfg(test)]
mod tests {
    use crate::suite::claims::testing::{objective_decides, search_decides, settings, verdicts};
    use crate::suite::claims::Verdict;

    /// Every searcher picks the objective's set (random misses a block at odd seeds): they
    /// converge, and with every one of 12 seeds agreeing the exact one-sided p is 2⁻¹², the
    /// two-sided floor 2 · 2⁻¹².
    #[test]
    fn holds_when_the_searchers_pick_the_same_sets() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["searchers_converge"];
        assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
        assert_eq!(c.p_holds, Some(1.0 / 4096.0));
        assert_eq!(c.p_floor, Some(2.0 / 4096.0));
    }

    #[test]
    fn fails_when_each_searcher_picks_its_own_set() {
        let v = verdicts(&search_decides(), &settings());
        let c = &v["searchers_converge"];
        assert_eq!(c.verdict, Verdict::Fails, "{c:?}");
    }
}
