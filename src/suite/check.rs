//! Checking a finished suite against what it expects: each claim's verdict against the suite's
//! `expected`, and each model's runs against its golden file (`golden/<suite>-<model>.snap`).
//! Used by `depthprune run --check` (and the nightly paper-scale job) and by `tests/claims.rs`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::claims::{ClaimResult, ClaimSettings, Verdict};
use super::golden::{diff, golden_path, golden_text, read_golden, write_golden};
use super::run::RunRecord;
use super::Suite;

/// One line per claim whose verdict differs from the expected one, or that the suite pins no
/// verdict for (a suite's first run leaves out the models it pins none for:
/// [`OnMismatch::RecordMissing`]).
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

/// What [`golden_problems`] does where a golden differs from the runs or does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMismatch {
    /// Write the actual text beside it as `<golden>.new` for review, and report a problem.
    WriteNew,
    /// Overwrite the golden with the actual text (after a reviewed change), and report nothing.
    Update,
    /// A suite's first run (`--record-missing`, the nightly paper-scale job's first night):
    /// a golden that does not exist is written from the runs and said so on stderr, and a model
    /// the suite pins no `expected` verdicts for has its measured verdicts printed to pin
    /// instead of failing. A golden or a verdict that exists is checked as with `WriteNew`.
    RecordMissing,
}

/// Compares every model's runs with its golden file (`<dir>/<suite>-<model>.snap`); each
/// problem names the file and shows the differing lines as a unified diff.
pub fn golden_problems(
    dir: &Path,
    suite: &Suite,
    runs: &[RunRecord],
    on_mismatch: OnMismatch,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for model in &suite.models {
        let path = golden_path(dir, &suite.name, model);
        let actual = golden_text(model, runs);
        let difference = if path.exists() {
            diff(&read_golden(&path)?, &actual).map(|d| format!("{} differs:\n{d}", path.display()))
        } else if on_mismatch == OnMismatch::RecordMissing {
            write_golden(&path, &actual)?;
            eprintln!(
                "recorded {} (no golden existed): commit it, and later checks compare with it",
                path.display()
            );
            None
        } else {
            Some(format!("{} does not exist", path.display()))
        };
        let Some(difference) = difference else {
            continue;
        };
        match on_mismatch {
            OnMismatch::Update => write_golden(&path, &actual)?,
            OnMismatch::WriteNew | OnMismatch::RecordMissing => {
                let new = PathBuf::from(format!("{}.new", path.display()));
                write_golden(&new, &actual)?;
                problems.push(format!(
                    "{difference}\nthe runs are in {} (review it; rename it over the golden, or rerun with --update-goldens, to accept)",
                    new.display()
                ));
            }
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
    on_mismatch: OnMismatch,
) -> Result<()> {
    let mut problems = match (verdicts, &suite.claims) {
        (Some(v), Some(settings)) if on_mismatch == OnMismatch::RecordMissing => {
            let (pinned, unpinned): (Vec<ClaimResult>, Vec<ClaimResult>) = v
                .iter()
                .cloned()
                .partition(|r| settings.expected.contains_key(&r.model));
            print_unpinned(&suite.name, &unpinned);
            verdict_problems(&pinned, settings)
        }
        (Some(v), Some(settings)) => verdict_problems(v, settings),
        _ => Vec::new(),
    };
    problems.extend(golden_problems(golden_dir, suite, runs, on_mismatch)?);
    if !problems.is_empty() {
        anyhow::bail!(
            "{} check(s) failed:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    Ok(())
}

/// The measured verdicts of models the suite pins none for, as the `expected:` block to paste
/// under the suite's `claims:` once reviewed (`OnMismatch::RecordMissing`).
fn print_unpinned(suite: &str, verdicts: &[ClaimResult]) {
    let mut block = String::new();
    let mut model = None;
    for v in verdicts.iter().filter(|v| v.verdict != Verdict::Report) {
        if model != Some(&v.model) {
            block.push_str(&format!("    {}:\n", v.model));
            model = Some(&v.model);
        }
        block.push_str(&format!("      {}: {}\n", v.claim, v.verdict.as_str()));
    }
    if !block.is_empty() {
        eprintln!(
            "{suite}: no expected verdicts pinned for these models, so they were not checked; \
             the measured ones, to pin under `claims:` after review:\n  expected:\n{block}"
        );
    }
}
