//! A suite run end to end on the real model: every declared run is recorded, the outputs are
//! written, a rerun is served from the store with identical results, and `--check` compares
//! the runs with golden files.

mod common;

use std::time::Instant;

const SUITE: &str = "
name: tiny
description: one_shot and block influence on SmolLM2 at toy size, to exercise the runner
models: [smollm2-135m]
objectives:
  ppl: {kind: perplexity, n_seqs: 2, seq_len: 64}
searchers:
  - {name: one_shot}
  - {name: block_influence}
  - {name: greedy, budget: 60}
k: {smollm2-135m: 2}
seeds: [0, 1]
";

fn run_with(
    suite: &std::path::Path,
    out: &std::path::Path,
    store: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let extra: Vec<&str> = std::iter::once("--quiet")
        .chain(extra.iter().copied())
        .collect();
    common::run_suite(suite, out, store, &extra)
}

fn run(
    suite: &std::path::Path,
    out: &std::path::Path,
    store: &std::path::Path,
    jobs: usize,
) -> serde_json::Value {
    let output = run_with(suite, out, store, &["--jobs", &jobs.to_string()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    results["runs"].clone()
}

#[test]
fn a_suite_runs_and_reruns_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("tiny.yaml");
    std::fs::write(&suite, SUITE).unwrap();
    let store = dir.path().join("store");
    let first = run(&suite, &dir.path().join("a"), &store, 1);
    let runs = first.as_array().unwrap();
    assert_eq!(
        runs.len(),
        6,
        "1 model × 2 seeds × 1 objective × 3 searchers"
    );
    for r in runs {
        assert_eq!(r["removed"].as_array().unwrap().len(), 2);
        assert_eq!(
            r["ranking"].as_array().unwrap().len(),
            28,
            "30 blocks less the two ends"
        );
    }
    let csv = std::fs::read_to_string(dir.path().join("a/runs.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7);
    for file in [
        "report.md",
        "single_removals.json",
        "removed-smollm2-135m.svg",
        "single-removal-smollm2-135m.svg",
        "agreement-smollm2-135m.svg",
    ] {
        assert!(dir.path().join("a").join(file).is_file(), "{file} missing");
    }
    let singles: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("a/single_removals.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(singles.as_array().unwrap().len(), 2, "one curve per seed");
    assert_eq!(singles[0]["scores"].as_array().unwrap().len(), 28);

    let started = Instant::now();
    // Two jobs, served from the store: the same runs in the same order.
    let second = run(&suite, &dir.path().join("b"), &store, 2);
    let rerun_seconds = started.elapsed().as_secs_f64();
    assert_eq!(first, second);
    eprintln!("rerun from the store: {rerun_seconds:.1} s");
    // Timings are not in the data files, so those are the same bytes; the rerun reports each
    // search at what its evaluations cost when first computed, not the 0 s of reading them.
    for file in ["results.json", "runs.csv", "single_removals.json"] {
        assert!(
            std::fs::read(dir.path().join("a").join(file)).unwrap()
                == std::fs::read(dir.path().join("b").join(file)).unwrap(),
            "{file} differs after a rerun from the store"
        );
    }
    let searches = |run: &str| -> Vec<(usize, usize, f64)> {
        let mut rows = Vec::new();
        let mut reader = csv::Reader::from_path(dir.path().join(run).join("timings.csv")).unwrap();
        for row in reader.deserialize::<std::collections::BTreeMap<String, String>>() {
            let row = row.unwrap();
            if row["phase"] == "search" {
                rows.push((
                    row["computed"].parse().unwrap(),
                    row["from_store"].parse().unwrap(),
                    row["seconds"].parse().unwrap(),
                ));
            }
        }
        rows
    };
    let (a, b) = (searches("a"), searches("b"));
    assert_eq!(a.len(), 6);
    assert!(b.iter().all(|&(computed, _, _)| computed == 0), "{b:?}");
    let total = |rows: &[(usize, usize, f64)]| rows.iter().map(|r| r.2).sum::<f64>();
    assert!(
        total(&b) > 0.8 * total(&a),
        "rerun reports {:.1} s of search time, the first run {:.1} s",
        total(&b),
        total(&a)
    );

    // --check against golden files: a missing one is written as .new and fails the check;
    // accepted, it passes; edited, it fails and shows the line.
    let golden = dir.path().join("golden");
    let golden_arg = golden.to_str().unwrap();
    let check = || {
        run_with(
            &suite,
            &dir.path().join("c"),
            &store,
            &["--check", "--golden-dir", golden_arg],
        )
    };
    let out = check();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("tiny-smollm2-135m.snap does not exist"),
        "{stderr}"
    );
    let new = golden.join("tiny-smollm2-135m.snap.new");
    std::fs::rename(&new, golden.join("tiny-smollm2-135m.snap")).unwrap();
    let out = check();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(golden.join("tiny-smollm2-135m.snap")).unwrap();
    let edited = text.replacen("ppl 0 one_shot", "ppl 0 one_shot_", 1);
    std::fs::write(golden.join("tiny-smollm2-135m.snap"), edited).unwrap();
    let out = check();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // A unified diff: the golden line, then the actual one.
    let line = text
        .lines()
        .find(|l| l.starts_with("ppl 0 one_shot"))
        .unwrap();
    let golden_line = line.replacen("ppl 0 one_shot", "ppl 0 one_shot_", 1);
    assert!(
        stderr.contains(&format!("-{golden_line}\n+{line}\n")),
        "{stderr}"
    );
}

/// A suite's first checked run, as the nightly paper-scale job's first night is
/// (`--check --record-missing`): a missing golden is written and passes, a model with no
/// `expected` verdicts is not failed for it; what exists is still checked.
#[test]
fn a_first_checked_run_records_what_is_missing_and_checks_what_exists() {
    use depthprune::suite::check::{check_outcome, OnMismatch};
    use depthprune::suite::claims::{Claim, ClaimResult, Verdict};
    use depthprune::suite::Suite;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("first.yaml");
    // Claims compare objectives, so the tiny suite gets a second one.
    let yaml = SUITE.replace("name: tiny", "name: first").replace(
        "objectives:\n",
        "objectives:\n  acc: {kind: accuracy, tasks: [arc_easy], n_per_task: 2}\n",
    )
        + "claims:\n  alpha: 0.05\n  permutations: 99\n  min_cross_searcher_agreement: 0.5\n  \
         max_ranking_tau: 0.5\n  max_relative_gain: 0.05\n  share_margin: 0.1\n";
    std::fs::write(&path, yaml).unwrap();
    let suite = Suite::load(&path).unwrap();
    // Any claim will do; the last one is named through its enum, whatever it is called.
    let claim = Claim::ALL[Claim::ALL.len() - 1];
    let verdict = |model: &str, verdict| ClaimResult {
        model: model.into(),
        claim: claim.as_str().into(),
        verdict,
        reason: String::new(),
        p_holds: None,
        p_fails: None,
        p_adjusted: None,
        p_floor: None,
        statistics: Default::default(),
        per_seed: Vec::new(),
        threshold: None,
    };
    let verdicts = [verdict("smollm2-135m", Verdict::Holds)];
    let golden = dir.path().join("golden");
    let check = |mode| check_outcome(&golden, &suite, &[], Some(&verdicts), mode);

    // The plain check fails on the missing golden and on the unpinned verdict.
    let err = check(OnMismatch::WriteNew).unwrap_err().to_string();
    assert!(
        err.contains("first-smollm2-135m.snap does not exist"),
        "{err}"
    );
    assert!(err.contains("states no expected verdict"), "{err}");
    std::fs::remove_dir_all(&golden).unwrap();

    // The first run records the golden and passes; the next plain check compares with it.
    check(OnMismatch::RecordMissing).unwrap();
    let snap = golden.join("first-smollm2-135m.snap");
    assert!(snap.exists());
    let err = check(OnMismatch::WriteNew).unwrap_err().to_string();
    assert!(!err.contains("snap"), "{err}");

    // What exists is still checked: an edited golden fails the recording run too, and so does
    // a pinned verdict that differs.
    let recorded = std::fs::read_to_string(&snap).unwrap();
    std::fs::write(&snap, recorded + "ppl 0 one_shot | 1 2 | 10.00 |  | 1 2\n").unwrap();
    let err = check(OnMismatch::RecordMissing).unwrap_err().to_string();
    assert!(err.contains("first-smollm2-135m.snap differs"), "{err}");
    assert!(!err.contains("expected verdict"), "{err}");
    let mut pinned = suite.clone();
    let claims = pinned.claims.as_mut().unwrap();
    claims.expected.insert(
        "smollm2-135m".into(),
        [(claim, Verdict::Fails)].into_iter().collect(),
    );
    let err = check_outcome(
        &golden,
        &pinned,
        &[],
        Some(&verdicts),
        OnMismatch::RecordMissing,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("expected fails, measured holds"), "{err}");
}
