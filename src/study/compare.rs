//! Whether one suite's searches do as well as another's: the same models, seeds, objectives and
//! held-out outcomes, different searcher settings (a budget, screening), paired run by run.
//!
//! The unit is a calibration resample of one model, a (model, seed): its runs in the two suites
//! searched the same calibration sample, so their difference is the settings' alone. A run's
//! change is signed so that positive means the candidate did worse: the log of the ratio for
//! perplexity (lower is better; a ratio, so a 2 % change is about 0.02 on either model), the
//! difference for accuracy (base − candidate, in accuracy points). Each unit averages the
//! change over its (objective, searcher) cells, and the candidate is "no worse" on an outcome
//! when the one-sided upper confidence bound of the units' mean change lies below the margin
//! (a non-inferiority test: t over the units, with the exact sign-flip p of "the mean change is
//! below the margin" beside it).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::objective::ObjectiveSpec;
use crate::stats::{mean, sign_flip_greater};
use crate::suite::run::RunRecord;
use crate::suite::Suite;

#[derive(Debug, Clone, Copy)]
pub struct CompareOptions {
    /// The largest mean change (positive: the candidate worse) still called "no worse".
    pub margin: f64,
    /// One-sided level of the upper confidence bound.
    pub alpha: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            margin: 0.02,
            alpha: 0.05,
        }
    }
}

/// How the candidate's runs differ from the base's.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub base: String,
    pub candidate: String,
    pub margin: f64,
    pub alpha: f64,
    /// (model, seed) units, each with every (objective, searcher) cell of both suites.
    pub units: usize,
    /// One per held-out outcome: the non-inferiority test over the units.
    pub heldout: Vec<OutcomeChange>,
    /// The chosen sets' calibration score under the objective they were searched on, per
    /// (objective, searcher): what the settings change before any held-out data.
    pub calibration: Vec<CellChange>,
    /// Each held-out outcome per (objective, searcher).
    pub heldout_cells: Vec<CellChange>,
    /// Whether every held-out outcome is within the margin.
    pub no_worse: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutcomeChange {
    pub outcome: String,
    /// `log ratio` (perplexity) or `difference` (accuracy).
    pub measure: &'static str,
    pub per_unit: Vec<UnitChange>,
    pub mean: f64,
    /// Standard error of the mean over the units.
    pub se: f64,
    /// One-sided upper confidence bound of the mean change (Student t, units − 1 df).
    pub upper: f64,
    /// Exact sign-flip p of "the mean change is below the margin" (`margin − change` centred
    /// above 0), and its floor 2⁻ⁿ.
    pub p_within_margin: f64,
    pub floor: f64,
    pub within_margin: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitChange {
    pub model: String,
    pub seed: u64,
    pub change: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellChange {
    /// The held-out outcome, or the objective itself for a calibration change.
    pub outcome: String,
    pub objective: String,
    pub searcher: String,
    pub measure: &'static str,
    pub mean: f64,
    pub se: f64,
    pub n: usize,
    /// Runs whose chosen set is the same in both suites.
    pub same_set: usize,
}

/// How much worse `candidate` is than `base` on an outcome of kind `spec` (positive: worse).
fn worse_by(spec: &ObjectiveSpec, base: f64, candidate: f64) -> f64 {
    match spec {
        ObjectiveSpec::Perplexity(_) => (candidate / base).ln(),
        ObjectiveSpec::Accuracy(_) => base - candidate,
        ObjectiveSpec::Kl(_) | ObjectiveSpec::Noise(_) => candidate - base,
    }
}

fn measure(spec: &ObjectiveSpec) -> &'static str {
    match spec {
        ObjectiveSpec::Perplexity(_) => "log ratio",
        _ => "difference",
    }
}

type RunKey = (String, u64, String, String);

fn by_key<'a>(runs: &'a [RunRecord], suite: &str) -> Result<BTreeMap<RunKey, &'a RunRecord>> {
    let mut keyed = BTreeMap::new();
    for r in runs {
        let key = (
            r.model.clone(),
            r.seed,
            r.objective.clone(),
            r.searcher.clone(),
        );
        if keyed.insert(key, r).is_some() {
            bail!(
                "suite {suite} has two runs of {} {} {} seed {}: a comparison pairs one run per (model, seed, objective, searcher)",
                r.model,
                r.objective,
                r.searcher,
                r.seed
            );
        }
    }
    Ok(keyed)
}

