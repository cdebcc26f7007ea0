//! Synthetic runs for the claims' unit tests: designs where the objective decides, where the
//! search decides, and the pieces to build others.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::Rng;

use super::{evaluate_claims, ClaimResult, ClaimSettings};
use crate::objective::Direction;
use crate::rng::rng_for;
use crate::suite::run::RunRecord;

pub(super) const SEARCHERS: [&str; 4] = ["one_shot", "greedy", "random", "local"];
pub(super) const N_BLOCKS: usize = 12;

pub(super) fn settings() -> ClaimSettings {
    ClaimSettings {
        alpha: 0.05,
        permutations: 199,
        min_cross_searcher_agreement: 0.5,
        max_ranking_tau: 0.5,
        max_relative_gain: 0.05,
        share_margin: 0.1,
        min_objective_reliability: None,
        max_reliability_gap: None,
        test: None,
        predicted: BTreeMap::new(),
        expected: BTreeMap::new(),
    }
}

pub(super) fn heldout_kinds() -> BTreeMap<String, Direction> {
    BTreeMap::from([
        ("ppl".to_string(), Direction::Minimize),
        ("acc".to_string(), Direction::Maximize),
    ])
}

/// A ranking that starts with `first` and goes on with a seeded shuffle of the rest (or, with
/// `noise` = false, the rest ascending).
pub(super) fn ranking(first: &[usize], rng: &mut impl Rng, noise: bool) -> Vec<usize> {
    let mut rest: Vec<usize> = (0..N_BLOCKS).filter(|b| !first.contains(b)).collect();
    if noise {
        rest.shuffle(rng);
    }
    first.iter().copied().chain(rest).collect()
}

#[allow(clippy::too_many_arguments)]
pub(super) fn record(
    objective: &str,
    searcher: &str,
    seed: u64,
    removed: &[usize],
    ranking: Vec<usize>,
    calibration_ppl: f64,
    heldout_ppl: f64,
    heldout_acc: f64,
) -> RunRecord {
    let mut removed = removed.to_vec();
    removed.sort_unstable();
    RunRecord {
        model: "m".into(),
        objective: objective.into(),
        objective_key: objective.into(),
        direction: if objective.starts_with("ppl") {
            Direction::Minimize
        } else {
            Direction::Maximize
        },
        searcher: searcher.into(),
        seed,
        k: removed.len(),
        removed,
        ranking,
        score: 0.0,
        evaluations: 1,
        seconds: 0.0,
        starts_from_one_shot: false,
        best_so_far: vec![],
        calibration: BTreeMap::from([("ppl".to_string(), calibration_ppl)]),
        heldout: BTreeMap::from([
            ("ppl".to_string(), heldout_ppl),
            ("acc".to_string(), heldout_acc),
        ]),
        scored: Vec::new(),
    }
}

pub(super) fn verdicts(records: &[RunRecord], s: &ClaimSettings) -> BTreeMap<String, ClaimResult> {
    evaluate_claims(records, &heldout_kinds(), s, 0)
        .into_iter()
        .map(|c| (c.claim.clone(), c))
        .collect()
}

/// Every searcher picks {1, 2, x} under perplexity and {7, 8, y} under accuracy, where the
/// third block depends on the calibration sample (x = 3 + seed mod 3, y = 9 + seed mod 3): the
/// objective decides most of the set, the sample the rest, the searcher nothing (random search
/// misses one block at odd seeds, so not everything is identical). The held-out outcomes follow
/// the objective.
pub(super) fn objective_decides(seeds: u64) -> Vec<RunRecord> {
    let mut rng = rng_for(1, "test/objective-decides");
    let mut records = Vec::new();
    for seed in 0..seeds {
        let jitter = |rng: &mut rand_chacha::ChaCha8Rng| rng.random_range(-0.01..0.01);
        let (x, y) = (3 + (seed % 3) as usize, 9 + (seed % 3) as usize);
        for searcher in SEARCHERS {
            let off = searcher == "random" && seed % 2 == 1;
            let (ppl_set, acc_set) = if off {
                ([1, 6, x], [0, 8, y])
            } else {
                ([1, 2, x], [7, 8, y])
            };
            let r = ranking(&ppl_set, &mut rng, false);
            let (p, h, a) = (20.0 + jitter(&mut rng), 30.0 + jitter(&mut rng), 0.4);
            records.push(record(
                "ppl",
                searcher,
                seed,
                &ppl_set,
                r,
                p,
                h,
                a + jitter(&mut rng),
            ));
            let r = ranking(&[acc_set[2], acc_set[1], acc_set[0]], &mut rng, false);
            let (p, h, a) = (60.0 + jitter(&mut rng), 80.0 + jitter(&mut rng), 0.5);
            records.push(record(
                "acc",
                searcher,
                seed,
                &acc_set,
                r,
                p,
                h,
                a + jitter(&mut rng),
            ));
        }
    }
    records
}

