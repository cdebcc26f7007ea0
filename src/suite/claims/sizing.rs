//! How many seeds each claim of a finished suite needs: the power of its own test, simulated
//! (`crate::power`) from the per-unit statistics the suite's run gave, at the level the
//! procedure tests it at.
//!
//! A primary claim is tested two-sided at the full α (its step in the fixed sequence); a
//! secondary two-sided at α / m, where m is the number of secondary claims × models: the level
//! of Holm's first step, which is where the claim with the smallest p is tested (a planning
//! figure on the safe side for the others). A claim whose unit is a
//! pair of seeds needs twice its units in seeds.

use serde::Serialize;

use super::{Claim, ClaimResult, Verdict};
use crate::power::{power_curve, PowerCurve, PowerRequest};
use crate::rng::rng_for;

/// What the power computation is asked for.
#[derive(Debug, Clone, Copy)]
pub struct SizingOptions {
    pub alpha: f64,
    /// The power wanted.
    pub target: f64,
    /// Simulated studies per number of units.
    pub draws: usize,
    /// The most units tried.
    pub max_units: usize,
    pub seed: u64,
}

impl SizingOptions {
    /// The power `depthprune power` and a suite's report.md aim for by default.
    pub const TARGET: f64 = 0.8;
    /// Simulated studies per number of units.
    pub const DRAWS: usize = 2000;
    /// The most units tried.
    pub const MAX_UNITS: usize = 60;
    /// Seed of the simulation.
    pub const SEED: u64 = 0;

    /// `depthprune power`'s defaults at level `alpha` (what a suite's report.md shows).
    pub fn defaults(alpha: f64) -> Self {
        SizingOptions {
            alpha,
            target: Self::TARGET,
            draws: Self::DRAWS,
            max_units: Self::MAX_UNITS,
            seed: Self::SEED,
        }
    }
}

/// One claim on one model: the level its test runs at and the seeds it needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedsNeeded {
    pub model: String,
    pub claim: String,
    pub primary: bool,
    /// The level of the claim's test (one tail's, for a two-sided test: half of it).
    pub level: f64,
    pub two_sided: bool,
    pub seeds_per_unit: usize,
    /// The verdict the pilot reached.
    pub verdict: Verdict,
    /// The curve and the units it needs (`None`: no per-unit statistics, with the reason).
    pub curve: Option<PowerCurve>,
    /// Seeds for the target power (`None`: not within `max_units`, or no curve).
    pub seeds_needed: Option<usize>,
    pub note: String,
}

