//! `depthprune run`: every search a suite declares (or one shard's share of them), its claims'
//! verdicts, the output files, and with `--check` the comparison with the expected verdicts and
//! the goldens.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use depthprune::study::audit::{audit, AuditOptions};
use depthprune::study::evidence::{audit_seed, content_hash, seed_store};
use depthprune::study::shard::{default_store, run_shard, ShardSpec};
use depthprune::suite::check::{check_outcome, OnMismatch};
use depthprune::suite::run::RunOptions;
use depthprune::suite::Suite;

use super::{block_list, EngineArgs, Global};

#[derive(clap::Args)]
pub struct Args {
    /// The suite file (YAML).
    suite: PathBuf,
    /// Output folder [default: results/<suite name>]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA, else the data built into depthprune]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    golden: Golden,
    /// (seed, objective) groups of a model to run at once. Each already uses every core for its
    /// matrix products, so more than 1 pays only on machines with many cores.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Write lm-eval-shaped per-sample records of every accuracy held-out outcome, one JSONL
    /// per (model, outcome, chosen set), under <out>/samples/.
    #[arg(long)]
    log_samples: bool,
    /// Run only shard I of N (0-based): its groups, its own store under --out (unless
    /// --store), shard.json for `depthprune merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<ShardSpec>,
    /// Ignore the suite's shipped evidence and any shared store: compute every evaluation into
    /// <out>/store (unless --store). Rerun the same command to resume.
    #[arg(long, conflicts_with = "replay")]
    from_scratch: bool,
    /// Records of the suite's shipped evidence recomputed from scratch before it is served (at
    /// least one per stratum: model × outcome × shallow/deep × one block/several) [default: 1 %
    /// of its records, at least 250]
    #[arg(long)]
    audit_sample: Option<usize>,
    /// Spot-check each audited record: recompute this many of its fine batches and derive its
    /// value from its stored items [default: the suite's `audit_batches`, else the whole record]
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    audit_batches: Option<usize>,
}

/// `--check` and where the goldens are (shared with `merge`).
#[derive(clap::Args)]
pub struct Golden {
    /// Fail (exit 1) when a claim's verdict differs from the suite's `expected`, or a model's
    /// runs differ from its golden file (`<golden-dir>/<suite>-<model>.snap`; the differing
    /// lines are printed and the actual text written beside it as `.snap.new`).
    #[arg(long)]
    pub check: bool,
    /// With --check: overwrite the goldens with these runs instead of failing on them (after
    /// reviewing why they changed). Verdicts are still checked.
    #[arg(long, requires = "check")]
    pub update_goldens: bool,
    /// With --check: a golden file that does not exist is written from these runs (and said
    /// so), and a model the suite pins no `expected` verdicts for gets its measured verdicts
    /// printed to pin, instead of failing: a suite's first checked run. What exists is checked.
    #[arg(long, requires = "check", conflicts_with = "update_goldens")]
    pub record_missing: bool,
    /// Folder of the golden files `--check` compares with.
    #[arg(long, default_value = "golden")]
    pub golden_dir: PathBuf,
}

