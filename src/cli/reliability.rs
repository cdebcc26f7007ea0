//! `depthprune reliability`: how well an objective's one-shot ranking reproduces across
//! calibration resamples, at each size, to size a suite's objectives from.

use anyhow::{Context, Result};
use depthprune::blocks::Protection;
use depthprune::reliability::{check_request, reliability_curve, CurveRequest, Engine};
use depthprune::search::Problem;

use super::{print_json, EngineArgs, Global, ModelArgs, ObjectiveArgs};
use depthprune::objective::ObjectiveKind;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    objective: ObjectiveArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// Sizes to measure, comma-separated: windows (ppl) or questions per task (acc).
    #[arg(long, value_delimiter = ',', required = true)]
    sizes: Vec<usize>,
    /// Calibration resamples per size (seeds 0..N).
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// Size of the top-k sets compared.
    #[arg(long, default_value_t = 3)]
    k: usize,
    /// Blocks left out of rankings: `ends` (first and last), `none`, or a list.
    #[arg(long, default_value = "ends")]
    protect: Protection,
    /// acc: more metrics to rank by, comma-separated (acc, acc_norm, gold_logprob, margin),
    /// each scored from the same scans' per-question log-likelihoods at no extra model cost.
    #[arg(long, value_delimiter = ',')]
    also_metrics: Vec<depthprune::objective::AccMetric>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the curve as an SVG figure: cross-seed τ against size, beside the
    /// Spearman–Brown prediction from the smallest size.
    #[arg(long, value_name = "FILE")]
    plot: Option<std::path::PathBuf>,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    // Checked before the model loads: a typo should not cost a model load.
    check_request(&args.sizes, args.seeds)?;
    if !args.also_metrics.is_empty() && args.objective.objective != ObjectiveKind::Accuracy {
        anyhow::bail!("--also-metrics ranks by other accuracy metrics: it needs --objective acc");
    }
    let data_dir = args.objective.data_dir()?;
    let (model, spec, _) = args.objective.open_with_model(&args.model, global)?;
    let problem = Problem {
        n_blocks: model.n_blocks(),
        k: args.k,
        protected: args.protect.blocks(model.n_blocks()).context("--protect")?,
        direction: spec.direction(),
        budget: None,
        compute: None,
    };
    let store = args.engine.store_dir()?;
    let k = args.k;
    let json = args.json;
    let points = reliability_curve(
        &model,
        &CurveRequest {
            spec: &spec,
            sizes: &args.sizes,
            seeds: args.seeds,
            problem: &problem,
            also: &args.also_metrics,
        },
        &Engine {
            data_dir: &data_dir,
            store: &store,
            options: args.engine.options(),
            quiet: global.quiet,
        },
        |p| {
            if !json {
                eprintln!(
                    "{} at size {}: cross-seed tau {:.3}, top-{k} Jaccard {:.3} (chance {:.3}), \
                     {:.0} s",
                    p.score, p.size, p.cross_seed_tau, p.top_k_jaccard, p.chance_jaccard, p.seconds
                );
            }
        },
    )?;
    if let Some(path) = &args.plot {
        let name = spec.short_name();
        let unit = match spec {
            depthprune::objective::ObjectiveSpec::Perplexity(_)
            | depthprune::objective::ObjectiveSpec::Kl(_) => "windows",
            depthprune::objective::ObjectiveSpec::Accuracy(_) => "questions per task",
            depthprune::objective::ObjectiveSpec::Noise(_) => "draws (no size)",
        };
        let svg = depthprune::report::files::reliability_figure(
            &format!(
                "{} / {name}: how its one-shot ranking reproduces across {} calibration resamples",
                args.model.model, args.seeds
            ),
            unit,
            &by_score(&points, name),
        );
        std::fs::write(path, svg).with_context(|| {
            format!(
                "--plot: writing {} (does its folder exist?)",
                path.display()
            )
        })?;
    }
    if json {
        return print_json(&points);
    }
    print!("{}", depthprune::report::reliability_table(&points, k));
    Ok(())
}

/// The points as one series per score, in the order first measured (`ppl` names perplexity's).
fn by_score(
    points: &[depthprune::reliability::ReliabilityPoint],
    name: &str,
) -> Vec<(String, Vec<depthprune::reliability::ReliabilityPoint>)> {
    let mut series: Vec<(String, Vec<_>)> = Vec::new();
    for p in points {
        let label = if p.score == "perplexity" {
            name.to_string()
        } else {
            p.score.clone()
        };
        match series.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => v.push(p.clone()),
            None => series.push((label, vec![p.clone()])),
        }
    }
    series
}
