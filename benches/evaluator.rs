//! The evaluation engine's speed-ups, measured as ratios within one run (each configuration is
//! a minute-long scan or search, too long for criterion's ten samples on two cores):
//!
//! 1. one-shot scan, 8×128 tokens, perplexity: prefix cache vs none (SmolLM2, Gemma 3);
//! 2. one-shot scan, accuracy objective: prefix cache vs none (both models);
//! 3. the SmolLM2 perplexity scan end to end, model load included, vs the PyTorch loop's 91.6 s;
//! 4. greedy k = 4, perplexity: prefix cache + early abandonment vs neither;
//! 5. a second identical scan, served from the store.
//!
//! `cargo bench --bench evaluator [-- FILTER]` (FILTER: a substring of the case names below).
//! The memo is off except in case 5, so every evaluation is computed.

use depthprune::load::open_model;
use std::time::Instant;

use depthprune::data::{self, Task};
use depthprune::evaluator::{Evaluator, EvaluatorOptions};
use depthprune::model::{LoadOptions, Model};
use depthprune::objective::{AccMetric, AccuracySpec, ObjectiveSpec, PerplexitySpec};
use depthprune::scan::one_shot_scan;
use depthprune::search::{self, Problem, SearcherParams};

/// PyTorch 2.15 + transformers f32, 2 threads, the naive loop over SmolLM2's 30 blocks + full
/// model at 8×128 tokens (measured on this machine class, quiet).
const PYTORCH_SCAN_SECONDS: f64 = 91.6;

fn ppl_8x128() -> ObjectiveSpec {
    ObjectiveSpec::Perplexity(PerplexitySpec {
        n_seqs: 8,
        seq_len: 128,
        ..PerplexitySpec::default()
    })
}

fn acc_small() -> ObjectiveSpec {
    ObjectiveSpec::Accuracy(AccuracySpec {
        tasks: vec![
            Task::ArcEasy.into(),
            Task::Hellaswag.into(),
            Task::Piqa.into(),
        ],
        n_per_task: 8,
        metric: AccMetric::GoldLogprob,
        ..AccuracySpec::default()
    })
}

fn options(prefix_cache: bool, memo: bool) -> EvaluatorOptions {
    EvaluatorOptions {
        prefix_cache,
        memo,
        ..EvaluatorOptions::default()
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64())
}

fn scan_seconds(model: &Model, spec: &ObjectiveSpec, opts: EvaluatorOptions) -> f64 {
    let objective = spec.build(model, &data::data_dir(None).unwrap()).unwrap();
    let mut ev = Evaluator::new(model, objective.as_ref(), opts).unwrap();
    timed(|| one_shot_scan(&mut ev, true).unwrap()).1
}

fn case_scan_ratio(name: &str, model: &Model, spec: &ObjectiveSpec, target: f64) {
    let without = scan_seconds(model, spec, options(false, false));
    let with = scan_seconds(model, spec, options(true, false));
    println!(
        "{name}: no prefix cache {without:.1} s, prefix cache {with:.1} s, ratio {:.2}x (target >= {target}x)",
        without / with
    );
}

fn main() {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let wanted = |name: &str| name.contains(&filter);
    let data_dir = data::data_dir(None).unwrap();

    if wanted("end_to_end/smollm2") {
        let (_, seconds) = timed(|| {
            let model = open_model("smollm2-135m", &LoadOptions::default()).unwrap();
            scan_seconds(&model, &ppl_8x128(), options(true, false))
        });
        println!(
            "end_to_end/smollm2: scan with load {seconds:.1} s, {:.2}x ahead of PyTorch's {PYTORCH_SCAN_SECONDS} s (target <= 37 s)",
            PYTORCH_SCAN_SECONDS / seconds
        );
    }
    for id in ["smollm2-135m", "gemma3-270m"] {
        let model = open_model(id, &LoadOptions::default()).unwrap();
        let ppl_target = if id == "smollm2-135m" { 1.8 } else { 1.2 };
        if wanted(&format!("scan_ppl/{id}")) {
            case_scan_ratio(&format!("scan_ppl/{id}"), &model, &ppl_8x128(), ppl_target);
        }
        if wanted(&format!("scan_acc/{id}")) {
            case_scan_ratio(&format!("scan_acc/{id}"), &model, &acc_small(), 1.8);
        }
        if id == "smollm2-135m" && wanted("greedy_k4/smollm2") {
            let objective = ppl_8x128().build(&model, &data_dir).unwrap();
            let problem = Problem {
                n_blocks: model.n_blocks(),
                k: 4,
                protected: depthprune::blocks::Protection::Ends
                    .blocks(model.n_blocks())
                    .unwrap(),
                direction: objective.spec().direction(),
                budget: None,
                compute: None,
            };
            let greedy = search::SearcherKind::Greedy
                .build(&SearcherParams::default(), None)
                .unwrap();
            let run = |opts| {
                let mut ev = Evaluator::new(&model, objective.as_ref(), opts).unwrap();
                let (r, s) =
                    timed(|| search::search(greedy.as_ref(), &problem, &mut ev, 0).unwrap());
                (r, s, ev.stats())
            };
            let (plain, plain_s, _) = run(options(false, false));
            let (fast, fast_s, stats) = run(options(true, false));
            assert_eq!(plain.removed, fast.removed);
            println!(
                "greedy_k4/smollm2: neither {plain_s:.1} s, cache + abandonment {fast_s:.1} s, ratio {:.2}x (target >= 5x); {} of {} evaluations abandoned",
                plain_s / fast_s,
                stats.abandoned,
                stats.calls
            );
        }
        if id == "smollm2-135m" && wanted("store_rerun/smollm2") {
            let store =
                std::env::temp_dir().join(format!("depthprune-bench-store-{}", std::process::id()));
            let objective = ppl_8x128().build(&model, &data_dir).unwrap();
            let mut times = Vec::new();
            for _ in 0..2 {
                let mut ev = Evaluator::new(&model, objective.as_ref(), options(true, true))
                    .unwrap()
                    .with_store(&store)
                    .unwrap();
                times.push(timed(|| one_shot_scan(&mut ev, true).unwrap()).1);
            }
            let _ = std::fs::remove_dir_all(&store);
            println!(
                "store_rerun/smollm2: first scan {:.1} s, identical rerun {:.3} s, ratio {:.0}x (target >= 50x)",
                times[0],
                times[1],
                times[0] / times[1]
            );
        }
    }
}