/// Each searcher picks its own set whatever the objective (three blocks of its own), and
/// greedy gains 10 % held-out; calibration perplexity follows the searcher.
pub(super) fn search_decides() -> Vec<RunRecord> {
    let mut rng = rng_for(2, "test/search-decides");
    let mut records = Vec::new();
    for seed in 0..12 {
        for (i, searcher) in SEARCHERS.iter().enumerate() {
            let set = [3 * i, 3 * i + 1, 3 * i + 2];
            let gain = if *searcher == "greedy" { 0.9 } else { 1.0 };
            for objective in ["ppl", "acc"] {
                let j = rng.random_range(-0.01..0.01);
                let r = ranking(&set, &mut rng, false);
                records.push(record(
                    objective,
                    searcher,
                    seed,
                    &set,
                    r,
                    20.0 * (1.0 + i as f64) + j,
                    30.0 * gain + j,
                    0.4 / gain + j,
                ));
            }
        }
    }
    records
}

/// A synthetic suite for simulating the claims' error rates: two objectives ("ppl", "acc")
/// score every block as a target importance plus the calibration sample's noise; one-shot
/// removes the `k` blocks scored lowest, greedy the same after its own small perturbation (a
/// searcher that aims at the objective's target, with noise of its own).
#[derive(Debug, Clone)]
pub(super) struct Simulated {
    /// Each objective's cross-seed Kendall τ of one-shot rankings (its reliability): the
    /// sample noise is set so that two samples' scores correlate at ρ = sin(πτ/2), the
    /// Gaussian relation between τ and ρ.
    pub(super) tau: [f64; 2],
    /// Both objectives aim at one target importance (else: independent targets).
    pub(super) same_target: bool,
    /// Every seed draws the same sample (the sample noise is drawn once per objective).
    pub(super) same_sample: bool,
    pub(super) seeds: u64,
    pub(super) blocks: usize,
    pub(super) k: usize,
    /// Standard deviation of greedy's own perturbation, in units of the target's.
    pub(super) searcher_noise: f64,
}

impl Default for Simulated {
    /// The decisive suite's shape on SmolLM2: 24 seeds, 28 removable blocks, k = 3.
    fn default() -> Self {
        Simulated {
            tau: [0.56, 0.10],
            same_target: false,
            same_sample: false,
            seeds: 24,
            blocks: 28,
            k: 3,
            searcher_noise: 0.3,
        }
    }
}

/// The blocks in ascending order of `score`: a ranking, lowest (removed first) first.
fn argsort(score: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    order
}

/// One simulated suite's runs (one-shot and greedy × two objectives × seeds), drawn from
/// `suite` (the simulated study's own seed).
pub(super) fn simulated_suite(sim: &Simulated, suite: u64) -> Vec<RunRecord> {
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rng_for(suite, "test/simulated-suite");
    let normals = |n: usize, sd: f64, rng: &mut rand_chacha::ChaCha8Rng| -> Vec<f64> {
        (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                sd * z
            })
            .collect()
    };
    let target_a = normals(sim.blocks, 1.0, &mut rng);
    let target_b = if sim.same_target {
        target_a.clone()
    } else {
        normals(sim.blocks, 1.0, &mut rng)
    };
    let noise_sd = |tau: f64| {
        let rho = (std::f64::consts::FRAC_PI_2 * tau).sin();
        (1.0 / rho - 1.0).sqrt()
    };
    let fixed: Vec<Vec<f64>> = (0..2)
        .map(|o| normals(sim.blocks, noise_sd(sim.tau[o]), &mut rng))
        .collect();
    let mut records = Vec::new();
    for seed in 0..sim.seeds {
        for (o, (name, target)) in [("ppl", &target_a), ("acc", &target_b)]
            .into_iter()
            .enumerate()
        {
            let noise = if sim.same_sample {
                fixed[o].clone()
            } else {
                normals(sim.blocks, noise_sd(sim.tau[o]), &mut rng)
            };
            let score: Vec<f64> = target.iter().zip(&noise).map(|(t, e)| t + e).collect();
            for searcher in ["one_shot", "greedy"] {
                let own = normals(
                    sim.blocks,
                    if searcher == "greedy" {
                        sim.searcher_noise
                    } else {
                        0.0
                    },
                    &mut rng,
                );
                let seen: Vec<f64> = score.iter().zip(&own).map(|(s, e)| s + e).collect();
                let ranking = argsort(&seen);
                let removed = ranking[..sim.k].to_vec();
                records.push(record(
                    name, searcher, seed, &removed, ranking, 20.0, 30.0, 0.4,
                ));
            }
        }
    }
    records
}
