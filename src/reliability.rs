//! An objective's reliability as a function of its size: how well its one-shot ranking of the
//! blocks reproduces when only the calibration sample changes (seeds), at each size (windows
//! for perplexity, questions per task for accuracy). A cross-objective comparison means nothing
//! until each objective's ranking reproduces beyond chance, so suites are sized from this curve.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::evaluator::{Evaluator, EvaluatorOptions};
use crate::model::Model;
use crate::objective::ObjectiveSpec;
use crate::progress::Progress;
use crate::scan::{one_shot_scan, Scan};
use crate::search::{order_by_scores, Problem};
use crate::stats::{chance_corrected, expected_jaccard, jaccard, kendall_tau_b, mean};

/// Reliability at one size.
#[derive(Debug, Clone, Serialize)]
pub struct ReliabilityPoint {
    /// Windows (perplexity) or questions per task (accuracy).
    pub size: usize,
    /// Tokens the objective runs per evaluation.
    pub tokens: usize,
    /// Mean Kendall τ between the one-shot rankings of two different seeds.
    pub cross_seed_tau: f64,
    /// Mean Jaccard between the top-k sets of two different seeds, its chance level and the
    /// chance-corrected agreement.
    pub top_k_jaccard: f64,
    pub chance_jaccard: f64,
    pub top_k_agreement: f64,
    pub seconds: f64,
}

/// The Spearman–Brown prophecy: the reliability of a measurement `factor` times as long as
/// one whose reliability is `r` (its errors averaging out over independent parts).
pub fn spearman_brown(r: f64, factor: f64) -> f64 {
    factor * r / (1.0 + (factor - 1.0) * r)
}

/// The cross-seed τ that the smallest size's point predicts at every size from the smallest to
/// the largest measured (`steps` + 1 sizes, for a curve), or `None` when the smallest size's τ
/// is not positive (the prophecy assumes a positive reliability).
pub fn predicted_curve(points: &[ReliabilityPoint], steps: usize) -> Option<Vec<(f64, f64)>> {
    let first = points.iter().min_by_key(|p| p.size)?;
    let largest = points.iter().map(|p| p.size).max()? as f64;
    if first.cross_seed_tau <= 0.0 || !first.cross_seed_tau.is_finite() {
        return None;
    }
    let smallest = first.size as f64;
    Some(
        (0..=steps)
            .map(|i| {
                let size = smallest + (largest - smallest) * i as f64 / steps.max(1) as f64;
                (size, spearman_brown(first.cross_seed_tau, size / smallest))
            })
            .collect(),
    )
}

/// Refuses a request that cannot give a curve.
pub fn check_request(sizes: &[usize], seeds: u64) -> Result<()> {
    if seeds < 2 {
        bail!("--seeds: reliability compares calibration resamples, so it needs at least 2, not {seeds}");
    }
    if sizes.is_empty() || sizes.contains(&0) {
        bail!("--sizes needs one or more positive sizes, e.g. --sizes 4,8,16");
    }
    Ok(())
}

/// `spec` at `size`: windows for perplexity, questions per task for accuracy.
pub fn resized(spec: &ObjectiveSpec, size: usize, seed: u64) -> ObjectiveSpec {
    let mut spec = spec.clone();
    match &mut spec {
        ObjectiveSpec::Perplexity(p) => {
            p.n_seqs = size;
            p.seed = seed;
        }
        ObjectiveSpec::Accuracy(a) => {
            a.n_per_task = size;
            a.seed = seed;
        }
        // Noise has no size: every size is the same draw.
        ObjectiveSpec::Noise(n) => n.seed = seed,
    }
    spec
}

/// What to measure: `spec` at every size in `sizes`, on calibration seeds `0..seeds`, ranking
/// the removable blocks of `problem` and comparing top-`problem.k` sets.
pub struct CurveRequest<'a> {
    pub spec: &'a ObjectiveSpec,
    pub sizes: &'a [usize],
    pub seeds: u64,
    pub problem: &'a Problem,
}

