//! The calibration objectives on the real models and data: splits never overlap, packed
//! multiple-choice scoring equals scoring each option alone, the harness's tokenisation rules,
//! and plausibility of the numbers.

mod common;

use std::collections::BTreeSet;

use depthprune::data::tasks::Request;
use depthprune::data::{Split, Task};
use depthprune::model::{BlockMask, LayerTypeRule, Model, Tokenization};
use depthprune::objective::accuracy::{encode_request, AccuracyObjective};
use depthprune::objective::perplexity::PerplexityObjective;
use depthprune::objective::{evaluate, AccMetric, AccuracySpec, Objective, PerplexitySpec};

fn acc_spec(tasks: &[Task], n: usize, seed: u64, split: Split) -> AccuracySpec {
    AccuracySpec {
        tasks: tasks.iter().map(|&t| t.into()).collect(),
        n_per_task: n,
        seed,
        split,
        ..AccuracySpec::default()
    }
}

#[test]
fn calibration_and_evaluation_splits_never_overlap() {
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let data = common::data_dir();
    for seed in 0..4 {
        let text = |split| {
            let spec = PerplexitySpec {
                n_seqs: 64,
                seed,
                split,
                ..PerplexitySpec::default()
            };
            PerplexityObjective::new(spec, &*model, &data)
                .unwrap()
                .articles
        };
        let (cal, eval) = (text(Split::Calibration), text(Split::Evaluation));
        assert!(!cal.is_empty() && !eval.is_empty());
        assert!(
            cal.iter().all(|a| !eval.contains(a)),
            "seed {seed}: articles in both splits"
        );
    }
    // Task records: calibration samples under many seeds never meet the evaluation sample.
    let ids = |seed, split| -> BTreeSet<String> {
        let spec = acc_spec(&[Task::Openbookqa, Task::Winogrande], 100, seed, split);
        let obj = AccuracyObjective::new(spec, &*model, &data).unwrap();
        obj.questions().iter().map(|q| q.id.clone()).collect()
    };
    let eval = ids(0, Split::Evaluation);
    assert_eq!(eval.len(), 200);
    for seed in 0..5 {
        let cal = ids(seed, Split::Calibration);
        assert_eq!(cal.len(), 200);
        assert!(
            cal.is_disjoint(&eval),
            "seed {seed}: records in both splits"
        );
    }
}

/// Each option scored alone, the plain way: one causal sequence, head at every position.
fn option_log_likelihood(model: &Model, req: &Request) -> f64 {
    let opt = encode_request(&model.tokenizer, model.special.bos, req).unwrap();
    let tokens = model
        .token_tensor(std::slice::from_ref(&opt.tokens))
        .unwrap();
    let hidden = model
        .hidden_states(&tokens, &BlockMask::full(model.n_blocks()))
        .unwrap();
    let rows: Vec<u32> = (opt.continuation_start as u32 - 1..opt.tokens.len() as u32 - 1).collect();
    let targets: Vec<u32> = opt.tokens[opt.continuation_start..].to_vec();
    model
        .target_log_probs(&hidden, &rows, &targets)
        .unwrap()
        .iter()
        .sum()
}

fn check_packing(model_id: &str) {
    let model = common::model(model_id, LayerTypeRule::Own);
    let data = common::data_dir();
    let tasks = [
        Task::ArcChallenge,
        Task::Hellaswag,
        Task::Winogrande,
        Task::Boolq,
    ];
    let obj =
        AccuracyObjective::new(acc_spec(&tasks, 2, 3, Split::Calibration), &*model, &data).unwrap();
    let packed = obj
        .workload()
        .run(&model, &BlockMask::full(model.n_blocks()))
        .unwrap();
    let records: std::collections::BTreeMap<String, _> = tasks
        .iter()
        .map(|t| (t.to_string(), t.load(&data).unwrap()))
        .collect();
    for q in obj.questions() {
        let record = records[&q.task].iter().find(|r| r.id == q.id).unwrap();
        for (k, req) in record.requests.iter().enumerate() {
            let alone = option_log_likelihood(&model, req);
            let got = packed[q.first_item + k];
            assert!(
                (alone - got).abs() < 1e-4 * alone.abs().max(1.0),
                "{model_id} {} option {k}: packed {got} vs alone {alone}",
                q.id
            );
        }
    }
}

