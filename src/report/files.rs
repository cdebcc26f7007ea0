//! Everything a suite run leaves in its output folder: `results.json` (every run), `runs.csv`,
//! `single_removals.json`, `claims.json`, `report.md` and the SVG plots, per model:
//! `removed-<model>.svg` (how often each block is removed, per objective and searcher),
//! `single-removal-<model>.svg` (each objective with each block removed alone) and
//! `agreement-<model>.svg` (mean Jaccard between the sets of every two (objective, searcher)),
//! `budget-<model>.svg` (budget-quality curves), `verdicts.svg` (each claim's per-seed
//! statistic against its threshold, with the verdict),
//! and `timings.csv` (what each search and phase cost).
//!
//! Timings live only in `timings.csv` and `report.md`: every other file is a function of the
//! runs alone, so it is byte-identical whether the suite ran in one process, was resumed,
//! served from a store or run in shards and merged.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::svg::{self, Grid, GridRow, Panel};
use crate::objective::Direction;
use crate::search::SearcherKind;
use crate::suite::claims::sizing::{seeds_needed, SizingOptions};
use crate::suite::claims::{Claim, ClaimResult, ClaimSettings, RunTable, Verdict};
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
                removed_heatmap(suite, model, &model_runs, runs),
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
    if let Some(verdicts) = verdicts {
        write(
            dir.join("verdicts.svg"),
            verdict_figure(&suite.name, verdicts),
        )?;
        plots.push("verdicts.svg".to_string());
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
            "screened",
            "tokens",
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

/// The model's block count and protected blocks, from what the runs rank and the suite's
/// protection: the smallest count whose protected blocks and the ranked ones make up every
/// block (a result file does not record the count itself).
fn blocks_of(
    suite: &Suite,
    model: &str,
    runs: &[&RunRecord],
    all: &SuiteRuns,
) -> (usize, BTreeSet<usize>) {
    let seen: BTreeSet<usize> = runs
        .iter()
        .flat_map(|r| r.ranking.iter().chain(&r.removed))
        .chain(
            all.single_removals
                .iter()
                .filter(|s| s.model == model)
                .flat_map(|s| &s.blocks),
        )
        .copied()
        .collect();
    let Some(&max) = seen.last() else {
        return (0, BTreeSet::new());
    };
    (max + 1..max + 2 + seen.len() + 64)
        .find_map(|n| {
            let protected = suite.protect.blocks(n).ok()?;
            let fits = protected.is_disjoint(&seen)
                && (0..n).all(|b| seen.contains(&b) || protected.contains(&b));
            fits.then_some((n, protected))
        })
        .unwrap_or((max + 1, BTreeSet::new()))
}

fn removed_heatmap(suite: &Suite, model: &str, runs: &[&RunRecord], all: &SuiteRuns) -> String {
    let (n_blocks, protected) = blocks_of(suite, model, runs, all);
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
    let seeds = runs.iter().map(|r| r.seed).collect::<BTreeSet<_>>().len();
    svg::heatmap(&svg::Heatmap {
        title: &format!(
            "{model}: share of seeds that remove each block (objective / searcher × block)"
        ),
        row_labels: &rows
            .iter()
            .map(|(o, s)| format!("{o} / {s}"))
            .collect::<Vec<_>>(),
        column_labels: &(0..n_blocks).map(|b| b.to_string()).collect::<Vec<_>>(),
        values: &values,
        annotate: false,
        protected: &protected,
        scale_label: &format!("share of the {seeds} seeds"),
    })
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
    let rows: Vec<GridRow> = objectives
        .iter()
        .map(|o| {
            let mine: Vec<_> = curves.iter().filter(|c| c.objective == *o).collect();
            let minimise = mine
                .first()
                .is_some_and(|c| c.direction == Direction::Minimize);
            let full = mine.iter().map(|c| c.full).sum::<f64>() / mine.len() as f64;
            // Perplexity spans orders of magnitude between harmless and fatal removals.
            let log_y = minimise && mine.iter().flat_map(|c| &c.scores).all(|&v| v > 0.0);
            // The number plotted, which for an accuracy objective may not be accuracy.
            let score = suite
                .objectives
                .get(*o)
                .map_or(o.to_string(), |spec| spec.score_name().to_string());
            GridRow {
                title: format!(
                    "{o}: {score} with that block removed ({}{})",
                    if minimise {
                        "lower is better"
                    } else {
                        "higher is better"
                    },
                    if log_y { ", log scale" } else { "" }
                ),
                y_label: score,
                log_y,
                reference: Some(full),
                y_floor: None,
                panels: vec![Some(Panel {
                    x: mine
                        .first()
                        .map(|c| c.blocks.iter().map(|&b| b as f64).collect())
                        .unwrap_or_default(),
                    series: mine.iter().map(|c| c.scores.clone()).collect(),
                })],
            }
        })
        .collect();
    svg::line_grid(&Grid {
        title: &format!("{model}: each block removed alone"),
        column_titles: vec![],
        x_label: "removed block",
        integer_x: true,
        rows,
        reference_label: "full model (mean of the seeds)",
        note: None,
    })
}

/// Budget-quality curves: per (objective, searcher), the best score found after each
/// evaluation, as a relative gain over the same seed's one-shot answer (0 = one-shot, above =
/// better), one thin line per seed and their mean; a row per objective sharing its y axis, a
/// column per searcher.
fn budget_curves(model: &str, runs: &[&RunRecord]) -> String {
    let one_shot = |r: &RunRecord| {
        runs.iter()
            .find(|x| x.objective == r.objective && x.seed == r.seed && x.searcher == "one_shot")
            .map(|x| x.score)
    };
    let pairs = cells(runs);
    let mut objectives: Vec<&str> = Vec::new();
    let mut searchers: Vec<&str> = Vec::new();
    for (o, s) in &pairs {
        if !objectives.contains(&o.as_str()) {
            objectives.push(o);
        }
        // The baselines make one evaluation and search nothing: no budget curve.
        if !SearcherKind::is_baseline_name(s) && !searchers.contains(&s.as_str()) {
            searchers.push(s);
        }
    }
    let panel = |o: &str, s: &str| -> Option<Panel> {
        let mine: Vec<&&RunRecord> = runs
            .iter()
            .filter(|r| r.objective == o && r.searcher == s)
            .collect();
        let longest = mine.iter().map(|r| r.best_so_far.len()).max()?;
        let series: Vec<Vec<f64>> = mine
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
        (!series.is_empty()).then(|| Panel {
            x: (1..=longest).map(|i| i as f64).collect(),
            series,
        })
    };
    let starts = |s: &str| {
        runs.iter()
            .any(|r| r.searcher == s && r.starts_from_one_shot)
    };
    let rows: Vec<GridRow> = objectives
        .iter()
        .map(|o| {
            let panels: Vec<Option<Panel>> = searchers.iter().map(|s| panel(o, s)).collect();
            // A search's first evaluations can be catastrophic (a perplexity 1,000 times the
            // one-shot answer's is a gain of -1,000): the floor keeps the axis on the range
            // where the searchers differ, twice the best gain below zero and at least -0.5.
            let values = || panels.iter().flatten().flat_map(|p| p.series.iter().flatten());
            let best = values().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
            let floor = -(2.0 * best).max(0.5);
            let clipped = values().any(|&v| v < floor);
            GridRow {
                title: format!(
                    "{o}: best calibration score so far, as a gain over the seed's one-shot answer (above 0: better){}",
                    if clipped {
                        format!("; gains below {floor:.2} drawn on the bottom edge")
                    } else {
                        String::new()
                    }
                ),
                y_label: format!("{o}: relative gain"),
                log_y: false,
                reference: Some(0.0),
                y_floor: clipped.then_some(floor),
                panels,
            }
        })
        .collect();
    let any_starts = searchers.iter().any(|s| starts(s));
    svg::line_grid(&Grid {
        title: &format!(
            "{model}: budget-quality curves, per objective (rows) and searcher (columns)"
        ),
        column_titles: searchers
            .iter()
            .map(|s| format!("{s}{}", if starts(s) { " *" } else { "" }))
            .collect(),
        x_label: "evaluations asked for",
        integer_x: true,
        rows,
        reference_label: "one-shot's answer (gain 0)",
        note: any_starts.then(|| "* starts from one-shot's answer".to_string()),
    })
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
    svg::heatmap(&svg::Heatmap {
        title: &format!("{model}: mean Jaccard of removed sets (same seed)"),
        row_labels: &names,
        column_labels: &names,
        values: &values,
        annotate: true,
        protected: &BTreeSet::new(),
        scale_label: "mean Jaccard",
    })
}

/// The verdict figure: a strip per decided (model, claim) with the per-seed statistic its test
/// runs over, their mean and what they are compared with, and the verdict, p-values and floor.
pub fn verdict_figure(suite: &str, verdicts: &[ClaimResult]) -> String {
    let rows: Vec<svg::VerdictRow> = verdicts
        .iter()
        .filter(|v| v.verdict != Verdict::Report)
        .map(|v| {
            let p = |x: Option<f64>| x.map_or("-".to_string(), super::format_p);
            let claim = Claim::from_name(&v.claim);
            // The primaries' adjusted p is the running maximum along the fixed sequence; the
            // secondaries' is Holm's.
            let adjusted = if claim.is_some_and(Claim::is_primary) {
                "fixed sequence"
            } else {
                "Holm"
            };
            let caption = match v.p_floor {
                Some(floor) => format!(
                    "p holds {} / fails {} ({adjusted} {}), floor {}",
                    p(v.p_holds),
                    p(v.p_fails),
                    p(v.p_adjusted),
                    super::format_p(floor)
                ),
                None => {
                    // Only the reason: no test ran, so there are no p-values.
                    let mut reason: String = v.reason.chars().take(110).collect();
                    if v.reason.chars().count() > 110 {
                        reason.push('…');
                    }
                    reason
                }
            };
            svg::VerdictRow {
                title: format!("{} · {}", v.model, v.claim),
                verdict: v.verdict.as_str().to_string(),
                caption,
                per_seed: v.per_seed.clone(),
                unit: if claim.map_or(1, Claim::seeds_per_unit) == 2 {
                    "disjoint seed pairs"
                } else {
                    "seeds"
                },
                threshold: v.threshold,
            }
        })
        .collect();
    svg::verdict_plot(
        &format!("Suite {suite}: each claim's per-unit statistic (a seed or a pair of seeds) and verdict"),
        &rows,
    )
}

/// The reliability figure of `depthprune reliability --plot`: per objective, its measured
/// cross-seed τ at each size and the Spearman–Brown prediction from its smallest size.
pub fn reliability_figure(
    title: &str,
    unit: &str,
    curves: &[(String, Vec<crate::reliability::ReliabilityPoint>)],
) -> String {
    let series: Vec<svg::ReliabilitySeries> = curves
        .iter()
        .map(|(name, points)| {
            let smallest = points.iter().map(|p| p.size).min().unwrap_or(0);
            let predicted = crate::reliability::predicted_curve(points, 48);
            svg::ReliabilitySeries {
                measured: points
                    .iter()
                    .map(|p| (p.size as f64, p.cross_seed_tau))
                    .collect(),
                measured_label: format!("{name}: measured"),
                predicted_label: match predicted {
                    Some(_) => format!("{name}: Spearman–Brown prediction from size {smallest}"),
                    None => format!("{name}: no prediction (τ at size {smallest} is not positive)"),
                },
                predicted: predicted.unwrap_or_default(),
            }
        })
        .collect();
    svg::reliability_plot(title, &format!("size ({unit})"), &series)
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
    let screened: usize = runs.timings.iter().map(|t| t.screened).sum();
    let tokens: u64 = runs.timings.iter().map(|t| t.tokens).sum();
    let _ = writeln!(
        md,
        "Tokens run through the model in the process(es) that wrote this: {tokens}; candidates the sieve screened out on part of the calibration items: {screened}{} (per phase in timings.csv).\n",
        if suite.sieve { "" } else { " (the sieve is off in this suite)" }
    );
    if let (Some(verdicts), Some(settings)) = (verdicts, &suite.claims) {
        md.push_str("## Verdicts\n\n");
        md.push_str(&verdict_markdown(verdicts, settings));
        md.push('\n');
        md.push_str(&statement_markdown(verdicts, settings));
        let sizing = SizingOptions::defaults(settings.alpha);
        let _ = writeln!(
            md,
            "## Seeds for power {}\n\nWhat each claim would need, simulated from this run's per-unit statistics under the claim's own test and level (`depthprune power` on this folder for another target):\n",
            sizing.target
        );
        md.push_str(&super::power_table(
            &seeds_needed(verdicts, &sizing),
            sizing.target,
        ));
        md.push('\n');
    }
    if !suite.heldout.is_empty() {
        md.push_str("## Held-out outcomes\n\nMean over seeds of each run's chosen set scored on the evaluation split (calibration score of the run's own objective beside it).\n\n");
        md.push_str(&heldout_markdown(&runs.runs));
        md.push('\n');
        md.push_str(&heldout_precision_markdown(suite, &runs.runs));
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

/// How precisely each held-out accuracy (a share of questions answered) is measured, beside how
/// far the chosen sets' accuracies spread: a binomial standard error over the outcome's
/// questions at the model's mean accuracy, and the standard deviation across the searchers'
/// chosen sets (the baselines left out, as statement 3 leaves them). Statement 3 compares shares of that spread; where it is not large beside the
/// error, which sets do better on these questions says little about the tasks. (Two sets are
/// scored on the same questions, so their difference varies less than two independent errors:
/// the binomial error bounds what a set's accuracy says about its task, not the pairing.)
pub fn heldout_precision_markdown(suite: &Suite, runs: &[RunRecord]) -> String {
    use crate::objective::{AccMetric, ObjectiveSpec};
    let mut md = String::new();
    for (name, spec) in &suite.heldout {
        let ObjectiveSpec::Accuracy(acc) = spec else {
            continue;
        };
        if !matches!(acc.metric, AccMetric::Acc | AccMetric::AccNorm) {
            continue;
        }
        let questions = acc.tasks.len() * acc.n_per_task;
        for model in &suite.models {
            let values: Vec<f64> = runs
                .iter()
                .filter(|r| &r.model == model && !SearcherKind::is_baseline_name(&r.searcher))
                .filter_map(|r| r.heldout.get(name).copied())
                .collect();
            if values.len() < 2 {
                continue;
            }
            let mean = crate::stats::mean(&values);
            let spread = crate::stats::std_dev(&values);
            let error = (mean * (1.0 - mean) / questions as f64).sqrt();
            if error <= 0.0 {
                continue;
            }
            let _ = writeln!(
                md,
                "- {model}, held-out `{name}` ({questions} questions at most: {} tasks × {}): standard error of one set's accuracy about {error:.3} at its mean {mean:.3}; across the {} searchers' chosen sets the accuracies spread by {spread:.3} (standard deviation), {:.1} times that error.",
                acc.tasks.len(),
                acc.n_per_task,
                values.len(),
                spread / error
            );
        }
    }
    if md.is_empty() {
        return md;
    }
    format!("Precision of the held-out accuracies (binomial standard error over the questions, what one set's accuracy says about its tasks; statement 3 compares shares of the spread across sets, and where that spread is not large beside the error, which sets do better on these questions says little about the tasks):\n\n{md}\n")
}

/// The study's statement "calibration matters more than search" as the conjunction of the two
/// primary claims, per model, with the part that carries it; then the pre-registered
/// `predicted` verdicts beside the measured ones (a miss is a finding, not a failure).
pub fn statement_markdown(verdicts: &[ClaimResult], settings: &ClaimSettings) -> String {
    let mut md = String::new();
    let statement = crate::suite::claims::calibration_statement(verdicts);
    if !statement.is_empty() {
        md.push_str(
            "### \"Calibration matters more than search\"\n\nThe conjunction of the two primary claims: sample_over_search (a fresh calibration sample of the same size moves the chosen set more than a change of searcher) and objective_over_search (the objectives disagree beyond what their measured unreliability explains, more than the searchers do). calibration_over_search measures both at once and cannot say which part carries it.\n\n",
        );
        for (model, verdict, reason) in &statement {
            let _ = writeln!(md, "- {model}: **{}**: {reason}", verdict.as_str());
        }
        md.push('\n');
    }
    let decided: Vec<&ClaimResult> = verdicts
        .iter()
        .filter(|v| v.verdict != Verdict::Report)
        .collect();
    let compared: Vec<(&ClaimResult, Verdict)> = decided
        .iter()
        .filter_map(|v| Some((*v, settings.predicted_verdict(&v.claim)?)))
        .collect();
    if !compared.is_empty() {
        let misses: Vec<String> = compared
            .iter()
            .filter(|(v, p)| v.verdict != *p)
            .map(|(v, p)| {
                format!(
                    "{} / {}: predicted {}, measured {}",
                    v.model,
                    v.claim,
                    p.as_str(),
                    v.verdict.as_str()
                )
            })
            .collect();
        let _ = writeln!(
            md,
            "### Predicted beside measured\n\n{} of {} verdicts as predicted before the suite's first run (a miss is a finding, not a failure){}\n",
            compared.len() - misses.len(),
            compared.len(),
            if misses.is_empty() {
                ".".to_string()
            } else {
                format!("; the misses:\n\n- {}", misses.join("\n- "))
            }
        );
    }
    md
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
