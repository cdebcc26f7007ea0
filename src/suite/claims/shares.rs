//! Variance shares (ω², PERMANOVA on a distance between runs' outcomes) of the objective and the
//! searcher within each seed, and the distances they are computed under.

use std::collections::BTreeMap;

use super::procedure::{put_spread, two_sided, Test, Tested, Units};
use super::table::RunTable;
use super::ClaimSettings;
use crate::stats::{jaccard, permanova, Design};
use crate::suite::run::RunRecord;

/// Per seed: ω² of the objective minus ω² of the searcher, from a two-way decomposition of the
/// seed's runs (objective × searcher, one run each) under `distance`.
pub(super) fn share_differences(
    table: &RunTable,
    distance: impl Fn(&RunRecord, &RunRecord) -> Option<f64>,
) -> Result<Vec<f64>, String> {
    let index = |names: &[&str], x: &str| names.iter().position(|n| *n == x).expect("indexed");
    table
        .seeds
        .iter()
        .map(|&t| {
            let runs = table.seed_runs(t);
            if runs.len() != table.objectives.len() * table.searchers.len() {
                return Err(format!("seed {t} lacks runs of some objective × searcher"));
            }
            let d = distance_matrix(&runs, &distance)
                .ok_or_else(|| format!("seed {t}: an outcome is missing or not finite"))?;
            let design = Design {
                factors: vec![
                    runs.iter()
                        .map(|r| index(&table.objectives, &r.objective))
                        .collect(),
                    runs.iter()
                        .map(|r| index(&table.searchers, &r.searcher))
                        .collect(),
                ],
            };
            let p = permanova(&d, &design, &[vec![0], vec![1]]).ok_or_else(|| {
                format!("seed {t}: no variation to share out (every run is alike) or no residual")
            })?;
            Ok(p.terms[0].omega2 - p.terms[1].omega2)
        })
        .collect()
}

pub(super) fn distance_matrix(
    runs: &[&RunRecord],
    distance: &impl Fn(&RunRecord, &RunRecord) -> Option<f64>,
) -> Option<Vec<Vec<f64>>> {
    runs.iter()
        .map(|a| {
            runs.iter()
                .map(|b| distance(a, b).filter(|d| d.is_finite()))
                .collect()
        })
        .collect()
}

pub(super) fn pattern_distance(a: &RunRecord, b: &RunRecord) -> Option<f64> {
    Some(1.0 - jaccard(&a.removed, &b.removed))
}

/// Statement 2 for one outcome: per seed, ω²(objective) − ω²(searcher) of `distance` beyond
/// `share_margin`.
pub(super) fn share_beyond_margin(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
    outcome: &str,
    distance: impl Fn(&RunRecord, &RunRecord) -> Option<f64>,
) -> Tested {
    let d = share_differences(table, distance)?;
    put_spread(
        stats,
        &format!("{outcome}/omega2_objective_minus_searcher"),
        &d,
        s.alpha,
    );
    stats.insert("margin".into(), s.share_margin);
    let shifted: Vec<f64> = d.iter().map(|x| x - s.share_margin).collect();
    let (h, f, floor) = two_sided(&shifted).ok_or("undefined")?;
    let units = Units::per_seed(&table.seeds, &d, s.share_margin);
    Ok((Test::simple(h, f, floor), units))
}

/// The distance between two runs' outcomes (`None` when either lacks it).
pub(super) type Distance = Box<dyn Fn(&RunRecord, &RunRecord) -> Option<f64>>;

#[cfg(test)]
mod tests {
    use crate::rng::rng_for;
    use crate::suite::claims::testing::{ranking, record, settings, verdicts, SEARCHERS};
    use crate::suite::claims::Verdict;

    /// Every run chose the same set with the same outcomes: the shares are undefined.
    #[test]
    fn undefined_statistics_give_inconclusive_with_a_reason() {
        let mut rng = rng_for(4, "test/undefined");
        let mut records = Vec::new();
        for seed in 0..12 {
            for searcher in SEARCHERS {
                for objective in ["ppl", "acc"] {
                    let r = ranking(&[1, 2, 3], &mut rng, false);
                    records.push(record(
                        objective,
                        searcher,
                        seed,
                        &[1, 2, 3],
                        r,
                        20.0,
                        30.0,
                        0.4,
                    ));
                }
            }
        }
        let v = verdicts(&records, &settings());
        let c = &v["objective_shapes_patterns"];
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert!(c.reason.contains("no variation"), "{}", c.reason);
        // A NaN outcome is named, not a panic.
        records[0].heldout.insert("acc".into(), f64::NAN);
        let v = verdicts(&records, &settings());
        assert_eq!(
            v["accuracy_share_comparable"].verdict,
            Verdict::Inconclusive
        );
    }
}
