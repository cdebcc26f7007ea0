//! The evaluation engine on a real model: caching changes no score, early abandonment is
//! exact, and a scan killed with SIGKILL resumes from the store without duplicates.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use depthprune::data::{Split, Task};
use depthprune::evaluator::{Evaluator, EvaluatorOptions, Outcome, Source};
use depthprune::model::{BlockMask, LayerTypeRule};
use depthprune::objective::{AccuracySpec, ObjectiveSpec, PerplexitySpec};
use depthprune::rng::rng_for;
use rand::seq::SliceRandom;
use rand::Rng;

fn small_ppl() -> ObjectiveSpec {
    ObjectiveSpec::Perplexity(PerplexitySpec {
        n_seqs: 6,
        seq_len: 64,
        ..PerplexitySpec::default()
    })
}

fn random_masks(n_blocks: usize, count: usize) -> Vec<BlockMask> {
    let mut rng = rng_for(5, "test/random-masks");
    let mut blocks: Vec<usize> = (0..n_blocks).collect();
    (0..count)
        .map(|_| {
            blocks.shuffle(&mut rng);
            let k = rng.random_range(0..=4);
            BlockMask::with_removed(n_blocks, &blocks[..k]).unwrap()
        })
        .collect()
}

fn check_cached_equals_uncached(model_id: &str, spec: ObjectiveSpec) {
    let model = common::model(model_id, LayerTypeRule::Own);
    let objective = spec.build(&model, &common::data_dir()).unwrap();
    let plain = EvaluatorOptions {
        prefix_cache: false,
        memo: false,
        ..EvaluatorOptions::default()
    };
    let mut uncached = Evaluator::new(&model, objective.as_ref(), plain).unwrap();
    let mut cached =
        Evaluator::new(&model, objective.as_ref(), EvaluatorOptions::default()).unwrap();
    // The full model first fills the cache at every depth, as a scan does.
    let mut masks = vec![BlockMask::full(model.n_blocks())];
    masks.extend(random_masks(model.n_blocks(), 12));
    for mask in &masks {
        let a = uncached.evaluate(mask).unwrap().value;
        let b = cached.evaluate(mask).unwrap().value;
        assert!(
            (a - b).abs() <= 1e-5 * a.abs().max(1e-3),
            "{model_id} {mask}: cached {b} vs uncached {a}"
        );
    }
    let stats = cached.stats();
    assert!(
        stats.blocks_run < uncached.stats().blocks_run,
        "the prefix cache saved nothing: {stats:?}"
    );
}

#[test]
fn prefix_cache_changes_no_perplexity_smollm2() {
    check_cached_equals_uncached("smollm2-135m", small_ppl());
}

/// The KL objective scores a row against the unpruned model's distribution there, through
/// the evaluator's one head call over every batch's rows as through the plain forward.
#[test]
fn prefix_cache_changes_no_kl_smollm2() {
    let ObjectiveSpec::Perplexity(windows) = small_ppl() else {
        unreachable!()
    };
    check_cached_equals_uncached("smollm2-135m", ObjectiveSpec::Kl(windows));
}

/// Four questions of each of two tasks (ARC-Easy, WinoGrande), options packed per question.
fn small_acc() -> ObjectiveSpec {
    ObjectiveSpec::Accuracy(AccuracySpec {
        tasks: vec![Task::ArcEasy.into(), Task::Winogrande.into()],
        n_per_task: 4,
        split: Split::Calibration,
        metric: depthprune::objective::AccMetric::GoldLogprob,
        ..AccuracySpec::default()
    })
}

#[test]
fn prefix_cache_changes_no_accuracy_gemma3() {
    check_cached_equals_uncached("gemma3-270m", small_acc());
}

/// Every item's score, bit for bit, when the model runs each batch whole (one thread) and
/// when `Model::run_block` cuts it into runs of sequences, one per thread (2 threads: a batch
/// of 3 or more gives a run of several sequences, an odd one uneven runs).
fn check_cutting_the_batch_keeps_every_bit(model_id: &str, spec: ObjectiveSpec) {
    let model = common::model(model_id, LayerTypeRule::Own);
    let objective = spec.build(&model, &common::data_dir()).unwrap();
    let workload = objective.workload();
    assert!(
        workload.batches.iter().any(|b| b.layout.batch() >= 3),
        "no batch to cut into runs of several sequences"
    );
    let mask = BlockMask::with_removed(model.n_blocks(), &[2]).unwrap();
    let with_threads = |n: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap();
        pool.install(|| workload.run(&model, &mask).unwrap())
    };
    let whole = with_threads(1);
    let cut = with_threads(2);
    assert_eq!(whole.len(), cut.len());
    for (i, (a, b)) in whole.iter().zip(&cut).enumerate() {
        assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{model_id} item {i}: whole batch {a} vs cut {b}"
        );
    }
}

