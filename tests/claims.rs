//! The study's claims on the real models and data: runs `suites/claims.yaml` end to end and
//! checks each claim's verdict against the one the suite pins (`expected`); replays the four
//! control suites, which must not confirm what they are built to refute, from their shipped
//! store (`evidence/controls/store`) and the decisive suite from its own
//! (`evidence/decisive/store`), and audits a sample of each store by recomputing it from
//! scratch; and compares every run's chosen set, ranking, rounded score and held-out outcomes
//! with the goldens in `golden/`: the check `depthprune run --check` makes, through the same
//! code (tests/suite.rs runs that command with a golden line edited). Goldens are produced by
//! running: `DEPTHPRUNE_UPDATE_GOLDENS=1 cargo test --release --test claims` (or
//! `depthprune run suites/claims.yaml --check --update-goldens`), then reviewed in the diff.
//!
//! Outputs (report.md, plots) are left in `target/tmp/<suite>/` for inspection.
//! `DEPTHPRUNE_CLAIMS_STORE=<dir>` reuses an evaluation store across invocations while working
//! on the harness; without it every evaluation is recomputed, as in CI.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::evidence::{audit_options, copy_of_shipped_store, replay_options, spot_check_options};
use depthprune::evaluator::EvaluatorOptions;
use depthprune::report::power_table;
use depthprune::study::{execute, SuiteOutcome};
use depthprune::suite::check::{golden_problems, verdict_problems, OnMismatch};
use depthprune::suite::claims::sizing::{seeds_needed, SizingOptions};
use depthprune::suite::claims::{Claim, Verdict};
use depthprune::suite::run::RunOptions;
use depthprune::suite::Suite;

