//! The screening-budget comparison, replayed from its shipped store
//! (`evidence/screening/store`): today's fixed evaluation budgets against the lean screened
//! compute budget, paired over (model, seed) units by `depthprune compare`. The rule written in
//! the suites' descriptions before either arm ran decides the stochastic searchers' budget in
//! `suites/decisive-reliable.yaml`; this test applies it and fails if that suite does not
//! follow it. Then a sample of each arm's records is recomputed from scratch.

mod common;

use std::path::{Path, PathBuf};

use common::evidence::{audit_problems, copy_of_shipped_store, replay_options};
use depthprune::study::compare::{compare, CompareOptions};
use depthprune::suite::run::run_suite;
use depthprune::suite::Suite;

const BASE: &str = "suites/screening-today.yaml";
const CANDIDATE: &str = "suites/screening-lean-screened.yaml";
const DECISIVE: &str = "suites/decisive-reliable.yaml";

fn replay(suite: &Suite, store: &Path) -> Vec<depthprune::suite::run::RunRecord> {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&suite.name);
    run_suite(suite, &replay_options(out, store))
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
    let store = copy_of_shipped_store(root, "screening", "screening-replay-store");
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
    for suite in [&base, &candidate] {
        problems.extend(audit_problems(&suite.name, suite, &store, 16, &shipped));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
