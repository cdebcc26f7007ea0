//! The stochastic searchers' budget in the reliable decisive suite is decided by a comparison
//! fixed before it ran (suites/screening-*.yaml): today's evaluation budgets unscreened
//! against the lean budget screened, on seeds the decisive suite does not use. Its store ships
//! in evidence/screening/store; this test replays both arms from it, applies the rule, checks
//! that the decisive suite follows the decision, and audits a sample of the store.

mod common;

use std::path::{Path, PathBuf};

use depthprune::evaluator::EvaluatorOptions;
use depthprune::search::SearcherKind;
use depthprune::study::compare::{compare, CompareOptions};
use depthprune::suite::run::{run_suite, RunOptions};
use depthprune::suite::Suite;

fn replay(suite: &Suite, store: &Path) -> Vec<depthprune::suite::run::RunRecord> {
    let out = tempfile::tempdir().unwrap();
    let options = RunOptions {
        out_dir: out.path().to_path_buf(),
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
        .unwrap_or_else(|e| panic!("{} replays from {}: {e:#}", suite.name, store.display()))
        .runs
}

/// The stochastic searchers' (compute, screened) on `model`, which must be one for all four.
fn stochastic_budget(suite: &Suite, model: &str) -> (Option<f64>, Option<usize>, bool) {
    let stochastic = [
        SearcherKind::Evolutionary,
        SearcherKind::Annealing,
        SearcherKind::Random,
        SearcherKind::Local,
    ];
    let budgets: Vec<_> = suite
        .searchers
        .iter()
        .filter(|e| stochastic.contains(&e.name))
        .map(|e| {
            (
                e.compute_for(model),
                e.budget_for(model),
                e.params.screening().is_some(),
            )
        })
        .collect();
    assert_eq!(
        budgets.len(),
        4,
        "{}: the four stochastic searchers",
        suite.name
    );
    assert!(
        budgets.windows(2).all(|w| w[0] == w[1]),
        "{}: the stochastic searchers differ in budget on {model}: {budgets:?}",
        suite.name
    );
    budgets[0]
}

#[test]
fn the_decisive_suites_stochastic_budget_follows_the_screening_comparison() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let today = Suite::load(&root.join("suites/screening-today.yaml")).unwrap();
    let lean = Suite::load(&root.join("suites/screening-lean-screened.yaml")).unwrap();
    let decisive = Suite::load(&root.join("suites/decisive-reliable.yaml")).unwrap();
    let store: PathBuf = root.join("evidence/screening/store");
    let comparison = compare(
        &today,
        &replay(&today, &store),
        &lean,
        &replay(&lean, &store),
        CompareOptions {
            margin: 0.02,
            alpha: 0.05,
        },
    )
    .unwrap();
    for o in &comparison.heldout {
        eprintln!(
            "held-out {}: mean change {:+.4} (SE {:.4}), upper 95 % bound {:+.4}, margin 0.02, sign-flip p {:.4} (floor {:.1e}): {}",
            o.outcome,
            o.mean,
            o.se,
            o.upper,
            o.p_within_margin,
            o.floor,
            if o.within_margin { "no worse" } else { "not shown" }
        );
    }
    assert_eq!(comparison.units, 8, "the rule's 8 (model, seed) units");
    for model in &decisive.models {
        let adopted = stochastic_budget(&decisive, model) == stochastic_budget(&lean, model);
        assert_eq!(
            adopted, comparison.no_worse,
            "{model}: suites/decisive-reliable.yaml {} the lean screened budget, but the comparison says {}",
            if adopted { "adopts" } else { "does not adopt" },
            if comparison.no_worse { "no worse" } else { "not shown to be no worse" }
        );
    }

    // The store is trusted through a seeded sample recomputed from scratch.
    use depthprune::study::evidence::{audit_seed, content_hash};
    for suite in [&today, &lean] {
        let report = depthprune::study::audit::audit(
            suite,
            &depthprune::study::audit::AuditOptions {
                store_dir: store.clone(),
                data_dir: common::data_dir(),
                sample: Some(16),
                seed: audit_seed(&content_hash(&store).unwrap()),
                tolerance: 1e-5,
            },
        )
        .unwrap();
        eprintln!(
            "{} audit: {} records, largest relative difference {:.2e}",
            suite.name,
            report.audited.len(),
            report.max_relative()
        );
        assert!(report.audited.len() >= 8);
        assert!(
            report.failures().is_empty(),
            "{}: {} records differ from their recomputation",
            suite.name,
            report.failures().len()
        );
    }
}
