//! A suite end to end: its runs ([`crate::suite::run`]), its claims' verdicts
//! ([`crate::suite::claims`]) and every output file ([`crate::report::files`]). What
//! `depthprune run` and `tests/claims.rs` both call; [`shard`] runs a share of a suite's groups
//! and [`merge`] combines the shares into the files one run writes.

pub mod audit;
pub mod compare;
pub mod evidence;
pub mod merge;
pub mod shard;

use anyhow::Result;

use crate::suite::claims::{evaluate_claims, ClaimResult};
use crate::suite::run::{run_suite, RunOptions, SuiteRuns};
use crate::suite::Suite;

/// The runs and, when the suite states claims, their verdicts.
pub struct SuiteOutcome {
    pub runs: SuiteRuns,
    pub verdicts: Option<Vec<ClaimResult>>,
}

/// Runs a suite, computes its claims' verdicts and writes every output file into
/// `options.out_dir`.
pub fn execute(suite: &Suite, options: &RunOptions) -> Result<SuiteOutcome> {
    let runs = run_suite(suite, options)?;
    // The permutation draws have a fixed seed: a verdict is a function of the runs.
    let verdicts = suite
        .claims
        .as_ref()
        .map(|settings| evaluate_claims(&runs.runs, &suite.heldout_directions(), settings, 0));
    let manifest = crate::suite::manifest::Manifest::build(suite, &options.data_dir)?;
    crate::report::files::write_suite_outputs(
        &options.out_dir,
        suite,
        &runs,
        verdicts.as_deref(),
        &manifest,
    )?;
    Ok(SuiteOutcome { runs, verdicts })
}
