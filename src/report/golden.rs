//! Golden text of a suite's runs: per model, every run's chosen set, rounded score and ranking,
//! one line each, in run order. `tests/claims.rs` snapshots it (insta, `golden/`), and
//! `depthprune run --check` compares it with `golden/<suite>-<model>.txt`.
//!
//! Scores are rounded to four significant digits so that last-bit float differences between
//! machines do not show; chosen sets and rankings are exact (searchers break score ties by block
//! index).

use std::fmt::Write;

use crate::suite::run::RunRecord;

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

/// The lines of `actual` that differ from `expected`, as `- expected` / `+ actual` pairs.
pub fn differences(expected: &str, actual: &str) -> Vec<String> {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = Vec::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i).copied(), a.get(i).copied());
        if x != y {
            out.push(format!(
                "- {}\n+ {}",
                x.unwrap_or("(none)"),
                y.unwrap_or("(none)")
            ));
        }
    }
    out
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
    fn differences_pair_lines() {
        assert!(differences("a\nb\n", "a\nb\n").is_empty());
        assert_eq!(
            differences("a\nb", "a\nc\nd"),
            vec!["- b\n+ c", "- (none)\n+ d"]
        );
    }
}
