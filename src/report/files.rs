//! Everything a suite run leaves in its output folder: `results.json` (every run), `runs.csv`,
//! `single_removals.json`, `claims.json`, `report.md` and the SVG plots, per model:
//! `removed-<model>.svg` (how often each block is removed, per objective and searcher),
//! `single-removal-<model>.svg` (each objective with each block removed alone) and
//! `agreement-<model>.svg` (mean Jaccard between the sets of every two (objective, searcher)),
//! and `timings.csv` (what each search and phase cost).
//!
//! Timings live only in `timings.csv` and `report.md`: every other file is a function of the
//! runs alone, so it is byte-identical whether the suite ran in one process, was resumed,
//! served from a store or run in shards and merged.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::svg::{self, Panel};
use crate::objective::Direction;
use crate::suite::claims::{ClaimResult, ClaimSettings, RunTable, Verdict};
use crate::suite::manifest::Manifest;
use crate::suite::run::{RunRecord, SuiteRuns, Timing};
use crate::suite::{file_stem, Suite};

fn write(path: PathBuf, contents: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Writes every output file of a suite run into `dir`.
pub fn write_suite_outputs(
    dir: &Path,
    suite: &Suite,
    runs: &SuiteRuns,
    verdicts: Option<&[ClaimResult]>,
    manifest: &Manifest,
) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Results<'a> {
        manifest: &'a Manifest,
        runs: &'a [RunRecord],
    }
    write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&Results {
            manifest,
            runs: &runs.runs,
        })?,
    )?;
    write(dir.join("runs.csv"), runs_csv(&runs.runs)?)?;
    write(dir.join("timings.csv"), timings_csv(&runs.timings)?)?;
    write(
        dir.join("single_removals.json"),
        serde_json::to_string_pretty(&runs.single_removals)?,
    )?;
    if let Some(verdicts) = verdicts {
        write(
            dir.join("claims.json"),
            serde_json::to_string_pretty(verdicts)?,
        )?;
    }
    let mut plots = Vec::new();
    let heldout = suite.heldout_directions();
    for model in &suite.models {
        let stem = file_stem(model);
        let model_runs: Vec<&RunRecord> = runs.runs.iter().filter(|r| &r.model == model).collect();
        for (name, contents) in [
            (
                format!("removed-{stem}.svg"),
                removed_heatmap(model, &model_runs),
            ),
            (
                format!("single-removal-{stem}.svg"),
                single_removal_curves(suite, model, runs),
            ),
            (
                format!("agreement-{stem}.svg"),
                agreement_matrix(model, &model_runs, &heldout),
            ),
            (
                format!("budget-{stem}.svg"),
                budget_curves(model, &model_runs),
            ),
        ] {
            write(dir.join(&name), contents)?;
            plots.push(name);
        }
    }
    write(
        dir.join("report.md"),
        markdown(suite, runs, verdicts, &plots) + "\n" + &manifest.markdown(),
    )?;
    Ok(())
}

/// One row per run; held-out outcomes and calibration scores under every objective get a
/// column each (`heldout_<name>`, `calibration_<objective>`).
fn runs_csv(records: &[RunRecord]) -> Result<Vec<u8>> {
    let join = |v: &[usize]| {
        v.iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let heldout: BTreeSet<&String> = records.iter().flat_map(|r| r.heldout.keys()).collect();
    let calibration: BTreeSet<&String> =
        records.iter().flat_map(|r| r.calibration.keys()).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "model",
        "objective",
        "searcher",
        "seed",
        "k",
        "removed",
        "score",
        "evaluations",
        "starts_from_one_shot",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(heldout.iter().map(|h| format!("heldout_{h}")));
    header.extend(calibration.iter().map(|c| format!("calibration_{c}")));
    header.push("ranking".into());
    w.write_record(&header)?;
    let cell = |x: Option<&f64>| x.map_or(String::new(), |v| v.to_string());
    for r in records {
        let mut row = vec![
            r.model.clone(),
            r.objective.clone(),
            r.searcher.clone(),
            r.seed.to_string(),
            r.k.to_string(),
            join(&r.removed),
            r.score.to_string(),
            r.evaluations.to_string(),
            r.starts_from_one_shot.to_string(),
        ];
        row.extend(heldout.iter().map(|h| cell(r.heldout.get(*h))));
        row.extend(calibration.iter().map(|c| cell(r.calibration.get(*c))));
        row.push(join(&r.ranking));
        w.write_record(&row)?;
    }
    Ok(w.into_inner()?)
}

/// One row per search and per other phase (model load, single-removal curve, scoring under
/// the other objectives, held-out outcomes): evaluations computed and served from the store,
/// `seconds` with stored evaluations at their original cost, `wall_seconds` in this process.
pub fn timings_csv(timings: &[Timing]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for t in timings {
        w.serialize(t)?;
    }
    if timings.is_empty() {
        w.write_record([
            "model",
            "phase",
            "objective",
            "searcher",
            "seed",
            "computed",
            "from_store",
            "seconds",
            "wall_seconds",
        ])?;
    }
    Ok(w.into_inner()?)
}

/// (objective, searcher) pairs in the order the runs first name them.
fn cells(runs: &[&RunRecord]) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    for r in runs {
        let cell = (r.objective.clone(), r.searcher.clone());
        if !seen.contains(&cell) {
            seen.push(cell);
        }
    }
    seen
}

