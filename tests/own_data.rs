//! A researcher's own data end to end, through the binary: a text corpus and a task file
//! (`examples/own-data/`, the worked example of docs/objectives.md) written to a fresh folder, a one-shot
//! scan on the corpus, a two-objective suite on both, the store keyed by content rather than
//! path, and the errors a broken task file or a too-small corpus give. Toy sizes (SmolLM2,
//! 1 × 32 tokens, one question).

mod common;

use std::path::Path;
use std::process::{Command, Output};

const NOTES: &str = include_str!("../examples/own-data/notes.txt");
const TASK: &str = include_str!("../examples/own-data/capitals.yaml");
const TASK_DATA: &str = include_str!("../examples/own-data/capitals.jsonl");

const SUITE: &str = "
name: own
description: toy sizes of examples/own-data/suite.yaml
models: [smollm2-135m]
objectives:
  ppl: {kind: perplexity, source: {file: notes.txt, unit: paragraph}, n_seqs: 1, seq_len: 32}
  acc: {kind: accuracy, tasks: [capitals.yaml], n_per_task: 1, metric: gold_logprob}
searchers:
  - {name: one_shot}
k: {smollm2-135m: 2}
seeds: [0]
";

fn depthprune(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_depthprune"))
        .current_dir(dir)
        .args(args)
        .env("DEPTHPRUNE_DATA", common::data_dir())
        .output()
        .unwrap()
}

fn write_example(dir: &Path) {
    std::fs::write(dir.join("notes.txt"), NOTES).unwrap();
    std::fs::write(dir.join("capitals.yaml"), TASK).unwrap();
    std::fs::write(dir.join("capitals.jsonl"), TASK_DATA).unwrap();
}

fn scan(dir: &Path, corpus: &str, store: &Path) -> serde_json::Value {
    common::json_stdout(&depthprune(
        dir,
        &[
            "scan",
            "--model",
            "smollm2-135m",
            "--objective",
            "ppl",
            "--corpus",
            corpus,
            "--n-seqs",
            "1",
            "--seq-len",
            "32",
            "--store",
            store.to_str().unwrap(),
            "--quiet",
            "--json",
        ],
    ))
}

fn stderr_of(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn own_corpus_and_task_file_through_scan_and_a_suite() {
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    write_example(&work);
    let store = dir.path().join("store");

    // A one-shot scan on the corpus: every block, a finite perplexity, the file keyed by its
    // sha256 and unit.
    let first = scan(&work, "notes.txt", &store);
    let source = &first["objective"]["source"];
    assert_eq!(source["unit"], "paragraph");
    assert_eq!(source["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(first["blocks"].as_array().unwrap().len(), 30);
    let full = first["full"]["value"].as_f64().unwrap();
    assert!(full.is_finite() && full > 1.0, "full perplexity {full}");
    assert_eq!(first["stats"]["store_hits"], 0);

    // The same text under another name and folder is the same objective: served from the store.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("renamed.txt"), NOTES).unwrap();
    let again = scan(&work, "../elsewhere/renamed.txt", &store);
    assert_eq!(again["objective_key"], first["objective_key"]);
    assert_eq!(again["stats"]["computed"], 0);
    assert_eq!(again["full"], first["full"]);
    // Different text is a different objective.
    std::fs::write(
        elsewhere.join("changed.txt"),
        NOTES.replace("beehive", "hive"),
    )
    .unwrap();
    let changed = common::json_stdout(&depthprune(
        &work,
        &[
            "eval",
            "--model",
            "smollm2-135m",
            "--objective",
            "ppl",
            "--corpus",
            "../elsewhere/changed.txt",
            "--n-seqs",
            "1",
            "--seq-len",
            "32",
            "--json",
        ],
    ));
    assert_ne!(changed["objective_key"], first["objective_key"]);
    assert_ne!(
        changed["objective"]["source"]["sha256"],
        first["objective"]["source"]["sha256"]
    );

    // A two-objective suite on both files, named relative to the suite, run from elsewhere.
    std::fs::write(work.join("suite.yaml"), SUITE).unwrap();
    let out = dir.path().join("out");
    let run = depthprune(
        dir.path(),
        &[
            "run",
            "work/suite.yaml",
            "--out",
            out.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let runs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        assert_eq!(r["removed"].as_array().unwrap().len(), 2);
        let calibration = r["calibration"].as_object().unwrap();
        assert!(calibration["ppl"].as_f64().unwrap() > 1.0, "{r}");
        assert!(calibration["acc"].as_f64().unwrap() <= 0.0, "{r}");
    }
    eprintln!(
        "own data end to end: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn broken_task_files_and_small_corpora_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    write_example(dir.path());
    let eval_acc = |task: &str| {
        depthprune(
            dir.path(),
            &[
                "eval",
                "--model",
                "smollm2-135m",
                "--objective",
                "acc",
                "--tasks",
                task,
            ],
        )
    };
    // A label that is not an option, on line 3 of the data.
    std::fs::write(
        dir.path().join("capitals.jsonl"),
        TASK_DATA.replace("\"answer\": \"Tokyo\"", "\"answer\": \"Edo\""),
    )
    .unwrap();
    let err = stderr_of(&eval_acc("capitals.yaml"));
    assert!(
        err.contains("capitals.jsonl:3:") && err.contains("'Edo' is none of the options"),
        "{err}"
    );
    // A template naming a field the records lack.
    std::fs::write(
        dir.path().join("bad.yaml"),
        TASK.replace("{{country}}", "{{nation}}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("capitals.jsonl"), TASK_DATA).unwrap();
    let err = stderr_of(&eval_acc("bad.yaml"));
    assert!(
        err.contains("capitals.jsonl:1:") && err.contains("no field `nation`"),
        "{err}"
    );
    assert!(err.contains("country"), "the fields it has: {err}");
    // An unknown built-in name.
    let err = stderr_of(&eval_acc("arc_esay"));
    assert!(err.contains("unknown task 'arc_esay'"), "{err}");

    // More windows than the corpus's calibration paragraphs hold.
    let out = depthprune(
        dir.path(),
        &[
            "eval",
            "--model",
            "smollm2-135m",
            "--objective",
            "ppl",
            "--corpus",
            "notes.txt",
            "--n-seqs",
            "50",
        ],
    );
    let err = stderr_of(&out);
    assert!(
        err.contains("corpus notes.txt has only") && err.contains("n_seqs"),
        "{err}"
    );
    // An empty corpus.
    std::fs::write(dir.path().join("empty.txt"), "\n\n").unwrap();
    let out = depthprune(
        dir.path(),
        &[
            "eval",
            "--model",
            "smollm2-135m",
            "--objective",
            "ppl",
            "--corpus",
            "empty.txt",
        ],
    );
    let err = stderr_of(&out);
    assert!(err.contains("empty.txt has no text"), "{err}");
}
