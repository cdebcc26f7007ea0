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
    }
}

pub(super) fn verdicts(records: &[RunRecord], s: &ClaimSettings) -> BTreeMap<String, ClaimResult> {
    evaluate_claims(records, &heldout_kinds(), s, 0)
        .into_iter()
        .map(|c| (c.claim.clone(), c))
        .collect()
}

/// Every searcher picks {1,2,3} under perplexity and {7,8,9} under accuracy, whatever the
/// seed; the rest of each ranking is noise. The held-out outcomes follow the objective.
pub(super) fn objective_decides(seeds: u64) -> Vec<RunRecord> {
    let mut rng = rng_for(1, "test/objective-decides");
    let mut records = Vec::new();
    for seed in 0..seeds {
        let jitter = |rng: &mut rand_chacha::ChaCha8Rng| rng.random_range(-0.01..0.01);
        for searcher in SEARCHERS {
            // Random search misses one block at odd seeds, so not everything is identical.
            let off = searcher == "random" && seed % 2 == 1;
            let (ppl_set, acc_set) = if off {
                ([1, 2, 4], [7, 8, 10])
            } else {
                ([1, 2, 3], [7, 8, 9])
            };
            let r = ranking(&[1, 2, 3], &mut rng, false);
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
            let r = ranking(&[9, 8, 7], &mut rng, false);
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
