//! `depthprune run`: every search a suite declares, its claims' verdicts, the output files,
//! and with `--check` the comparison with the expected verdicts and the goldens.

use std::path::PathBuf;

use anyhow::{bail, Result};
use depthprune::suite::check::{golden_problems, verdict_problems, OnMismatch};
use depthprune::suite::run::RunOptions;
use depthprune::suite::Suite;

use super::{EngineArgs, Global};

#[derive(clap::Args)]
pub struct Args {
    /// The suite file (YAML).
    suite: PathBuf,
    /// Output folder [default: results/<suite name>]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA or ../shared/data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Fail (exit 1) when a claim's verdict differs from the suite's `expected`, or a model's
    /// runs differ from its golden file (`<golden-dir>/<suite>-<model>.snap`; the differing
    /// lines are printed and the actual text written beside it as `.snap.new`).
    #[arg(long)]
    check: bool,
    /// With --check: overwrite the goldens with these runs instead of failing on them (after
    /// reviewing why they changed). Verdicts are still checked.
    #[arg(long, requires = "check")]
    update_goldens: bool,
    /// Folder of the golden files `--check` compares with.
    #[arg(long, default_value = "golden")]
    golden_dir: PathBuf,
    /// (seed, objective) groups of a model to run at once. Each already uses every core for its
    /// matrix products, so more than 1 pays only on machines with many cores.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let mut suite = Suite::load(&args.suite)?;
    if let Some(device) = global.device {
        suite.device = device;
    }
    if let Some(dtype) = global.dtype {
        suite.dtype = dtype;
    }
    let options = RunOptions {
        out_dir: args
            .out
            .unwrap_or_else(|| PathBuf::from("results").join(&suite.name)),
        data_dir: depthprune::data::data_dir(args.data_dir.as_deref())?,
        store_dir: args.engine.store_dir()?,
        engine: args.engine.options(),
        quiet: args.quiet,
        jobs: args.jobs,
    };
    let outcome = depthprune::study::execute(&suite, &options)?;
    // A long table of runs would bury the verdicts; it is in report.md and runs.csv.
    if outcome.runs.runs.len() <= 24 {
        print!("{}", depthprune::report::runs_table(&outcome.runs.runs));
    }
    if let (Some(verdicts), Some(settings)) = (&outcome.verdicts, &suite.claims) {
        print!("{}", depthprune::report::claims_table(verdicts, settings));
    }
    println!(
        "{} runs; results, report.md and plots in {}",
        outcome.runs.runs.len(),
        options.out_dir.display()
    );
    if !args.check {
        return Ok(());
    }
    let mut problems = match (&outcome.verdicts, &suite.claims) {
        (Some(v), Some(settings)) => verdict_problems(v, settings),
        _ => Vec::new(),
    };
    let on_mismatch = match args.update_goldens {
        true => OnMismatch::Update,
        false => OnMismatch::WriteNew,
    };
    problems.extend(golden_problems(
        &args.golden_dir,
        &suite,
        &outcome.runs.runs,
        on_mismatch,
    )?);
    if !problems.is_empty() {
        bail!(
            "{} check(s) failed:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    println!("check: every verdict as expected, every run as its golden file");
    Ok(())
}
