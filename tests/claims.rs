//! The study's claims on the real models and data: runs `suites/claims.yaml` end to end, checks
//! each claim's verdict against the one the suite pins (`expected`), runs the two control
//! suites that must not confirm a claim, and compares every run's chosen set, ranking, rounded
//! score and held-out outcomes with the goldens in `golden/`: the check `depthprune run
//! --check` makes, through the same code (tests/suite.rs runs that command with a golden line
//! edited). Goldens are produced by running:
//! `DEPTHPRUNE_UPDATE_GOLDENS=1 cargo test --release --test claims` (or
//! `depthprune run suites/claims.yaml --check --update-goldens`), then reviewed in the diff.
//!
//! Outputs (report.md, plots) are left in `target/tmp/<suite>/` for inspection.
//! `DEPTHPRUNE_CLAIMS_STORE=<dir>` reuses an evaluation store across invocations while working
//! on the harness; without it every evaluation is recomputed, as in CI.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use depthprune::evaluator::EvaluatorOptions;
use depthprune::study::{execute, SuiteOutcome};
use depthprune::suite::check::{golden_problems, verdict_problems, OnMismatch};
use depthprune::suite::claims::{Claim, Verdict};
use depthprune::suite::run::RunOptions;
use depthprune::suite::Suite;

/// Range checks on every statistic a claim reports: Jaccards, p-values and floors in [0, 1],
/// correlations and chance-corrected agreements in [-1, 1], everything finite.
fn check_bounds(claim: &str, stats: &BTreeMap<String, f64>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, &v) in stats {
        let bounds = if name.contains("jaccard")
            || name.ends_with("/p")
            || name.ends_with("_p")
            || name.contains("p_floor")
        {
            Some((0.0, 1.0))
        } else if name.contains("tau") && !name.contains("disattenuated")
            || name.contains("rho")
            || name.contains("chance_corrected")
            || name.contains("agreement")
            || name.contains("omega2")
        {
            Some((-1.0, 1.0))
        } else {
            None
        };
        if !v.is_finite() && !name.ends_with("pseudo_f") {
            problems.push(format!("{claim}: {name} = {v} is not finite"));
        } else if let Some((lo, hi)) = bounds {
            if !(lo - 1e-9..=hi + 1e-9).contains(&v) {
                problems.push(format!("{claim}: {name} = {v} outside [{lo}, {hi}]"));
            }
        }
    }
    problems
}

fn run(root: &Path, suite: &str, store: &Path) -> (Suite, SuiteOutcome, f64) {
    let suite = Suite::load(&root.join(suite)).unwrap();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&suite.name);
    let _ = std::fs::remove_dir_all(&out);
    let options = RunOptions {
        out_dir: out.clone(),
        data_dir: common::data_dir(),
        store_dir: store.to_path_buf(),
        engine: EvaluatorOptions::default(),
        quiet: true,
        // Two (seed, objective) groups at once: one group leaves a core half idle here.
        jobs: 2,
        log_samples: false,
    };
    let started = std::time::Instant::now();
    let outcome = execute(&suite, &options).unwrap();
    (suite, outcome, started.elapsed().as_secs_f64())
}

/// The CI claims suite, then the two controls on the same store (they reuse its evaluations):
/// the same objective under two names must not give "the objective matters more than the
/// search", and a searcher that can only guess must not give "the searchers converge".
#[test]
fn claims_suite_and_its_controls() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let store = match std::env::var_os("DEPTHPRUNE_CLAIMS_STORE") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("claims-store"),
    };
    if std::env::var_os("DEPTHPRUNE_CLAIMS_STORE").is_none() {
        let _ = std::fs::remove_dir_all(&store);
    }
    let (suite, outcome, seconds) = run(root, "suites/claims.yaml", &store);
    let settings = suite.claims.clone().expect("claims.yaml states its claims");
    let verdicts = outcome.verdicts.expect("the suite has claims");
    eprintln!(
        "claims suite: {} runs in {seconds:.0} s\n{}",
        outcome.runs.runs.len(),
        depthprune::report::claims_table(&verdicts, &settings)
    );
    let mut problems = verdict_problems(&verdicts, &settings);
    for v in &verdicts {
        problems.extend(check_bounds(&v.claim, &v.statistics));
    }
    for model in &suite.models {
        for claim in Claim::ALL {
            if !verdicts
                .iter()
                .any(|v| &v.model == model && v.claim == claim.as_str())
            {
                problems.push(format!(
                    "{model} / {}: no verdict was computed",
                    claim.as_str()
                ));
            }
        }
        for report in ["agreement", "reliability", "variance_shares"] {
            if !verdicts
                .iter()
                .any(|v| &v.model == model && v.claim == report)
            {
                problems.push(format!("{model} / {report}: not reported"));
            }
        }
        for r in outcome.runs.runs.iter().filter(|r| &r.model == model) {
            if r.heldout.len() != suite.heldout.len()
                || r.calibration.len() != suite.objectives.len()
            {
                problems.push(format!(
                    "{model} / {} / {} / {}: held-out or calibration scores missing",
                    r.objective, r.searcher, r.seed
                ));
            }
        }
    }

    // The same objective under two names is two calibration resamples of one objective: it must
    // not show an objective moving the sets beyond what resampling does.
    for (control, claim) in [
        (
            "suites/control-same-objective.yaml",
            Claim::ObjectiveBeyondResampling,
        ),
        (
            "suites/control-weak-searcher.yaml",
            Claim::SearchersConverge,
        ),
    ] {
        let (control_suite, control_outcome, seconds) = run(root, control, &store);
        let control_settings = control_suite.claims.clone().unwrap();
        let control_verdicts = control_outcome.verdicts.unwrap();
        eprintln!(
            "{control}: {seconds:.0} s\n{}",
            depthprune::report::claims_table(&control_verdicts, &control_settings)
        );
        let v = control_verdicts
            .iter()
            .find(|v| v.claim == claim.as_str())
            .expect("the control decides its claim");
        if v.verdict == Verdict::Holds {
            problems.push(format!(
                "{control}: {} holds on a control built so that it must not ({})",
                claim.as_str(),
                v.reason
            ));
        }
        problems.extend(verdict_problems(&control_verdicts, &control_settings));
    }

    // Goldens are compared after the verdicts are known, so a failing golden still shows them.
    let golden_dir = root.join("golden");
    let on_mismatch = match std::env::var_os("DEPTHPRUNE_UPDATE_GOLDENS") {
        Some(_) => OnMismatch::Update,
        None => OnMismatch::WriteNew,
    };
    problems.extend(golden_problems(&golden_dir, &suite, &outcome.runs.runs, on_mismatch).unwrap());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
