//! A task that is not shipped, in lm-evaluation-harness's own file format (SciQ, as lm-eval's
//! `sciq.yaml` writes it), over a small JSONL in the layout the `datasets` library exports
//! (`<data dir>/allenai/sciq/test.jsonl`, made here): `eval` (with per-sample logs, from which
//! acc and acc_norm are recomputed to the reported bits), `scan` and a suite run it unchanged,
//! and the suite's results carry the manifest. SmolLM2, six short questions.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// lm-eval's `sciq.yaml` (its keys and templates as written there).
const SCIQ: &str = r#"tag:
  - science
task: sciq
dataset_path: allenai/sciq
dataset_name: null
output_type: multiple_choice
training_split: train
validation_split: validation
test_split: test
doc_to_text: "{{support.lstrip()}}\nQuestion: {{question}}\nAnswer:"
doc_to_target: 3
doc_to_choice: "{{[distractor1, distractor2, distractor3, correct_answer]}}"
should_decontaminate: true
doc_to_decontamination_query: "{{support}} {{question}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"#;

/// Six records with SciQ's fields, in its export's column order.
const RECORDS: &[(&str, &str, [&str; 3], &str)] = &[
    (
        "What do plants take in to make food?",
        " Plants use light.",
        ["salt", "sand", "oil"],
        "carbon dioxide",
    ),
    (
        "What is frozen water called?",
        "",
        ["steam", "fog", "mud"],
        "ice",
    ),
    (
        "Which organ pumps blood?",
        " The heart is a muscle.",
        ["lung", "liver", "skin"],
        "heart",
    ),
    (
        "What pulls objects toward Earth?",
        "",
        ["magnetism", "friction", "light"],
        "gravity",
    ),
    (
        "What gas do animals breathe in?",
        " Air has many gases.",
        ["helium", "neon", "argon"],
        "oxygen",
    ),
    (
        "What is the closest star to Earth?",
        "",
        ["Sirius", "Vega", "Polaris"],
        "the Sun",
    ),
];

fn write_data(dir: &Path) {
    let folder = dir.join("data/allenai/sciq");
    std::fs::create_dir_all(&folder).unwrap();
    let lines: Vec<String> = RECORDS
        .iter()
        .map(|(q, support, d, a)| {
            format!(
                "{{\"question\":{},\"distractor3\":{},\"distractor1\":{},\"distractor2\":{},\"correct_answer\":{},\"support\":{}}}",
                Value::from(*q), Value::from(d[2]), Value::from(d[0]), Value::from(d[1]),
                Value::from(*a), Value::from(*support)
            )
        })
        .collect();
    std::fs::write(folder.join("test.jsonl"), lines.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("sciq.yaml"), SCIQ).unwrap();
}

