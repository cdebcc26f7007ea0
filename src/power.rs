//! How many calibration resamples a claim needs: the power of its sign-flip test at each
//! number of units, simulated from a pilot's per-unit statistics.
//!
//! **Model.** A claim's test runs over independent units (calibration resamples, or pairs of
//! them for the primary claims), each giving one statistic `d` compared with the claim's
//! threshold. The pilot gives their mean and standard deviation; new units are drawn from a
//! normal distribution with those two moments (seeded through `rand_chacha`), the claim's own
//! test is applied at its own level, and power is the share of simulated studies in which it
//! decides in the pilot's direction. The normal model is stated, not hidden: with a pilot of
//! five units its standard deviation is itself uncertain, so `units_needed` is a planning
//! figure, and the decisive run is what decides.
//!
//! **The test.** A one-sided exact sign-flip test (all `2ᵐ` sign assignments) up to
//! [`EXACT_UNITS`] units; beyond, its normal approximation (under the null the flipped sum has
//! mean 0 and variance `Σ dᵢ²`), which is accurate there and makes a 40-unit curve cheap. A
//! two-sided test (the primary claims) rejects at half the level in either tail. No test can
//! reject below its floor (`2⁻ᵐ`, doubled when two-sided), so small `m` has power 0 by design.

use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use crate::stats::mean;

/// Up to this many units the simulated test enumerates every sign assignment.
pub const EXACT_UNITS: usize = 12;

/// What the power of a claim's test is computed for.
#[derive(Debug, Clone, Copy)]
pub struct PowerRequest {
    /// The level the claim's test runs at (α in a fixed sequence; α / m at Holm's first step).
    pub level: f64,
    /// Whether the test rejects in either direction (at `level / 2` each).
    pub two_sided: bool,
    /// The power wanted (e.g. 0.8).
    pub target: f64,
    /// Simulated studies per number of units.
    pub draws: usize,
    /// The most units tried.
    pub max_units: usize,
}

/// The power at one number of units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PowerPoint {
    pub units: usize,
    pub power: f64,
}

/// A pilot's per-unit statistics (already centred on the claim's threshold) and the power
/// curve they imply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerCurve {
    pub pilot_units: usize,
    pub mean: f64,
    pub sd: f64,
    /// Standardised effect (mean / sd), Cohen's d_z.
    pub effect_size: f64,
    /// The fewest units whose power reaches the target (`None`: not within `max_units`).
    pub units_needed: Option<usize>,
    pub curve: Vec<PowerPoint>,
}

/// The power curve of a sign-flip test on `pilot` (per-unit statistics minus the threshold).
/// `None` when the pilot has fewer than two finite units.
pub fn power_curve(
    pilot: &[f64],
    request: &PowerRequest,
    rng: &mut impl Rng,
) -> Option<PowerCurve> {
    if pilot.len() < 2 || pilot.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let m = mean(pilot);
    let sd = (pilot.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (pilot.len() - 1) as f64).sqrt();
    // The test is run in the pilot's direction, so the draws are centred on |mean|. A pilot without spread is drawn with a tiny one, so the curve stays defined.
    let normal = Normal::new(m.abs(), sd.max(1e-9 * m.abs().max(1e-12))).ok()?;
    let one_sided_level = if request.two_sided {
        request.level / 2.0
    } else {
        request.level
    };
    let mut curve = Vec::new();
    let mut units_needed = None;
    let mut d = Vec::with_capacity(request.max_units);
    for units in 1..=request.max_units {
        let power = if 0.5f64.powi(units as i32) > one_sided_level {
            0.0
        } else {
            let mut hits = 0usize;
            for _ in 0..request.draws {
                d.clear();
                d.extend((0..units).map(|_| normal.sample(rng)));
                hits += (sign_flip_p(&d) <= one_sided_level) as usize;
            }
            hits as f64 / request.draws as f64
        };
        curve.push(PowerPoint { units, power });
        if power >= request.target {
            units_needed = Some(units);
            break;
        }
    }
    Some(PowerCurve {
        pilot_units: pilot.len(),
        mean: m,
        sd,
        effect_size: if sd > 0.0 {
            m / sd
        } else {
            f64::INFINITY * m.signum()
        },
        units_needed,
        curve,
    })
}

