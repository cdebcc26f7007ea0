//! What people read: tables for the terminal, and a suite's output files (Markdown report, JSON,
//! CSV, SVG plots).

pub mod files;
pub mod registry;
pub mod svg;

use tabled::builder::Builder;
use tabled::settings::Style;

use crate::objective::{Evaluation, ObjectiveSpec};
use crate::scan::Scan;
use crate::suite::claims::{ClaimResult, ClaimSettings, Verdict};
use crate::suite::run::RunRecord;

/// The metrics of one evaluation: per task for accuracy, the perplexity figures otherwise.
pub fn evaluation_table(spec: &ObjectiveSpec, eval: &Evaluation) -> String {
    let mut b = Builder::default();
    match spec {
        ObjectiveSpec::Accuracy(_) => {
            b.push_record(["task", "n", "acc", "acc_norm", "gold_logprob", "margin"]);
            let tasks = crate::objective::accuracy::reported_tasks(&eval.metrics);
            for task in tasks.iter().map(String::as_str).chain(["macro"]) {
                let get = |m: &str| {
                    let key = if task == "macro" {
                        m.to_string()
                    } else {
                        format!("{task}/{m}")
                    };
                    eval.metrics.get(&key).copied()
                };
                let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
                let n = get("n").map_or("".to_string(), |n| format!("{n}"));
                b.push_record([
                    task.to_string(),
                    n,
                    fmt(get("acc")),
                    fmt(get("acc_norm")),
                    fmt(get("gold_logprob")),
                    fmt(get("margin")),
                ]);
            }
        }
        ObjectiveSpec::Perplexity(_) | ObjectiveSpec::Kl(_) | ObjectiveSpec::Noise(_) => {
            b.push_record(["metric", "value"]);
            for (k, v) in &eval.metrics {
                b.push_record([k.clone(), format!("{v:.4}")]);
            }
        }
    }
    let mut table = b.build();
    table.with(Style::sharp());
    format!("{table}\n")
}

/// One row per block: its single-removal score and the change from the full model.
pub fn scan_table(scan: &Scan) -> String {
    let mut b = Builder::default();
    b.push_record(["block", "score", "delta vs full"]);
    b.push_record([
        "none".to_string(),
        format!("{:.4}", scan.full.value),
        String::new(),
    ]);
    for r in &scan.rows {
        b.push_record([
            r.block.to_string(),
            format!("{:.4}", r.value),
            format!("{:+.4}", r.delta),
        ]);
    }
    let mut table = b.build();
    table.with(Style::sharp());
    format!("{table}\n")
}

/// One row per finished search of a suite.
pub fn runs_table(records: &[RunRecord]) -> String {
    let mut b = Builder::default();
    b.push_record([
        "model",
        "objective",
        "searcher",
        "seed",
        "removed",
        "score",
        "evaluations",
    ]);
    for r in records {
        let removed = r
            .removed
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",");
        b.push_record([
            r.model.clone(),
            r.objective.clone(),
            r.searcher.clone(),
            r.seed.to_string(),
            removed,
            format!("{:.4}", r.score),
            r.evaluations.to_string(),
        ]);
    }
    let mut table = b.build();
    table.with(Style::sharp());
    format!("{table}\n")
}

/// The reliability curve of an objective: one row per size.
pub fn reliability_table(points: &[crate::reliability::ReliabilityPoint], k: usize) -> String {
    let mut b = Builder::default();
    b.push_record([
        "score".to_string(),
        "size".into(),
        "tokens".into(),
        "cross-seed τ".into(),
        format!("top-{k} Jaccard"),
        "chance".into(),
        "beyond chance".into(),
        "seconds".into(),
    ]);
    for p in points {
        b.push_record([
            p.score.clone(),
            p.size.to_string(),
            p.tokens.to_string(),
            format!("{:.3}", p.cross_seed_tau),
            format!("{:.3}", p.top_k_jaccard),
            format!("{:.3}", p.chance_jaccard),
            format!("{:.3}", p.top_k_agreement),
            format!("{:.0}", p.seconds),
        ]);
    }
    let mut table = b.build();
    table.with(Style::sharp());
    format!("{table}\n")
}

/// Three decimals, or two significant digits for small non-zero values (p-values).
pub fn format_statistic(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.001 {
        format!("{x:.1e}")
    } else {
        format!("{x:.3}")
    }
}

/// One row per decided (model, claim): verdict, predicted and pinned verdicts, the exact
/// p-values (one-sided, before and after Holm, with the design's floor) and the reason.
/// Reports (agreement, reliability, variance shares) are in report.md and claims.json.
pub fn claims_table(results: &[ClaimResult], settings: &ClaimSettings) -> String {
    let mut b = Builder::default();
    b.push_record([
        "model",
        "claim",
        "verdict",
        "predicted",
        "expected",
        "p holds / fails (Holm), floor",
        "reason",
    ]);
    for r in results.iter().filter(|r| r.verdict != Verdict::Report) {
        b.push_record([
            r.model.clone(),
            r.claim.clone(),
            r.verdict.as_str().to_string(),
            settings
                .predicted_verdict(&r.claim)
                .map_or("-", |v| v.as_str())
                .to_string(),
            settings
                .expected_verdict(&r.model, &r.claim)
                .map_or("-", |v| v.as_str())
                .to_string(),
            p_values(r),
            textwrap(&r.reason, 60),
        ]);
    }
    let mut table = b.build();
    table.with(Style::sharp());
    format!("{table}\n")
}

/// `p_holds / p_fails (Holm-adjusted), floor`, or `-` when the claim was not tested.
pub fn p_values(r: &ClaimResult) -> String {
    let f = |p: Option<f64>| p.map_or("-".to_string(), format_p);
    match r.p_floor {
        None => "-".to_string(),
        Some(floor) => format!(
            "{} / {} ({}), floor {}",
            f(r.p_holds),
            f(r.p_fails),
            f(r.p_adjusted),
            format_p(floor)
        ),
    }
}

/// A p-value as an exact fraction's decimal, never rounded to zero.
pub fn format_p(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

/// Breaks `text` into lines of at most `width` characters at spaces.
fn textwrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ') {
        if line > 0 && line + 1 + word.len() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

/// The seeds each claim needs for `target` power (`depthprune power`, and report.md).
pub fn power_table(sized: &[crate::suite::claims::sizing::SeedsNeeded], target: f64) -> String {
    let mut builder = Builder::default();
    builder.push_record([
        "model".to_string(),
        "claim".into(),
        "test".into(),
        "pilot units".into(),
        "mean".into(),
        "d_z".into(),
        format!("seeds for power {target}"),
        "note".into(),
    ]);
    for s in sized {
        let curve = s.curve.as_ref();
        builder.push_record([
            s.model.clone(),
            s.claim.clone(),
            format!(
                "{} at {:.4}",
                if s.two_sided {
                    "two-sided"
                } else {
                    "one-sided"
                },
                s.level
            ),
            curve.map_or("-".into(), |c| c.pilot_units.to_string()),
            curve.map_or("-".into(), |c| format!("{:.4}", c.mean)),
            curve.map_or("-".into(), |c| format!("{:.2}", c.effect_size)),
            s.seeds_needed.map_or("-".into(), |n| n.to_string()),
            s.note.clone(),
        ]);
    }
    let mut table = builder.build();
    table.with(Style::markdown());
    format!("{table}\n")
}
