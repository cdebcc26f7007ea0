//! `depthprune merge`: every output file of `run` from the folders of `run --shard I/N`.

use std::path::PathBuf;

use anyhow::Result;
use depthprune::study::merge::{merge, MergeOptions};
use depthprune::suite::check::check_outcome;
use depthprune::suite::Suite;

use super::run::Golden;
use super::Global;

#[derive(clap::Args)]
pub struct Args {
    /// The suite file the shards ran (YAML).
    suite: PathBuf,
    /// The shards' output folders.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Output folder [default: results/<suite name>]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Merge although groups are missing: no verdicts, report.md says so first.
    #[arg(long)]
    partial: bool,
    /// Folder with wikitext2/, arc_easy/, ... the shards read [default: $DEPTHPRUNE_DATA, else
    /// the data built into depthprune]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    golden: Golden,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    // The shards' --device/--dtype are part of the suite they ran.
    let mut suite = Suite::load(&args.suite)?;
    suite.device = global.device.unwrap_or(suite.device);
    suite.dtype = global.dtype.unwrap_or(suite.dtype);
    let out_dir = args
        .out
        .unwrap_or_else(|| PathBuf::from("results").join(&suite.name));
    let merged = merge(
        &suite,
        &args.dirs,
        &MergeOptions {
            out_dir: out_dir.clone(),
            data_dir: depthprune::data::data_dir(
                args.data_dir.as_deref().or(suite.data_dir.as_deref()),
            )?,
            partial: args.partial,
            quiet: global.quiet,
        },
    )?;
    if let (Some(verdicts), Some(settings)) = (&merged.verdicts, &suite.claims) {
        print!("{}", depthprune::report::claims_table(verdicts, settings));
    }
    let partial = match merged.missing.len() {
        0 => String::new(),
        n => format!("; PARTIAL: {n} groups missing"),
    };
    println!(
        "{} shard folder(s), {} runs, {} evaluations in {}/store ({} in more than one shard){partial}; results, report.md and plots in {}",
        merged.shards.len(),
        merged.runs.runs.len(),
        merged.evaluations,
        out_dir.display(),
        merged.duplicates,
        out_dir.display()
    );
    if args.golden.check {
        check_outcome(
            &args.golden.golden_dir,
            &suite,
            &merged.runs.runs,
            merged.verdicts.as_deref(),
            args.golden.on_mismatch(),
        )?;
        println!("check: every verdict as expected, every run as its golden file");
    }
    Ok(())
}
