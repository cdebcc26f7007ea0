//! Audit of a shipped evaluation store: a seeded, stratified sample of its records recomputed
//! from scratch and compared with what it holds.
//!
//! A store computed once and kept in the repository is evidence only where it can be checked.
//! The audit takes every full record that belongs to a suite (each model × each objective at
//! each seed × each held-out outcome, found where the evaluator would look for it), draws a
//! sample that covers every (model, outcome) with shallow and deep removals (the mean removed
//! block below or above the middle of the model) and single blocks as well as k-sets, and
//! recomputes each as `objective::evaluate` does: a plain forward with the blocks skipped, no
//! memo, no prefix cache, no sieve, so it shares no code path with how the record was made
//! beyond the model and the objective themselves. A record agrees when its value, every
//! metric and every per-item log-likelihood are within `tolerance` relative of the recomputed
//! ones; the audit fails on the first record that does not (it reports all of them).
//!
//! A store too large to recompute in full is spot-checked instead (`batches`): each sampled
//! record's value and metrics are derived again from its stored per-item values, and a seeded
//! few of its fine batches (two questions or two windows each; a row computes the same bits
//! in any batch) are recomputed from scratch and compared item by item. A changed value, or a
//! record whose items are not what the model gives (another sample's, or made up), fails as
//! before; one changed item with a value changed to match is found with the probability that
//! its batch is drawn.
//!
//! A store from another objective definition fails too: the objective is rebuilt from the
//! suite, so values stored under one sample (or size, or task) and filed under another's key
//! differ when recomputed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::evaluator::store::{read_records, Record};
use crate::load::open_model;
use crate::model::{BlockMask, LoadOptions, Model};
use crate::objective::{Objective, ObjectiveSpec, Rungs};
use crate::rng::rng_for;
use crate::suite::Suite;

/// What the audit samples and how close a recomputation must be.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub store_dir: PathBuf,
    pub data_dir: PathBuf,
    /// Records recomputed, at least one from every stratum that has any; `None`:
    /// [`default_sample`] of what the store holds.
    pub sample: Option<usize>,
    pub seed: u64,
    /// Largest relative difference accepted (value, metrics, items).
    pub tolerance: f64,
    /// Spot check: per record, this many of its fine batches recomputed (at least 1) and its
    /// value derived from its stored items; `None`: every record recomputed whole.
    pub batches: Option<usize>,
}

/// One recomputed record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditedRecord {
    pub model: String,
    /// The objective's or held-out outcome's name in the suite.
    pub outcome: String,
    pub heldout: bool,
    /// The suite seed (`None` for a held-out outcome, which has its own fixed sample).
    pub seed: Option<u64>,
    pub removed: Vec<usize>,
    /// The store file the record is in.
    pub file: PathBuf,
    pub stratum: String,
    pub stored: f64,
    /// The value recomputed: from scratch, or under a spot check from the stored items with
    /// the recomputed ones in their place.
    pub recomputed: f64,
    /// Items (windows, options) recomputed from scratch, of `items`.
    pub items_recomputed: usize,
    pub items: usize,
    /// The largest relative difference over the value, the metrics and the items.
    pub max_relative: f64,
    pub agrees: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub store: PathBuf,
    /// Full records of the suite's objectives the store holds, by (model, outcome).
    pub records: BTreeMap<String, usize>,
    pub strata: usize,
    pub tolerance: f64,
    pub audited: Vec<AuditedRecord>,
    pub seconds: f64,
}

impl AuditReport {
    pub fn failures(&self) -> Vec<&AuditedRecord> {
        self.audited.iter().filter(|r| !r.agrees).collect()
    }

    pub fn max_relative(&self) -> f64 {
        self.audited
            .iter()
            .map(|r| r.max_relative)
            .fold(0.0, f64::max)
    }
}

/// One of a suite's objectives on one model, as the evaluator files it.
struct Outcome {
    name: String,
    heldout: bool,
    seed: Option<u64>,
    spec: ObjectiveSpec,
}