/// 7 windows: batches of 4 and 3, cut into runs of 2 + 2 and 2 + 1.
fn seven_windows() -> ObjectiveSpec {
    ObjectiveSpec::Perplexity(PerplexitySpec {
        n_seqs: 7,
        seq_len: 64,
        ..PerplexitySpec::default()
    })
}

#[test]
fn cutting_the_batch_keeps_every_bit_plain_smollm2() {
    check_cutting_the_batch_keeps_every_bit("smollm2-135m", seven_windows());
}

#[test]
fn cutting_the_batch_keeps_every_bit_packed_gemma3() {
    check_cutting_the_batch_keeps_every_bit("gemma3-270m", small_acc());
}

/// A fine-cut workload's groups run whole as the batch they were cut from whenever an
/// evaluation extends all of their parts, from the embedding or from a cached prefix: every
/// item keeps the bits of the packed batches run plainly. Parts that a partial evaluation ran
/// alone, finished later with the rest, keep them too.
fn check_groups_run_whole_keep_every_bit(model_id: &str, spec: ObjectiveSpec) {
    use depthprune::objective::Rungs;
    let model = common::model(model_id, LayerTypeRule::Own);
    let packed = spec.build(&model, &common::data_dir()).unwrap();
    let fine = spec
        .build_with(model.as_ref(), &common::data_dir(), Rungs::Fine)
        .unwrap();
    assert!(
        !fine.workload().groups.is_empty(),
        "{model_id}: no batch was cut, so no group runs whole"
    );
    let mut evaluator = Evaluator::new(&model, fine.as_ref(), EvaluatorOptions::default()).unwrap();
    let n = model.n_blocks();
    // The sieve leaves partial evaluations over the first rungs, finished by the full ones
    // below.
    let candidates: Vec<Vec<usize>> = (6..14).map(|b| vec![b]).collect();
    let screened = depthprune::search::ScoreFn::screen(&mut evaluator, &candidates, 1).unwrap();
    assert!(screened.is_some(), "{model_id}: the sieve did not run");
    for removed in [
        vec![],
        vec![2],
        vec![2, 5],
        vec![1],
        vec![9],
        vec![12],
        vec![12, 13],
    ] {
        let mask = BlockMask::with_removed(n, &removed).unwrap();
        evaluator.evaluate(&mask).unwrap();
        let got = evaluator.item_values(&removed).unwrap();
        let want = packed.workload().run(&model, &mask).unwrap();
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{model_id} blocks {removed:?} item {i}: grouped {a} vs packed {b}"
            );
        }
    }
}

#[test]
fn groups_run_whole_keep_every_bit_plain_smollm2() {
    check_groups_run_whole_keep_every_bit("smollm2-135m", seven_windows());
}

#[test]
fn groups_run_whole_keep_every_bit_packed_gemma3() {
    check_groups_run_whole_keep_every_bit("gemma3-270m", small_acc());
}

#[test]
fn early_abandonment_is_exact() {
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let objective = small_ppl().build(&model, &common::data_dir()).unwrap();
    let mut exact =
        Evaluator::new(&model, objective.as_ref(), EvaluatorOptions::default()).unwrap();
    let mut thresholded =
        Evaluator::new(&model, objective.as_ref(), EvaluatorOptions::default()).unwrap();
    let n = model.n_blocks();
    let full = exact.evaluate(&BlockMask::full(n)).unwrap().value;
    let threshold = full * 1.05;
    let mut abandoned = 0;
    for block in 0..n {
        let mask = BlockMask::with_removed(n, &[block]).unwrap();
        let truth = exact.evaluate(&mask).unwrap().value;
        match thresholded.evaluate_unless_worse(&mask, threshold).unwrap() {
            Outcome::Exact(e) => assert_eq!(e.value, truth, "block {block}"),
            Outcome::Abandoned { bound } => {
                abandoned += 1;
                assert!(
                    truth > threshold,
                    "block {block}: abandoned but its ppl {truth} beats {threshold}"
                );
                assert!(bound <= truth && bound > threshold);
            }
        }
    }
    // Removing block 0 alone is catastrophic: at least that one is abandoned.
    assert!(abandoned >= 1);
    assert_eq!(thresholded.stats().abandoned, abandoned);
    assert!(thresholded
        .trace()
        .iter()
        .any(|t| t.source == Source::Abandoned));
}

