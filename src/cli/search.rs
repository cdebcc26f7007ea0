//! `depthprune search`: choose k blocks to remove with one search algorithm.

use std::time::Instant;

use anyhow::{Context, Result};
use depthprune::blocks::Protection;
use depthprune::evaluator::{Evaluator, EvaluatorOptions, EvaluatorStats};
use depthprune::objective::ObjectiveSpec;
use depthprune::progress::Progress;
use depthprune::search::{self, Problem, SearchResult, SearcherKind, SearcherParams};
use serde::Serialize;

use super::{block_list, print_json, EngineArgs, Global, ModelArgs, ObjectiveArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    objective: ObjectiveArgs,
    #[command(flatten)]
    engine: EngineArgs,
    #[arg(long, value_enum)]
    searcher: SearcherKind,
    /// Blocks to remove.
    #[arg(long)]
    k: usize,
    /// Blocks that may not be removed: `ends` (first and last), `none`, or a list.
    #[arg(long, default_value = "ends")]
    protect: Protection,
    /// Maximum evaluations [default: the searcher's own].
    #[arg(long, conflicts_with = "compute")]
    budget: Option<usize>,
    /// A budget in compute instead, in full-evaluation equivalents: a full score costs 1, a
    /// candidate screened out the share of the items it was scored on.
    #[arg(long)]
    compute: Option<f64>,
    /// Evolutionary, annealing, local, random: screen each proposal on the sieve's first rungs
    /// and score fully only those that can still win (the kept answer's score stays exact).
    #[arg(long)]
    screen: bool,
    /// The screen's relative margin [default: 0.01].
    #[arg(long)]
    screen_margin: Option<f64>,
    /// Seed of the searcher's own randomness (the objective has --seed).
    #[arg(long, default_value_t = 0)]
    search_seed: u64,
    #[arg(long)]
    beam_width: Option<usize>,
    /// Score every candidate of greedy's steps and beam's levels on every item, instead of
    /// sieving them by successive halving over the objective's batches.
    #[arg(long)]
    no_sieve: bool,
    /// Print JSON (with the full trace) instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Output {
    model: String,
    objective: ObjectiveSpec,
    objective_key: String,
    problem: Problem,
    result: SearchResult,
    stats: EvaluatorStats,
    seconds: f64,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let started = Instant::now();
    let (model, spec, prepared) = args.objective.open_with_model(&args.model, global)?;
    let params = SearcherParams {
        beam_width: args.beam_width,
        screen: args.screen.then_some(true),
        screen_margin: args.screen_margin,
        ..SearcherParams::default()
    };
    let measured = args
        .searcher
        .measure()
        .map(|what| depthprune::measure::measure(what, &model, prepared.measured_on()))
        .transpose()?;
    let algorithm = args.searcher.build(&params, measured)?;
    let problem = Problem {
        n_blocks: model.n_blocks(),
        k: args.k,
        protected: args.protect.blocks(model.n_blocks()).context("--protect")?,
        direction: spec.direction(),
        budget: args.budget,
        compute: args.compute,
    };
    let options = EvaluatorOptions {
        sieve: !args.no_sieve,
        ..args.engine.options()
    };
    let mut evaluator = Evaluator::new(&model, prepared.as_ref(), options)?
        .with_store(&args.engine.store_dir()?)?
        .with_progress(Progress::new(
            &format!("{} search", args.searcher.name()),
            problem
                .budget
                .or(problem.compute.map(|c| c as usize))
                .map(|b| b as u64),
            "evaluations",
            global.quiet,
        ));
    let result = search::search(
        algorithm.as_ref(),
        &problem,
        &mut evaluator,
        args.search_seed,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        return print_json(&Output {
            model: model.info.name.clone(),
            objective_key: spec.key(),
            objective: spec,
            problem,
            result,
            stats: evaluator.stats(),
            seconds,
        });
    }
    println!("searcher:    {}", result.searcher);
    println!("removed:     {}", block_list(&result.removed));
    println!("score:       {:.4} ({})", result.score, spec.short_name());
    println!("ranking:     {}", block_list(&result.ranking));
    println!(
        "evaluations: {} (budget {})",
        result.evaluations,
        problem.budget.map_or("default".into(), |b| b.to_string())
    );
    if let (Some(spent), Some(limit)) = (result.compute, problem.compute) {
        println!("compute:     {spent:.2} of {limit} full evaluations");
    }
    println!("wall time:   {seconds:.1} s");
    Ok(())
}
