//! `depthprune data`: where the evaluation data is (the data built into depthprune is unpacked
//! into the cache first), for scripts and for reading the files themselves.

use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<()> {
    println!("{}", depthprune::data::data_dir(None)?.display());
    Ok(())
}