fn store_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn scan(store: &std::path::Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_depthprune"));
    cmd.args([
        "scan",
        "--model",
        "smollm2-135m",
        "--objective",
        "ppl",
        "--n-seqs",
        "4",
        "--seq-len",
        "64",
        "--quiet",
    ])
    .arg("--store")
    .arg(store)
    .args(extra);
    cmd
}

fn scan_json(store: &std::path::Path) -> serde_json::Value {
    let out = scan(store, &["--json"]).output().unwrap();
    common::json_stdout(&out)
}

/// A scan killed with SIGKILL part-way: the rerun reuses what was finished, computes only the
/// rest, never duplicates a record, and prints the same table as an uninterrupted scan.
#[test]
fn killed_scan_resumes_from_the_store() {
    let killed_store = tempfile::tempdir().unwrap();
    let mut child = scan(killed_store.path(), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let store_file = || {
        walk(killed_store.path())
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
    };
    loop {
        if let Some(f) = store_file() {
            if store_lines(&f).len() >= 5 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the scan wrote too little in time"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scan finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = store_lines(&store_file().unwrap()).len();
    assert!(before < 31, "nothing left to resume");

    let resumed = scan_json(killed_store.path());
    let stats = &resumed["stats"];
    assert!(stats["store_hits"].as_u64().unwrap() >= 5, "{stats}");
    assert_eq!(
        stats["store_hits"].as_u64().unwrap() + stats["computed"].as_u64().unwrap(),
        31,
        "{stats}"
    );

    let lines = store_lines(&store_file().unwrap());
    let mut keys: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["removed"].to_string())
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicated records in the store");
    assert_eq!(n, 31);

    let fresh_store = tempfile::tempdir().unwrap();
    let fresh = scan_json(fresh_store.path());
    assert_eq!(resumed["full"], fresh["full"]);
    assert_eq!(resumed["blocks"], fresh["blocks"]);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The sieve on SmolLM2 (8 windows of 32 tokens: 2 batches): its exact answers are the full
/// scores, what it screened out is stored as per-item values of the batches it ran, and a
/// later evaluator on that store finishes those candidates to the same bits as a fresh one
/// scoring everything, running fewer tokens.
#[test]
fn sieve_answers_are_exact_and_its_partials_are_finished_later() {
    use depthprune::search::{ScoreFn, Verdict};
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let spec = ObjectiveSpec::Perplexity(PerplexitySpec {
        n_seqs: 8,
        seq_len: 32,
        ..PerplexitySpec::default()
    });
    let objective = spec.build(&model, &common::data_dir()).unwrap();
    let candidates: Vec<Vec<usize>> = (1..9).map(|b| vec![b]).collect();
    let store = tempfile::tempdir().unwrap();
    let open = |dir: &std::path::Path| {
        Evaluator::new(&model, objective.as_ref(), EvaluatorOptions::default())
            .unwrap()
            .with_store(dir)
            .unwrap()
    };
    let mut sieving = open(store.path());
    let verdicts = sieving
        .screen(&candidates, 1)
        .unwrap()
        .expect("2 batches sieve");
    assert_eq!(sieving.trace().len(), candidates.len());
    let dropped = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Dropped(_)))
        .count();
    assert!(
        dropped > 0 && dropped <= candidates.len() - 2,
        "{verdicts:?}"
    );
    let fresh_store = tempfile::tempdir().unwrap();
    let mut fresh = open(fresh_store.path());
    let mut finishing = open(store.path());
    for (c, v) in candidates.iter().zip(&verdicts) {
        let mask = BlockMask::with_removed(model.n_blocks(), c).unwrap();
        let full = fresh.evaluate(&mask).unwrap().value;
        let finished = finishing.evaluate(&mask).unwrap().value;
        assert_eq!(full.to_bits(), finished.to_bits(), "{c:?}");
        if let Verdict::Exact(s) = v {
            assert_eq!(s.to_bits(), full.to_bits(), "{c:?}");
        }
    }
    // The survivors come from the store; the screened-out ran only their second batch.
    let (f, g) = (fresh.stats(), finishing.stats());
    assert_eq!(g.store_hits, candidates.len() - dropped);
    assert_eq!(
        g.tokens * 2,
        f.tokens * dropped as u64 / candidates.len() as u64
    );
}

/// Fine rungs cut the same items into more batches without changing a bit: every item's
/// value of a plain forward, the same per-item order (what a store record holds), and greedy
/// k = 3's chosen set and score whether it sieves over the packed batches or over pairs of
/// questions. A store written under one cut serves the other: each screened-out set's partial
/// record, finished under the packed cut, scores what a fresh evaluation scores.
#[test]
fn fine_rungs_keep_every_bit_and_greedys_answer_gemma3() {
    use depthprune::objective::Rungs;
    use depthprune::search::{self, Problem, SearcherKind, SearcherParams, Source};
    let model = common::model("gemma3-270m", LayerTypeRule::Own);
    let spec = ObjectiveSpec::Accuracy(AccuracySpec {
        tasks: vec![Task::ArcEasy.into()],
        n_per_task: 40,
        split: Split::Calibration,
        metric: depthprune::objective::AccMetric::GoldLogprob,
        ..AccuracySpec::default()
    });
    let data = common::data_dir();
    let coarse = spec
        .build_with(model.as_ref(), &data, Rungs::Batches)
        .unwrap();
    let fine = spec.build_with(model.as_ref(), &data, Rungs::Fine).unwrap();
    let (cw, fw) = (coarse.workload(), fine.workload());
    assert!(
        fw.batches.len() >= 4 * cw.batches.len() && fw.first_rung > 1,
        "{} batches cut into {} (first rung {})",
        cw.batches.len(),
        fw.batches.len(),
        fw.first_rung
    );
    assert_eq!(cw.item_order().0, fw.item_order().0);
    assert_eq!(
        cw.n_tokens(),
        fw.n_tokens(),
        "each part keeps its batch's padding"
    );
    let mask = BlockMask::with_removed(model.n_blocks(), &[3, 9]).unwrap();
    let (a, b) = (
        cw.run(&model, &mask).unwrap(),
        fw.run(&model, &mask).unwrap(),
    );
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "item {i}: packed {x} vs fine {y}");
    }

    let problem = Problem {
        n_blocks: model.n_blocks(),
        k: 3,
        protected: [0, model.n_blocks() - 1].into(),
        direction: spec.direction(),
        budget: None,
        compute: None,
    };
    let greedy = SearcherKind::Greedy
        .build(&SearcherParams::default(), None)
        .unwrap();
    let stores = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut results = vec![];
    for (objective, store) in [(&coarse, &stores[0]), (&fine, &stores[1])] {
        let mut evaluator = Evaluator::new(&model, objective.as_ref(), EvaluatorOptions::default())
            .unwrap()
            .with_store(store.path())
            .unwrap();
        let r = search::search(greedy.as_ref(), &problem, &mut evaluator, 0).unwrap();
        results.push((r, evaluator.stats()));
    }
    let ((c, cs), (f, fs)) = (&results[0], &results[1]);
    assert_eq!(
        (&c.removed, c.score.to_bits()),
        (&f.removed, f.score.to_bits())
    );
    assert!(
        fs.tokens < cs.tokens,
        "fine {} vs packed {} tokens",
        fs.tokens,
        cs.tokens
    );

    // The packed cut's partial records (a prefix of whole packed batches) end on a fine
    // boundary too, so the fine cut resumes them.
    let mut fine_over_packed_store =
        Evaluator::new(&model, fine.as_ref(), EvaluatorOptions::default())
            .unwrap()
            .with_store(stores[0].path())
            .unwrap();
    let plain = EvaluatorOptions {
        memo: false,
        ..EvaluatorOptions::default()
    };
    let mut fresh = Evaluator::new(&model, fine.as_ref(), plain).unwrap();
    let screened: Vec<&Vec<usize>> = c
        .trace
        .iter()
        .filter(|s| s.source == Source::Screened)
        .map(|s| &s.removed)
        .take(2)
        .collect();
    assert!(!screened.is_empty());
    for set in screened {
        let mask = BlockMask::with_removed(model.n_blocks(), set).unwrap();
        let finished = fine_over_packed_store.evaluate(&mask).unwrap().value;
        let full = fresh.evaluate(&mask).unwrap().value;
        assert_eq!(finished.to_bits(), full.to_bits(), "{set:?}");
    }
    assert!(
        fine_over_packed_store.stats().tokens < fresh.stats().tokens,
        "the packed partial records were not resumed"
    );
}

