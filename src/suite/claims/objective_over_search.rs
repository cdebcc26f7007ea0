//! Primary claim 2, about the **objective**: the objectives disagree beyond what their measured
//! unreliability explains, by more than the searchers disagree beyond theirs.
//!
//! A noisier objective moves the chosen set from sample to sample, so it also "disagrees" with
//! any other objective; comparing raw cross-objective agreement with anything cannot tell a
//! different objective from a noisier one. What tells them apart is the **vanishing tetrad** of
//! a one-factor model. Take a unit of two independent calibration samples (s, s′) and, for one
//! searcher, the four runs A_s, A_s′, B_s, B_s′ of objectives A and B (each objective draws its
//! own sample at each seed, so the four samples are independent; a stochastic searcher's A_s and
//! B_s share its random path, which by symmetry leaves the tetrad's null at 0). Let κ(x, y) be the
//! chance-corrected Jaccard of two runs' chosen sets (0 for unrelated sets: the zero a product
//! of agreements needs). If A and B aim at one target with independent noise, agreement
//! factorises as in Spearman's attenuation, κ(A, A′) ≈ λ_A², κ(B, B′) ≈ λ_B², and
//! κ(A, B′) ≈ κ(B, A′) ≈ λ_A λ_B, so the tetrad
//!
//! `t = κ(A_s, A_s′) · κ(B_s, B_s′) − κ(A_s, B_s′) · κ(B_s, A_s′)`
//!
//! is 0 in expectation: the agreement the noise allows, κ_A κ_B, equals the squared
//! cross-objective agreement. Different targets make it positive. Unlike the disattenuated
//! ratio κ_AB / √(κ_A κ_B) it divides by nothing, so it stays in about [−1, 1] and does not
//! explode where a reliability is small; given the target, its two products are products of
//! independent pairs, so their expectations factorise with no bias from multiplying two noisy
//! estimates. The same tetrad over two searchers of one objective measures how far the
//! searchers disagree beyond their noise (≥ 0 in expectation: 0 when they aim at one target).
//!
//! **Unit: a disjoint pair of calibration resamples** (the seeds in order, an odd last one left
//! out and said so): a tetrad needs two samples, and no seed is in two units, so units are
//! independent. Per unit: `d = mean objective tetrad (over searchers and pairs of objectives) −
//! mean searcher tetrad (over objectives and pairs of searchers)`. Holds when `d > 0`, fails
//! when `d < 0`; exact two-sided sign-flip test over units (floor `2 · 2⁻ᵘ`), second in the
//! fixed sequence of primaries.
//!
//! **Why it controls the error.** Under the null "one target, independent noise" the objective
//! tetrad has expectation 0 whatever the two reliabilities (up to the nonlinearity of top-k
//! sets, which the simulation below bounds), and the searcher tetrad's is ≥ 0, so `d` is
//! centred at or below 0 and "holds" is rejected at most at α/2. Validated by simulation in
//! this file's tests, at the decisive suite's measured reliabilities (perplexity τ 0.56 / 0.66,
//! accuracy τ 0.10 / 0.19 on SmolLM2 / Gemma 3): the simulated rate of "holds" stays at or
//! below about α (0.015 to 0.035 over 200 suites per case), where the previous definition
//! (searcher change − objective change, both across samples) held in 0.385 of them. The
//! price: an objective near noise (κ ≈ 0) makes its tetrad ≈ 0 whatever its target, so the
//! claim then has no power to hold, which is the honest answer ("not shown to differ beyond
//! noise").

use std::collections::BTreeMap;

use super::procedure::{close_paired_difference, put_spread, Tested};
use super::table::{pairs, RunTable};
use super::ClaimSettings;
use crate::stats::mean;

/// The units: disjoint consecutive pairs of the suite's seeds.
pub(super) fn seed_pairs(seeds: &[u64]) -> Vec<(u64, u64)> {
    seeds.chunks_exact(2).map(|c| (c[0], c[1])).collect()
}