impl Golden {
    pub fn on_mismatch(&self) -> OnMismatch {
        match (self.update_goldens, self.record_missing) {
            (true, _) => OnMismatch::Update,
            (false, true) => OnMismatch::RecordMissing,
            (false, false) => OnMismatch::WriteNew,
        }
    }
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let mut suite = Suite::load(&args.suite)?;
    if let Some(device) = global.device {
        suite.device = device;
    }
    if let Some(dtype) = global.dtype {
        suite.dtype = dtype;
    }
    if args.shard.is_some() && args.golden.check {
        bail!("--check needs every group: use it with `depthprune merge`");
    }
    let out_dir = args
        .out
        .unwrap_or_else(|| PathBuf::from("results").join(&suite.name));
    let data_dir =
        depthprune::data::data_dir(args.data_dir.as_deref().or(suite.data_dir.as_deref()))?;
    let options = RunOptions {
        // A shard keeps its own store beside its runs, so shards on a shared filesystem never
        // write the same file; so does a run from scratch, which must not read a shared one.
        store_dir: match (
            args.shard.is_some() || args.from_scratch,
            &args.engine.store,
        ) {
            (true, None) => default_store(&out_dir),
            _ => args.engine.store_dir()?,
        },
        out_dir,
        data_dir,
        engine: args.engine.options(),
        quiet: global.quiet,
        jobs: args.jobs,
        log_samples: args.log_samples,
    };
    if let Some(spec) = args.shard {
        let done = run_shard(&suite, &options, spec)?;
        println!(
            "shard {spec}: {} groups, {} runs; merge with `depthprune merge` from {}",
            done.manifest.groups.len(),
            done.runs.runs.len(),
            options.out_dir.display()
        );
        return Ok(());
    }
    // A run into the evidence store itself extends it (how a shipped store is computed):
    // nothing to audit against or copy from.
    let into_evidence = |dir: &Path| {
        std::fs::canonicalize(dir).ok() == std::fs::canonicalize(&options.store_dir).ok()
    };
    let evidence = match &suite.evidence {
        Some(dir) if !args.from_scratch && !args.engine.replay && !into_evidence(dir) => {
            Some(dir.clone())
        }
        Some(dir)
            if into_evidence(dir) && !args.from_scratch && !args.engine.replay && !global.quiet =>
        {
            eprintln!(
                "--store is the suite's evidence store {}: extending it (not audited; \
                 `depthprune audit` checks it)",
                dir.display()
            );
            None
        }
        _ => None,
    };
    if let Some(evidence) = &evidence {
        let audit = (
            args.audit_sample,
            args.audit_batches.or(suite.audit_batches),
        );
        verify_and_seed(&suite, evidence, &options, audit, global.quiet)?;
    }
    if !global.quiet {
        let phase = if evidence.is_some() { "[3/3] " } else { "" };
        eprintln!(
            "{phase}running suite {} (store {}): searches whose evaluations the store holds are \
             served, the rest computed",
            suite.name,
            options.store_dir.display()
        );
    }
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
    if args.golden.check {
        check_outcome(
            &args.golden.golden_dir,
            &suite,
            &outcome.runs.runs,
            outcome.verdicts.as_deref(),
            args.golden.on_mismatch(),
        )?;
        println!("check: every verdict as expected, every run as its golden file");
    }
    Ok(())
}

/// The suite's shipped evidence as a verified cache: a seeded sample of its records recomputed
/// from scratch (refusing it on any difference), then every record copied into the run's store.
fn verify_and_seed(
    suite: &Suite,
    evidence: &Path,
    options: &RunOptions,
    (sample, batches): (Option<usize>, Option<usize>),
    quiet: bool,
) -> Result<()> {
    if !evidence.is_dir() {
        bail!(
            "suite {}'s evidence store {} is missing: restore it (git checkout evidence) or run \
             with --from-scratch",
            suite.name,
            evidence.display()
        );
    }
    let hash = content_hash(evidence)?;
    let seed = audit_seed(&hash);
    if !quiet {
        eprintln!(
            "[1/3] auditing the shipped evidence {} (content sha256 {}): recomputing {sample}, \
             sampled, from scratch{how} (audit seed {seed}, from that hash)",
            evidence.display(),
            &hash[..16],
            sample = sample.map_or("1 % of its records (at least 250)".to_string(), |n| {
                format!("{n} of its records")
            }),
            how = batches.map_or(String::new(), |n| format!(
                ", {n} fine batches of each, its value derived from its stored items"
            )),
        );
    }
    let report = audit(
        suite,
        &AuditOptions {
            store_dir: evidence.to_path_buf(),
            data_dir: options.data_dir.clone(),
            sample,
            seed,
            tolerance: 1e-5,
            batches,
        },
    )?;
    let failures = report.failures();
    if let Some(first) = failures.first() {
        bail!(
            "the shipped evidence {} disagrees with this build: {} of {} audited records differ \
             beyond {:.0e} (first: {} {} blocks [{}], stored {} vs recomputed {}). Its records \
             are not served; run with --from-scratch to compute every evaluation",
            evidence.display(),
            failures.len(),
            report.audited.len(),
            report.tolerance,
            first.model,
            first.outcome,
            block_list(&first.removed),
            first.stored,
            first.recomputed
        );
    }
    if report.audited.is_empty() {
        bail!(
            "the evidence store {} holds no record of suite {}: fix the suite's `evidence:` or \
             run with --from-scratch",
            evidence.display(),
            suite.name
        );
    }
    let held: usize = report.records.values().sum();
    if !quiet {
        eprintln!(
            "[1/3] audit passed: {} of {held} records recomputed in {:.0} s, largest relative \
             difference {:.1e}",
            report.audited.len(),
            report.seconds,
            report.max_relative()
        );
        eprintln!(
            "[2/3] serving the shipped evidence: copying its records into {}",
            options.store_dir.display()
        );
    }
    let seeded = seed_store(evidence, &options.store_dir)?;
    if !quiet {
        eprintln!(
            "[2/3] {} records in {} files, {} new to the store",
            seeded.records, seeded.files, seeded.added
        );
    }
    Ok(())
}
