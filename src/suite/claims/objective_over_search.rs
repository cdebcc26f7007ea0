//! Primary claim 2: the objective alone moves the chosen set more than the searcher does, with
//! every agreement measured across two independent calibration samples, so the sample that a
//! seed's searchers share cancels.
//!
//! Within a seed all searchers of an objective see one sample, so within-seed cross-searcher
//! agreement is high by construction; comparing it with cross-objective agreement (which always
//! spans two samples) would mix the sample into the search. Here both changes span two samples.
//!
//! **Unit: a pair of calibration resamples.** The suite's seeds, in order, are paired into
//! disjoint units (s₀, s₁), (s₂, s₃), ... (an odd last seed is left out and said so). In a unit,
//! for runs at s and s′ (both orders):
//! - objective change: one searcher, the two objectives, J(o, a, s ; o′, a, s′);
//! - searcher change: one objective, two searchers, J(o, a, s ; o, b, s′);
//! - resampling alone (the noise ceiling, reported): J(o, a, s ; o, a, s′).
//!
//! `d = J(searcher change) − J(objective change)`: holds when `d > 0` (changing the objective
//! moves the set further than changing the searcher), fails when `d < 0`, two-sided exact
//! sign-flip test over units (floor `2 · 2⁻ᵘ`). Units are independent: no seed is in two.

use std::collections::BTreeMap;

use super::calibration_over_search::effect_size;
use super::procedure::{put_spread, Test, Tested, Units};
use super::table::RunTable;
use super::ClaimSettings;
use crate::stats::sign_flip_greater;

/// The units: disjoint consecutive pairs of the suite's seeds.
pub(super) fn seed_pairs(seeds: &[u64]) -> Vec<(u64, u64)> {
    seeds.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

/// One unit's (searcher change, objective change, resampling) mean Jaccards.
pub(super) fn unit_agreements(table: &RunTable, s: u64, t: u64) -> Option<(f64, f64, f64)> {
    let os = &table.objectives;
    let sr = &table.searchers;
    let both = [(s, t), (t, s)];
    let searcher_change = table.mean_jaccard(both.iter().flat_map(|&(x, y)| {
        os.iter().flat_map(move |&o| {
            sr.iter().flat_map(move |&a| {
                sr.iter()
                    .filter(move |&&b| b != a)
                    .map(move |&b| ((o, a, x), (o, b, y)))
            })
        })
    }))?;
    let objective_change = table.mean_jaccard(both.iter().flat_map(|&(x, y)| {
        sr.iter().flat_map(move |&a| {
            os.iter().flat_map(move |&o| {
                os.iter()
                    .filter(move |&&p| p != o)
                    .map(move |&p| ((o, a, x), (p, a, y)))
            })
        })
    }))?;
    let resampling = table.mean_jaccard(
        os.iter()
            .flat_map(|&o| sr.iter().map(move |&a| ((o, a, s), (o, a, t)))),
    )?;
    Some((searcher_change, objective_change, resampling))
}

pub(super) fn objective_over_search(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    if table.objectives.len() < 2 || table.searchers.len() < 2 {
        return Err("needs two objectives and two searchers".into());
    }
    let units = seed_pairs(&table.seeds);
    if units.len() < 2 {
        return Err(format!(
            "needs at least two units, i.e. four seeds: its unit is a pair of calibration \
             resamples ({} seeds given)",
            table.seeds.len()
        ));
    }
    if table.seeds.len() % 2 == 1 {
        stats.insert("seed_left_out".into(), *table.seeds.last().unwrap() as f64);
    }
    let (mut sc, mut oc, mut rs, mut per_unit) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &(x, y) in &units {
        let (a, b, r) =
            unit_agreements(table, x, y).ok_or_else(|| format!("seeds {x}, {y} lack runs"))?;
        sc.push(a);
        oc.push(b);
        rs.push(r);
        per_unit.push((x, a - b));
    }
    let d: Vec<f64> = per_unit.iter().map(|(_, d)| *d).collect();
    put_spread(stats, "searcher_change_jaccard", &sc, s.alpha);
    put_spread(stats, "objective_change_jaccard", &oc, s.alpha);
    put_spread(stats, "resample_jaccard", &rs, s.alpha);
    put_spread(stats, "difference", &d, s.alpha);
    stats.insert("effect_size_dz".into(), effect_size(&d));
    stats.insert("units".into(), units.len() as f64);
    stats.insert("chance_jaccard".into(), table.chance);
    let up = sign_flip_greater(&d).ok_or("an agreement is not finite")?;
    let down = sign_flip_greater(&d.iter().map(|x| -x).collect::<Vec<_>>())
        .ok_or("an agreement is not finite")?;
    let units = Units {
        points: per_unit,
        threshold: Some(0.0),
    };
    Ok((Test::simple(up.p, down.p, up.floor), units))
}

#[cfg(test)]
mod tests {
    use super::seed_pairs;
    use crate::suite::claims::testing::{objective_decides, search_decides, settings, verdicts};
    use crate::suite::claims::Verdict;

    #[test]
    fn units_are_disjoint_seed_pairs() {
        assert_eq!(seed_pairs(&[0, 1, 2, 3, 4]), vec![(0, 1), (2, 3)]);
    }

    /// 12 seeds are 6 units; all agree, so the two-sided exact p is its floor 2 · 2⁻⁶.
    #[test]
    fn holds_when_the_objective_decides() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["objective_over_search"];
        assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
        assert_eq!(c.p_adjusted, Some(2.0 / 64.0));
        assert_eq!(c.statistics["units"], 6.0);
    }

    #[test]
    fn fails_when_the_searcher_decides() {
        let v = verdicts(&search_decides(), &settings());
        let c = &v["objective_over_search"];
        assert_eq!(c.verdict, Verdict::Fails, "{c:?}");
    }

    /// One objective under two names: the objective change is a resampling, as is a searcher
    /// change when the searchers agree, so `d` has no sign to find: never holds.
    #[test]
    fn does_not_hold_for_one_objective_under_two_names() {
        let mut records = objective_decides(12);
        let mut rng = crate::rng::rng_for(3, "test/same-objective");
        for r in records.iter_mut().filter(|r| r.objective == "acc") {
            // A second resample of the perplexity objective: the same set up to noise.
            use rand::Rng;
            r.removed = if rng.random_bool(0.5) {
                vec![1, 2, 3]
            } else {
                vec![1, 2, 4]
            };
        }
        let v = verdicts(&records, &settings());
        let c = &v["objective_over_search"];
        assert_ne!(c.verdict, Verdict::Holds, "{c:?}");
    }
}
