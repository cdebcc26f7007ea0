//! Checking a finished suite against what it expects: each claim's verdict against the suite's
//! `expected`, and each model's runs against a golden text (`golden/<suite>-<model>.txt`). Used
//! by `depthprune run --check` (the nightly paper-scale job) and by `tests/claims.rs`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::claims::{ClaimResult, ClaimSettings, Verdict};
use super::run::RunRecord;
use super::Suite;
use crate::report::golden::{differences, golden_text};

/// One line per claim whose verdict differs from the expected one, or that has no expected
/// verdict although the suite states expectations for its model.
pub fn verdict_problems(verdicts: &[ClaimResult], settings: &ClaimSettings) -> Vec<String> {
    let mut problems = Vec::new();
    for v in verdicts.iter().filter(|v| v.verdict != Verdict::Report) {
        match settings.expected_verdict(&v.model, &v.claim) {
            None => problems.push(format!(
                "{} / {}: the suite states no expected verdict (measured: {} — {}; {:?})",
                v.model,
                v.claim,
                v.verdict.as_str(),
                v.reason,
                v.statistics
            )),
            Some(expected) if expected != v.verdict => problems.push(format!(
                "{} / {}: expected {}, measured {} — {}; {:?}",
                v.model,
                v.claim,
                expected.as_str(),
                v.verdict.as_str(),
                v.reason,
                v.statistics
            )),
            Some(_) => {}
        }
    }
    problems
}

/// The golden file of `model`'s runs in `suite`.
pub fn golden_path(dir: &Path, suite: &Suite, model: &str) -> PathBuf {
    dir.join(format!(
        "{}-{}.txt",
        suite.name,
        crate::report::files::file_stem(model)
    ))
}

/// Compares every model's runs with its golden file. A missing golden is written as `.new`
/// beside where it belongs (for review, then rename) and reported as a problem.
pub fn golden_problems(dir: &Path, suite: &Suite, runs: &[RunRecord]) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for model in &suite.models {
        let path = golden_path(dir, suite, model);
        let actual = golden_text(model, runs);
        if path.exists() {
            let expected = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            for d in differences(&expected, &actual) {
                problems.push(format!("{}:\n{d}", path.display()));
            }
        } else {
            let new = path.with_extension("txt.new");
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::write(&new, &actual).with_context(|| format!("writing {}", new.display()))?;
            problems.push(format!(
                "{} does not exist; the runs are in {} (review it and rename it to accept)",
                path.display(),
                new.display()
            ));
        }
    }
    Ok(problems)
}

/// `run --check` and `merge --check`: an error listing every verdict that differs from the
/// suite's `expected` and every model whose runs differ from its golden file.
pub fn check_outcome(
    golden_dir: &Path,
    suite: &Suite,
    runs: &[RunRecord],
    verdicts: Option<&[ClaimResult]>,
) -> Result<()> {
    let mut problems = match (verdicts, &suite.claims) {
        (Some(v), Some(settings)) => verdict_problems(v, settings),
        _ => Vec::new(),
    };
    problems.extend(golden_problems(golden_dir, suite, runs)?);
    if !problems.is_empty() {
        anyhow::bail!(
            "{} check(s) failed:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    Ok(())
}
