//! `depthprune compare`: whether one suite's searches do as well as another's on held-out data,
//! paired run by run over the same calibration resamples (see `depthprune::study::compare`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use depthprune::study::compare::{check_comparable, compare, CompareOptions, Comparison};
use depthprune::suite::run::run_suite;
use depthprune::suite::Suite;
use tabled::{builder::Builder, settings::Style};

use super::{print_json, Global};

#[derive(clap::Args)]
pub struct Args {
    /// The suite compared against (YAML), e.g. today's budgets.
    base: PathBuf,
    /// The suite whose searchers' settings are in question (YAML): the same models, seeds,
    /// objectives and held-out outcomes as BASE.
    candidate: PathBuf,
    /// The store both suites ran with; their runs are replayed from it, nothing computed
    /// [default: each suite's `evidence` store]
    #[arg(long)]
    store: Option<PathBuf>,
    /// The largest mean change still called "no worse": log ratio for perplexity, accuracy
    /// points for accuracy.
    #[arg(long, default_value_t = CompareOptions::default().margin)]
    margin: f64,
    /// One-sided level of the upper confidence bound.
    #[arg(long, default_value_t = CompareOptions::default().alpha)]
    alpha: f64,
    /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA, else the data built into depthprune]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, _global: Global) -> Result<()> {
    let in_range = args.alpha > 0.0 && args.alpha < 1.0 && args.margin >= 0.0;
    if !in_range {
        bail!("--alpha must lie strictly between 0 and 1 and --margin be at least 0");
    }
    let base = Suite::load(&args.base)?;
    let candidate = Suite::load(&args.candidate)?;
    check_comparable(&base, &candidate)?;
    let mut runs = Vec::new();
    for suite in [&base, &candidate] {
        let store = match (&args.store, &suite.evidence) {
            (Some(store), _) => store.clone(),
            (None, Some(evidence)) => evidence.clone(),
            (None, None) => bail!(
                "suite {} has no `evidence` store: give the store it ran with (--store DIR)",
                suite.name
            ),
        };
        if !store.is_dir() {
            bail!(
                "store {} is not a folder: run suite {} first (depthprune run SUITE --store {})",
                store.display(),
                suite.name,
                store.display()
            );
        }
        let out = tempfile::tempdir()?;
        let options = super::replay_options(
            out.path(),
            &store,
            args.data_dir.as_deref().or(suite.data_dir.as_deref()),
        )?;
        let replayed = run_suite(suite, &options).with_context(|| {
            format!(
                "replaying suite {} from {}: run it to the end first (depthprune run SUITE --store {})",
                suite.name,
                store.display(),
                store.display()
            )
        })?;
        runs.push(replayed.runs);
    }
    let comparison = compare(
        &base,
        &runs[0],
        &candidate,
        &runs[1],
        CompareOptions {
            margin: args.margin,
            alpha: args.alpha,
        },
    )?;
    if args.json {
        return print_json(&comparison);
    }
    print!("{}", tables(&comparison));
    Ok(())
}

fn tables(c: &Comparison) -> String {
    let mut out = format!(
        "{} against {}: {} (model, seed) units; change > 0 means {} did worse\n\n",
        c.candidate, c.base, c.units, c.candidate
    );
    let mut builder = Builder::default();
    builder.push_record([
        "held-out",
        "measure",
        "mean change",
        "SE",
        &format!("upper {:.0} % bound", 100.0 * (1.0 - c.alpha)),
        "margin",
        "p (within margin)",
        "floor",
        "verdict",
    ]);
    for o in &c.heldout {
        builder.push_record([
            o.outcome.clone(),
            o.measure.to_string(),
            format!("{:+.4}", o.mean),
            format!("{:.4}", o.se),
            format!("{:+.4}", o.upper),
            format!("{}", c.margin),
            format!("{:.3}", o.p_within_margin),
            format!("{:.1e}", o.floor),
            if o.within_margin {
                "no worse"
            } else {
                "not shown"
            }
            .to_string(),
        ]);
    }
    let mut table = builder.build();
    table.with(Style::markdown());
    out.push_str(&format!("{table}\n\n"));
    let mut builder = Builder::default();
    builder.push_record([
        "outcome",
        "objective",
        "searcher",
        "measure",
        "mean change",
        "SE",
        "same set",
    ]);
    let calibration = c.calibration.iter().map(|cell| ("calibration", cell));
    let heldout = c.heldout_cells.iter().map(|cell| ("held-out", cell));
    for (kind, cell) in calibration.chain(heldout) {
        builder.push_record([
            format!("{kind} {}", cell.outcome),
            cell.objective.clone(),
            cell.searcher.clone(),
            cell.measure.to_string(),
            format!("{:+.4}", cell.mean),
            format!("{:.4}", cell.se),
            format!("{}/{}", cell.same_set, cell.n),
        ]);
    }
    let mut table = builder.build();
    table.with(Style::markdown());
    out.push_str(&format!("{table}\n"));
    let short: Vec<&str> = c
        .heldout
        .iter()
        .filter(|o| !o.within_margin)
        .map(|o| o.outcome.as_str())
        .collect();
    out.push_str(&match short.is_empty() {
        true => format!(
            "verdict: {} is no worse than {} on every held-out outcome (each upper bound below {})\n",
            c.candidate, c.base, c.margin
        ),
        false => format!(
            "verdict: not shown: on {} the upper bound of {}'s change reaches the margin {}\n",
            short.join(", "),
            c.candidate,
            c.margin
        ),
    });
    out
}