/// `screen_against` on a real model: a proposal far worse than the reference is dropped on
/// the first rung with no score (and costs only that rung's tokens); one that can still win
/// gets the full score, the same bits as a plain evaluation.
#[test]
fn screening_a_proposal_against_a_reference_is_exact_smollm2() {
    use depthprune::objective::Rungs;
    use depthprune::search::{ScoreFn, Verdict};
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let spec = ObjectiveSpec::Perplexity(PerplexitySpec {
        n_seqs: 8,
        seq_len: 32,
        ..PerplexitySpec::default()
    });
    let objective = spec
        .build_with(model.as_ref(), &common::data_dir(), Rungs::Fine)
        .unwrap();
    let mut evaluator =
        Evaluator::new(&model, objective.as_ref(), EvaluatorOptions::default()).unwrap();
    let reference = vec![20];
    let r = evaluator.score(&reference).unwrap();
    let dropped = evaluator
        .screen_against(&[0, 1, 2], &reference, r, 0.01)
        .unwrap()
        .expect("4 levels screen");
    let Verdict::Dropped(s) = dropped else {
        panic!("removing blocks 0-2 kept: {dropped:?}");
    };
    assert!(s.levels < s.of && s.partial > r, "{s:?} vs {r}");
    let step = evaluator.trace().last().unwrap();
    assert_eq!((step.score, step.tokens), (None, 64));
    let kept = evaluator
        .screen_against(&[21], &reference, r * 1.5, 0.01)
        .unwrap()
        .expect("4 levels screen");
    let plain = EvaluatorOptions {
        memo: false,
        ..EvaluatorOptions::default()
    };
    let mut fresh = Evaluator::new(&model, objective.as_ref(), plain).unwrap();
    let full = fresh
        .evaluate(&BlockMask::with_removed(model.n_blocks(), &[21]).unwrap())
        .unwrap()
        .value;
    assert_eq!(kept, Verdict::Exact(full));
}

