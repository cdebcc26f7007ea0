//! From each claim's two one-sided tests to verdicts: serial gatekeeping, the primary claims in
//! a fixed sequence and then Holm's correction over the secondaries (`finish`, self-contained
//! so that another multiple-testing procedure can replace it here), and the small pieces every
//! claim's test uses.

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

/// The per-unit statistic a claim's test ran over, and the value each is compared with: what
/// the verdict figure draws and what `power` sizes the claim from.
#[derive(Debug, Clone, Default)]
pub(super) struct Units {
    /// (first seed of the unit, value).
    pub(super) points: Vec<(u64, f64)>,
    pub(super) threshold: Option<f64>,
}

/// The test of a claim whose per-unit statistic is compared with 0 in both directions: exact
/// sign-flip p-values for "holds" (above 0) and "fails" (below), and the units for the figure.
pub(super) fn both_ways_from_zero(points: Vec<(u64, f64)>) -> Tested {
    let d: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
    let up = sign_flip_greater(&d).ok_or("an agreement is not finite")?;
    let down = sign_flip_greater(&d.iter().map(|x| -x).collect::<Vec<_>>())
        .ok_or("an agreement is not finite")?;
    let units = Units {
        points,
        threshold: Some(0.0),
    };
    Ok((Test::simple(up.p, down.p, up.floor), units))
}

/// The test of a claim that holds when its per-seed statistic lies below `threshold` (an
/// equivalence or "at most" statement) and fails when above: exact sign flips of
/// `threshold − value` both ways, and the units for the figure.
pub(super) fn below_threshold(seeds: &[u64], values: &[f64], threshold: f64) -> Tested {
    let below: Vec<f64> = values.iter().map(|v| threshold - v).collect();
    let above: Vec<f64> = below.iter().map(|d| -d).collect();
    let holds = sign_flip_greater(&below).ok_or("a per-seed statistic is not finite")?;
    let fails = sign_flip_greater(&above).ok_or("a per-seed statistic is not finite")?;
    Ok((
        Test::simple(holds.p, fails.p, holds.floor),
        Units::per_seed(seeds, values, threshold),
    ))
}

/// How a primary claim over disjoint seed pairs closes: the per-unit difference's spread,
/// effect size, unit count and chance level go into `stats`, and the difference is tested
/// against 0 both ways ([`both_ways_from_zero`]).
pub(super) fn close_paired_difference(
    stats: &mut BTreeMap<String, f64>,
    per_unit: Vec<(u64, f64)>,
    chance_jaccard: f64,
    alpha: f64,
) -> Tested {
    let d: Vec<f64> = per_unit.iter().map(|(_, d)| *d).collect();
    put_spread(stats, "difference", &d, alpha);
    stats.insert("effect_size_dz".into(), effect_size(&d));
    stats.insert("units".into(), per_unit.len() as f64);
    stats.insert("chance_jaccard".into(), chance_jaccard);
    both_ways_from_zero(per_unit)
}

impl Units {
    /// One value per seed of `seeds`, compared with `threshold`.
    pub(super) fn per_seed(seeds: &[u64], values: &[f64], threshold: f64) -> Self {
        Units {
            points: seeds.iter().copied().zip(values.iter().copied()).collect(),
            threshold: Some(threshold),
        }
    }
}

/// A claim's test and the units it ran over, or why it has none.
pub(super) type Tested = Result<(Test, Units), String>;

/// A claim before Holm's correction: its one-sided p-values (or why it has none).
pub(super) struct Pending {
    pub(super) model: String,
    pub(super) claim: Claim,
    /// `Err(reason)`: undefined or not decidable, whatever the correction.
    pub(super) test: Result<Test, String>,
    pub(super) statistics: BTreeMap<String, f64>,
    /// The per-unit statistic the test ran over.
    pub(super) units: Units,
}

