//! `depthprune eval`: one pruned model's score under a calibration objective.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use depthprune::model::{parse_block_list, BlockMask};
use depthprune::objective::{ObjectiveKind, ObjectiveSpec};
use serde::Serialize;

use super::{print_json, Global, ModelArgs, ObjectiveArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    objective: ObjectiveArgs,
    /// Blocks to remove, 0-based, comma-separated.
    #[arg(long, default_value = "")]
    skip: String,
    /// Write one JSON line per question to this file, shaped as lm-evaluation-harness's
    /// `--log_samples` records (acc only: perplexity has no questions).
    #[arg(long, value_name = "FILE")]
    log_samples: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Output {
    model: String,
    skip: Vec<usize>,
    objective: ObjectiveSpec,
    objective_key: String,
    value: f64,
    metrics: BTreeMap<String, f64>,
    seconds: f64,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let removed = parse_block_list(&args.skip).context("--skip")?;
    if args.log_samples.is_some() && args.objective.objective != ObjectiveKind::Accuracy {
        bail!("--log-samples logs questions: it needs --objective acc");
    }
    let started = Instant::now();
    let (model, spec, prepared) = args.objective.open_with_model(&args.model, global)?;
    let mask = BlockMask::with_removed(model.n_blocks(), &removed).context("--skip")?;
    let workload = prepared.workload();
    eprintln!(
        "prepared {}: {} tokens in {} batches ({:.1} s)",
        spec.short_name(),
        workload.n_tokens(),
        workload.batches.len(),
        started.elapsed().as_secs_f64()
    );
    let log_probs = workload.run(&model, &mask)?;
    let result = prepared.finish(&removed, &log_probs);
    if let Some(path) = &args.log_samples {
        let lines = prepared.samples(&log_probs).unwrap_or_default();
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(path, text)
            .with_context(|| format!("--log-samples: writing {}", path.display()))?;
        eprintln!("{} per-sample records in {}", lines.len(), path.display());
    }
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        return print_json(&Output {
            model: model.info.name.clone(),
            skip: mask.removed(),
            objective_key: spec.key(),
            objective: spec,
            value: result.value,
            metrics: result.metrics,
            seconds,
        });
    }
    print!("{}", depthprune::report::evaluation_table(&spec, &result));
    println!(
        "{} {} {}: {:.4} ({seconds:.1} s)",
        model.info.name,
        mask,
        spec.short_name(),
        result.value
    );
    Ok(())
}