/// What a screen tells a candidate depends on its items alone, never on whether the store
/// already holds its full score: the sieve and `screen_against` give the same verdicts (the
/// same levels, the same partial bits) on a fresh store and on one where every candidate was
/// scored in full beforehand, so a search takes one path whatever store it runs on, and a
/// replay retraces the run that wrote the store.
#[test]
fn a_screens_verdicts_do_not_depend_on_what_the_store_holds_smollm2() {
    use depthprune::objective::Rungs;
    use depthprune::search::ScoreFn;
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let spec = ObjectiveSpec::Perplexity(PerplexitySpec {
        n_seqs: 8,
        seq_len: 32,
        ..PerplexitySpec::default()
    });
    let objective = spec
        .build_with(model.as_ref(), &common::data_dir(), Rungs::Fine)
        .unwrap();
    let open = |dir: &std::path::Path| {
        Evaluator::new(&model, objective.as_ref(), EvaluatorOptions::default())
            .unwrap()
            .with_store(dir)
            .unwrap()
    };
    let candidates: Vec<Vec<usize>> = (1..9).map(|b| vec![b]).collect();
    let reference = vec![20];
    let proposals = [vec![0, 1, 2], vec![21]];
    let verdicts = |evaluator: &mut Evaluator| {
        let sieved = evaluator.screen(&candidates, 1).unwrap().expect("4 levels");
        let r = evaluator.score(&reference).unwrap();
        let screened: Vec<_> = proposals
            .iter()
            .map(|p| {
                evaluator
                    .screen_against(p, &reference, r * 1.2, 0.01)
                    .unwrap()
                    .expect("4 levels")
            })
            .collect();
        (sieved, screened)
    };
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = verdicts(&mut open(fresh_dir.path()));
    let full_dir = tempfile::tempdir().unwrap();
    {
        let mut filling = open(full_dir.path());
        for c in candidates.iter().chain(&proposals).chain([&reference]) {
            filling
                .evaluate(&BlockMask::with_removed(model.n_blocks(), c).unwrap())
                .unwrap();
        }
    }
    let mut served = open(full_dir.path());
    let known = verdicts(&mut served);
    assert_eq!(fresh, known);
    assert!(
        fresh
            .0
            .iter()
            .chain(&fresh.1)
            .any(|v| matches!(v, depthprune::search::Verdict::Dropped(_))),
        "nothing was screened out, so the test shows nothing: {fresh:?}"
    );
    assert_eq!(served.stats().tokens, 0, "a known candidate was recomputed");
}
