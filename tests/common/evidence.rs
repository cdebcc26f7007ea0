//! Replaying and auditing shipped evidence stores: a private copy of a store, run options that
//! compute nothing, and an audit whose sample is seeded from the store's content.

use std::path::{Path, PathBuf};

use depthprune::study::audit::{audit, AuditOptions};
use depthprune::suite::run::RunOptions;
use depthprune::suite::Suite;

/// A private copy of a shipped store (`evidence/<evidence>/store`), so neither a replay nor a
/// doctored copy can touch it.
pub fn copy_of_shipped_store(root: &Path, evidence: &str, name: &str) -> PathBuf {
    let to = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&to);
    let from = root.join("evidence").join(evidence).join("store");
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

/// Options that compute no evaluation: a record missing from `store` is an error.
pub fn replay_options(out_dir: PathBuf, store: &Path) -> RunOptions {
    RunOptions::replay(out_dir, store.to_path_buf(), super::data_dir())
}

/// Audit options for `store`, its sample seeded (as `run` seeds it) from the content hash of
/// the shipped store it copies, so the sample cannot be known before the store is final.
pub fn audit_options(store: &Path, sample: Option<usize>, shipped: &Path) -> AuditOptions {
    spot_check_options(store, sample, shipped, None)
}

/// [`audit_options`] with `batches` of each record recomputed (a spot check; `None`: whole).
pub fn spot_check_options(
    store: &Path,
    sample: Option<usize>,
    shipped: &Path,
    batches: Option<usize>,
) -> AuditOptions {
    use depthprune::study::evidence::{audit_seed, content_hash};
    AuditOptions {
        store_dir: store.to_path_buf(),
        data_dir: super::data_dir(),
        sample,
        seed: audit_seed(&content_hash(shipped).unwrap()),
        tolerance: 1e-5,
        batches,
    }
}

/// `sample` of `suite`'s records in `store` recomputed from scratch (the sample seeded from
/// `shipped`): what went wrong, each line naming `label`; too few records sampled (under 8)
/// is a problem too.
pub fn audit_problems(
    label: &str,
    suite: &Suite,
    store: &Path,
    sample: usize,
    shipped: &Path,
) -> Vec<String> {
    let report = audit(suite, &audit_options(store, Some(sample), shipped)).unwrap();
    eprintln!(
        "{label} audit: {} records in {:.0} s, largest relative difference {:.2e}",
        report.audited.len(),
        report.seconds,
        report.max_relative()
    );
    let mut problems = Vec::new();
    if report.audited.len() < 8 {
        problems.push(format!(
            "{label} audit: only {} records sampled",
            report.audited.len()
        ));
    }
    for r in report.failures() {
        problems.push(format!(
            "{label} audit: {} / {} blocks {:?}: stored {} vs recomputed {}",
            r.model, r.outcome, r.removed, r.stored, r.recomputed
        ));
    }
    problems
}