/// Where the scans run: data, the evaluation store and the engine's options.
pub struct Engine<'a> {
    pub data_dir: &'a Path,
    pub store: &'a Path,
    pub options: EvaluatorOptions,
    /// No progress on stderr.
    pub quiet: bool,
}

/// One-shot scans for every size and seed of `request`, and the agreement of their rankings
/// and top-k sets; `on_point` sees each size's point as it is measured.
pub fn reliability_curve(
    model: &Model,
    request: &CurveRequest,
    engine: &Engine,
    mut on_point: impl FnMut(&ReliabilityPoint),
) -> Result<Vec<ReliabilityPoint>> {
    let CurveRequest {
        spec,
        sizes,
        seeds,
        problem,
    } = *request;
    let (data_dir, store, options) = (engine.data_dir, engine.store, engine.options);
    check_request(sizes, seeds)?;
    problem.validate()?;
    let removable: BTreeSet<usize> = problem.removable().into_iter().collect();
    let mut out = Vec::new();
    let progress = Progress::new(
        "reliability",
        Some(sizes.len() as u64 * seeds),
        "scans",
        engine.quiet,
    );
    for &size in sizes {
        let started = std::time::Instant::now();
        let mut rankings = Vec::new();
        let mut tokens = 0;
        for seed in 0..seeds {
            progress.set_message(format!("size {size}, seed {seed}"));
            let spec = resized(spec, size, seed);
            let objective = spec.build(model, data_dir)?;
            tokens = objective.workload().n_tokens();
            let mut evaluator =
                Evaluator::new(model, objective.as_ref(), options)?.with_store(store)?;
            let scan: Scan = one_shot_scan(&mut evaluator, true)?;
            let scores: Vec<(usize, f64)> = scan
                .rows
                .iter()
                .filter(|r| removable.contains(&r.block))
                .map(|r| (r.block, r.value))
                .collect();
            rankings.push(order_by_scores(problem, &scores));
            progress.inc(1);
        }
        let positions = |ranking: &[usize]| -> Vec<f64> {
            removable
                .iter()
                .map(|b| ranking.iter().position(|x| x == b).expect("ranked") as f64)
                .collect()
        };
        let (mut taus, mut js) = (Vec::new(), Vec::new());
        for a in 0..rankings.len() {
            for b in a + 1..rankings.len() {
                taus.push(kendall_tau_b(
                    &positions(&rankings[a]),
                    &positions(&rankings[b]),
                ));
                js.push(jaccard(
                    &rankings[a][..problem.k],
                    &rankings[b][..problem.k],
                ));
            }
        }
        let chance = expected_jaccard(removable.len(), problem.k);
        let point = ReliabilityPoint {
            size,
            tokens,
            cross_seed_tau: mean(&taus),
            top_k_jaccard: mean(&js),
            chance_jaccard: chance,
            top_k_agreement: chance_corrected(mean(&js), chance),
            seconds: started.elapsed().as_secs_f64(),
        };
        on_point(&point);
        out.push(point);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(size: usize, tau: f64) -> ReliabilityPoint {
        ReliabilityPoint {
            size,
            tokens: 0,
            cross_seed_tau: tau,
            top_k_jaccard: 0.0,
            chance_jaccard: 0.0,
            top_k_agreement: 0.0,
            seconds: 0.0,
        }
    }

    #[test]
    fn spearman_brown_doubles_a_half_reliable_measure_to_two_thirds() {
        assert!((spearman_brown(0.5, 2.0) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(spearman_brown(0.3, 1.0), 0.3);
        let curve = predicted_curve(&[point(4, 0.5), point(2, 0.25)], 2).unwrap();
        assert_eq!(curve.first(), Some(&(2.0, 0.25)));
        let (size, tau) = *curve.last().unwrap();
        assert_eq!(size, 4.0);
        assert!((tau - spearman_brown(0.25, 2.0)).abs() < 1e-12);
        assert!(predicted_curve(&[point(2, -0.1), point(4, 0.2)], 2).is_none());
    }
}
