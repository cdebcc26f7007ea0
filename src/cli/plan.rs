//! `depthprune plan`: what a suite will cost (evaluations, tokens and estimated time per group,
//! measured on the spot), and the groups dealt to N shards.

use std::path::PathBuf;

use anyhow::Result;
use depthprune::suite::plan::{parse_blocks, parse_costs, plan, plan_table, PlanOptions};
use depthprune::suite::Suite;

use super::{print_json, Global};

#[derive(clap::Args)]
pub struct Args {
    /// The suite file (YAML).
    suite: PathBuf,
    #[arg(long, default_value_t = 1)]
    shards: usize,
    /// Seconds per token of a full forward instead of measuring: S for every model, or
    /// MODEL=S (repeatable).
    #[arg(long)]
    cost: Vec<String>,
    /// MODEL=N: do not open MODEL, assume N blocks (its tokens are counted with
    /// --token-proxy's tokenizer; its --cost is needed).
    #[arg(long)]
    blocks: Vec<String>,
    #[arg(long, default_value = "smollm2-135m")]
    token_proxy: String,
    /// Plan for `run --no-prefix-cache`.
    #[arg(long)]
    no_prefix_cache: bool,
    /// Tokens of each objective the measurement forward runs.
    #[arg(long, default_value_t = 2048)]
    measure_tokens: usize,
    /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA, else the data built into depthprune]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let mut suite = Suite::load(&args.suite)?;
    suite.device = global.device.unwrap_or(suite.device);
    suite.dtype = global.dtype.unwrap_or(suite.dtype);
    let plan = plan(
        &suite,
        &PlanOptions {
            data_dir: depthprune::data::data_dir(args.data_dir.as_deref())?,
            shards: args.shards,
            costs: parse_costs(&args.cost)?,
            assumed_blocks: parse_blocks(&args.blocks)?,
            token_proxy: args.token_proxy,
            prefix_cache: !args.no_prefix_cache,
            measure_tokens: args.measure_tokens,
            quiet: global.quiet,
        },
    )?;
    if args.json {
        return print_json(&plan);
    }
    print!("{}", plan_table(&plan));
    Ok(())
}
