//! Regression of the multiple-choice tasks: per-option log-likelihoods of a sample of every
//! built-in task on SmolLM2, with every block and with blocks 4 and 12 removed; the windows a
//! WikiText-2 perplexity sample draws; the store keys of existing objective descriptions.
//!
//! `tests/regression/task_logliks_smollm2.json` was written by `regenerate` below running the
//! hard-coded tasks (and the WikiText-2 text source) of `src/data/tasks.rs` (commit f18e99a), before the tasks became YAML files; regenerated the same way at ee20e98 (the commit that added this test) when the AVX-512 matmul kernels moved the summation order (docs/performance.md).

mod common;

use std::path::PathBuf;

use depthprune::data::{Split, Task};
use depthprune::model::{BlockMask, LayerTypeRule};
use depthprune::objective::accuracy::AccuracyObjective;
use depthprune::objective::perplexity::PerplexityObjective;
use depthprune::objective::{AccMetric, AccuracySpec, Objective, ObjectiveSpec, PerplexitySpec};
use serde_json::{json, Value};

const MASKS: [&[usize]; 2] = [&[], &[4, 12]];

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regression/task_logliks_smollm2.json")
}

/// The samples: three calibration questions of every task under seed 5, two evaluation ones.
fn specs() -> Vec<AccuracySpec> {
    vec![
        AccuracySpec {
            tasks: Task::ALL.map(Into::into).to_vec(),
            n_per_task: 3,
            seed: 5,
            split: Split::Calibration,
            ..AccuracySpec::default()
        },
        AccuracySpec {
            tasks: Task::ALL.map(Into::into).to_vec(),
            n_per_task: 2,
            seed: 0,
            split: Split::Evaluation,
            metric: AccMetric::GoldLogprob,
            ..AccuracySpec::default()
        },
    ]
}

/// Objective descriptions whose store keys must not move (existing stores stay valid).
fn key_specs() -> Vec<ObjectiveSpec> {
    vec![
        ObjectiveSpec::Accuracy(AccuracySpec::default()),
        ObjectiveSpec::Perplexity(PerplexitySpec::default()),
        ObjectiveSpec::Accuracy(AccuracySpec {
            tasks: vec![Task::ArcEasy.into()],
            n_per_task: 2,
            metric: AccMetric::GoldLogprob,
            ..AccuracySpec::default()
        }),
        ObjectiveSpec::Perplexity(PerplexitySpec {
            n_seqs: 1,
            seq_len: 64,
            split: Split::Evaluation,
            ..PerplexitySpec::default()
        }),
    ]
}

fn measure() -> Value {
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let data = common::data_dir();
    let mut samples = Vec::new();
    for spec in specs() {
        let obj = AccuracyObjective::new(spec.clone(), &*model, &data).unwrap();
        let mut runs = Vec::new();
        for removed in MASKS {
            let mask = BlockMask::with_removed(model.n_blocks(), removed).unwrap();
            let ll = obj.workload().run(&model, &mask).unwrap();
            let questions: Vec<Value> = obj
                .questions()
                .iter()
                .map(|q| {
                    json!({
                        "task": q.task,
                        "id": q.id,
                        "label": q.label,
                        "norm_lengths": q.norm_lengths,
                        "option_ll": ll[q.first_item..q.first_item + q.norm_lengths.len()],
                    })
                })
                .collect();
            let eval = obj.finish(removed, &ll);
            runs.push(json!({"removed": removed, "questions": questions, "metrics": eval.metrics}));
        }
        samples.push(json!({"spec": ObjectiveSpec::Accuracy(spec), "runs": runs}));
    }
    // The built-in corpus: which articles and windows a perplexity sample draws, and their scores.
    let mut windows = Vec::new();
    for (split, seed) in [(Split::Calibration, 3), (Split::Evaluation, 0)] {
        let spec = PerplexitySpec {
            n_seqs: 4,
            seq_len: 64,
            seed,
            split,
            ..PerplexitySpec::default()
        };
        let obj = PerplexityObjective::new(spec.clone(), &*model, &data).unwrap();
        let ll = obj
            .workload()
            .run(&model, &BlockMask::full(model.n_blocks()))
            .unwrap();
        windows.push(json!({
            "spec": ObjectiveSpec::Perplexity(spec),
            "articles": obj.articles,
            "window_ll": ll,
        }));
    }
    let keys: Vec<Value> = key_specs()
        .iter()
        .map(|s| json!({"json": serde_json::to_string(s).unwrap(), "key": s.key()}))
        .collect();
    json!({
        "_comment": "Written by tests/task_regression.rs (regenerate) running the hard-coded tasks \
                     of src/data/tasks.rs at commit f18e99a, before the tasks became YAML files. \
                     Do not regenerate with later code: it is the reference the YAML tasks must reproduce.",
        "model": "smollm2-135m",
        "samples": samples,
        "perplexity": windows,
        "keys": keys,
    })
}

/// The YAML tasks (and the corpus layer) reproduce what the hard-coded ones computed, to the
/// last bit: the same questions, options, labels and lengths, the same per-option
/// log-likelihoods and metrics under both masks, the same perplexity windows; and the store
/// keys of existing objective descriptions are unchanged.
#[test]
fn task_files_reproduce_the_hard_coded_tasks() {
    // Compared as text: serde_json writes the shortest decimal that reads back to the same
    // f64, so equal text is equal bits (parsing the fixture back with serde_json's default
    // float parser could itself be off by an ulp).
    let expected = std::fs::read_to_string(fixture_path()).unwrap();
    let got = serde_json::to_string_pretty(&measure()).unwrap() + "\n";
    let differing: Vec<(usize, &str, &str)> = expected
        .lines()
        .zip(got.lines())
        .enumerate()
        .filter(|(_, (e, g))| e != g)
        .map(|(i, (e, g))| (i + 1, e, g))
        .collect();
    assert!(
        differing.is_empty() && expected.lines().count() == got.lines().count(),
        "{} of {} lines differ from {}; first: {:?}",
        differing.len(),
        expected.lines().count(),
        fixture_path().display(),
        differing.first()
    );
}

#[test]
#[ignore = "writes the fixture; run only with the code the fixture pins"]
fn regenerate() {
    let value = measure();
    std::fs::write(
        fixture_path(),
        serde_json::to_string_pretty(&value).unwrap() + "\n",
    )
    .unwrap();
}