/// One-sided sign-flip p of "d is centred above 0": exact up to [`EXACT_UNITS`], the normal
/// approximation of the same permutation distribution beyond.
fn sign_flip_p(d: &[f64]) -> f64 {
    let observed: f64 = d.iter().sum();
    if d.len() <= EXACT_UNITS {
        let tolerance = 1e-12 * d.iter().map(|x| x.abs()).sum::<f64>().max(1e-300);
        let total = 1u32 << d.len();
        let at_least = (0..total)
            .filter(|signs| {
                let s: f64 = d
                    .iter()
                    .enumerate()
                    .map(|(i, x)| if signs >> i & 1 == 1 { -x } else { *x })
                    .sum();
                s >= observed - tolerance
            })
            .count();
        return at_least as f64 / total as f64;
    }
    let variance: f64 = d.iter().map(|x| x * x).sum();
    if variance == 0.0 {
        return 1.0;
    }
    let z = observed / variance.sqrt();
    0.5 - 0.5 * statrs::function::erf::erf(z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_for;

    fn request(two_sided: bool) -> PowerRequest {
        PowerRequest {
            level: 0.05,
            two_sided,
            target: 0.8,
            draws: 400,
            max_units: 40,
        }
    }

    #[test]
    fn the_floor_sets_the_fewest_units() {
        // Every unit far above 0: power jumps to 1 as soon as the floor allows. One-sided at
        // 0.05: 2⁻⁵ = 0.031 is the first floor below it; two-sided (0.025 a tail): 2⁻⁶.
        let strong = [1.0, 1.1, 0.9, 1.05, 0.95];
        let mut rng = rng_for(0, "power-test");
        let one = power_curve(&strong, &request(false), &mut rng).unwrap();
        assert_eq!(one.units_needed, Some(5));
        assert!(one.curve[..4].iter().all(|p| p.power == 0.0));
        let two = power_curve(&strong, &request(true), &mut rng).unwrap();
        assert_eq!(two.units_needed, Some(6));
    }

    #[test]
    fn weaker_effects_need_more_units_and_no_effect_never_gets_there() {
        let mut rng = rng_for(1, "power-test");
        let medium = [0.5, -0.3, 0.9, 0.2, 0.7, -0.1]; // d_z ≈ 0.8
        let weak = [0.2, -0.5, 0.7, -0.2, 0.5, -0.3]; // d_z ≈ 0.16
        let null = [0.5, -0.5, 0.4, -0.4, 0.3, -0.3];
        let m = power_curve(&medium, &request(true), &mut rng).unwrap();
        let w = power_curve(&weak, &request(true), &mut rng).unwrap();
        let n = power_curve(&null, &request(true), &mut rng).unwrap();
        let (m_units, w_units) = (m.units_needed.unwrap(), w.units_needed);
        // A d_z of 0.8 needs about 15 units for 0.8 power two-sided at 0.05 (t-test: 15).
        assert!((10..=20).contains(&m_units), "{m_units}");
        assert!(w_units.is_none_or(|w| w > m_units), "{w_units:?}");
        assert_eq!(n.units_needed, None);
        assert!(n.curve.iter().all(|p| p.power < 0.2));
    }

    #[test]
    fn the_normal_approximation_agrees_with_the_exact_test_where_they_meet() {
        let mut rng = rng_for(2, "power-test");
        let normal = Normal::new(0.3, 1.0).unwrap();
        // Where decisions are made (exact p below 0.1), and over the whole range.
        let (mut worst_tail, mut worst): (f64, f64) = (0.0, 0.0);
        for _ in 0..400 {
            let d: Vec<f64> = (0..EXACT_UNITS).map(|_| normal.sample(&mut rng)).collect();
            let exact = sign_flip_p(&d);
            let variance: f64 = d.iter().map(|x| x * x).sum();
            let z = d.iter().sum::<f64>() / variance.sqrt();
            let approx = 0.5 - 0.5 * statrs::function::erf::erf(z / std::f64::consts::SQRT_2);
            worst = worst.max((exact - approx).abs());
            if exact < 0.1 {
                worst_tail = worst_tail.max((exact - approx).abs());
            }
        }
        eprintln!("normal approximation at {EXACT_UNITS} units: largest |exact - approx| {worst:.4}, {worst_tail:.4} where exact p < 0.1");
        assert!(worst_tail < 0.02 && worst < 0.1, "{worst_tail} {worst}");
    }
}