/// The records an audit recomputes unless told: 1 % of those held, and never fewer than
/// [`MIN_DEFAULT_SAMPLE`] (or all of them). At 250 a corruption of 1 % of the records is
/// missed with probability 0.99^250 = 8 %; at the former 48, 62 %.
pub fn default_sample(held: usize) -> usize {
    held.div_ceil(100).max(MIN_DEFAULT_SAMPLE).min(held)
}

/// The smallest audit [`default_sample`] draws.
pub const MIN_DEFAULT_SAMPLE: usize = 250;

/// A record with where it belongs.
struct Candidate {
    outcome: usize,
    file: PathBuf,
    stratum: String,
    record: Record,
}

/// Audits `options.store_dir` against `suite`.
pub fn audit(suite: &Suite, options: &AuditOptions) -> Result<AuditReport> {
    let started = std::time::Instant::now();
    let mut records = BTreeMap::new();
    let mut audited = Vec::new();
    let mut strata_seen = 0;
    // Strata per model are sampled within the model, so the sample is spread over models too.
    let n_models = suite.models.len().max(1);
    for model_id in &suite.models {
        let model = open_model(
            model_id,
            &LoadOptions {
                layer_types: suite.layer_types,
                device: suite.device,
                dtype: suite.dtype,
            },
        )?;
        let outcomes = suite_outcomes(suite, model_id);
        let mut built: Vec<Box<dyn Objective>> = Vec::with_capacity(outcomes.len());
        let mut candidates = Vec::new();
        for (i, outcome) in outcomes.iter().enumerate() {
            let rungs = match options.batches {
                Some(_) => Rungs::Fine,
                None => Rungs::Batches,
            };
            let objective = outcome
                .spec
                .build_with(&model, &options.data_dir, rungs)
                .with_context(|| format!("{model_id}: objective '{}'", outcome.name))?;
            let path = store_file(&options.store_dir, &model, objective.as_ref());
            let full: Vec<Record> = match path.exists() {
                true => read_records(&path)?
                    .0
                    .into_iter()
                    .filter(|r| r.value.is_some())
                    .collect(),
                false => Vec::new(),
            };
            *records
                .entry(format!("{model_id}/{}", outcome.name))
                .or_insert(0) += full.len();
            for record in full {
                candidates.push(Candidate {
                    outcome: i,
                    file: path.clone(),
                    stratum: stratum(&outcomes[i], &record.removed, model.n_blocks()),
                    record,
                });
            }
            built.push(objective);
        }
        let per_model = match options.sample {
            Some(n) => n.div_ceil(n_models),
            None => MIN_DEFAULT_SAMPLE
                .div_ceil(n_models)
                .max(candidates.len().div_ceil(100)),
        };
        let sample = stratified_sample(candidates, per_model, options.seed, model_id);
        strata_seen += sample.strata;
        for c in sample.chosen {
            let outcome = &outcomes[c.outcome];
            let objective = built[c.outcome].as_ref();
            let mask = BlockMask::with_removed(model.n_blocks(), &c.record.removed)?;
            let workload = objective.workload();
            let (order, _) = workload.item_order();
            // Records written before per-item values were kept have none: their value and
            // metrics are still compared, after a whole recomputation.
            let stored_items = c.record.items.as_deref();
            let mut worst: f64 = 0.0;
            if stored_items.is_some_and(|s| s.len() != order.len()) {
                worst = f64::INFINITY;
            }
            // A spot check where there are stored items to check against: the stored items,
            // the drawn batches' recomputed in their place; otherwise every batch.
            let (items, recomputed) = match (options.batches, stored_items) {
                (Some(n), Some(stored_items)) if worst == 0.0 && !workload.batches.is_empty() => {
                    let mut items = vec![f64::NAN; workload.n_items];
                    for (&item, &v) in order.iter().zip(stored_items) {
                        items[item] = v;
                    }
                    let derived = objective.finish(&c.record.removed, &items);
                    worst = worst.max(differences(&c.record, &derived));
                    // Named by the file's name (the objective's key), not its path, so a
                    // copy of the store draws the same batches.
                    let key = c.file.file_name().map(|f| f.to_string_lossy());
                    let label = format!(
                        "audit-batches/{model_id}/{}/{:?}",
                        key.unwrap_or_default(),
                        c.record.removed
                    );
                    let mut drawn: Vec<usize> = (0..workload.batches.len()).collect();
                    drawn.shuffle(&mut rng_for(options.seed, &label));
                    drawn.truncate(n);
                    drawn.sort_unstable();
                    let fresh = workload.run_batches(&model, &mask, &drawn)?;
                    // A batch lists an item once per scored row.
                    let mut recomputed = 0;
                    for item in (0..items.len()).filter(|&i| !fresh[i].is_nan()) {
                        worst = worst.max(relative(items[item], fresh[item]));
                        items[item] = fresh[item];
                        recomputed += 1;
                    }
                    (items, recomputed)
                }
                _ => {
                    let items = workload.run(&model, &mask)?;
                    for (&item, &v) in order.iter().zip(stored_items.unwrap_or(&[])) {
                        worst = worst.max(relative(v, items[item]));
                    }
                    (items, order.len())
                }
            };
            let fresh = objective.finish(&c.record.removed, &items);
            worst = worst.max(differences(&c.record, &fresh));
            audited.push(AuditedRecord {
                model: model_id.clone(),
                outcome: outcome.name.clone(),
                heldout: outcome.heldout,
                seed: outcome.seed,
                removed: c.record.removed.clone(),
                file: c.file,
                stratum: c.stratum,
                stored: c.record.value.unwrap_or(f64::NAN),
                recomputed: fresh.value,
                items_recomputed: recomputed,
                items: order.len(),
                max_relative: worst,
                agrees: worst <= options.tolerance,
            });
        }
    }
    Ok(AuditReport {
        store: options.store_dir.clone(),
        records,
        strata: strata_seen,
        tolerance: options.tolerance,
        audited,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Every objective of the suite at every seed, then every held-out outcome.
fn suite_outcomes(suite: &Suite, model_id: &str) -> Vec<Outcome> {
    let mut out = Vec::new();
    for &seed in &suite.seeds {
        for name in suite.objectives.keys() {
            out.push(Outcome {
                name: name.clone(),
                heldout: false,
                seed: Some(seed),
                spec: suite.objective_for(name, model_id, seed),
            });
        }
    }
    for (name, spec) in &suite.heldout {
        out.push(Outcome {
            name: name.clone(),
            heldout: true,
            seed: None,
            spec: spec.clone(),
        });
    }
    out
}

/// Where the evaluator files `objective`'s records on `model` (see [`crate::evaluator::Store`]).
fn store_file(dir: &Path, model: &Model, objective: &dyn Objective) -> PathBuf {
    dir.join(model.scores_key())
        .join(format!("{}.jsonl", objective.spec().key()))
}

/// (outcome name, depth, size): depth is where the removed blocks sit (their mean below the
/// model's middle: shallow), size whether one block or several are removed.
fn stratum(outcome: &Outcome, removed: &[usize], n_blocks: usize) -> String {
    let kind = match outcome.heldout {
        true => format!("heldout:{}", outcome.name),
        false => outcome.name.clone(),
    };
    if removed.is_empty() {
        return format!("{kind}/full model");
    }
    let mean = removed.iter().sum::<usize>() as f64 / removed.len() as f64;
    let depth = if mean < (n_blocks as f64 - 1.0) / 2.0 {
        "shallow"
    } else {
        "deep"
    };
    let size = if removed.len() == 1 {
        "one block"
    } else {
        "several"
    };
    format!("{kind}/{depth}/{size}")
}

struct Sample {
    chosen: Vec<Candidate>,
    strata: usize,
}

/// `n` candidates (at least one per stratum), strata taken in turn, each shuffled by a seeded
/// generator: the sample is a function of the store's contents and the seed.
fn stratified_sample(candidates: Vec<Candidate>, n: usize, seed: u64, model: &str) -> Sample {
    let mut strata: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for c in candidates {
        strata.entry(c.stratum.clone()).or_default().push(c);
    }
    let mut rng = rng_for(seed, &format!("audit/{model}"));
    for members in strata.values_mut() {
        // File order first, so the shuffle does not depend on how the records were read.
        members.sort_by(|a, b| (a.outcome, &a.record.removed).cmp(&(b.outcome, &b.record.removed)));
        members.shuffle(&mut rng);
    }
    let n_strata = strata.len();
    let mut queues: Vec<std::vec::IntoIter<Candidate>> =
        strata.into_values().map(Vec::into_iter).collect();
    let mut chosen = Vec::new();
    while chosen.len() < n.max(n_strata) {
        let before = chosen.len();
        for q in &mut queues {
            if chosen.len() >= n.max(n_strata) {
                break;
            }
            chosen.extend(q.next());
        }
        if chosen.len() == before {
            break;
        }
    }
    Sample {
        chosen,
        strata: n_strata,
    }
}

/// The largest relative difference between a stored record's value and metrics and `fresh`.
fn differences(stored: &Record, fresh: &crate::objective::Evaluation) -> f64 {
    let mut worst = relative(stored.value.unwrap_or(f64::NAN), fresh.value);
    for (name, v) in &fresh.metrics {
        let kept = stored.metrics.get(name).copied().unwrap_or(f64::NAN);
        worst = worst.max(relative(kept, *v));
    }
    worst
}

/// `|a − b| / max(|a|, |b|)`, 0 when both are 0, infinite when either is not finite.
fn relative(a: f64, b: f64) -> f64 {
    if !(a.is_finite() && b.is_finite()) {
        return if a == b { 0.0 } else { f64::INFINITY };
    }
    let scale = a.abs().max(b.abs());
    if scale == 0.0 {
        0.0
    } else {
        (a - b).abs() / scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_differences() {
        assert_eq!(relative(0.0, 0.0), 0.0);
        assert_eq!(relative(2.0, 1.0), 0.5);
        assert_eq!(relative(f64::NAN, 1.0), f64::INFINITY);
        assert_eq!(relative(f64::INFINITY, f64::INFINITY), 0.0);
        assert!(relative(1.0, 1.0 + 1e-9) < 1e-8);
    }

    #[test]
    fn the_default_sample_is_one_percent_and_at_least_250() {
        assert_eq!(default_sample(100), 100);
        assert_eq!(default_sample(25_649), 257);
        assert_eq!(default_sample(10_000), 250);
        assert_eq!(default_sample(100_001), 1_001);
    }

    #[test]
    fn every_stratum_is_sampled_before_any_twice() {
        let outcome = |name: &str| Outcome {
            name: name.into(),
            heldout: false,
            seed: Some(0),
            spec: serde_yaml_ng::from_str("{kind: perplexity, n_seqs: 1, seq_len: 8}").unwrap(),
        };
        let outcomes = [outcome("ppl"), outcome("acc")];
        let mut candidates = Vec::new();
        for (o, removed) in [
            (0, vec![1]),
            (0, vec![2]),
            (0, vec![3]),
            (0, vec![8]),
            (0, vec![1, 2, 3]),
            (1, vec![7, 8]),
        ] {
            candidates.push(Candidate {
                outcome: o,
                file: PathBuf::new(),
                stratum: stratum(&outcomes[o], &removed, 10),
                record: Record::partial(&removed, 1, &[0.0], 0.0),
            });
        }
        let sample = stratified_sample(candidates, 4, 0, "m");
        // ppl/shallow/one block, ppl/deep/one block, ppl/shallow/several, acc/deep/several.
        assert_eq!(sample.strata, 4);
        let strata: std::collections::BTreeSet<&str> =
            sample.chosen.iter().map(|c| c.stratum.as_str()).collect();
        assert_eq!(strata.len(), 4, "{strata:?}");
    }
}