/// Checks that the two suites differ only in their searchers' settings: the same models,
/// seeds, objectives (sizes included) and held-out outcomes.
pub fn check_comparable(base: &Suite, candidate: &Suite) -> Result<()> {
    let differs = |what: &str| -> Result<()> {
        bail!(
            "suites {} and {} differ in their {what}: a comparison pairs runs that searched the same calibration samples and are scored on the same held-out data, so only the searchers' settings may differ",
            base.name,
            candidate.name
        )
    };
    if base.models != candidate.models {
        differs("models")?;
    }
    if base.seeds != candidate.seeds {
        differs("seeds")?;
    }
    if base.objectives != candidate.objectives || base.sizes != candidate.sizes {
        differs("objectives (or their sizes)")?;
    }
    if base.heldout != candidate.heldout {
        differs("held-out outcomes")?;
    }
    if base.heldout.is_empty() {
        bail!(
            "suite {} has no held-out outcomes: a comparison is made on held-out data (add `heldout:`)",
            base.name
        );
    }
    if base.seeds.len() < 2 {
        bail!(
            "suites {} and {} have one seed: a comparison needs at least two calibration resamples per model",
            base.name,
            candidate.name
        );
    }
    Ok(())
}

/// Pairs the runs of `base` and `candidate` (suites checked by [`check_comparable`]) and tests,
/// per held-out outcome, whether the candidate is no worse than the base by more than the
/// margin.
pub fn compare(
    base: &Suite,
    base_runs: &[RunRecord],
    candidate: &Suite,
    candidate_runs: &[RunRecord],
    options: CompareOptions,
) -> Result<Comparison> {
    check_comparable(base, candidate)?;
    let base_by = by_key(base_runs, &base.name)?;
    let candidate_by = by_key(candidate_runs, &candidate.name)?;
    let cells: BTreeSet<(String, String)> = base_by
        .keys()
        .map(|(_, _, o, s)| (o.clone(), s.clone()))
        .collect();
    let candidate_cells: BTreeSet<(String, String)> = candidate_by
        .keys()
        .map(|(_, _, o, s)| (o.clone(), s.clone()))
        .collect();
    if cells != candidate_cells {
        bail!(
            "suites {} and {} run different (objective, searcher) pairs ({:?} against {:?}): give both the same searchers, differing only in their settings",
            base.name,
            candidate.name,
            cells,
            candidate_cells
        );
    }
    let mut units = Vec::new();
    for model in &base.models {
        for &seed in &base.seeds {
            for (objective, searcher) in &cells {
                let key = (model.clone(), seed, objective.clone(), searcher.clone());
                match (base_by.get(&key), candidate_by.get(&key)) {
                    (Some(_), Some(_)) => {}
                    _ => bail!(
                        "no pair of runs for {model} seed {seed} {objective} {searcher}: both suites must have run every (model, seed, objective, searcher); run them to the end first"
                    ),
                }
            }
            units.push((model.clone(), seed));
        }
    }
    let pair = |unit: &(String, u64), objective: &str, searcher: &str| {
        let key = (
            unit.0.clone(),
            unit.1,
            objective.to_string(),
            searcher.to_string(),
        );
        (base_by[&key], candidate_by[&key])
    };

    let mut heldout = Vec::new();
    let mut heldout_cells = Vec::new();
    for (name, spec) in &base.heldout {
        let value = |r: &RunRecord| -> Result<f64> {
            r.heldout.get(name).copied().ok_or_else(|| {
                anyhow::anyhow!(
                    "run {} {} {} seed {} has no held-out '{name}'",
                    r.model,
                    r.objective,
                    r.searcher,
                    r.seed
                )
            })
        };
        let mut per_unit = Vec::new();
        for unit in &units {
            let mut changes = Vec::new();
            for (objective, searcher) in &cells {
                let (b, c) = pair(unit, objective, searcher);
                changes.push(worse_by(spec, value(b)?, value(c)?));
            }
            per_unit.push(UnitChange {
                model: unit.0.clone(),
                seed: unit.1,
                change: mean(&changes),
            });
        }
        let changes: Vec<f64> = per_unit.iter().map(|u| u.change).collect();
        let (m, se) = mean_and_se(&changes);
        let upper = m + t_quantile(changes.len(), options.alpha) * se;
        let below: Vec<f64> = changes.iter().map(|d| options.margin - d).collect();
        let test = sign_flip_greater(&below);
        heldout.push(OutcomeChange {
            outcome: name.clone(),
            measure: measure(spec),
            per_unit,
            mean: m,
            se,
            upper,
            p_within_margin: test.map_or(f64::NAN, |t| t.p),
            floor: test.map_or(f64::NAN, |t| t.floor),
            within_margin: upper < options.margin,
        });
        for (objective, searcher) in &cells {
            let pairs: Vec<_> = units.iter().map(|u| pair(u, objective, searcher)).collect();
            let values = pairs
                .iter()
                .map(|(b, c)| Ok((value(b)?, value(c)?)))
                .collect::<Result<Vec<_>>>()?;
            heldout_cells.push(cell_change(
                name, spec, objective, searcher, &pairs, &values,
            ));
        }
    }
    let mut calibration = Vec::new();
    for (objective, searcher) in &cells {
        let pairs: Vec<_> = units.iter().map(|u| pair(u, objective, searcher)).collect();
        let scores: Vec<_> = pairs.iter().map(|(b, c)| (b.score, c.score)).collect();
        let spec = &base.objectives[objective];
        calibration.push(cell_change(
            objective, spec, objective, searcher, &pairs, &scores,
        ));
    }
    Ok(Comparison {
        base: base.name.clone(),
        candidate: candidate.name.clone(),
        margin: options.margin,
        alpha: options.alpha,
        units: units.len(),
        no_worse: heldout.iter().all(|o| o.within_margin),
        heldout,
        calibration,
        heldout_cells,
    })
}

