//! Golden text of a suite's runs: per model, every run's chosen set, rounded score, held-out
//! outcomes and ranking, one line each, in run order. One format for every check:
//! `golden/<suite>-<model>.snap`, compared by `depthprune run --check` (and the nightly job) and
//! by `tests/claims.rs` through [`super::check::golden_problems`], with a line diff on mismatch.
//!
//! Scores are rounded to four significant digits so that last-bit float differences between
//! machines do not show; chosen sets and rankings are exact (searchers break score ties by block
//! index).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use super::run::RunRecord;

/// `x` to four significant digits.
pub fn round4(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = 3 - x.abs().log10().floor() as i32;
    format!("{:.*}", digits.max(0) as usize, x)
}

pub fn golden_text(model: &str, runs: &[RunRecord]) -> String {
    let join = |v: &[usize]| {
        v.iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut text = format!(
        "# {model}: objective seed searcher | removed | score | held-out outcomes | ranking\n"
    );
    for r in runs.iter().filter(|r| r.model == model) {
        let heldout = r
            .heldout
            .iter()
            .map(|(name, v)| format!("{name} {}", round4(*v)))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            text,
            "{} {} {:<12} | {} | {} | {} | {}",
            r.objective,
            r.seed,
            r.searcher,
            join(&r.removed),
            round4(r.score),
            heldout,
            join(&r.ranking)
        );
    }
    text
}

/// The golden file of `model`'s runs in the suite `suite_name`: `<dir>/<suite>-<model>.snap`.
pub fn golden_path(dir: &Path, suite_name: &str, model: &str) -> PathBuf {
    dir.join(format!("{suite_name}-{}.snap", super::file_stem(model)))
}

/// The text a golden file holds: everything after its `---` header (insta's snapshot layout,
/// so `cargo insta review` can still show and accept pending goldens).
pub fn read_golden(path: &Path) -> Result<String> {
    let file =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let body = file
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(_, body)| body)
        .ok_or_else(|| {
            anyhow!(
                "{} is not a golden file: it must start with a `---` header ending in a `---` line",
                path.display()
            )
        })?;
    Ok(body.to_string())
}

/// Writes `text` as a golden file at `path`.
pub fn write_golden(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, format!("---\nsource: tests/claims.rs\n---\n{text}"))
        .with_context(|| format!("writing {}", path.display()))
}

/// A unified diff of the golden text against the actual one (`-` golden, `+` actual), or
/// `None` when they agree (trailing blank lines aside).
pub fn diff(expected: &str, actual: &str) -> Option<String> {
    let (expected, actual) = (expected.trim_end(), actual.trim_end());
    if expected == actual {
        return None;
    }
    let diff = similar::TextDiff::from_lines(expected, actual);
    Some(
        diff.unified_diff()
            .context_radius(1)
            .header("golden", "actual")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_four_significant_digits() {
        assert_eq!(round4(105.4537), "105.5");
        assert_eq!(round4(-0.923668), "-0.9237");
        assert_eq!(round4(12345.6), "12346");
        assert_eq!(round4(0.0), "0");
    }

    #[test]
    fn a_diff_shows_the_differing_lines() {
        assert!(diff("a\nb\n", "a\nb\n\n").is_none());
        let d = diff("a\nb\nc\n", "a\nB\nc\n").unwrap();
        assert!(d.contains("-b\n+B\n"), "{d}");
    }

    #[test]
    fn goldens_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = golden_path(dir.path(), "claims", "hf:Org/Model");
        assert!(path.ends_with("claims-Model.snap"));
        write_golden(&path, "# x\n1 2 3\n").unwrap();
        assert_eq!(read_golden(&path).unwrap(), "# x\n1 2 3\n");
        std::fs::write(&path, "no header").unwrap();
        assert!(read_golden(&path).is_err());
    }
}