/// From the claims' tests to verdicts, controlling the family-wise error at α over every
/// decided claim × model by **serial gatekeeping**:
///
/// 1. The primary claims (`Claim::is_primary`), in a fixed sequence stated before any run:
///    claim by claim in `Claim::ALL` order, model by model in name order. Each is tested
///    two-sided at the full α (p = 2 · min(p_holds, p_fails), floor doubled), and the sequence
///    goes on only while each step decides; after the first step that does not, every later
///    primary is inconclusive ("not reached"). A fixed sequence controls the family-wise error
///    at α because a false rejection at step i needs every earlier step rejected, and the first
///    true null in the sequence is tested at α alone (it is a closed testing procedure).
/// 2. The secondary claims, only once every primary is decided (the gate): Holm at α over
///    them all (as before the gate existed). A closed gate leaves them inconclusive, with their
///    unadjusted p-values reported. Serial gatekeeping is a closed testing procedure too, so
///    the whole family keeps its error at α without dividing α by the number of claims.
///
/// A claim with two one-sided tests ("holds", "fails") is tested two-sided wherever it is:
/// p = 2 · min(p_holds, p_fails), floor doubled, so that choosing the direction after seeing
/// the data costs its factor of two. A claim with one test (it can show an effect, not its
/// absence: `objective_beyond_resampling`) is tested in its one direction, stated in the claim's
/// definition before any run.
///
/// **The primaries and their order.** `sample_over_search` first, then `objective_over_search`,
/// each over the models in name order. The sample claim comes first because it is the
/// condition for reading the second: an objective comparison across samples means something
/// only once a fresh sample is known to move the sets; and it is the one with the larger
/// expected effect, so the sequence loses the least power by putting it first. Neither claim's
/// p depends on the other's outcome, and the order was fixed before the shipped stores were
/// replayed with these claims.
pub(super) fn finish(pending: Vec<Pending>, settings: &ClaimSettings) -> Vec<ClaimResult> {
    let alpha = settings.alpha;
    let (mut primaries, secondaries): (Vec<Pending>, Vec<Pending>) =
        pending.into_iter().partition(|p| p.claim.is_primary());
    primaries.sort_by(|a, b| (a.claim, &a.model).cmp(&(b.claim, &b.model)));
    let steps = primaries.len();
    let mut results = Vec::new();
    let mut stopped_at: Option<String> = None;
    let mut running_max: f64 = 0.0;
    for (i, p) in primaries.into_iter().enumerate() {
        let step = format!("step {} of {steps} of the fixed sequence", i + 1);
        let here = format!("{} / {}", p.claim.as_str(), p.model);
        let mut result = unadjusted(p);
        match (&stopped_at, result_test(&result)) {
            (Some(at), test) => {
                // A claim that could not be tested says why first: that outlasts the sequence.
                let own = match test {
                    None => format!("{}; also ", result.reason),
                    Some(_) => String::new(),
                };
                result.reason = format!(
                    "{own}not reached: the fixed sequence of primary claims stopped at {at} \
                     ({step})"
                );
            }
            (None, None) => {
                result.reason = format!("{} ({step}; the sequence stops here)", result.reason);
                stopped_at = Some(here);
            }
            (None, Some((holds, fails, floor))) => {
                // The floor is already two-sided (`unadjusted`).
                let two_sided = (2.0 * holds.min(fails)).min(1.0);
                running_max = running_max.max(two_sided);
                result.p_adjusted = Some(running_max);
                result.p_floor = Some(floor);
                if two_sided < alpha {
                    let (verdict, word) = if holds <= fails {
                        (Verdict::Holds, "holds")
                    } else {
                        (Verdict::Fails, "fails")
                    };
                    result.verdict = verdict;
                    result.reason =
                        format!("{word} at α = {alpha}, two-sided p {two_sided:.4} ({step})");
                } else {
                    result.reason = if floor >= alpha {
                        format!(
                            "the design cannot reach α = {alpha}: its smallest two-sided p is \
                             {floor:.4}; more units (calibration resamples) are needed ({step}; the \
                             sequence stops here)"
                        )
                    } else {
                        format!(
                            "neither direction is significant at α = {alpha} (two-sided p \
                             {two_sided:.4}; {step}; the sequence stops here)"
                        )
                    };
                    stopped_at = Some(here);
                }
            }
        }
        results.push(result);
    }
    match stopped_at {
        None => results.extend(holm_step(secondaries, settings, steps)),
        Some(at) => results.extend(secondaries.into_iter().map(|p| {
            let mut r = unadjusted(p);
            if r.p_holds.is_some() {
                r.reason = format!(
                    "not tested: the gate is closed (the primary claim {at} was not decided); \
                     p-values unadjusted"
                );
            }
            r
        })),
    }
    results
}