/// One (objective, searcher) cell's change on `outcome` over the units: `values` are the
/// (base, candidate) values of the `pairs` of runs.
fn cell_change(
    outcome: &str,
    spec: &ObjectiveSpec,
    objective: &str,
    searcher: &str,
    pairs: &[(&RunRecord, &RunRecord)],
    values: &[(f64, f64)],
) -> CellChange {
    let changes: Vec<f64> = values.iter().map(|&(b, c)| worse_by(spec, b, c)).collect();
    let (mean, se) = mean_and_se(&changes);
    CellChange {
        outcome: outcome.to_string(),
        objective: objective.to_string(),
        searcher: searcher.to_string(),
        measure: measure(spec),
        mean,
        se,
        n: changes.len(),
        same_set: pairs.iter().filter(|(b, c)| b.removed == c.removed).count(),
    }
}

fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let m = mean(xs);
    let n = xs.len() as f64;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// The one-sided Student t quantile at `1 − alpha` over `n` units (n − 1 df).
fn t_quantile(n: usize, alpha: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .expect("at least two units (checked)")
        .inverse_cdf(1.0 - alpha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::Direction;

    fn suite(searcher: &str) -> Suite {
        serde_yaml_ng::from_str(&format!(
            "name: s
description: d
models: [m]
objectives:
  ppl: {{kind: perplexity, n_seqs: 1, seq_len: 16}}
heldout:
  hp: {{kind: perplexity, n_seqs: 1, seq_len: 16, split: evaluation}}
  ha: {{kind: accuracy, tasks: [arc_easy], n_per_task: 4, split: evaluation}}
searchers: [{searcher}]
k: {{m: 2}}
seeds: [0, 1, 2, 3, 4, 5]
"
        ))
        .unwrap()
    }

    fn run(seed: u64, ppl: f64, acc: f64, removed: Vec<usize>) -> RunRecord {
        RunRecord {
            model: "m".into(),
            objective: "ppl".into(),
            objective_key: String::new(),
            direction: Direction::Minimize,
            searcher: "random".into(),
            seed,
            k: 2,
            removed,
            ranking: vec![],
            score: ppl,
            evaluations: 1,
            seconds: 0.0,
            starts_from_one_shot: false,
            best_so_far: vec![],
            calibration: BTreeMap::new(),
            heldout: [("hp".to_string(), ppl), ("ha".to_string(), acc)].into(),
            scored: Vec::new(),
        }
    }

    #[test]
    fn equal_runs_are_no_worse_and_a_worse_candidate_is_caught() {
        let base_suite = suite("{name: random, budget: 10}");
        let candidate_suite = suite("{name: random, budget: 5}");
        let base: Vec<_> = (0..6).map(|s| run(s, 20.0, 0.5, vec![1, 2])).collect();
        let same = compare(
            &base_suite,
            &base,
            &candidate_suite,
            &base,
            CompareOptions::default(),
        )
        .unwrap();
        assert!(same.no_worse);
        assert_eq!(same.units, 6);
        assert!(same.heldout.iter().all(|o| o.mean == 0.0 && o.upper == 0.0));
        assert_eq!(same.calibration[0].same_set, 6);

        // 5 % worse perplexity, small spread: the bound lies above a 2 % margin.
        let worse: Vec<_> = (0..6)
            .map(|s| run(s, 21.0 + 0.01 * s as f64, 0.5, vec![1, 3]))
            .collect();
        let c = compare(
            &base_suite,
            &base,
            &candidate_suite,
            &worse,
            CompareOptions::default(),
        )
        .unwrap();
        assert!(!c.no_worse);
        let hp = c.heldout.iter().find(|o| o.outcome == "hp").unwrap();
        assert!(hp.mean > 0.048 && !hp.within_margin, "{hp:?}");
        let ha = c.heldout.iter().find(|o| o.outcome == "ha").unwrap();
        assert!(ha.within_margin);
        // 1 % better accuracy counts as negative change.
        let better: Vec<_> = (0..6).map(|s| run(s, 20.0, 0.51, vec![1, 2])).collect();
        let b = compare(
            &base_suite,
            &base,
            &candidate_suite,
            &better,
            CompareOptions::default(),
        )
        .unwrap();
        let ha = b.heldout.iter().find(|o| o.outcome == "ha").unwrap();
        assert!((ha.mean + 0.01).abs() < 1e-12 && ha.p_within_margin <= 1.0 / 64.0 + 1e-12);
    }

    #[test]
    fn suites_that_differ_beyond_their_searchers_are_refused() {
        let base_suite = suite("{name: random, budget: 10}");
        let mut other = suite("{name: random, budget: 5}");
        other.seeds = vec![0, 1, 2, 3, 4, 9];
        let err = check_comparable(&base_suite, &other)
            .unwrap_err()
            .to_string();
        assert!(err.contains("differ in their seeds"), "{err}");
        let runs: Vec<_> = (0..5).map(|s| run(s, 20.0, 0.5, vec![1, 2])).collect();
        let err = compare(
            &base_suite,
            &runs,
            &suite("{name: random, budget: 5}"),
            &runs,
            CompareOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no pair of runs for m seed 5"), "{err}");
    }
}
