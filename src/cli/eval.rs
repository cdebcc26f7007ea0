//! `depthprune eval`: one pruned model's score under a calibration objective.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use depthprune::model::{parse_block_list, BlockMask};
use depthprune::objective::{evaluate, ObjectiveSpec};
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
    let result = evaluate(prepared.as_ref(), &model, &mask)?;
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