fn removed_heatmap(model: &str, runs: &[&RunRecord]) -> String {
    let n_blocks = runs
        .iter()
        .flat_map(|r| r.ranking.iter().chain(&r.removed))
        .max()
        .map_or(0, |m| m + 1);
    let rows = cells(runs);
    let values: Vec<Vec<f64>> = rows
        .iter()
        .map(|(o, s)| {
            let these: Vec<&&RunRecord> = runs
                .iter()
                .filter(|r| &r.objective == o && &r.searcher == s)
                .collect();
            (0..n_blocks)
                .map(|b| {
                    these.iter().filter(|r| r.removed.contains(&b)).count() as f64
                        / these.len() as f64
                })
                .collect()
        })
        .collect();
    svg::heatmap(
        &format!("{model}: share of seeds that remove each block"),
        &rows
            .iter()
            .map(|(o, s)| format!("{o} / {s}"))
            .collect::<Vec<_>>(),
        &(0..n_blocks).map(|b| b.to_string()).collect::<Vec<_>>(),
        &values,
        false,
    )
}

fn single_removal_curves(suite: &Suite, model: &str, runs: &SuiteRuns) -> String {
    let curves: Vec<_> = runs
        .single_removals
        .iter()
        .filter(|s| s.model == model)
        .collect();
    let objectives: Vec<&str> = curves
        .iter()
        .map(|c| c.objective.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let blocks = curves.first().map(|c| c.blocks.clone()).unwrap_or_default();
    let panels: Vec<Panel> = objectives
        .iter()
        .map(|o| {
            let mine: Vec<_> = curves.iter().filter(|c| c.objective == *o).collect();
            let minimise = mine
                .first()
                .is_some_and(|c| c.direction == Direction::Minimize);
            let full = mine.iter().map(|c| c.full).sum::<f64>() / mine.len() as f64;
            Panel {
                title: format!(
                    "{o} ({})",
                    if minimise {
                        "lower is better, log scale"
                    } else {
                        "higher is better"
                    }
                ),
                // The number plotted, which for an accuracy objective may not be accuracy.
                y_label: suite
                    .objectives
                    .get(*o)
                    .map_or(o.to_string(), |spec| spec.score_name().to_string()),
                // Perplexity spans orders of magnitude between harmless and fatal removals.
                log_y: minimise && mine.iter().flat_map(|c| &c.scores).all(|&v| v > 0.0),
                series: mine.iter().map(|c| c.scores.clone()).collect(),
                reference: Some(full),
            }
        })
        .collect();
    svg::line_panels(
        &format!(
            "{model}, each block removed alone (thin: a seed, thick: mean, dashed: full model)"
        ),
        "removed block",
        &blocks,
        &panels,
    )
}

/// Budget-quality curves: per (objective, searcher), the best score found after each
/// evaluation, as a relative gain over the same seed's one-shot answer (0 = one-shot, above =
/// better), one thin line per seed and their mean.
fn budget_curves(model: &str, runs: &[&RunRecord]) -> String {
    let one_shot = |r: &RunRecord| {
        runs.iter()
            .find(|x| x.objective == r.objective && x.seed == r.seed && x.searcher == "one_shot")
            .map(|x| x.score)
    };
    let cells: Vec<(String, String)> = cells(runs)
        .into_iter()
        .filter(|(_, s)| s != "block_influence")
        .collect();
    let longest = runs.iter().map(|r| r.best_so_far.len()).max().unwrap_or(1);
    let x: Vec<usize> = (1..=longest).collect();
    let panels: Vec<Panel> = cells
        .iter()
        .map(|(o, s)| {
            let mine: Vec<&&RunRecord> = runs
                .iter()
                .filter(|r| &r.objective == o && &r.searcher == s)
                .collect();
            let starts = mine.first().is_some_and(|r| r.starts_from_one_shot);
            let series = mine
                .iter()
                .filter_map(|r| {
                    let base = one_shot(r)?;
                    let sign = if r.direction == Direction::Minimize {
                        -1.0
                    } else {
                        1.0
                    };
                    let last = *r.best_so_far.last()?;
                    Some(
                        (0..longest)
                            .map(|i| {
                                let best = r.best_so_far.get(i).copied().unwrap_or(last);
                                sign * (best - base) / base.abs().max(1e-12)
                            })
                            .collect(),
                    )
                })
                .collect();
            Panel {
                title: format!(
                    "{o} / {s}{}",
                    if starts {
                        " (starts from one-shot)"
                    } else {
                        ""
                    }
                ),
                y_label: "gain".into(),
                log_y: false,
                series,
                reference: Some(0.0),
            }
        })
        .collect();
    svg::line_panels(
        &format!(
            "{model}, best calibration score so far vs evaluations, relative to one-shot (dashed)"
        ),
        "evaluations",
        &x,
        &panels,
    )
}

fn agreement_matrix(
    model: &str,
    runs: &[&RunRecord],
    heldout: &BTreeMap<String, Direction>,
) -> String {
    let labels = cells(runs);
    let seeds: BTreeSet<u64> = runs.iter().map(|r| r.seed).collect();
    let table = RunTable::new(runs, heldout);
    let values: Vec<Vec<f64>> = labels
        .iter()
        .map(|(oa, sa)| {
            labels
                .iter()
                .map(|(ob, sb)| {
                    let pairs = seeds
                        .iter()
                        .map(|&t| ((oa.as_str(), sa.as_str(), t), (ob.as_str(), sb.as_str(), t)));
                    table.mean_jaccard(pairs).unwrap_or(f64::NAN)
                })
                .collect()
        })
        .collect();
    let names: Vec<String> = labels.iter().map(|(o, s)| format!("{o} / {s}")).collect();
    svg::heatmap(
        &format!("{model}: mean Jaccard of removed sets (same seed)"),
        &names,
        &names,
        &values,
        true,
    )
}

fn markdown(
    suite: &Suite,
    runs: &SuiteRuns,
    verdicts: Option<&[ClaimResult]>,
    plots: &[String],
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Suite `{}`\n\n{}\n",
        suite.name,
        suite.description.trim()
    );
    let seconds: f64 = runs.runs.iter().map(|r| r.seconds).sum();
    let all: f64 = runs.timings.iter().map(|t| t.seconds).sum();
    let wall: f64 = runs.timings.iter().map(|t| t.wall_seconds).sum();
    let _ = writeln!(
        md,
        "Models: {}. Seeds: {:?}. {} searches, {:.0} s of search time and {:.0} s in all, each evaluation at what it cost when first computed ({:.0} s of wall time in the process(es) that wrote this; per phase in timings.csv).\n",
        suite.models.join(", "),
        suite.seeds,
        runs.runs.len(),
        seconds,
        all,
        wall
    );
    if let (Some(verdicts), Some(settings)) = (verdicts, &suite.claims) {
        md.push_str("## Verdicts\n\n");
        md.push_str(&verdict_markdown(verdicts, settings));
        md.push('\n');
    }
    if !suite.heldout.is_empty() {
        md.push_str("## Held-out outcomes\n\nMean over seeds of each run's chosen set scored on the evaluation split (calibration score of the run's own objective beside it).\n\n");
        md.push_str(&heldout_markdown(&runs.runs));
        md.push('\n');
    }
    md.push_str("## Plots\n\n");
    for p in plots {
        let _ = writeln!(md, "![{p}]({p})\n");
    }
    md.push_str("## Runs\n\n| model | objective | searcher | seed | removed | score | evaluations | seconds |\n|---|---|---|---|---|---|---|---|\n");
    for r in &runs.runs {
        let removed: Vec<String> = r.removed.iter().map(|b| b.to_string()).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.4} | {} | {:.1} |",
            r.model,
            r.objective,
            r.searcher,
            r.seed,
            removed.join(","),
            r.score,
            r.evaluations,
            r.seconds
        );
    }
    md
}

