//! The GitHub workflows parse and have the shape a runner accepts (actionlint cannot be
//! installed here): a trigger, jobs with a runner and steps, each step one `uses` or one `run`.
//! The CI workflow runs `.ci/run`; the nightly one builds with CUDA (through
//! `scripts/cuda-build-check`) and checks the paper suite with the binary that built.

use std::path::Path;

use serde_yaml_ng::Value;

fn workflow(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".github/workflows")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_shape(name: &str, w: &Value) -> Vec<String> {
    let mut runs = Vec::new();
    assert!(w.get("on").is_some(), "{name}: no `on` trigger");
    let jobs = w["jobs"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{name}: no jobs"));
    assert!(!jobs.is_empty(), "{name}: no jobs");
    for (job_name, job) in jobs {
        let job_name = job_name.as_str().unwrap();
        assert!(
            job.get("runs-on").is_some(),
            "{name}/{job_name}: no runs-on"
        );
        let steps = job["steps"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}/{job_name}: no steps"));
        for (i, step) in steps.iter().enumerate() {
            let (uses, run) = (step.get("uses"), step.get("run"));
            assert!(
                uses.is_some() != run.is_some(),
                "{name}/{job_name} step {i}: needs exactly one of uses/run"
            );
            if let Some(u) = uses {
                let u = u.as_str().unwrap();
                assert!(
                    u.contains('@'),
                    "{name}/{job_name} step {i}: `{u}` has no version"
                );
            }
            if let Some(r) = run {
                runs.push(r.as_str().unwrap().to_string());
            }
        }
    }
    runs
}

#[test]
fn ci_runs_the_ci_script() {
    let runs = check_shape("ci.yml", &workflow("ci.yml"));
    assert!(runs.iter().any(|r| r.trim() == "bash .ci/run"), "{runs:?}");
}

#[test]
fn nightly_builds_with_cuda_shards_the_paper_suite_and_checks_the_merge() {
    let w = workflow("nightly-gpu.yml");
    let runs = check_shape("nightly-gpu.yml", &w);
    assert!(w["on"].get("schedule").is_some(), "not scheduled");
    let runner = format!("{:?}", w["jobs"]["shard"]["runs-on"]);
    assert!(
        runner.contains("self-hosted") && runner.contains("gpu"),
        "{runner}"
    );
    assert!(
        runs.iter().any(|r| r.contains("scripts/cuda-build-check")),
        "{runs:?}"
    );
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cuda-build-check"),
    )
    .unwrap();
    assert!(
        script.contains("cargo build --release --features cuda")
            && script.contains("DEPTHPRUNE_CUDA_TARGET_DIR:-target/cuda}"),
        "scripts/cuda-build-check no longer builds --features cuda into target/cuda"
    );
    // Each shard runs the CUDA build, not a CPU one left in target/release.
    assert!(
        runs.iter()
            .any(|r| r.contains("./target/cuda/release/depthprune run")
                && r.contains("suites/paper.yaml")
                && r.contains("--shard")),
        "{runs:?}"
    );
    // The merge job waits for every shard and checks verdicts and goldens; until the paper
    // suite's goldens and expected verdicts exist, it records them instead of failing.
    assert_eq!(
        format!("{:?}", w["jobs"]["merge"]["needs"]),
        "String(\"shard\")"
    );
    assert!(
        runs.iter()
            .any(|r| r.contains("depthprune merge suites/paper.yaml")
                && r.contains("--check")
                && r.contains("--record-missing")),
        "{runs:?}"
    );
}
