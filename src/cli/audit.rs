//! `depthprune audit`: recompute a seeded, stratified sample of a store's records from scratch
//! and fail on any that differs (see `depthprune::study::audit`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use depthprune::study::audit::{audit, AuditOptions, AuditReport};
use depthprune::suite::Suite;
use tabled::{builder::Builder, settings::Style};

use super::{block_list, print_json, Global};

#[derive(clap::Args)]
pub struct Args {
    /// The suite whose evaluations the store holds (YAML).
    suite: PathBuf,
    /// The evaluation store to audit (e.g. evidence/decisive/store).
    #[arg(long)]
    store: PathBuf,
    /// Records to recompute (at least one from each stratum: model × outcome × shallow/deep ×
    /// one block/several) [default: 1 % of the store's records, at least 250]
    #[arg(long)]
    sample: Option<usize>,
    /// Seed of the sample [default: the first 64 bits of the store's content sha256, as `run`
    /// draws it, so the sample cannot be known before the store is final]
    #[arg(long)]
    seed: Option<u64>,
    /// Largest relative difference accepted (value, metrics and per-item values).
    #[arg(long, default_value_t = 1e-5)]
    tolerance: f64,
    /// Spot check: per record, recompute this many of its fine batches (two questions or two
    /// windows each) from scratch and derive its value from its stored per-item values
    /// [default: the suite's `audit_batches`, else every record recomputed whole]
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    batches: Option<usize>,
    /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA, else the data built into depthprune]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let mut suite = Suite::load(&args.suite)?;
    suite.device = global.device.unwrap_or(suite.device);
    suite.dtype = global.dtype.unwrap_or(suite.dtype);
    if !args.store.is_dir() {
        bail!(
            "store {} is not a folder: give the --store a suite ran with",
            args.store.display()
        );
    }
    let seed = match args.seed {
        Some(seed) => seed,
        None => depthprune::study::evidence::audit_seed(
            &depthprune::study::evidence::content_hash(&args.store)?,
        ),
    };
    let report = audit(
        &suite,
        &AuditOptions {
            store_dir: args.store,
            data_dir: depthprune::data::data_dir(
                args.data_dir.as_deref().or(suite.data_dir.as_deref()),
            )?,
            sample: args.sample,
            seed,
            tolerance: args.tolerance,
            batches: args.batches.or(suite.audit_batches),
        },
    )?;
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", table(&report));
    }
    let held: usize = report.records.values().sum();
    if report.audited.is_empty() {
        bail!(
            "the store {} holds no record of suite {}: nothing to audit (was it run with this --store?)",
            report.store.display(),
            suite.name
        );
    }
    let failures = report.failures();
    eprintln!(
        "audit: {} of {held} records recomputed ({} of their {} items from scratch) over {} strata in {:.0} s; largest relative difference {:.2e} (tolerance {:.0e}); {} differ",
        report.audited.len(),
        report.audited.iter().map(|r| r.items_recomputed).sum::<usize>(),
        report.audited.iter().map(|r| r.items).sum::<usize>(),
        report.strata,
        report.seconds,
        report.max_relative(),
        report.tolerance,
        failures.len()
    );
    if !failures.is_empty() {
        bail!(
            "{} of {} audited records differ from their recomputation beyond {:.0e}: the store {} is not this suite's evidence (first: {} {} blocks [{}], stored {} vs recomputed {})",
            failures.len(),
            report.audited.len(),
            report.tolerance,
            report.store.display(),
            failures[0].model,
            failures[0].outcome,
            block_list(&failures[0].removed),
            failures[0].stored,
            failures[0].recomputed
        );
    }
    Ok(())
}

fn table(report: &AuditReport) -> String {
    let mut builder = Builder::default();
    builder.push_record([
        "model",
        "outcome",
        "seed",
        "removed",
        "stratum",
        "stored",
        "recomputed",
        "max rel",
        "",
    ]);
    for r in &report.audited {
        builder.push_record([
            r.model.clone(),
            r.outcome.clone(),
            r.seed.map_or("held-out".into(), |s| s.to_string()),
            block_list(&r.removed),
            r.stratum.clone(),
            format!("{:.6}", r.stored),
            format!("{:.6}", r.recomputed),
            format!("{:.1e}", r.max_relative),
            if r.agrees { "ok" } else { "DIFFERS" }.into(),
        ]);
    }
    let mut table = builder.build();
    table.with(Style::markdown());
    format!("{table}\n")
}