/// The seeds every claim of `results` needs for `options.target` power.
pub fn seeds_needed(results: &[ClaimResult], options: &SizingOptions) -> Vec<SeedsNeeded> {
    let claims: Vec<(&ClaimResult, Claim)> = results
        .iter()
        .filter_map(|r| Some((r, Claim::from_name(&r.claim)?)))
        .collect();
    let secondaries = claims.iter().filter(|(_, c)| !c.is_primary()).count();
    claims
        .into_iter()
        .map(|(r, claim)| {
            let primary = claim.is_primary();
            let (level, two_sided) = match primary {
                true => (options.alpha, true),
                // Secondaries are tested two-sided too (the one claim with a single direction,
                // objective_beyond_resampling, has no per-unit statistics to size).
                false => (options.alpha / secondaries.max(1) as f64, true),
            };
            let threshold = r.threshold.unwrap_or(0.0);
            let pilot: Vec<f64> = r.per_seed.iter().map(|(_, d)| d - threshold).collect();
            let request = PowerRequest {
                level,
                two_sided,
                target: options.target,
                draws: options.draws,
                max_units: options.max_units,
            };
            let mut rng = rng_for(options.seed, &format!("power/{}/{}", r.model, r.claim));
            let curve = power_curve(&pilot, &request, &mut rng);
            let per_unit = claim.seeds_per_unit();
            let seeds_needed = curve
                .as_ref()
                .and_then(|c| c.units_needed)
                .map(|u| u * per_unit);
            let note = match &curve {
                None if r.per_seed.is_empty() => {
                    "the claim reports no per-unit statistics to size it from".to_string()
                }
                None => format!(
                    "{} per-unit statistics, not two finite ones: cannot size",
                    r.per_seed.len()
                ),
                Some(c) if c.units_needed.is_none() => format!(
                    "power {:.2} at {} units: the effect (d_z {:.2}) is too small to reach {} \
                     within {} seeds",
                    c.curve.last().map_or(0.0, |p| p.power),
                    options.max_units,
                    c.effect_size,
                    options.target,
                    options.max_units * per_unit
                ),
                Some(c) => format!(
                    "d_z {:.2} from {} units; power {:.2} at {} units",
                    c.effect_size,
                    c.pilot_units,
                    c.curve.last().map_or(0.0, |p| p.power),
                    c.curve.len()
                ),
            };
            SeedsNeeded {
                model: r.model.clone(),
                claim: r.claim.clone(),
                primary,
                level: if two_sided { level / 2.0 } else { level },
                two_sided,
                seeds_per_unit: per_unit,
                verdict: r.verdict,
                curve,
                seeds_needed,
                note,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn result(claim: &str, per_seed: &[f64], threshold: Option<f64>) -> ClaimResult {
        ClaimResult {
            model: "m".into(),
            claim: claim.into(),
            verdict: Verdict::Inconclusive,
            reason: String::new(),
            p_holds: None,
            p_fails: None,
            p_adjusted: None,
            p_floor: None,
            statistics: BTreeMap::new(),
            per_seed: per_seed
                .iter()
                .enumerate()
                .map(|(i, &d)| (i as u64, d))
                .collect(),
            threshold,
        }
    }

    fn options() -> SizingOptions {
        SizingOptions {
            alpha: 0.05,
            target: 0.8,
            draws: 400,
            max_units: 40,
            seed: 0,
        }
    }

    #[test]
    fn primaries_are_sized_two_sided_at_alpha_and_pairs_count_twice() {
        let strong = [1.0, 1.1, 0.9, 1.05, 0.95];
        let results = [
            result("sample_over_search", &strong, None),
            result("objective_over_search", &strong[..3], None),
            result("agreement", &strong, None),
        ];
        let sized = seeds_needed(&results, &options());
        // Reports are not claims: not sized.
        assert_eq!(sized.len(), 2);
        // Two-sided at 0.05: 2⁻⁶ is the first floor below 0.025, so 6 units, and a claim over
        // seed pairs needs twice as many seeds.
        assert_eq!(sized[0].seeds_needed, Some(12));
        assert!(sized[0].two_sided && sized[0].level == 0.025);
        assert_eq!(sized[1].seeds_needed, Some(12));
        // A claim over single seeds needs as many seeds as units.
        let single = seeds_needed(
            &[result("calibration_over_search", &strong, None)],
            &options(),
        );
        assert_eq!(single[0].seeds_needed, Some(6));
    }

    #[test]
    fn a_threshold_is_subtracted_and_no_effect_is_said_plainly() {
        // Per-seed statistics centred on the claim's threshold: nothing to find.
        let at_threshold = [0.5, 0.6, 0.4, 0.55, 0.45, 0.5];
        let results = [
            result("searchers_converge", &at_threshold, Some(0.5)),
            result("marginal_gains", &[], None),
        ];
        let sized = seeds_needed(&results, &options());
        // Two secondaries: Holm's first step tests at 0.05 / 2, two-sided (each tail 0.0125).
        assert_eq!(sized[0].level, 0.0125);
        assert!(sized[0].two_sided);
        assert_eq!(sized[0].seeds_needed, None);
        assert!(sized[0].note.contains("too small"), "{}", sized[0].note);
        assert!(sized[1].curve.is_none());
        assert!(sized[1].note.contains("no per-unit"), "{}", sized[1].note);
    }
}
