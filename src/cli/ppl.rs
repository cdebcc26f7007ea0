//! `depthprune ppl`: perplexity of a text file with some blocks removed.

use std::path::PathBuf;

use anyhow::{Context, Result};
use depthprune::model::{parse_block_list, BlockMask};
use depthprune::perplexity::{cut_windows, perplexity, PerplexityReport};
use serde::Serialize;

use super::{read_text, Global, ModelArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Text file to score [default: WikiText-2's raw test text, from the data built into
    /// depthprune (or $DEPTHPRUNE_DATA)]
    #[arg(long)]
    text: Option<PathBuf>,
    #[arg(long, default_value_t = 128)]
    seq_len: usize,
    #[arg(long, default_value_t = 16)]
    max_seqs: usize,
    /// Blocks to remove, 0-based, comma-separated (e.g. 3,7,12).
    #[arg(long, default_value = "")]
    skip: String,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Output {
    model: String,
    skip: Vec<usize>,
    #[serde(flatten)]
    report: PerplexityReport,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let removed = parse_block_list(&args.skip).context("--skip")?;
    let model = args.model.open(global)?;
    let mask = BlockMask::with_removed(model.n_blocks(), &removed).context("--skip")?;
    let text = match args.text {
        Some(path) => path,
        None => depthprune::data::data_dir(None)?.join("wikitext2/wiki.test.raw"),
    };
    let ids = model.tokenizer.encode(&read_text(&text)?)?;
    let windows = cut_windows(&ids, args.seq_len, args.max_seqs, model.special.bos)?;
    let report = perplexity(&model, &windows, &mask)?;
    if args.json {
        // One line: scripts read it with a line-oriented tool.
        let out = Output {
            model: model.info.name.clone(),
            skip: mask.removed(),
            report,
        };
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    println!(
        "{} {}: ppl {:.4} over {} windows ({} tokens scored, nll {:.4})",
        model.info.name, mask, report.ppl, report.windows, report.tokens_scored, report.nll_sum
    );
    Ok(())
}
