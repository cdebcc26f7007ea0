//! Secondary claim: changing the calibration (the objective together with its sample) with the
//! searcher fixed moves the chosen set more than changing the searcher with the calibration
//! fixed.
//!
//! **Unit: the calibration resample (seed).** At one seed every searcher of an objective sees
//! that objective's sample, and the two objectives draw different samples; so within a seed
//! "same calibration, other searcher" and "same searcher, other calibration" are both
//! available and the seed's statistic uses only that seed's runs: seeds are independent units,
//! and an exact sign-flip test over them is valid. Per seed:
//! `d = J(searcher change) − J(calibration change)`, the mean Jaccard of the chosen sets of two
//! searchers on one calibration, minus that of one searcher on the two objectives' calibrations.
//! Holds when `d > 0`, fails when `d < 0`, tested two-sided (each tail at α/2) among the
//! secondary claims.
//!
//! **What it cannot tell apart.** The calibration change always crosses two calibration
//! samples and the searcher change shares one, so the statistic measures sampling noise
//! against a shared sample as much as the objective: it holds for one objective under two
//! names. That is why it is no longer a primary claim: `sample_over_search` isolates the
//! sample, `objective_over_search` the objective beyond its noise, and the study's statement
//! "calibration matters more than search" is their conjunction (report.md says which part
//! carries it).

use std::collections::BTreeMap;

use super::procedure::{both_ways_from_zero, effect_size, put_spread, Tested};
use super::table::{pairs, RunTable};
use super::ClaimSettings;

/// Per seed: mean Jaccard of searcher pairs on one calibration, and of objective pairs for one
/// searcher, each over every objective (resp. searcher) of the seed.
pub(super) fn per_seed_agreements(table: &RunTable, seed: u64) -> Option<(f64, f64)> {
    let searcher_change = table.mean_jaccard(table.objectives.iter().flat_map(|&o| {
        pairs(&table.searchers)
            .into_iter()
            .map(move |(a, b)| ((o, a, seed), (o, b, seed)))
    }))?;
    let calibration_change = table.mean_jaccard(table.searchers.iter().flat_map(|&a| {
        pairs(&table.objectives)
            .into_iter()
            .map(move |(o, p)| ((o, a, seed), (p, a, seed)))
    }))?;
    Some((searcher_change, calibration_change))
}

pub(super) fn calibration_over_search(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    if table.objectives.len() < 2 || table.searchers.len() < 2 {
        return Err("needs two objectives (two calibrations per seed) and two searchers".into());
    }
    let mut searcher_change = Vec::new();
    let mut calibration_change = Vec::new();
    let mut per_seed = Vec::new();
    for &t in &table.seeds {
        let (a, c) = per_seed_agreements(table, t).ok_or_else(|| format!("seed {t} lacks runs"))?;
        searcher_change.push(a);
        calibration_change.push(c);
        per_seed.push((t, a - c));
    }
    let d: Vec<f64> = per_seed.iter().map(|(_, d)| *d).collect();
    put_spread(stats, "searcher_change_jaccard", &searcher_change, s.alpha);
    put_spread(
        stats,
        "calibration_change_jaccard",
        &calibration_change,
        s.alpha,
    );
    put_spread(stats, "difference", &d, s.alpha);
    stats.insert("effect_size_dz".into(), effect_size(&d));
    stats.insert("chance_jaccard".into(), table.chance);
    // The noise ceiling, for reading the two agreements: one searcher and objective on two
    // calibration samples (pairs of seeds, so not part of the per-seed test).
    if let Some(j) = table.cross_seed(&table.objectives) {
        stats.insert("resample_jaccard".into(), j);
    }
    both_ways_from_zero(per_seed)
}

#[cfg(test)]
mod tests {
    use crate::suite::claims::testing::{objective_decides, search_decides, settings, verdicts};
    use crate::suite::claims::Verdict;

    /// Every searcher picks its objective's set: a searcher change keeps the set (J ≈ 1), a
    /// calibration change replaces it (J = 0), at every one of 12 seeds: two-sided p 2 · 2⁻¹²
    /// before Holm.
    #[test]
    fn holds_when_the_calibration_decides() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["calibration_over_search"];
        assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
        assert_eq!(c.p_holds, Some(1.0 / 4096.0));
        assert_eq!(c.per_seed.len(), 12);
        assert!(c.per_seed.iter().all(|(_, d)| *d > 0.5), "{:?}", c.per_seed);
    }

    #[test]
    fn fails_when_the_searcher_decides() {
        let v = verdicts(&search_decides(), &settings());
        let c = &v["calibration_over_search"];
        assert_eq!(c.verdict, Verdict::Fails, "{c:?}");
        assert!(c.statistics["difference/mean"] < -0.9, "{c:?}");
    }

    /// Five seeds cannot reach α two-sided (floor 2 · 2⁻⁵ > 0.05): undecided, with the reason.
    #[test]
    fn five_seeds_cannot_decide() {
        let one = crate::suite::claims::ClaimSettings {
            test: Some(vec![crate::suite::claims::Claim::CalibrationOverSearch]),
            ..settings()
        };
        let v = verdicts(&objective_decides(5), &one);
        let c = &v["calibration_over_search"];
        assert_eq!(c.verdict, Verdict::Inconclusive, "{c:?}");
        assert!(c.reason.contains("cannot reach"), "{}", c.reason);
    }
}
