//! Golden text of a suite's runs: per model, every run's chosen set, rounded score, held-out
//! outcomes and ranking, one line each, in run order. One format for every check:
//! `golden/<suite>-<model>.snap`, compared by `depthprune run --check` (and the nightly job) and
//! by `tests/claims.rs` through [`super::check::golden_problems`], with a line diff on mismatch.
//!
//! Scores are rounded to four significant digits, and numbers are compared with a tolerance
//! ([`numbers_agree`]), so that float differences between machines do not show: gemm picks its
//! kernel and cache blocking at run time from the CPU, which moves summation order (seen: a
//! Gemma 3 held-out perplexity of 2.0e10 printed 20360422305 here and 20360311626 on CI, 5.4e-6
//! relative). Chosen sets, rankings and names are compared exactly (searchers break score ties
//! by block index).

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

/// Relative tolerance of a printed number against its golden (beside one unit in its last
/// printed place, which rounding to four significant digits can flip).
pub const GOLDEN_RELATIVE_TOLERANCE: f64 = 1e-4;

/// One unit in the last printed place of a decimal number as written (`43.34` → 0.01).
fn last_place(text: &str) -> f64 {
    let decimals = text.split_once('.').map_or(0, |(_, frac)| frac.len());
    10f64.powi(-(decimals as i32))
}

/// Whether two printed numbers agree: within one unit of the coarser last printed place, or
/// within [`GOLDEN_RELATIVE_TOLERANCE`]. Tokens that are not both numbers must be equal.
pub fn numbers_agree(expected: &str, actual: &str) -> bool {
    if expected == actual {
        return true;
    }
    let (Ok(a), Ok(b)) = (expected.parse::<f64>(), actual.parse::<f64>()) else {
        return false;
    };
    if !a.is_finite() || !b.is_finite() {
        return false;
    }
    let unit = last_place(expected).max(last_place(actual));
    let gap = (a - b).abs();
    gap <= unit * (1.0 + 1e-9) || gap <= GOLDEN_RELATIVE_TOLERANCE * a.abs().max(b.abs())
}

/// Whether two golden lines agree: the run's name, chosen set and ranking (fields 0, 1 and 4
/// between `|`) exactly, its score and held-out outcomes (fields 2 and 3) token by token with
/// [`numbers_agree`].
fn lines_agree(expected: &str, actual: &str) -> bool {
    let (e, a): (Vec<&str>, Vec<&str>) =
        (expected.split('|').collect(), actual.split('|').collect());
    e.len() == a.len()
        && e.iter().zip(&a).enumerate().all(|(field, (x, y))| {
            let (x, y): (Vec<&str>, Vec<&str>) = (
                x.split_whitespace().collect(),
                y.split_whitespace().collect(),
            );
            let scored = field == 2 || field == 3;
            x.len() == y.len()
                && x.iter()
                    .zip(&y)
                    .all(|(x, y)| x == y || (scored && numbers_agree(x, y)))
        })
}

/// A unified diff of the golden text against the actual one (`-` golden, `+` actual), or
/// `None` when they agree: line for line, numbers within tolerance, trailing blank lines aside.
pub fn diff(expected: &str, actual: &str) -> Option<String> {
    let (expected, actual) = (expected.trim_end(), actual.trim_end());
    if expected.lines().count() == actual.lines().count()
        && expected
            .lines()
            .zip(actual.lines())
            .all(|(e, a)| lines_agree(e, a))
    {
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
    fn numbers_agree_within_rounding_and_tolerance_only() {
        // What CI printed against this machine's golden (gemm's blocking differs by CPU).
        assert!(diff(
            "acc 3 local | 3 5 16 | -0.1800 | acc 0.2500 ppl 20360422305 | 3 5 16\n",
            "acc 3 local | 3 5 16 | -0.1800 | acc 0.2500 ppl 20360311626 | 3 5 16\n"
        )
        .is_none());
        // A last-digit flip across a rounding boundary.
        assert!(numbers_agree("43.34", "43.33"));
        assert!(!numbers_agree("43.34", "43.32"));
        assert!(!numbers_agree("20360422305", "20370422305"));
        // Sets and rankings are integers: one unit is a different block.
        assert!(diff("x | 3 5 16 |\n", "x | 3 5 17 |\n").is_some());
        assert!(diff("greedy\n", "beam\n").is_some());
        assert!(!numbers_agree("NaN", "1.0") && numbers_agree("NaN", "NaN"));
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
