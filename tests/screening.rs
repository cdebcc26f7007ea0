//! The screening-budget comparison, replayed from its shipped store
//! (`evidence/screening/store`): today's fixed evaluation budgets against the lean screened
//! compute budget, paired over (model, seed) units by `depthprune compare`. The rule written in
//! the suites' descriptions before either arm ran decides the stochastic searchers' budget in
//! `suites/decisive-reliable.yaml`; this test applies it and fails if that suite does not
//! follow it. Then a sample of each arm's records is recomputed from scratch.

mod common;

use std::path::{Path, PathBuf};

use depthprune::evaluator::EvaluatorOptions;
use depthprune::study::compare::{compare, CompareOptions};
use depthprune::suite::run::{run_suite, RunOptions};
use depthprune::suite::Suite;

const BASE: &str = "suites/screening-today.yaml";
const CANDIDATE: &str = "suites/screening-lean-screened.yaml";
const DECISIVE: &str = "suites/decisive-reliable.yaml";

/// A private copy of the shipped store, so a replay cannot touch it.
fn copy_of_shipped_store(root: &Path) -> PathBuf {
    let to = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screening-replay-store");
    let _ = std::fs::remove_dir_all(&to);
    let from = root.join("evidence/screening/store");
    for model in std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let model = model.unwrap().path();
        let dest = to.join(model.file_name().unwrap());
        std::fs::create_dir_all(&dest).unwrap();
        for file in std::fs::read_dir(&model).unwrap() {
            let file = file.unwrap().path();
            std::fs::copy(&file, dest.join(file.file_name().unwrap())).unwrap();
        }
    }
    to
}

fn replay(suite: &Suite, store: &Path) -> Vec<depthprune::suite::run::RunRecord> {
    let options = RunOptions {
        out_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&suite.name),
        data_dir: common::data_dir(),
        store_dir: store.to_path_buf(),
        engine: EvaluatorOptions {
            replay: true,
            ..EvaluatorOptions::default()
        },
        quiet: true,
        jobs: 2,
        log_samples: false,
    };
    run_suite(suite, &options)
        .unwrap_or_else(|e| {
            panic!(
                "{} replays from evidence/screening/store: {e:#}",
                suite.name
            )
        })
        .runs
}

/// Each stochastic searcher of `suite` on `model`: its name, compute budget and whether it
/// screens.
fn stochastic_compute(suite: &Suite, model: &str) -> Vec<(String, Option<f64>, bool)> {
    suite
        .searchers
        .iter()
        .filter(|s| {
            matches!(
                s.name.name(),
                "evolutionary" | "annealing" | "random" | "local"
            )
        })
        .map(|s| {
            (
                s.name.name().to_string(),
                s.compute_for(model),
                s.params.screening().is_some(),
            )
        })
        .collect()
}

#[test]
fn the_screening_comparison_decides_the_reliable_suites_budget_and_passes_an_audit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let store = copy_of_shipped_store(root);
    let base = Suite::load(&root.join(BASE)).unwrap();
    let candidate = Suite::load(&root.join(CANDIDATE)).unwrap();
    let base_runs = replay(&base, &store);
    let candidate_runs = replay(&candidate, &store);
    let comparison = compare(
        &base,
        &base_runs,
        &candidate,
        &candidate_runs,
        CompareOptions::default(),
    )
    .unwrap();
    for outcome in &comparison.heldout {
        eprintln!(
            "held-out {} ({}): mean change {:+.4} (SE {:.4}), one-sided 95 % upper bound {:+.4} against margin {}, sign-flip p {:.4} (floor {:.4}): {}",
            outcome.outcome,
            outcome.measure,
            outcome.mean,
            outcome.se,
            outcome.upper,
            comparison.margin,
            outcome.p_within_margin,
            outcome.floor,
            if outcome.within_margin { "within" } else { "not within" }
        );
    }
    assert_eq!(
        comparison.units, 8,
        "the rule's unit count is 8 (model, seed)"
    );

    // The rule: the lean screened budget replaces today's if every held-out outcome is within
    // the margin; otherwise the decisive suite keeps today's compute, screened.
    let decisive = Suite::load(&root.join(DECISIVE)).unwrap();
    let mut problems = Vec::new();
    for model in &decisive.models {
        let wanted = if comparison.no_worse {
            candidate.searchers[0].compute_for(model)
        } else {
            base.searchers[0]
                .budget_for(model)
                .map(|evaluations| evaluations as f64)
        };
        for (name, compute, screen) in stochastic_compute(&decisive, model) {
            if compute != wanted || !screen {
                problems.push(format!(
                    "{DECISIVE}: {name} on {model} has compute {compute:?} (screen: {screen}); the screening comparison ({}) asks compute {wanted:?}, screened",
                    if comparison.no_worse { "lean no worse" } else { "lean not shown no worse" }
                ));
            }
        }
    }

    // A sample of each arm's records, recomputed from scratch.
    let shipped = root.join("evidence/screening/store");
    use depthprune::study::evidence::{audit_seed, content_hash};
    for suite in [&base, &candidate] {
        let options = depthprune::study::audit::AuditOptions {
            store_dir: store.clone(),
            data_dir: common::data_dir(),
            sample: Some(16),
            seed: audit_seed(&content_hash(&shipped).unwrap()),
            tolerance: 1e-5,
        };
        let report = depthprune::study::audit::audit(suite, &options).unwrap();
        eprintln!(
            "{} audit: {} records in {:.0} s, largest relative difference {:.2e}",
            suite.name,
            report.audited.len(),
            report.seconds,
            report.max_relative()
        );
        if report.audited.len() < 8 {
            problems.push(format!(
                "{} audit: only {} records sampled",
                suite.name,
                report.audited.len()
            ));
        }
        for r in report.failures() {
            problems.push(format!(
                "{} audit: {} / {} blocks {:?}: stored {} vs recomputed {}",
                suite.name, r.model, r.outcome, r.removed, r.stored, r.recomputed
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
