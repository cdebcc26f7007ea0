//! `depthprune scan`: the objective with each single block removed (the one-shot scan).

use std::time::Instant;

use anyhow::Result;
use depthprune::evaluator::{Evaluator, EvaluatorStats};
use depthprune::objective::{Evaluation, ObjectiveSpec};
use depthprune::scan::{one_shot_scan, ScanRow};
use serde::Serialize;

use super::{print_json, EngineArgs, Global, ModelArgs, ObjectiveArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    objective: ObjectiveArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Output {
    model: String,
    objective: ObjectiveSpec,
    objective_key: String,
    full: Evaluation,
    blocks: Vec<ScanRow>,
    stats: EvaluatorStats,
    seconds: f64,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let started = Instant::now();
    let (model, spec, prepared) = args.objective.open_with_model(&args.model, global)?;
    let mut evaluator = Evaluator::new(&model, prepared.as_ref(), args.engine.options())?
        .with_store(&args.engine.store_dir()?)?;
    let scan = one_shot_scan(&mut evaluator, global.quiet)?;
    let stats = evaluator.stats();
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        return print_json(&Output {
            model: model.info.name.clone(),
            objective_key: spec.key(),
            objective: spec,
            full: scan.full,
            blocks: scan.rows,
            stats,
            seconds,
        });
    }
    print!("{}", depthprune::report::scan_table(&scan));
    println!(
        "{} {}: full {:.4}; {} evaluations computed, {} from memo, {} from store; {:.1} s",
        model.info.name,
        spec.short_name(),
        scan.full.value,
        stats.computed,
        stats.memo_hits,
        stats.store_hits,
        seconds
    );
    Ok(())
}
