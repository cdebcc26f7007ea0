//! `depthprune power`: the seeds each claim needs for a wanted power, from the per-unit
//! statistics of a finished suite (its `claims.json`, a pilot).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use depthprune::report::power_table;
use depthprune::suite::claims::sizing::{seeds_needed, SizingOptions};
use depthprune::suite::claims::ClaimResult;

use super::{print_json, Global};

#[derive(clap::Args)]
pub struct Args {
    /// A suite's claims.json (or the output folder that holds it), e.g. results/claims.
    claims: PathBuf,
    /// The family-wise level the suite tests at (its `claims.alpha`).
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// The power wanted.
    #[arg(long, default_value_t = SizingOptions::TARGET)]
    target: f64,
    /// Simulated studies per number of units.
    #[arg(long, default_value_t = SizingOptions::DRAWS)]
    draws: usize,
    /// The most units (seeds, or seed pairs) tried.
    #[arg(long, default_value_t = SizingOptions::MAX_UNITS)]
    max_units: usize,
    /// Seed of the simulation.
    #[arg(long, default_value_t = SizingOptions::SEED)]
    seed: u64,
    /// Print JSON (with every power curve) instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, _global: Global) -> Result<()> {
    let inside = |x: f64| x > 0.0 && x < 1.0;
    if !inside(args.alpha) || !inside(args.target) {
        bail!("--alpha and --target must lie strictly between 0 and 1");
    }
    let file = match args.claims.is_dir() {
        true => args.claims.join("claims.json"),
        false => args.claims.clone(),
    };
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "cannot read {}: give a suite's claims.json or its output folder (run the suite \
             first: depthprune run SUITE)",
            file.display()
        )
    })?;
    let results: Vec<ClaimResult> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a suite's claims.json", file.display()))?;
    let sized = seeds_needed(
        &results,
        &SizingOptions {
            alpha: args.alpha,
            target: args.target,
            draws: args.draws,
            max_units: args.max_units,
            seed: args.seed,
        },
    );
    if args.json {
        return print_json(&sized);
    }
    print!("{}", power_table(&sized, args.target));
    Ok(())
}
