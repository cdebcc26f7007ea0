//! From each claim's two one-sided tests to verdicts: Holm's correction over the decided
//! claims × models (`finish`, self-contained so that another multiple-testing procedure can
//! replace it here), and the small pieces every claim's test uses.

use std::collections::BTreeMap;

use super::{Claim, ClaimResult, ClaimSettings, Verdict};
use crate::stats::{holm, mean, sign_flip_greater, spread, Spread};

/// A claim's two one-sided tests: p-values and the smallest value each can take.
#[derive(Debug, Clone, Copy)]
pub(super) struct Test {
    pub(super) holds: f64,
    pub(super) fails: Option<f64>,
    pub(super) floor_holds: f64,
    pub(super) floor_fails: f64,
}

impl Test {
    /// Two single sign-flip tests with one floor.
    pub(super) fn simple(holds: f64, fails: f64, floor: f64) -> Self {
        Test {
            holds,
            fails: Some(fails),
            floor_holds: floor,
            floor_fails: floor,
        }
    }
}

/// A claim before Holm's correction: its one-sided p-values (or why it has none).
pub(super) struct Pending {
    pub(super) model: String,
    pub(super) claim: Claim,
    /// `Err(reason)`: undefined or not decidable, whatever the correction.
    pub(super) test: Result<Test, String>,
    pub(super) statistics: BTreeMap<String, f64>,
}

/// Holm's correction over the decided claims × models, then verdicts.
///
/// Each claim has two complementary one-sided tests ("holds", "fails"); away from the threshold
/// itself at most one of their null hypotheses is true, so a claim enters the family once,
/// with the smaller of its two p-values (Shaffer's logical restriction of Holm's method).
pub(super) fn finish(pending: Vec<Pending>, settings: &ClaimSettings) -> Vec<ClaimResult> {
    // A claim that could not be tested still counts in the family (p = 1), so the correction
    // does not shrink when the data make claims undecidable.
    let ps: Vec<f64> = pending
        .iter()
        .map(|p| match &p.test {
            Ok(t) => t.holds.min(t.fails.unwrap_or(1.0)),
            Err(_) => 1.0,
        })
        .collect();
    let m = ps.len();
    let adjusted = holm(&ps);
    let alpha = settings.alpha;
    let family_floor = pending
        .iter()
        .filter_map(|p| p.test.as_ref().ok())
        .map(|t| match t.fails {
            Some(_) => t.floor_holds.min(t.floor_fails),
            None => t.floor_holds,
        })
        .fold(1.0, f64::min);
    pending
        .into_iter()
        .zip(adjusted)
        .map(|(p, adjusted)| {
            let mut result = ClaimResult {
                model: p.model,
                claim: p.claim.as_str().to_string(),
                verdict: Verdict::Inconclusive,
                reason: String::new(),
                p_holds: None,
                p_fails: None,
                p_adjusted: None,
                p_floor: None,
                statistics: p.statistics,
                per_seed: Vec::new(),
                threshold: None,
            };
            match p.test {
                Err(reason) => result.reason = reason,
                Ok(t) => {
                    result.p_holds = Some(t.holds);
                    result.p_fails = t.fails;
                    result.p_adjusted = Some(adjusted);
                    let floor = match t.fails {
                        Some(_) => t.floor_holds.min(t.floor_fails),
                        None => t.floor_holds,
                    };
                    result.p_floor = Some(floor);
                    // No Holm-adjusted p goes below m × the family's smallest p (its first
                    // step), nor below the test's own p: the bound uses both floors.
                    let smallest = floor.max(m as f64 * family_floor).min(1.0);
                    let towards_holds = t.fails.is_none_or(|f| t.holds <= f);
                    if adjusted < alpha && towards_holds {
                        result.verdict = Verdict::Holds;
                        result.reason = format!("holds at α = {alpha} after Holm over {m} claims");
                    } else if adjusted < alpha {
                        result.verdict = Verdict::Fails;
                        result.reason = format!("fails at α = {alpha} after Holm over {m} claims");
                    } else if smallest >= alpha {
                        result.reason = format!(
                            "the design cannot reach α = {alpha}: a test's smallest p-value is \
                             {floor:.4}, at least {smallest:.3} after Holm over {m} claims; more seeds \
                             (calibration resamples) or fewer decided claims are needed"
                        );
                    } else {
                        result.reason = format!(
                            "neither direction is significant at α = {alpha} after Holm over {m} claims"
                        );
                    }
                    if t.fails.is_none() && result.verdict == Verdict::Inconclusive {
                        result.reason.push_str(" (this test can show the effect, not its absence)");
                    }
                }
            }
            result
        })
        .collect()
}

/// The exact one-sided p-values of "d > 0" and "d < 0" over seeds, and the floor.
pub(super) fn two_sided(d: &[f64]) -> Option<(f64, f64, f64)> {
    let up = sign_flip_greater(d)?;
    let down = sign_flip_greater(&d.iter().map(|x| -x).collect::<Vec<_>>())?;
    Some((up.p, down.p, up.floor))
}

pub(super) fn put_spread(stats: &mut BTreeMap<String, f64>, name: &str, xs: &[f64], alpha: f64) {
    stats.insert(format!("{name}/mean"), mean(xs));
    match spread(xs, alpha) {
        Some(Spread::Range { min, max }) => {
            stats.insert(format!("{name}/min"), min);
            stats.insert(format!("{name}/max"), max);
        }
        Some(Spread::Interval { low, high, .. }) => {
            stats.insert(format!("{name}/ci_low"), low);
            stats.insert(format!("{name}/ci_high"), high);
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::suite::claims::testing::{objective_decides, settings, verdicts};
    use crate::suite::claims::{Claim, ClaimSettings, Verdict};

    /// Five seeds and six claims: no Holm-adjusted p can fall below α, and the reason says so.
    #[test]
    fn a_design_that_cannot_reach_alpha_is_inconclusive() {
        let v = verdicts(&objective_decides(5), &settings());
        let c = &v["searchers_converge"];
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_eq!(c.p_holds, Some(1.0 / 32.0));
        assert!(c.reason.contains("cannot reach"), "{}", c.reason);
        // Deciding one claim alone, five seeds suffice.
        let one = ClaimSettings {
            test: Some(vec![Claim::SearchersConverge]),
            ..settings()
        };
        let v = verdicts(&objective_decides(5), &one);
        assert_eq!(v["searchers_converge"].verdict, Verdict::Holds);
        assert!(!v.contains_key("objective_shapes_patterns"));
    }

    /// "Cannot reach α" bounds the adjusted p by the family's smallest floor as well as the
    /// claim's own: with 5 seeds a sign-flip floor of 1/32 and 7 claims, a claim whose own
    /// floor is larger still reads the bound it really has.
    #[test]
    fn the_unreachable_bound_uses_the_familys_smallest_floor() {
        let v = verdicts(&objective_decides(5), &settings());
        let unreachable: Vec<_> = v
            .values()
            .filter(|c| c.reason.contains("cannot reach"))
            .collect();
        assert!(unreachable.len() >= 2, "{v:?}");
        for c in unreachable {
            let floor = c.p_floor.unwrap();
            let bound = floor.clamp(7.0 / 32.0, 1.0);
            assert!(
                c.reason.contains(&format!("at least {bound:.3}")),
                "{}: {}",
                c.claim,
                c.reason
            );
        }
    }
}