#[test]
fn packed_scoring_equals_scoring_each_option_alone_smollm2() {
    check_packing("smollm2-135m");
}

#[test]
fn packed_scoring_equals_scoring_each_option_alone_gemma3() {
    check_packing("gemma3-270m");
}

#[test]
fn whitespace_ending_a_context_moves_to_the_continuation() {
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let with_space = Request {
        context: "Question: Is it?\nAnswer: ".into(),
        continuation: "yes".into(),
    };
    let moved = Request {
        context: "Question: Is it?\nAnswer:".into(),
        continuation: " yes".into(),
    };
    let a = encode_request(&model.tokenizer, None, &with_space).unwrap();
    let b = encode_request(&model.tokenizer, None, &moved).unwrap();
    assert_eq!(a, b);
    // The continuation tokens are those after the context's own tokenisation.
    let ctx = model.tokenizer.encode("Question: Is it?\nAnswer:").unwrap();
    assert_eq!(a.continuation_start, ctx.len());
    assert_eq!(&a.tokens[..ctx.len()], &ctx[..]);
    assert_eq!(
        model.tokenizer.encode(" yes").unwrap(),
        a.tokens[ctx.len()..].to_vec()
    );
}

/// WinoGrande's partial scoring: the prediction is the context under which the shared
/// continuation is likelier. Scores one question by hand and compares with the objective.
#[test]
fn winogrande_picks_the_context_not_the_continuation() {
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let data = common::data_dir();
    let spec = AccuracySpec {
        metric: AccMetric::Acc,
        ..acc_spec(&[Task::Winogrande], 1, 11, Split::Evaluation)
    };
    let obj = AccuracyObjective::new(spec, &*model, &data).unwrap();
    let q = &obj.questions()[0];
    let records = Task::Winogrande.load(&data).unwrap();
    let record = records.iter().find(|r| r.id == q.id).unwrap();
    let reqs = &record.requests;
    assert_ne!(reqs[0].context, reqs[1].context);
    assert_eq!(reqs[0].continuation, reqs[1].continuation);
    let ll: Vec<f64> = reqs
        .iter()
        .map(|r| option_log_likelihood(&model, r))
        .collect();
    let predicted = if ll[1] > ll[0] { 1 } else { 0 };
    let result = evaluate(&obj, &model, &BlockMask::full(model.n_blocks())).unwrap();
    assert_eq!(result.value, (predicted == record.label) as u8 as f64);
}

/// SmolLM2 on the evaluation split: well above chance on ARC-Easy, PIQA and HellaSwag with
/// every block, near chance without block 0.
#[test]
fn smollm2_accuracy_is_plausible() {
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let spec = acc_spec(
        &[Task::ArcEasy, Task::Piqa, Task::Hellaswag],
        40,
        0,
        Split::Evaluation,
    );
    let obj = AccuracyObjective::new(spec, &*model, &common::data_dir()).unwrap();
    let full = evaluate(&obj, &model, &BlockMask::full(model.n_blocks())).unwrap();
    // Chance: ARC-Easy ~0.25, PIQA 0.5, HellaSwag 0.25 → macro ~0.33.
    assert!(full.value > 0.42, "full model acc_norm {}", full.value);
    let broken = evaluate(
        &obj,
        &model,
        &BlockMask::with_removed(model.n_blocks(), &[0]).unwrap(),
    )
    .unwrap();
    assert!(
        broken.value < 0.40,
        "without block 0: acc_norm {}",
        broken.value
    );
    assert!(broken.value < full.value - 0.05);
}