/// Range checks on every statistic a claim reports: Jaccards, p-values and floors in [0, 1],
/// correlations (disattenuated ones too: they are clamped) and chance-corrected agreements in
/// [-1, 1], tetrads in [-2, 2], everything finite.
fn check_bounds(claim: &str, stats: &BTreeMap<String, f64>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, &v) in stats {
        let bounds = if name.contains("jaccard")
            || name.ends_with("/p")
            || name.ends_with("_p")
            || name.contains("p_floor")
        {
            Some((0.0, 1.0))
        } else if name.contains("tau")
            || name.contains("rho")
            || name.contains("chance_corrected")
            || name.contains("agreement")
            || name.contains("omega2")
        {
            Some((-1.0, 1.0))
        } else if name.contains("tetrad") {
            Some((-2.0, 2.0))
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

/// The CI claims suite, every evaluation computed: its verdicts against `expected`, every
/// statistic in range, every claim and report present, and its runs against the goldens.
#[test]
fn claims_suite() {
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
        for claim in Claim::ALL.into_iter().filter(|c| c.is_study()) {
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

    // Goldens are compared after the verdicts are known, so a failing golden still shows them.
    let golden_dir = root.join("golden");
    let on_mismatch = match std::env::var_os("DEPTHPRUNE_UPDATE_GOLDENS") {
        Some(_) => OnMismatch::Update,
        None => OnMismatch::WriteNew,
    };
    problems.extend(golden_problems(&golden_dir, &suite, &outcome.runs.runs, on_mismatch).unwrap());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The models of `suites/decisive.yaml` whose part of the shipped store is complete. The store
/// is computed in chunks committed as they come (about 50 minutes of 2 cores a model); a model
/// is added here when its part is in, and the replay fails if any evaluation it needs is not.
const DECISIVE_MODELS: &[&str] = &["smollm2-135m", "gemma3-270m"];

/// `suites/decisive.yaml` restricted to the models whose evidence has shipped.
fn decisive_suite(root: &Path) -> Suite {
    let mut suite = Suite::load(&root.join("suites/decisive.yaml")).unwrap();
    suite
        .models
        .retain(|m| DECISIVE_MODELS.contains(&m.as_str()));
    suite.k.retain(|m, _| DECISIVE_MODELS.contains(&m.as_str()));
    assert_eq!(
        suite.models.len(),
        DECISIVE_MODELS.len(),
        "a model is not in the suite"
    );
    suite
}

/// The decisive suite, every statistic, verdict and report recomputed from its shipped store
/// (no evaluation computed: a missing one fails the replay), checked against its expected
/// verdicts and goldens; then 1 % of its records (at least 250), stratified over every
/// outcome, shallow and deep removals, recomputed from scratch within 1e-5 relative.
#[test]
fn decisive_suite_replays_from_its_shipped_store_and_passes_its_audit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let problems = replay_and_audit(root, &decisive_suite(root), "decisive", None);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The reliable decisive suite (`suites/decisive-reliable.yaml`, fresh seeds, objectives sized
/// per model to reproduce), replayed from its shipped store like the pilot, its audit a spot
/// check at the suite's `audit_batches` (its accuracy records hold up to 112 questions each).
#[test]
fn decisive_reliable_suite_replays_from_its_shipped_store_and_passes_its_audit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite = Suite::load(&root.join("suites/decisive-reliable.yaml")).unwrap();
    let problems = replay_and_audit(root, &suite, "decisive-reliable", suite.audit_batches);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A decisive suite replayed from `evidence/<evidence>/store` (a copy: the shipped store is
/// never written): its verdicts against `expected`, every statistic in range, its registry
/// entry and goldens; then an audit of at least 1 % of its records (250 at least), drawn with
/// a seed from the store's content hash, covering a shallow and a deep removal of every
/// outcome of every model. `batches` makes the audit a spot check (each sampled record's value
/// derived from its stored items, that many of its fine batches recomputed from scratch);
/// `None` recomputes whole records. Returns every problem found.
fn replay_and_audit(
    root: &Path,
    suite: &Suite,
    evidence: &str,
    batches: Option<usize>,
) -> Vec<String> {
    let store = copy_of_shipped_store(root, evidence, &format!("{evidence}-replay-store"));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&suite.name);
    let _ = std::fs::remove_dir_all(&out);
    let started = std::time::Instant::now();
    let outcome =
        execute(suite, &replay_options(out, &store)).expect("the shipped store replays the suite");
    let settings = suite.claims.clone().unwrap();
    let verdicts = outcome.verdicts.expect("the suite has claims");
    eprintln!(
        "{} replayed: {} runs in {:.0} s\n{}",
        suite.name,
        outcome.runs.runs.len(),
        started.elapsed().as_secs_f64(),
        depthprune::report::claims_table(&verdicts, &settings)
    );
    eprintln!(
        "{}",
        depthprune::report::files::statement_markdown(&verdicts, &settings)
    );
    let sizing = SizingOptions::defaults(settings.alpha);
    eprintln!(
        "seeds each claim would need:\n{}",
        power_table(&seeds_needed(&verdicts, &sizing), sizing.target)
    );
    let mut problems = verdict_problems(&verdicts, &settings);
    for v in &verdicts {
        problems.extend(check_bounds(&v.claim, &v.statistics));
    }
    problems.extend(registry_problems(root, suite, &verdicts));
    let on_mismatch = match std::env::var_os("DEPTHPRUNE_UPDATE_GOLDENS") {
        Some(_) => OnMismatch::Update,
        None => OnMismatch::WriteNew,
    };
    problems.extend(
        golden_problems(&root.join("golden"), suite, &outcome.runs.runs, on_mismatch).unwrap(),
    );

    let shipped = root.join("evidence").join(evidence).join("store");
    let options = spot_check_options(&store, None, &shipped, batches);
    let report = depthprune::study::audit::audit(suite, &options).unwrap();
    eprintln!(
        "audit: {} records over {} strata in {:.0} s, largest relative difference {:.2e}",
        report.audited.len(),
        report.strata,
        report.seconds,
        report.max_relative()
    );
    let held: usize = report.records.values().sum();
    let asked = depthprune::study::audit::default_sample(held);
    if report.audited.len() < asked {
        problems.push(format!(
            "audit: only {} records sampled of the {asked} asked (1 % of {held}, at least 250)",
            report.audited.len()
        ));
    }
    for model in &suite.models {
        let names = suite.objectives.keys().chain(suite.heldout.keys());
        for name in names {
            for depth in ["shallow", "deep"] {
                if !report
                    .audited
                    .iter()
                    .any(|r| &r.model == model && &r.outcome == name && r.stratum.contains(depth))
                {
                    problems.push(format!("audit: no {depth} removal of {model} / {name}"));
                }
            }
        }
    }
    for r in report.failures() {
        problems.push(format!(
            "audit: {} / {} blocks {:?} ({}): stored {} vs recomputed {} (relative {:.2e})",
            r.model,
            r.outcome,
            r.removed,
            r.file.display(),
            r.stored,
            r.recomputed,
            r.max_relative
        ));
    }
    problems
}

/// The controls, replayed from their shipped store and each kept from confirming what it
/// is built to refute: the same objective under two names must not move the sets beyond
/// resampling; one objective under two names must not differ from itself beyond its noise
/// (objective_over_search) while a fresh sample must move its sets more than the searcher
/// (sample_over_search holds: the control isolates the sample), nor at two reliabilities
/// (1 x 64 or 1 x 128, and 8 x 128 tokens); an objective that is pure
/// noise beside perplexity must not read as a different objective (its disagreement is
/// unreliability, not function); a searcher that can only guess
/// must not converge with the others; errors that add exactly must not read as broken error
/// monotonicity; rankings and runs measured on the model must not track objectives that are
/// noise (block influence, angular distance); a contrarian beside greedy must not hold any claim that calibration matters
/// more than search. Then 12 records of each, recomputed from scratch.
/// Beside each verdict the table prints the suite's pre-registered `predicted` one (a miss is a
/// finding, reported, not a failure).
#[test]
fn controls_replay_from_their_shipped_store_refute_what_they_must_and_pass_an_audit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let store = copy_of_shipped_store(root, "controls", "controls-replay-store");
    let mut problems = Vec::new();
    for (control, must_not_hold, must_hold) in [
        (
            "suites/control-same-objective.yaml",
            &[Claim::ObjectiveBeyondResampling][..],
            &[][..],
        ),
        (
            "suites/control-one-objective-two-names.yaml",
            &[Claim::ObjectiveOverSearch][..],
            &[Claim::SampleOverSearch][..],
        ),
        (
            "suites/control-one-objective-two-reliabilities.yaml",
            &[Claim::ObjectiveOverSearch][..],
            &[Claim::SampleOverSearch][..],
        ),
        (
            "suites/control-two-reliabilities-one-window.yaml",
            &[Claim::ObjectiveOverSearch][..],
            &[Claim::SampleOverSearch][..],
        ),
        (
            "suites/control-noise-objective.yaml",
            &[Claim::ObjectiveOverSearch][..],
            &[Claim::SampleOverSearch][..],
        ),
        (
            "suites/control-weak-searcher.yaml",
            &[Claim::SearchersConverge][..],
            &[][..],
        ),
        (
            "suites/control-additive-objective.yaml",
            &[Claim::ErrorSumMisranksSets][..],
            &[][..],
        ),
        (
            "suites/control-noise-measures.yaml",
            &[
                Claim::InfluenceTracksOneShot,
                Claim::AngularRunBeatsOtherRuns,
            ][..],
            &[][..],
        ),
        (
            "suites/control-contrarian.yaml",
            &[
                Claim::SampleOverSearch,
                Claim::ObjectiveOverSearch,
                Claim::CalibrationOverSearch,
            ][..],
            &[][..],
        ),
    ] {
        let suite = Suite::load(&root.join(control)).unwrap();
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&suite.name);
        let _ = std::fs::remove_dir_all(&out);
        let started = std::time::Instant::now();
        let outcome = execute(&suite, &replay_options(out, &store))
            .unwrap_or_else(|e| panic!("{control} replays from evidence/controls/store: {e:#}"));
        let settings = suite.claims.clone().unwrap();
        let verdicts = outcome.verdicts.unwrap();
        eprintln!(
            "{control} replayed in {:.1} s\n{}",
            started.elapsed().as_secs_f64(),
            depthprune::report::claims_table(&verdicts, &settings)
        );
        eprintln!(
            "{}",
            depthprune::report::files::statement_markdown(&verdicts, &settings)
        );
        let verdict_of = |claim: &Claim| {
            verdicts
                .iter()
                .find(|v| v.claim == claim.as_str())
                .expect("the control decides its claim")
        };
        for claim in must_not_hold {
            let v = verdict_of(claim);
            if v.verdict == Verdict::Holds {
                problems.push(format!(
                    "{control}: {} holds on a control built so that it must not ({})",
                    claim.as_str(),
                    v.reason
                ));
            }
        }
        for claim in must_hold {
            let v = verdict_of(claim);
            if v.verdict != Verdict::Holds {
                problems.push(format!(
                    "{control}: {} does not hold on a control built so that it must ({})",
                    claim.as_str(),
                    v.reason
                ));
            }
        }
        problems.extend(verdict_problems(&verdicts, &settings));
        problems.extend(registry_problems(root, &suite, &verdicts));

        problems.extend(common::evidence::audit_problems(
            control,
            &suite,
            &store,
            12,
            &root.join("evidence/controls/store"),
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The field's suites (claims of other papers), replayed from the evidence store each names:
/// every verdict as pinned, and the registry's lines as replayed. A store other than the
/// decisive suite's (which its own test audits) is audited here: 16 records of each suite
/// recomputed from scratch.
#[test]
fn field_suites_replay_from_their_evidence() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for field in FIELD_SUITES {
        let suite = Suite::load(&root.join("suites").join(format!("{field}.yaml"))).unwrap();
        let store = suite
            .evidence
            .clone()
            .expect("a field suite names its evidence");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&suite.name);
        let _ = std::fs::remove_dir_all(&out);
        let outcome = execute(&suite, &replay_options(out, &store))
            .unwrap_or_else(|e| panic!("{field} replays from {}: {e:#}", store.display()));
        let settings = suite.claims.clone().unwrap();
        let verdicts = outcome.verdicts.unwrap();
        eprintln!(
            "{field}\n{}",
            depthprune::report::claims_table(&verdicts, &settings)
        );
        problems.extend(verdict_problems(&verdicts, &settings));
        problems.extend(registry_problems(root, &suite, &verdicts));
        if store.ends_with("decisive/store") {
            continue;
        }
        problems.extend(common::evidence::audit_problems(
            field, &suite, &store, 16, &store,
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Suites of the field's claims, each replayed by `field_suites_replay_from_their_evidence`.
const FIELD_SUITES: [&str; 4] = [
    "field-shortgpt",
    "field-reassessing",
    "field-deeper-layers",
    "field-evopress",
];

/// The registry page's lines of `suite` against its replayed verdicts (each line, and no
/// other line of the suite), so docs/registry.md cannot drift from the evidence.
fn registry_problems(
    root: &Path,
    suite: &Suite,
    verdicts: &[depthprune::suite::claims::ClaimResult],
) -> Vec<String> {
    let page = std::fs::read_to_string(root.join("docs/registry.md")).unwrap();
    depthprune::report::registry::check_suite_lines(&page, suite, verdicts)
        .into_iter()
        .map(|p| {
            format!(
                "docs/registry.md ({}): {p}; rewrite it with `depthprune registry`",
                suite.name
            )
        })
        .collect()
}

/// The registry lists every suite that ships its evidence and states claims (each of which a
/// test here replays) and the claims' sources as docs/claims-sources.yaml has them.
#[test]
fn the_registry_lists_every_registered_suite_and_the_claims_sources() {
    use depthprune::report::registry::{
        controls_by_claim, is_registered, load_sources, sources_table,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/registry.md")).unwrap();
    let sources = load_sources(&root.join("docs/claims-sources.yaml")).unwrap();
    let suites: Vec<Suite> = std::fs::read_dir(root.join("suites"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| Suite::load(&p).unwrap())
        .collect();
    let controls = controls_by_claim(&suites.iter().collect::<Vec<_>>());
    for line in sources_table(&sources, &controls) {
        assert!(
            page.lines().any(|l| l == line),
            "docs/registry.md lacks the sources line {line}: rewrite it with `depthprune registry`"
        );
    }
    let replayed_here = [
        "decisive",
        "decisive-reliable",
        "control-same-objective",
        "control-one-objective-two-names",
        "control-one-objective-two-reliabilities",
        "control-two-reliabilities-one-window",
        "control-noise-objective",
        "control-weak-searcher",
        "control-additive-objective",
        "control-noise-measures",
        "control-contrarian",
    ];
    let replayed_here: Vec<&str> = replayed_here.into_iter().chain(FIELD_SUITES).collect();
    for entry in std::fs::read_dir(root.join("suites")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let suite = Suite::load(&path).unwrap();
        if !is_registered(&suite) {
            continue;
        }
        assert!(
            replayed_here.contains(&suite.name.as_str()),
            "suite {} ships evidence and claims but no test here replays it against the registry",
            suite.name
        );
        assert!(
            page.lines()
                .any(|l| l.starts_with(&format!("| {} | ", suite.name))),
            "docs/registry.md has no verdict of suite {}: rewrite it with `depthprune registry`",
            suite.name
        );
    }
}

/// The audit is able to fail, whole and as a spot check (one fine batch per record): on a
/// store with one value changed by 1e-4 relative, and on a store whose records of one
/// calibration sample are filed under another's key.
#[test]
fn the_audit_fails_on_a_changed_value_and_on_another_objectives_records() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut suite = decisive_suite(root);
    // One calibration sample (and the held-out outcomes): every sampled calibration record then
    // comes from the files doctored below.
    suite.seeds = vec![1];
    let store = copy_of_shipped_store(root, "decisive", "decisive-audit-store");
    let clean = depthprune::study::audit::audit(
        &suite,
        &audit_options(&store, Some(12), &root.join("evidence/decisive/store")),
    )
    .unwrap();
    assert!(clean.failures().is_empty(), "the copy is the shipped store");

    // A changed value.
    let target = clean.audited.iter().find(|r| !r.heldout).unwrap();
    let text = std::fs::read_to_string(&target.file).unwrap();
    let doctored: Vec<String> = text
        .lines()
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
            let same = record["removed"] == serde_json::json!(target.removed);
            if same && record.get("value").is_some() {
                let v = record["value"].as_f64().unwrap();
                record["value"] = serde_json::json!(v * (1.0 + 1e-4));
            }
            record.to_string()
        })
        .collect();
    std::fs::write(&target.file, doctored.join("\n") + "\n").unwrap();
    let changed = depthprune::study::audit::audit(
        &suite,
        &audit_options(&store, Some(12), &root.join("evidence/decisive/store")),
    )
    .unwrap();
    let failed: Vec<_> = changed.failures();
    assert_eq!(failed.len(), 1, "exactly the changed record differs");
    assert_eq!(failed[0].removed, target.removed);
    let spot = |store: &Path| {
        depthprune::study::audit::audit(
            &suite,
            &spot_check_options(
                store,
                Some(12),
                &root.join("evidence/decisive/store"),
                Some(1),
            ),
        )
        .unwrap()
    };
    let spotted = spot(&store);
    let failed: Vec<_> = spotted.failures();
    assert_eq!(
        failed.len(),
        1,
        "the spot check finds the changed value too"
    );
    assert_eq!(failed[0].removed, target.removed);
    assert!(spotted.audited.iter().all(|r| r.items_recomputed > 0));
    std::fs::write(&target.file, text).unwrap();
    assert!(
        spot(&store).failures().is_empty(),
        "the spot check passes the copy"
    );

    // Another objective definition: seed 0's perplexity records under seed 1's key.
    let spec = |seed| suite.objective_for("ppl", &target.model, seed).key();
    let model_dir = target.file.parent().unwrap();
    std::fs::copy(
        model_dir.join(format!("{}.jsonl", spec(0))),
        model_dir.join(format!("{}.jsonl", spec(1))),
    )
    .unwrap();
    let swapped = depthprune::study::audit::audit(
        &suite,
        &audit_options(&store, Some(12), &root.join("evidence/decisive/store")),
    )
    .unwrap();
    let failed: Vec<_> = swapped.failures();
    assert!(
        !failed.is_empty() && failed.iter().all(|r| r.outcome == "ppl" && !r.heldout),
        "records of another calibration sample must differ when recomputed: {:?}",
        swapped.audited
    );
    let spotted = spot(&store);
    assert_eq!(
        spotted.failures().len(),
        failed.len(),
        "a spot check finds every record of another sample: {:?}",
        spotted.audited
    );
}