/// Per (model, objective, searcher): the mean over seeds of the calibration score and of each
/// held-out outcome.
pub fn heldout_markdown(runs: &[RunRecord]) -> String {
    let outcomes: BTreeSet<&String> = runs.iter().flat_map(|r| r.heldout.keys()).collect();
    let mut keys: Vec<(&str, &str, &str)> = Vec::new();
    for r in runs {
        let key = (r.model.as_str(), r.objective.as_str(), r.searcher.as_str());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut b = tabled::builder::Builder::default();
    let mut header = vec![
        "model".to_string(),
        "objective".into(),
        "searcher".into(),
        "calibration score".into(),
    ];
    header.extend(outcomes.iter().map(|o| format!("held-out {o}")));
    b.push_record(header);
    for (model, objective, searcher) in keys {
        let mine: Vec<&RunRecord> = runs
            .iter()
            .filter(|r| r.model == model && r.objective == objective && r.searcher == searcher)
            .collect();
        let mean = |f: &dyn Fn(&RunRecord) -> Option<f64>| {
            let v: Vec<f64> = mine.iter().filter_map(|r| f(r)).collect();
            if v.is_empty() {
                "-".to_string()
            } else {
                format!("{:.4}", v.iter().sum::<f64>() / v.len() as f64)
            }
        };
        let mut row = vec![
            model.to_string(),
            objective.to_string(),
            searcher.to_string(),
            mean(&|r| Some(r.score)),
        ];
        row.extend(
            outcomes
                .iter()
                .map(|o| mean(&|r| r.heldout.get(*o).copied())),
        );
        b.push_record(row);
    }
    let mut table = b.build();
    table.with(tabled::settings::Style::markdown());
    format!("{table}\n")
}

/// The verdicts as Markdown: one row per decided (model, claim) with its p-values and reason,
/// then every report's statistics.
pub fn verdict_markdown(verdicts: &[ClaimResult], settings: &ClaimSettings) -> String {
    let mut md = String::from(
        "| model | claim | verdict | predicted | expected | p holds / fails (Holm), floor | reason | statistics |\n|---|---|---|---|---|---|---|---|\n",
    );
    let stats = |v: &ClaimResult| {
        v.statistics
            .iter()
            .map(|(k, x)| format!("{k} = {}", super::format_statistic(*x)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for v in verdicts.iter().filter(|v| v.verdict != Verdict::Report) {
        let _ = writeln!(
            md,
            "| {} | {} | **{}** | {} | {} | {} | {} | {} |",
            v.model,
            v.claim,
            v.verdict.as_str(),
            settings
                .predicted_verdict(&v.claim)
                .map_or("-", |e| e.as_str()),
            settings
                .expected_verdict(&v.model, &v.claim)
                .map_or("-", |e| e.as_str()),
            super::p_values(v),
            v.reason,
            stats(v)
        );
    }
    for v in verdicts.iter().filter(|v| v.verdict == Verdict::Report) {
        let _ = writeln!(md, "\n### {} — {}\n", v.model, v.claim);
        for (k, x) in &v.statistics {
            let _ = writeln!(md, "- {k} = {}", super::format_statistic(*x));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_become_file_names() {
        assert_eq!(file_stem("smollm2-135m"), "smollm2-135m");
        assert_eq!(file_stem("/models/my model.gguf"), "my_model.gguf");
        assert_eq!(file_stem("hf:Qwen/Qwen3-8B"), "Qwen3-8B");
    }
}