/// The units of a claim over pairs of calibration samples: at least two, an odd last seed
/// reported as `seed_left_out`.
pub(super) fn pair_units(
    table: &RunTable,
    stats: &mut BTreeMap<String, f64>,
) -> Result<Vec<(u64, u64)>, String> {
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
    Ok(units)
}

/// One unit's agreements and tetrads.
#[derive(Debug, Clone, Copy)]
pub(super) struct UnitTetrads {
    /// Mean objective tetrad, over searchers and pairs of objectives.
    pub(super) objective: f64,
    /// Mean searcher tetrad, over objectives and pairs of searchers.
    pub(super) searcher: f64,
    /// Mean κ of one objective and searcher across the two samples (the reliability).
    pub(super) resample_kappa: f64,
    /// Mean κ of two objectives (one searcher) across the two samples.
    pub(super) cross_objective_kappa: f64,
}

/// The tetrad of runs x, y of one factor level and u, v of another, each pair across the
/// unit's two samples: κ(x_s, x_t) κ(u_s, u_t) − κ(x_s, u_t) κ(u_s, x_t).
fn tetrad(table: &RunTable, x: (&str, &str), u: (&str, &str), s: u64, t: u64) -> Option<f64> {
    let k = |a: (&str, &str), b: (&str, &str), p: u64, q: u64| {
        table.kappa((a.0, a.1, p), (b.0, b.1, q))
    };
    Some(k(x, x, s, t)? * k(u, u, s, t)? - k(x, u, s, t)? * k(u, x, s, t)?)
}

pub(super) fn unit_tetrads(table: &RunTable, s: u64, t: u64) -> Option<UnitTetrads> {
    let (os, sr) = (&table.objectives, &table.searchers);
    let collect = |v: Vec<Option<f64>>| -> Option<f64> {
        let v: Option<Vec<f64>> = v.into_iter().collect();
        v.filter(|v| !v.is_empty()).map(|v| mean(&v))
    };
    let objective = collect(
        sr.iter()
            .flat_map(|&a| {
                pairs(os)
                    .into_iter()
                    .map(move |(o, p)| tetrad(table, (o, a), (p, a), s, t))
            })
            .collect(),
    )?;
    let searcher = collect(
        os.iter()
            .flat_map(|&o| {
                pairs(sr)
                    .into_iter()
                    .map(move |(a, b)| tetrad(table, (o, a), (o, b), s, t))
            })
            .collect(),
    )?;
    let resample_kappa = collect(
        os.iter()
            .flat_map(|&o| sr.iter().map(move |&a| table.kappa((o, a, s), (o, a, t))))
            .collect(),
    )?;
    let cross_objective_kappa = collect(
        sr.iter()
            .flat_map(|&a| {
                pairs(os).into_iter().flat_map(move |(o, p)| {
                    [
                        table.kappa((o, a, s), (p, a, t)),
                        table.kappa((p, a, s), (o, a, t)),
                    ]
                })
            })
            .collect(),
    )?;
    Some(UnitTetrads {
        objective,
        searcher,
        resample_kappa,
        cross_objective_kappa,
    })
}

