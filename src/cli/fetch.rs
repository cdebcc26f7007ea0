//! `depthprune fetch`: download a catalogued model into the cache.

use anyhow::{Context, Result};
use depthprune::fetch::catalog;

#[derive(clap::Args)]
pub struct Args {
    /// Model id (smollm2-135m, gemma3-270m).
    id: String,
}

pub fn run(args: Args) -> Result<()> {
    let entry = catalog::catalog_entry(&args.id).with_context(|| {
        let ids: Vec<_> = catalog::CATALOG.iter().map(|e| e.id).collect();
        format!(
            "unknown model id '{}': known ids are {}",
            args.id,
            ids.join(", ")
        )
    })?;
    let path = catalog::ensure_cached(entry)?;
    println!("{}", path.display());
    Ok(())
}
