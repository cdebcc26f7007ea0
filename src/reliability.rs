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
use crate::objective::{AccMetric, ObjectiveSpec};
use crate::progress::Progress;
use crate::scan::{one_shot_scan, Scan};
use crate::search::{order_by_scores, Problem};
use crate::stats::{chance_corrected, expected_jaccard, jaccard, kendall_tau_b, mean};

/// Reliability at one size.
#[derive(Debug, Clone, Serialize)]
pub struct ReliabilityPoint {
    /// The number ranked: `perplexity`, or the accuracy metric (`gold_logprob`, `acc`, ...).
    pub score: String,
    /// Windows (perplexity) or questions per task (accuracy).
    pub size: usize,
    /// Tokens the objective runs per evaluation.
    pub tokens: usize,
    /// Mean Kendall τ-b between the single-removal scores of two different seeds (ties, which
    /// a discrete metric such as `acc` has many of, count as ties, not as the order a
    /// tie-break would give them on every seed alike).
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
    // Noise has no size: every size is the same draw.
    let _ = spec.set_size(size);
    *spec.seed_mut() = seed;
    spec
}

/// What to measure: `spec` at every size in `sizes`, on calibration seeds `0..seeds`, ranking
/// the removable blocks of `problem` and comparing top-`problem.k` sets.
pub struct CurveRequest<'a> {
    pub spec: &'a ObjectiveSpec,
    pub sizes: &'a [usize],
    pub seeds: u64,
    pub problem: &'a Problem,
    /// Accuracy only: more metrics to rank by, each scored from the same scans' per-question
    /// log-likelihoods (no model run of their own), so a metric's reliability per second of
    /// compute is compared on the very same calibration samples.
    pub also: &'a [AccMetric],
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
/// and top-k sets: one point per size and score (the objective's own, then each of `also`),
/// which `on_point` sees as it is measured.
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
        also,
    } = *request;
    let (data_dir, store, options) = (engine.data_dir, engine.store, engine.options);
    check_request(sizes, seeds)?;
    let mut scores = vec![spec.clone()];
    for &metric in also {
        let ObjectiveSpec::Accuracy(a) = spec else {
            bail!("only an accuracy objective has other metrics to rank by");
        };
        if metric != a.metric {
            scores.push(ObjectiveSpec::Accuracy(crate::objective::AccuracySpec {
                metric,
                ..a.clone()
            }));
        }
    }
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
        // Per score, one ranking and one vector of single-removal scores per seed.
        let mut rankings: Vec<Vec<Vec<usize>>> = vec![Vec::new(); scores.len()];
        let mut values: Vec<Vec<Vec<f64>>> = vec![Vec::new(); scores.len()];
        let mut tokens = 0;
        for seed in 0..seeds {
            progress.set_message(format!("size {size}, seed {seed}"));
            let spec = resized(spec, size, seed);
            let objective = spec.build(model, data_dir)?;
            tokens = objective.workload().n_tokens();
            let mut evaluator =
                Evaluator::new(model, objective.as_ref(), options)?.with_store(store)?;
            let scan: Scan = one_shot_scan(&mut evaluator, true)?;
            let own: Vec<(usize, f64)> = scan
                .rows
                .iter()
                .filter(|r| removable.contains(&r.block))
                .map(|r| (r.block, r.value))
                .collect();
            rankings[0].push(order_by_scores(problem, &own));
            values[0].push(own.iter().map(|&(_, v)| v).collect());
            for (i, other) in scores.iter().enumerate().skip(1) {
                // Built again only to score with another metric: its tokenisation is seconds
                // beside the scan's minutes, and no model runs.
                let other = resized(other, size, seed).build(model, data_dir)?;
                let mut scored = Vec::new();
                for &(block, _) in &own {
                    let items = evaluator.item_values(&[block]).ok_or_else(|| {
                        anyhow::anyhow!(
                            "block {block}'s per-question values are not kept (memoisation \
                             off?): other metrics are scored from them"
                        )
                    })?;
                    scored.push((block, other.finish(&[block], &items).value));
                }
                let problem = Problem {
                    direction: other.spec().direction(),
                    ..problem.clone()
                };
                rankings[i].push(order_by_scores(&problem, &scored));
                values[i].push(scored.iter().map(|&(_, v)| v).collect());
            }
            progress.inc(1);
        }
        let seconds = started.elapsed().as_secs_f64();
        let chance = expected_jaccard(removable.len(), problem.k);
        for ((score, rankings), values) in scores.iter().zip(&rankings).zip(&values) {
            let (tau, j) = cross_seed_agreement(rankings, values, problem.k);
            let point = ReliabilityPoint {
                score: score.score_name().to_string(),
                size,
                tokens,
                cross_seed_tau: tau,
                top_k_jaccard: j,
                chance_jaccard: chance,
                top_k_agreement: chance_corrected(j, chance),
                seconds,
            };
            on_point(&point);
            out.push(point);
        }
    }
    Ok(out)
}

/// Mean Kendall τ-b between the single-removal scores (block by block, in the same order) of
/// every two seeds, and mean Jaccard of their rankings' top k (the sets one-shot would remove,
/// ties broken as the searchers break them).
fn cross_seed_agreement(rankings: &[Vec<usize>], values: &[Vec<f64>], k: usize) -> (f64, f64) {
    let (mut taus, mut js) = (Vec::new(), Vec::new());
    for a in 0..rankings.len() {
        for b in a + 1..rankings.len() {
            // A seed whose every removal scores alike (a discrete metric on few questions)
            // orders nothing: it reproduces no order, τ 0 rather than undefined.
            let tau = kendall_tau_b(&values[a], &values[b]);
            taus.push(if tau.is_nan() { 0.0 } else { tau });
            js.push(jaccard(&rankings[a][..k], &rankings[b][..k]));
        }
    }
    (mean(&taus), mean(&js))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(size: usize, tau: f64) -> ReliabilityPoint {
        ReliabilityPoint {
            score: "perplexity".into(),
            size,
            tokens: 0,
            cross_seed_tau: tau,
            top_k_jaccard: 0.0,
            chance_jaccard: 0.0,
            top_k_agreement: 0.0,
            seconds: 0.0,
        }
    }

    /// A discrete metric's ties stay ties: two seeds whose scores tie everywhere except one
    /// block agree only on that block, however a tie-break would order the rest alike; a seed
    /// that scores every removal alike reproduces no order (τ 0).
    #[test]
    fn ties_do_not_agree_by_their_tie_break() {
        let rankings = vec![vec![0, 1, 2, 3], vec![0, 1, 2, 3]];
        let values = vec![vec![0.5, 0.5, 0.5, 0.25], vec![0.25, 0.5, 0.5, 0.5]];
        let (tau, j) = cross_seed_agreement(&rankings, &values, 2);
        assert!((tau - (-1.0 / 3.0)).abs() < 1e-12, "{tau}");
        assert_eq!(j, 1.0); // the sets one-shot removes do coincide
        let constant = vec![vec![0.5; 4], vec![0.25, 0.5, 0.75, 1.0]];
        assert_eq!(cross_seed_agreement(&rankings, &constant, 2).0, 0.0);
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