/// A claim's result before any multiple-testing step: its p-values as computed, inconclusive.
fn unadjusted(p: Pending) -> ClaimResult {
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
        per_seed: p.units.points,
        threshold: p.units.threshold,
    };
    match p.test {
        Err(reason) => result.reason = reason,
        Ok(t) => {
            result.p_holds = Some(t.holds);
            result.p_fails = t.fails;
            result.p_floor = Some(tested_floor(&t));
        }
    }
    result
}

/// The (holds, fails, floor) of a two-directional test (`None`: no test, or one direction only).
fn result_test(r: &ClaimResult) -> Option<(f64, f64, f64)> {
    Some((r.p_holds?, r.p_fails?, r.p_floor?))
}

/// The p a claim enters Holm's family with: two-sided when it has two directions, its one
/// pre-stated direction's otherwise.
fn tested_p(t: &Test) -> f64 {
    match t.fails {
        Some(f) => (2.0 * t.holds.min(f)).min(1.0),
        None => t.holds,
    }
}

/// The smallest p [`tested_p`] can give.
fn tested_floor(t: &Test) -> f64 {
    match t.fails {
        Some(_) => (2.0 * t.floor_holds.min(t.floor_fails)).min(1.0),
        None => t.floor_holds,
    }
}

/// Holm's correction over the secondary claims × models, then verdicts (`gate`: the number of
/// primary claims decided before them, for the reasons).
///
/// A claim enters the family once, with its two-sided p (or its one direction's, see
/// [`tested_p`]); the direction of a rejection is the side with the smaller one-sided p, and
/// the two-sided test keeps that directional error within α as well.
fn holm_step(pending: Vec<Pending>, settings: &ClaimSettings, gate: usize) -> Vec<ClaimResult> {
    // A claim that could not be tested still counts in the family (p = 1), so the correction
    // does not shrink when the data make claims undecidable.
    let ps: Vec<f64> = pending
        .iter()
        .map(|p| match &p.test {
            Ok(t) => tested_p(t),
            Err(_) => 1.0,
        })
        .collect();
    let m = ps.len();
    let adjusted = holm(&ps);
    let past_gate = if gate > 0 {
        format!(", past the gate of {gate} decided primary claims")
    } else {
        String::new()
    };
    let alpha = settings.alpha;
    let family_floor = pending
        .iter()
        .filter_map(|p| p.test.as_ref().ok())
        .map(tested_floor)
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
                per_seed: p.units.points,
                threshold: p.units.threshold,
            };
            match p.test {
                Err(reason) => result.reason = reason,
                Ok(t) => {
                    result.p_holds = Some(t.holds);
                    result.p_fails = t.fails;
                    result.p_adjusted = Some(adjusted);
                    let floor = tested_floor(&t);
                    result.p_floor = Some(floor);
                    // No Holm-adjusted p goes below m × the family's smallest p (its first
                    // step), nor below the test's own p: the bound uses both floors.
                    let smallest = floor.max(m as f64 * family_floor).min(1.0);
                    let towards_holds = t.fails.is_none_or(|f| t.holds <= f);
                    if adjusted < alpha && towards_holds {
                        result.verdict = Verdict::Holds;
                        result.reason = format!("holds at α = {alpha} after Holm over {m} claims{past_gate}");
                    } else if adjusted < alpha {
                        result.verdict = Verdict::Fails;
                        result.reason = format!("fails at α = {alpha} after Holm over {m} claims{past_gate}");
                    } else if smallest >= alpha {
                        result.reason = format!(
                            "the design cannot reach α = {alpha}: a test's smallest p-value is \
                             {floor:.4}, at least {smallest:.3} after Holm over {m} claims; more seeds \
                             (calibration resamples) or fewer decided claims are needed"
                        );
                    } else {
                        result.reason = format!(
                            "neither direction is significant at α = {alpha} after Holm over {m} claims{past_gate}"
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

/// Cohen's d_z of per-unit differences: mean over standard deviation. With no spread it is 0
/// when every unit is 0 (no effect, not an infinite one) and ±∞ otherwise; `NaN` with fewer
/// than two units.
pub(super) fn effect_size(d: &[f64]) -> f64 {
    if d.len() < 2 {
        return f64::NAN;
    }
    let m = mean(d);
    let sd = crate::stats::std_dev(d);
    if sd > 0.0 {
        m / sd
    } else if m == 0.0 {
        0.0
    } else {
        m.signum() * f64::INFINITY
    }
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
    use crate::suite::claims::testing::{objective_decides, search_decides, settings, verdicts};
    use crate::suite::claims::{Claim, ClaimSettings, Verdict};

    /// d_z of units that are all 0 is 0 (no effect), not +∞ as `0.0.signum()` (= 1) made it;
    /// a constant nonzero effect is still ±∞, and one unit has no spread to divide by.
    #[test]
    fn effect_size_of_all_zero_units_is_zero() {
        use super::effect_size;
        assert_eq!(effect_size(&[0.0; 6]), 0.0);
        assert_eq!(effect_size(&[0.0, -0.0, 0.0]), 0.0);
        assert_eq!(effect_size(&[0.2; 4]), f64::INFINITY);
        assert_eq!(effect_size(&[-0.2; 4]), f64::NEG_INFINITY);
        assert!((effect_size(&[1.0, 2.0, 3.0]) - 2.0).abs() < 1e-12);
        assert!(effect_size(&[1.0]).is_nan());
    }

    /// A secondary claim with two directions enters Holm two-sided: with one secondary decided
    /// alone, its adjusted p is twice its smaller one-sided p.
    #[test]
    fn secondaries_enter_holm_two_sided() {
        let one = ClaimSettings {
            test: Some(vec![Claim::SearchersConverge]),
            ..settings()
        };
        let c = &verdicts(&objective_decides(12), &one)["searchers_converge"];
        let smaller = c.p_holds.unwrap().min(c.p_fails.unwrap());
        assert_eq!(c.p_adjusted, Some(2.0 * smaller));
    }

    /// The secondary claims alone: Holm over them, no gate.
    fn secondaries() -> ClaimSettings {
        ClaimSettings {
            test: Some(
                Claim::ALL
                    .into_iter()
                    .filter(|c| c.is_study() && !c.is_primary())
                    .collect(),
            ),
            ..settings()
        }
    }

    /// Five seeds and eight secondary claims: no Holm-adjusted p can fall below α, and the
    /// reason says so.
    #[test]
    fn a_design_that_cannot_reach_alpha_is_inconclusive() {
        let v = verdicts(&objective_decides(5), &secondaries());
        let c = &v["searchers_converge"];
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_eq!(c.p_holds, Some(1.0 / 32.0));
        assert!(c.reason.contains("cannot reach"), "{}", c.reason);
        // Deciding one claim alone, two-sided, six seeds suffice (floor 2 · 2⁻⁶), five do not.
        let one = ClaimSettings {
            test: Some(vec![Claim::SearchersConverge]),
            ..settings()
        };
        let v = verdicts(&objective_decides(5), &one);
        assert_eq!(v["searchers_converge"].verdict, Verdict::Inconclusive);
        assert_eq!(v["searchers_converge"].p_floor, Some(2.0 / 32.0));
        let v = verdicts(&objective_decides(6), &one);
        assert_eq!(v["searchers_converge"].verdict, Verdict::Holds);
        assert!(!v.contains_key("objective_shapes_patterns"));
    }

    /// "Cannot reach α" bounds the adjusted p by the family's smallest floor as well as the
    /// claim's own: with 5 seeds a two-sided sign-flip floor of 2/32 and 8 claims, a claim
    /// whose own floor is larger still reads the bound it really has.
    #[test]
    fn the_unreachable_bound_uses_the_familys_smallest_floor() {
        let v = verdicts(&objective_decides(5), &secondaries());
        let unreachable: Vec<_> = v
            .values()
            .filter(|c| c.reason.contains("cannot reach"))
            .collect();
        assert!(unreachable.len() >= 2, "{v:?}");
        for c in unreachable {
            let floor = c.p_floor.unwrap();
            let bound = floor.clamp(8.0 * 2.0 / 32.0, 1.0);
            assert!(
                c.reason.contains(&format!("at least {bound:.3}")),
                "{}: {}",
                c.claim,
                c.reason
            );
        }
    }

    /// Five seeds: the first primary cannot be decided, so the sequence stops there, the later
    /// primary is not reached and the gate stays closed: no secondary claim is tested, however
    /// small its own p.
    #[test]
    fn an_undecided_primary_closes_the_gate() {
        let v = verdicts(&objective_decides(5), &settings());
        let first = &v["sample_over_search"];
        assert_eq!(first.verdict, Verdict::Inconclusive);
        assert!(
            first.reason.contains("sequence stops here"),
            "{}",
            first.reason
        );
        assert!(v["objective_over_search"].reason.contains("not reached"));
        for c in v.values().filter(|c| c.p_holds.is_some()) {
            if !Claim::from_name(&c.claim).is_some_and(|c| c.is_primary()) {
                assert_eq!(c.verdict, Verdict::Inconclusive, "{c:?}");
                assert!(c.reason.contains("gate is closed"), "{}", c.reason);
            }
        }
    }

    /// Twelve seeds: both primaries decided (hold, or fail), so the gate opens and Holm runs
    /// over the eight secondaries; the sequence's adjusted p is its running maximum.
    #[test]
    fn decided_primaries_open_the_gate() {
        for (records, verdict) in [
            (objective_decides(12), Verdict::Holds),
            (search_decides(), Verdict::Fails),
        ] {
            let v = verdicts(&records, &settings());
            let (a, b) = (&v["sample_over_search"], &v["objective_over_search"]);
            assert_eq!((a.verdict, b.verdict), (verdict, verdict), "{a:?}\n{b:?}");
            assert!(b.p_adjusted >= a.p_adjusted);
            let c = &v["searchers_converge"];
            assert!(c.reason.contains("past the gate of 2"), "{}", c.reason);
            assert!(c.reason.contains("over 8 claims"), "{}", c.reason);
            assert!(c.verdict != Verdict::Inconclusive, "{c:?}");
        }
    }

    /// Every claim tested over units reports them, with the value they are compared with, so
    /// that the verdict figure can draw them and `power` size the claim: a value per seed, or
    /// per seed pair for objective_over_search. objective_beyond_resampling has none.
    #[test]
    fn claims_report_their_units_and_threshold() {
        let v = verdicts(&objective_decides(12), &settings());
        for claim in Claim::ALL.into_iter().filter(|c| c.is_study()) {
            let c = &v[claim.as_str()];
            let expected = match claim {
                Claim::ObjectiveBeyondResampling => 0,
                Claim::ObjectiveOverSearch | Claim::SampleOverSearch => 6,
                _ => 12,
            };
            assert_eq!(c.per_seed.len(), expected, "{c:?}");
            assert_eq!(c.threshold.is_some(), expected > 0, "{c:?}");
        }
        let s = settings();
        assert_eq!(
            v["searchers_converge"].threshold,
            Some(s.min_cross_searcher_agreement)
        );
        assert_eq!(v["marginal_gains"].threshold, Some(s.max_relative_gain));
        let r = &v["rankings_disagree"];
        assert_eq!(r.threshold, Some(r.statistics["threshold_times_ceiling"]));
        assert_eq!(
            v["objective_shapes_patterns"].threshold,
            Some(s.share_margin)
        );
    }
}
