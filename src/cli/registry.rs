//! `depthprune registry`: writes the claims registry (`docs/registry.md`) from replays of every
//! suite that ships its evidence and states claims (see `depthprune::report::registry`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use depthprune::report::registry::{is_registered, load_sources, page};
use depthprune::suite::Suite;

use super::Global;

#[derive(clap::Args)]
pub struct Args {
    /// The folder of suites; each with `evidence:` and `claims:` is replayed from its
    /// evidence store (nothing computed).
    #[arg(long, default_value = "suites")]
    suites: PathBuf,
    /// Where each claim comes from: the work, the sentence it checks, its statistic.
    #[arg(long, default_value = "docs/claims-sources.yaml")]
    sources: PathBuf,
    /// The page to write.
    #[arg(long, default_value = "docs/registry.md")]
    out: PathBuf,
    /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA, else the data built into depthprune]
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let sources = load_sources(&args.sources)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.suites)
        .with_context(|| {
            format!(
                "cannot read the suites folder {} (run from the repository root, or give --suites)",
                args.suites.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut suites = Vec::new();
    for file in files {
        let suite = Suite::load(&file)?;
        if !is_registered(&suite) {
            continue;
        }
        let evidence = suite.evidence.clone().expect("registered");
        if !evidence.is_dir() {
            bail!(
                "suite {} ships its evidence in {}, which is missing: restore it (git checkout) or compute it (depthprune run {} --store {})",
                suite.name,
                evidence.display(),
                file.display(),
                evidence.display()
            );
        }
        if !global.quiet {
            eprintln!(
                "registry: replaying {} from {}",
                suite.name,
                evidence.display()
            );
        }
        let out = tempfile::tempdir()?;
        let options = super::replay_options(
            out.path(),
            &evidence,
            args.data_dir.as_deref().or(suite.data_dir.as_deref()),
        )?;
        let outcome = depthprune::study::execute(&suite, &options)
            .with_context(|| format!("replaying suite {} ({})", suite.name, file.display()))?;
        let verdicts = outcome.verdicts.unwrap_or_default();
        suites.push((suite, verdicts));
    }
    std::fs::write(&args.out, page(&sources, &suites))
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "{}: {} suites, {} claims",
        args.out.display(),
        suites.len(),
        sources.claims.len()
    );
    Ok(())
}