fn depthprune(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_depthprune"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

const MODEL: [&str; 2] = ["--model", "smollm2-135m"];
const TASK: [&str; 8] = [
    "--objective",
    "acc",
    "--tasks",
    "sciq.yaml",
    "--data-dir",
    "data",
    "--n-per-task",
    "3",
];

/// argmax with ties to the first, as numpy's.
fn argmax(xs: &[f64]) -> usize {
    (0..xs.len()).fold(0, |b, i| if xs[i] > xs[b] { i } else { b })
}

#[test]
fn an_lm_eval_task_file_runs_eval_scan_and_a_suite_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    write_data(dir.path());
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();

    // eval, with per-sample logs.
    let mut args = vec!["eval", "--json", "--log-samples", "samples.jsonl"];
    args.extend(MODEL);
    args.extend(TASK);
    let eval = common::json_stdout(&depthprune(dir.path(), &args));
    let metrics = &eval["metrics"];
    assert_eq!(metrics["sciq/n"], 3.0);
    assert_eq!(
        eval["objective"]["tasks"][0]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );

    // acc and acc_norm from the records alone, to the reported bits.
    let text = std::fs::read_to_string(dir.path().join("samples.jsonl")).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    let (mut acc, mut acc_norm) = (0.0, 0.0);
    for r in &records {
        let ll: Vec<f64> = r["filtered_resps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_f64().unwrap())
            .collect();
        let lens: Vec<f64> = r["completion_len"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_f64().unwrap())
            .collect();
        // lm-eval's acc_norm divides by the option's length in characters.
        for (c, l) in r["choices"].as_array().unwrap().iter().zip(&lens) {
            assert_eq!(c.as_str().unwrap().chars().count() as f64, *l);
        }
        let normed: Vec<f64> = ll.iter().zip(&lens).map(|(l, n)| l / n).collect();
        let gold = r["target"].as_u64().unwrap() as usize;
        assert_eq!(gold, 3, "doc_to_target: 3, the correct answer");
        let hit = (argmax(&ll) == gold) as u8 as f64;
        let hit_norm = (argmax(&normed) == gold) as u8 as f64;
        assert_eq!(r["acc"].as_f64().unwrap(), hit);
        assert_eq!(r["acc_norm"].as_f64().unwrap(), hit_norm);
        acc += hit;
        acc_norm += hit_norm;
        // lm-eval's fields: the prompt as its template renders it, the options' continuations.
        let doc = &r["doc"];
        let args = r["arguments"].as_array().unwrap();
        let support = doc["support"].as_str().unwrap().trim_start();
        let prompt = format!(
            "{support}\nQuestion: {}\nAnswer:",
            doc["question"].as_str().unwrap()
        );
        assert_eq!(args[0][0].as_str().unwrap(), prompt);
        assert_eq!(
            args[3][1].as_str().unwrap(),
            format!(" {}", doc["correct_answer"].as_str().unwrap())
        );
        for h in ["doc_hash", "prompt_hash", "target_hash"] {
            assert_eq!(r[h].as_str().unwrap().len(), 64, "{h}");
        }
        assert_eq!(r["metrics"], serde_json::json!(["acc", "acc_norm"]));
    }
    // Summed, then divided by the count, as the reported mean is.
    assert_eq!(metrics["sciq/acc"].as_f64().unwrap(), acc / 3.0);
    assert_eq!(metrics["sciq/acc_norm"].as_f64().unwrap(), acc_norm / 3.0);

    // scan: every block; the same objective (key) and full-model score as eval's.
    let mut args = vec!["scan", "--json", "--quiet", "--store", store];
    args.extend(MODEL);
    args.extend(TASK);
    let scan = common::json_stdout(&depthprune(dir.path(), &args));
    assert_eq!(scan["blocks"].as_array().unwrap().len(), 30);
    assert_eq!(scan["objective_key"], eval["objective_key"]);
    assert_eq!(scan["full"]["value"], eval["value"]);

    // A suite: the data root from its data_dir field, per-sample logs of its held-out outcome,
    // the manifest in results.json and report.md.
    std::fs::write(
        dir.path().join("suite.yaml"),
        "name: sciq\ndescription: an lm-eval task file in a suite\nmodels: [smollm2-135m]\n\
         data_dir: data\n\
         objectives:\n  acc: {kind: accuracy, tasks: [sciq.yaml], n_per_task: 2, metric: gold_logprob}\n\
         heldout:\n  sciq: {kind: accuracy, tasks: [sciq.yaml], n_per_task: 2, split: evaluation}\n\
         searchers:\n  - {name: one_shot}\nk: {smollm2-135m: 1}\nseeds: [0]\n",
    )
    .unwrap();
    let out = depthprune(
        dir.path(),
        &[
            "run",
            "suite.yaml",
            "--out",
            "out",
            "--quiet",
            "--log-samples",
            "--store",
            store,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/results.json")).unwrap(),
    )
    .unwrap();
    let run = &results["runs"][0];
    let removed = run["removed"].as_array().unwrap();
    assert_eq!(removed.len(), 1);
    let heldout = run["heldout"]["sciq"].as_f64().unwrap();
    let m = &results["manifest"];
    assert_eq!(m["git_commit"].as_str().unwrap().len(), 40, "{m}");
    assert_eq!(m["models"]["smollm2-135m"].as_str().unwrap().len(), 64);
    assert_eq!(m["data"]["sciq"].as_str().unwrap().len(), 64);
    assert_eq!(m["dtype"], "f32");
    let items = m["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "one calibration sample (seed 0), one held-out: {m}"
    );
    assert_eq!(
        (items[0]["objective"].as_str(), items[0]["n"].as_u64()),
        (Some("acc"), Some(2))
    );
    assert_eq!(items[1]["objective"], "heldout/sciq");
    let report = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(report.contains("## Manifest") && report.contains(m["suite_sha256"].as_str().unwrap()));
    // The held-out outcome's per-sample records reproduce its acc_norm (the default metric).
    let samples = dir.path().join(format!(
        "out/samples/smollm2-135m/sciq/removed-{}.jsonl",
        removed[0]
    ));
    let text = std::fs::read_to_string(&samples).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    let hits: f64 = records
        .iter()
        .map(|r| r["acc_norm"].as_f64().unwrap())
        .sum();
    assert_eq!(hits / 2.0, heldout);
}
