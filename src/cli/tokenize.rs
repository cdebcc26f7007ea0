//! `depthprune tokenize`: a text's token ids as the model sees them.

use std::path::PathBuf;

use anyhow::Result;

use super::{read_text, Global, ModelArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long)]
    text: PathBuf,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let model = args.model.open(global)?;
    let ids = model.tokenizer.encode(&read_text(&args.text)?)?;
    println!("{}", serde_json::to_string(&ids)?);
    Ok(())
}
