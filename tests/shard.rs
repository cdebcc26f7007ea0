//! Sharded runs of the smoke suite, merged, against one unsharded run: byte-identical outputs
//! for N = 1, 2, 3 and 5 shards (N = 3 computed from empty stores, so every group is evaluated
//! by another process than in the unsharded run; N = 1, 2 and 5 start from a copy of the
//! unsharded run's store, which keeps the test short and exercises the store-served path),
//! `plan` dealing the same shards as `run --shard`, and the two refusals: a missing shard and
//! a conflicting store entry.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SUITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/suites/smoke.yaml");

/// Every file of `run` that must not depend on how the suite was run (report.md and
/// timings.csv hold wall times and are left out).
const IDENTICAL: [&str; 8] = [
    "results.json",
    "runs.csv",
    "runs.jsonl",
    "single_removals.json",
    "removed-smollm2-135m.svg",
    "single-removal-smollm2-135m.svg",
    "agreement-smollm2-135m.svg",
    "budget-smollm2-135m.svg",
];

fn depthprune(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_depthprune"));
    command.args(args);
    if matches!(args[0], "run" | "plan") {
        command.arg("--data-dir").arg(common::data_dir());
    }
    command.output().unwrap()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs every shard of N (seeding each one's store from `seed_store` when given) and merges.
fn sharded(root: &Path, n: usize, seed_store: Option<&Path>) -> (PathBuf, Vec<PathBuf>) {
    let dirs: Vec<PathBuf> = (0..n).map(|i| root.join(format!("n{n}-{i}"))).collect();
    for (i, dir) in dirs.iter().enumerate() {
        if let Some(store) = seed_store {
            copy_dir(store, &dir.join("store"));
        }
        let shard = format!("{i}/{n}");
        let out = ok(depthprune(&[
            "run",
            SUITE,
            "--shard",
            &shard,
            "--out",
            s(dir),
            "--quiet",
        ]));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("shard {shard}")),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let merged = root.join(format!("merged-{n}"));
    let mut args = vec!["merge", SUITE];
    args.extend(dirs.iter().map(|d| s(d)));
    args.extend(["--out", s(&merged)]);
    ok(depthprune(&args));
    (merged, dirs)
}

fn store_lines(root: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for model in std::fs::read_dir(root).unwrap() {
        for file in std::fs::read_dir(model.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                let text = std::fs::read_to_string(&path).unwrap();
                lines.extend(text.lines().map(|l| format!("{}:{l}", path.display())));
            }
        }
    }
    lines
}

#[test]
fn sharded_runs_merge_to_the_bytes_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let one = root.join("one");
    let store = root.join("one-store");
    let started = std::time::Instant::now();
    ok(depthprune(&[
        "run",
        SUITE,
        "--out",
        s(&one),
        "--store",
        s(&store),
        "--quiet",
    ]));
    eprintln!("unsharded: {:.0} s", started.elapsed().as_secs_f64());

    for (n, seed) in [
        (3, None),
        (1, Some(&store)),
        (2, Some(&store)),
        (5, Some(&store)),
    ] {
        let started = std::time::Instant::now();
        let (merged, dirs) = sharded(root, n, seed.map(|p| p.as_path()));
        eprintln!("{n} shard(s): {:.0} s", started.elapsed().as_secs_f64());
        for file in IDENTICAL {
            let a = std::fs::read(one.join(file)).unwrap();
            let b = std::fs::read(merged.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(
                a == b,
                "{file} differs between one run and {n} merged shards"
            );
        }
        for file in ["report.md", "timings.csv"] {
            assert!(merged.join(file).is_file(), "{file}");
        }
        // Each group ran in exactly one shard, and the shards are those `plan` deals.
        let plan = common::json_stdout(&depthprune(&[
            "plan",
            SUITE,
            "--shards",
            &n.to_string(),
            "--cost",
            "1e-3",
            "--json",
        ]));
        let mut seen = 0;
        for (i, dir) in dirs.iter().enumerate() {
            let manifest: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("shard.json")).unwrap())
                    .unwrap();
            assert_eq!(manifest["finished"], true);
            let groups = manifest["groups"].as_array().unwrap();
            let planned: Vec<&serde_json::Value> = plan["groups"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|g| g["shard"] == i)
                .collect();
            assert_eq!(groups.len(), planned.len(), "shard {i}/{n}");
            for (g, p) in groups.iter().zip(planned) {
                assert_eq!(
                    (&g["model"], &g["seed"], &g["objective"]),
                    (&p["model"], &p["seed"], &p["objective"])
                );
            }
            seen += groups.len();
        }
        assert_eq!(seen, 2, "1 model × 1 seed × 2 objectives");
        // The merged store holds each evaluation once.
        let lines = store_lines(&merged.join("store"));
        let keys: std::collections::BTreeSet<String> = lines
            .iter()
            .map(|l| {
                let (file, json) = l.split_once(":{").unwrap();
                let v: serde_json::Value = serde_json::from_str(&format!("{{{json}")).unwrap();
                format!("{file} {}", v["removed"])
            })
            .collect();
        assert_eq!(keys.len(), lines.len(), "a key stored twice");
        assert!(!lines.is_empty());
    }

    // A missing shard: named, refused, or merged as a partial report that says so first.
    let n3: Vec<PathBuf> = (0..3).map(|i| root.join(format!("n3-{i}"))).collect();
    let out = depthprune(&[
        "merge",
        SUITE,
        s(&n3[0]),
        s(&n3[2]),
        "--out",
        s(&root.join("p")),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 of 2 groups are missing: smollm2-135m / seed 0 /"),
        "{stderr}"
    );
    ok(depthprune(&[
        "merge",
        SUITE,
        s(&n3[0]),
        s(&n3[2]),
        "--out",
        s(&root.join("p")),
        "--partial",
    ]));
    let report = std::fs::read_to_string(root.join("p/report.md")).unwrap();
    assert!(
        report
            .lines()
            .next()
            .unwrap()
            .starts_with("**PARTIAL: 1 of 2 groups missing"),
        "{report}"
    );

    // A conflicting store entry: shard 1 of 2 claims another score for a perplexity evaluation
    // shard 0 stored. The error names both files.
    let (a, b) = (root.join("c0"), root.join("c1"));
    copy_dir(&root.join("n2-0"), &a);
    copy_dir(&root.join("n2-1"), &b);
    let find = |dir: &Path| -> PathBuf {
        let ppl_key = std::fs::read_dir(dir.join("store"))
            .unwrap()
            .flat_map(|m| std::fs::read_dir(m.unwrap().path()).unwrap())
            .map(|f| f.unwrap().path())
            .find(|p| {
                p.to_string_lossy().ends_with(".objective.json")
                    && std::fs::read_to_string(p).unwrap().contains("perplexity")
            })
            .unwrap();
        PathBuf::from(
            ppl_key
                .to_string_lossy()
                .replace(".objective.json", ".jsonl"),
        )
    };
    let (file_a, file_b) = (find(&a), find(&b));
    let first = std::fs::read_to_string(&file_a).unwrap();
    let mut record: serde_json::Value =
        serde_json::from_str(first.lines().next().unwrap()).unwrap();
    record["value"] = serde_json::json!(record["value"].as_f64().unwrap() + 1.0);
    let mut text = std::fs::read_to_string(&file_b).unwrap();
    text.push_str(&format!("{record}\n"));
    std::fs::write(&file_b, text).unwrap();
    let out = depthprune(&["merge", SUITE, s(&a), s(&b), "--out", s(&root.join("c"))]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("evaluation store conflict"), "{stderr}");
    assert!(
        stderr.contains(s(&file_a)) && stderr.contains(s(&file_b)),
        "{stderr}"
    );
    assert!(
        !root.join("c/results.json").exists(),
        "nothing is written before the stores are checked"
    );
}

const PAPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/suites/paper.yaml");

/// A model the plan does not open needs its cost, and says so before loading anything.
#[test]
fn plan_refuses_an_assumed_model_without_a_cost() {
    let out = depthprune(&[
        "plan",
        PAPER,
        "--blocks",
        "hf:Qwen/Qwen3-8B=36",
        "--cost",
        "hf:google/gemma-3-12b-pt=1e-4",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("give it with --cost hf:Qwen/Qwen3-8B=SECONDS_PER_TOKEN"),
        "{stderr}"
    );
}

/// The nightly suite must fit a night: at the assumed per-token costs of docs/cluster.md (6e-5 s for
/// the 8B models, 9e-5 s for Gemma 3 12B, bf16 on an H100) and the checkpoints' block counts,
/// `plan --shards 8` puts every shard under the 23-hour job limit. It fails as soon as the
/// suite grows (more seeds, larger objectives, bigger budgets) past what a night holds; the same
/// plan with `sieve: false` gave 25.6 h per shard (measured by hand, not here).
#[test]
fn the_paper_suite_fits_a_night_on_eight_shards() {
    let out = depthprune(&[
        "plan",
        PAPER,
        "--shards",
        "8",
        "--blocks",
        "hf:meta-llama/Llama-3.1-8B=32",
        "--blocks",
        "hf:Qwen/Qwen3-8B=36",
        "--blocks",
        "hf:google/gemma-3-12b-pt=48",
        "--cost",
        "hf:meta-llama/Llama-3.1-8B=6e-5",
        "--cost",
        "hf:Qwen/Qwen3-8B=6e-5",
        "--cost",
        "hf:google/gemma-3-12b-pt=9e-5",
        "--json",
        "--quiet",
    ]);
    let plan = common::json_stdout(&out);
    let shards = plan["shard_plans"].as_array().expect("shard_plans");
    assert_eq!(shards.len(), 8);
    for s in shards {
        let hours = s["estimated_seconds"].as_f64().unwrap() / 3600.0;
        assert!(hours < 23.0, "shard {} takes {hours:.1} h", s["shard"]);
    }
}