pub(super) fn objective_over_search(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    if table.objectives.len() < 2 || table.searchers.len() < 2 {
        return Err("needs two objectives and two searchers".into());
    }
    let units = pair_units(table, stats)?;
    let (mut ot, mut st, mut rk, mut ck, mut per_unit) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &(x, y) in &units {
        let u = unit_tetrads(table, x, y).ok_or_else(|| format!("seeds {x}, {y} lack runs"))?;
        ot.push(u.objective);
        st.push(u.searcher);
        rk.push(u.resample_kappa);
        ck.push(u.cross_objective_kappa);
        per_unit.push((x, u.objective - u.searcher));
    }
    put_spread(stats, "objective_tetrad", &ot, s.alpha);
    put_spread(stats, "searcher_tetrad", &st, s.alpha);
    put_spread(stats, "resample_agreement", &rk, s.alpha);
    put_spread(stats, "cross_objective_agreement", &ck, s.alpha);
    // Per objective, its own agreement across samples (κ, chance-corrected), for reading the
    // tetrad: an objective near 0 here cannot make its tetrad positive.
    for &o in &table.objectives {
        let k: Vec<f64> = units
            .iter()
            .flat_map(|&(x, y)| {
                table
                    .searchers
                    .iter()
                    .filter_map(move |&a| table.kappa((o, a, x), (o, a, y)))
            })
            .collect();
        if !k.is_empty() {
            stats.insert(format!("resample_agreement/{o}"), mean(&k));
        }
    }
    close_paired_difference(stats, per_unit, table.chance, s.alpha)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{objective_over_search, seed_pairs};
    use crate::suite::claims::table::RunTable;
    use crate::suite::claims::testing::{
        heldout_kinds, objective_decides, search_decides, settings, simulated_suite, verdicts,
        Simulated,
    };
    use crate::suite::claims::Verdict;
    use crate::suite::run::RunRecord;

    #[test]
    fn units_are_disjoint_seed_pairs() {
        assert_eq!(seed_pairs(&[0, 1, 2, 3, 4]), vec![(0, 1), (2, 3)]);
    }

    /// Two objectives with disjoint targets, each reproducing two of its three blocks across
    /// samples: every unit's objective tetrad is κ² − κ₀² > 0 (κ₀ the chance-corrected Jaccard
    /// of disjoint sets), and the searchers agree.
    #[test]
    fn holds_when_the_objective_decides() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["objective_over_search"];
        assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
        assert_eq!(c.p_adjusted, Some(2.0 / 64.0));
        assert_eq!(c.statistics["units"], 6.0);
        assert!(c.statistics["objective_tetrad/mean"] > 0.05, "{c:?}");
        assert_eq!(c.statistics["searcher_tetrad/mean"], 0.0, "{c:?}");
    }

    #[test]
    fn fails_when_the_searcher_decides() {
        let v = verdicts(&search_decides(), &settings());
        let c = &v["objective_over_search"];
        assert_eq!(c.verdict, Verdict::Fails, "{c:?}");
    }

    /// The share of `suites` simulated suites in which the claim holds (two-sided at α), and
    /// the mean cross-seed τ of each objective's one-shot rankings they reached.
    fn rate_of_holds(sim: &Simulated, suites: u64) -> (f64, [f64; 2]) {
        let s = settings();
        let heldout = heldout_kinds();
        let (mut holds, mut taus) = (0usize, [0.0; 2]);
        for suite in 0..suites {
            let records = simulated_suite(sim, suite);
            let runs: Vec<&RunRecord> = records.iter().collect();
            let table = RunTable::new(&runs, &heldout);
            let mut stats = BTreeMap::new();
            let (test, _) = objective_over_search(&table, &s, &mut stats).unwrap();
            let fails = test.fails.unwrap();
            holds += (2.0 * test.holds.min(fails) < s.alpha && test.holds <= fails) as usize;
            for (i, o) in ["ppl", "acc"].into_iter().enumerate() {
                taus[i] += cross_seed_tau(&table, o) / suites as f64;
            }
        }
        (holds as f64 / suites as f64, taus)
    }

    fn cross_seed_tau(table: &RunTable, o: &str) -> f64 {
        use crate::suite::claims::table::{pairs, tau_between};
        let taus: Vec<f64> = pairs(&table.seeds)
            .into_iter()
            .map(|(x, y)| {
                tau_between(
                    table.get(o, "one_shot", x).unwrap(),
                    table.get(o, "one_shot", y).unwrap(),
                )
            })
            .collect();
        crate::stats::mean(&taus)
    }

    const SUITES: u64 = 200;

    /// With `min_objective_reliability`, an objective below it leaves the claim undecided on
    /// that model, naming the objective, while the tetrads are still reported; two objectives
    /// above it are decided as without the gate.
    #[test]
    fn an_objective_below_the_reliability_asked_leaves_the_claim_undecided() {
        let gated = crate::suite::claims::ClaimSettings {
            min_objective_reliability: Some(0.6),
            ..settings()
        };
        let noisy = Simulated {
            tau: [0.7, 0.2],
            same_target: false,
            ..Simulated::default()
        };
        let v = verdicts(&simulated_suite(&noisy, 0), &gated);
        let c = &v["objective_over_search"];
        assert_eq!(c.verdict, Verdict::Inconclusive, "{c:?}");
        assert!(
            c.reason.contains("'acc' at cross-seed τ") && c.reason.contains("below the 0.6"),
            "{c:?}"
        );
        assert!(c.statistics.contains_key("objective_tetrad/mean"), "{c:?}");
        // Its units are kept, so `depthprune power` can size the next suite from them.
        assert!(!c.per_seed.is_empty(), "{c:?}");
        for claim in ["objective_shapes_patterns", "objective_beyond_resampling"] {
            assert!(v[claim].reason.contains("below the 0.6"), "{:?}", v[claim]);
        }

        // Both above the bar but far apart: with a gap asked, undecided, naming both.
        let apart = crate::suite::claims::ClaimSettings {
            max_reliability_gap: Some(0.2),
            ..gated.clone()
        };
        let unequal = Simulated {
            tau: [0.95, 0.65],
            same_target: false,
            ..Simulated::default()
        };
        let c = &verdicts(&simulated_suite(&unequal, 0), &apart)["objective_over_search"];
        assert_eq!(c.verdict, Verdict::Inconclusive, "{c:?}");
        assert!(c.reason.contains("differ in reliability"), "{c:?}");

        let reliable = Simulated {
            tau: [0.8, 0.8],
            same_target: false,
            ..Simulated::default()
        };
        let records = simulated_suite(&reliable, 0);
        assert_eq!(
            verdicts(&records, &gated)["objective_over_search"].verdict,
            verdicts(&records, &settings())["objective_over_search"].verdict
        );
        assert_eq!(
            verdicts(&records, &apart)["objective_over_search"].verdict,
            verdicts(&records, &settings())["objective_over_search"].verdict
        );
    }

    /// (a) Two reliable objectives (τ 0.7 each) with independent targets: the claim holds in
    /// most simulated suites (its power, not a guarantee).
    #[test]
    fn simulated_different_targets_hold() {
        let sim = Simulated {
            tau: [0.7, 0.7],
            same_target: false,
            ..Simulated::default()
        };
        let (rate, taus) = rate_of_holds(&sim, SUITES);
        eprintln!("different targets, τ {taus:?}: holds in {rate:.3} of {SUITES} suites");
        assert!((taus[0] - 0.7).abs() < 0.05, "{taus:?}");
        assert!(rate >= 0.8, "power {rate}");
    }

    /// (b) One target at the decisive suite's measured, unequal reliabilities (perplexity
    /// τ 0.56 and accuracy 0.10 on SmolLM2; 0.66 and 0.19 on Gemma 3, 16 removable blocks):
    /// the claim must not hold beyond about α. The simulated τ is checked against the target,
    /// so the noise is the one measured.
    #[test]
    fn simulated_one_target_at_unequal_noise_rarely_holds() {
        for (tau, blocks) in [([0.56, 0.10], 28), ([0.66, 0.19], 16)] {
            let sim = Simulated {
                tau,
                blocks,
                same_target: true,
                ..Simulated::default()
            };
            let (rate, taus) = rate_of_holds(&sim, SUITES);
            eprintln!(
                "one target, τ {taus:?}, {blocks} blocks: holds in {rate:.3} of {SUITES} suites"
            );
            for i in 0..2 {
                assert!((taus[i] - tau[i]).abs() < 0.05, "{taus:?} vs {tau:?}");
            }
            assert!(rate <= 0.1, "false positives {rate} at τ {tau:?}");
        }
    }

    /// The simulation can see a biased test: the previous definition (J of a searcher change
    /// minus J of an objective change, both across two samples, per disjoint seed pair) holds
    /// far more often than α at SmolLM2's measured reliabilities with one target, because a
    /// noisier objective's sets disagree with everything.
    #[test]
    fn simulated_the_previous_definition_held_for_one_target_at_unequal_noise() {
        use crate::stats::sign_flip_greater;
        let sim = Simulated {
            tau: [0.56, 0.10],
            same_target: true,
            ..Simulated::default()
        };
        let heldout = heldout_kinds();
        let mut holds = 0usize;
        for suite in 0..SUITES {
            let records = simulated_suite(&sim, suite);
            let runs: Vec<&RunRecord> = records.iter().collect();
            let t = RunTable::new(&runs, &heldout);
            let d: Vec<f64> = seed_pairs(&t.seeds)
                .into_iter()
                .map(|(x, y)| {
                    let both = [(x, y), (y, x)];
                    let searcher = t
                        .mean_jaccard(both.iter().flat_map(|&(p, q)| {
                            ["ppl", "acc"].into_iter().flat_map(move |o| {
                                [("one_shot", "greedy"), ("greedy", "one_shot")]
                                    .into_iter()
                                    .map(move |(a, b)| ((o, a, p), (o, b, q)))
                            })
                        }))
                        .unwrap();
                    let objective = t
                        .mean_jaccard(both.iter().flat_map(|&(p, q)| {
                            ["one_shot", "greedy"].into_iter().flat_map(move |a| {
                                [("ppl", "acc"), ("acc", "ppl")]
                                    .into_iter()
                                    .map(move |(o, r)| ((o, a, p), (r, a, q)))
                            })
                        }))
                        .unwrap();
                    searcher - objective
                })
                .collect();
            let up = sign_flip_greater(&d).unwrap().p;
            let down = sign_flip_greater(&d.iter().map(|x| -x).collect::<Vec<_>>())
                .unwrap()
                .p;
            holds += (2.0 * up.min(down) < 0.05 && up <= down) as usize;
        }
        let rate = holds as f64 / SUITES as f64;
        eprintln!("previous definition, one target, τ [0.56, 0.10]: holds in {rate:.3} of {SUITES} suites");
        assert!(rate >= 0.3, "{rate}");
    }

    /// (c) One objective under two names at equal noise: never beyond about α.
    #[test]
    fn simulated_one_objective_under_two_names_rarely_holds() {
        for tau in [0.56, 0.10] {
            let sim = Simulated {
                tau: [tau, tau],
                same_target: true,
                ..Simulated::default()
            };
            let (rate, _) = rate_of_holds(&sim, SUITES);
            eprintln!(
                "one objective under two names, τ {tau}: holds in {rate:.3} of {SUITES} suites"
            );
            assert!(rate <= 0.1, "false positives {rate} at τ {tau}");
        }
    }

    /// The objective tetrad is bounded: every agreement is in [−1, 1], so a product of two is
    /// too, and no unit can leave [−2, 2] (no ratio over a small reliability).
    #[test]
    fn the_tetrads_stay_bounded_at_small_reliabilities() {
        let sim = Simulated {
            tau: [0.05, 0.05],
            ..Simulated::default()
        };
        let s = settings();
        let heldout = heldout_kinds();
        let records = simulated_suite(&sim, 1);
        let runs: Vec<&RunRecord> = records.iter().collect();
        let table = RunTable::new(&runs, &heldout);
        let mut stats = BTreeMap::new();
        let (_, units) = objective_over_search(&table, &s, &mut stats).unwrap();
        assert_eq!(units.points.len(), 12);
        assert!(
            units.points.iter().all(|(_, d)| d.abs() <= 2.0),
            "{units:?}"
        );
    }
}