/// Weighing a suite's groups (`run --shard`, `plan`'s token proxy) reads a model's tokenizer,
/// not its weights: a `Vocabulary` must give the same block count and the same workload
/// (tokens, rows, targets, items, batch by batch) as the loaded model, for both objectives and
/// both tokenizer kinds (SmolLM2's byte-level BPE, Gemma 3's SentencePiece with BOS).
#[test]
fn a_vocabulary_builds_the_same_workload_as_its_model() {
    use depthprune::objective::ObjectiveSpec;
    let data = common::data_dir();
    for id in ["smollm2-135m", "gemma3-270m"] {
        let model = common::model(id, LayerTypeRule::Own);
        let vocabulary = depthprune::load::open_vocabulary(id).unwrap();
        assert_eq!(vocabulary.n_blocks, model.n_blocks(), "{id}");
        assert_eq!(vocabulary.bos(), model.bos(), "{id}");
        let specs = [
            ObjectiveSpec::Perplexity(PerplexitySpec {
                n_seqs: 6,
                seq_len: 64,
                ..PerplexitySpec::default()
            }),
            ObjectiveSpec::Accuracy(acc_spec(
                &[Task::ArcEasy, Task::Piqa],
                3,
                1,
                Split::Calibration,
            )),
        ];
        for spec in specs {
            let loaded = spec.build(&model, &data).unwrap();
            let read = spec.build_for(&vocabulary, &data).unwrap();
            let (a, b) = (loaded.workload(), read.workload());
            assert_eq!(a.n_items, b.n_items, "{id}");
            assert_eq!(a.batches.len(), b.batches.len(), "{id}");
            for (x, y) in a.batches.iter().zip(&b.batches) {
                assert_eq!(
                    x.tokens.to_vec2::<u32>().unwrap(),
                    y.tokens.to_vec2::<u32>().unwrap(),
                    "{id}"
                );
                assert_eq!(
                    (&x.rows, &x.targets, &x.items),
                    (&y.rows, &y.targets, &y.items)
                );
            }
        }
    }
}

/// The sieve compares candidates on a rung's items only: an objective's partial score at b
/// batches must not change with what the items past them hold (a stored record may carry
/// more of a candidate's items than the rung asks for), and at every batch it is the full
/// score. Both objectives, cut coarse and fine.
#[test]
fn a_partial_score_reads_only_its_batches_items() {
    use depthprune::objective::{ObjectiveSpec, Rungs};
    let data = common::data_dir();
    let vocabulary = depthprune::load::open_vocabulary("smollm2-135m").unwrap();
    let specs = [
        ObjectiveSpec::Perplexity(PerplexitySpec {
            n_seqs: 12,
            seq_len: 64,
            ..PerplexitySpec::default()
        }),
        ObjectiveSpec::Accuracy(acc_spec(&[Task::ArcEasy], 40, 1, Split::Calibration)),
    ];
    for spec in specs {
        for rungs in [Rungs::Batches, Rungs::Fine] {
            let objective = spec.build_with(&vocabulary, &data, rungs).unwrap();
            let workload = objective.workload();
            let n_batches = workload.batches.len();
            assert!(n_batches >= 2, "{} {rungs:?}", spec.short_name());
            // Distinct, plausible per-item log-likelihoods.
            let full: Vec<f64> = (0..workload.n_items)
                .map(|i| -1.0 - (i * 37 % 11) as f64)
                .collect();
            for b in 1..n_batches {
                let mut prefix = vec![0.0; workload.n_items];
                for batch in &workload.batches[..b] {
                    for &i in &batch.items {
                        prefix[i as usize] = full[i as usize];
                    }
                }
                assert_eq!(
                    objective.partial(&prefix, b).to_bits(),
                    objective.partial(&full, b).to_bits(),
                    "{} {rungs:?} at {b} of {n_batches} batches",
                    spec.short_name()
                );
            }
            assert_eq!(
                objective.partial(&full, n_batches),
                objective.finish(&[], &full).value
            );
        }
    }
}
