//! The study's claims on the real models and data: runs `suites/claims.yaml` end to end, checks
//! each claim's verdict against the one the suite expects, and compares every run's chosen set,
//! ranking and rounded score with the golden snapshots in `golden/` (produced by running this
//! test, reviewed with `cargo insta review`).
//!
//! It takes ~20 minutes on 2 cores. Outputs (report.md, plots) are left in
//! `target/tmp/claims/` for inspection. `DEPTHPRUNE_CLAIMS_STORE=<dir>` reuses an evaluation
//! store across invocations while working on the harness; without it every evaluation is
//! recomputed, as in CI.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use depthprune::evaluator::EvaluatorOptions;
use depthprune::report::golden::golden_text;
use depthprune::suite::check::verdict_problems;
use depthprune::suite::run::RunOptions;
use depthprune::suite::{execute, Suite};

/// Range checks on every statistic a claim reports: agreement in [0, 1], correlations in
/// [-1, 1], p-values in (0, 1], everything finite.
fn check_bounds(claim: &str, stats: &BTreeMap<String, f64>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, &v) in stats {
        let bounds = if name.contains("jaccard") || name.starts_with("r2_") {
            Some((0.0, 1.0))
        } else if name.contains("tau") || name.contains("rho") {
            Some((-1.0, 1.0))
        } else if name.ends_with("_p") {
            Some((f64::MIN_POSITIVE, 1.0))
        } else if name == "mean_difference" || name.starts_with("ci_") {
            Some((-1.0, 1.0))
        } else {
            None
        };
        if !v.is_finite() {
            problems.push(format!("{claim}: {name} = {v} is not finite"));
        } else if let Some((lo, hi)) = bounds {
            if !(lo..=hi).contains(&v) {
                problems.push(format!("{claim}: {name} = {v} outside [{lo}, {hi}]"));
            }
        }
    }
    problems
}

#[test]
fn claims_suite_gives_the_expected_verdicts_and_golden_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite = Suite::load(&root.join("suites/claims.yaml")).unwrap();
    let settings = suite.claims.clone().expect("claims.yaml states its claims");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("claims");
    let _ = std::fs::remove_dir_all(&out);
    let store = match std::env::var_os("DEPTHPRUNE_CLAIMS_STORE") {
        Some(dir) => PathBuf::from(dir),
        None => out.join("store"),
    };
    let options = RunOptions {
        out_dir: out.clone(),
        data_dir: common::data_dir(),
        store_dir: store,
        engine: EvaluatorOptions::default(),
        quiet: true,
        jobs: 1,
    };
    let started = std::time::Instant::now();
    let outcome = execute(&suite, &options).unwrap();
    let verdicts = outcome.verdicts.expect("the suite has claims");
    eprintln!(
        "claims suite: {} runs in {:.0} s; report in {}\n{}",
        outcome.runs.runs.len(),
        started.elapsed().as_secs_f64(),
        out.join("report.md").display(),
        depthprune::report::claims_table(&verdicts, &settings)
    );

    let mut problems = verdict_problems(&verdicts, &settings);
    for v in &verdicts {
        problems.extend(check_bounds(&v.claim, &v.statistics));
    }
    for model in &suite.models {
        for claim in [
            "objective_shapes_redundancy",
            "rankings_disagree",
            "searchers_converge",
            "objective_beats_search",
            "variance_share",
        ] {
            if !verdicts
                .iter()
                .any(|v| &v.model == model && v.claim == claim)
            {
                problems.push(format!("{model} / {claim}: no verdict was computed"));
            }
        }
    }

    // Goldens are compared after the verdicts are known, so a failing snapshot still shows them.
    let mut insta_settings = insta::Settings::clone_current();
    insta_settings.set_snapshot_path(root.join("golden"));
    insta_settings.set_prepend_module_to_snapshot(false);
    insta_settings.set_omit_expression(true);
    insta_settings.bind(|| {
        for model in &suite.models {
            insta::assert_snapshot!(
                format!("claims-{model}"),
                golden_text(model, &outcome.runs.runs)
            );
        }
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
