//! The `depthprune` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use depthprune::model::{parse_block_list, BlockMask, LayerTypeRule, LoadOptions, Model};
use depthprune::perplexity::{cut_windows, perplexity, DEFAULT_BATCH};
use depthprune::registry;

#[derive(Parser)]
#[command(
    name = "depthprune",
    version,
    about = "Depth pruning of LLMs: which blocks look redundant, under which objective"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Download a catalogued model into the cache (done automatically on first use).
    Fetch {
        /// Model id (smollm2-135m, gemma3-270m).
        id: String,
    },
    /// Print the token ids of a text file as a JSON array (no BOS).
    Tokenize {
        #[arg(long)]
        model: String,
        #[arg(long)]
        text: PathBuf,
    },
    /// Perplexity of a text with some blocks removed.
    Ppl {
        /// Model id or path to a GGUF file.
        #[arg(long)]
        model: String,
        #[arg(long)]
        text: PathBuf,
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
        /// Gemma 3: whether remaining blocks keep their own local/global type ("own") or take
        /// the type of their new position ("renumbered", as deleting HF layers does).
        #[arg(long, default_value = "own")]
        layer_types: LayerTypeRule,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Fetch { id } => {
            let entry = registry::catalog_entry(&id).with_context(|| {
                let ids: Vec<_> = registry::CATALOG.iter().map(|e| e.id).collect();
                format!("unknown model id '{id}': known ids are {}", ids.join(", "))
            })?;
            let path = registry::ensure_cached(entry)?;
            println!("{}", path.display());
        }
        Cmd::Tokenize { model, text } => {
            let model = Model::open(&model, &LoadOptions::default())?;
            let ids = model.tokenizer.encode(&read_text(&text)?)?;
            println!("{}", serde_json::to_string(&ids)?);
        }
        Cmd::Ppl {
            model,
            text,
            seq_len,
            max_seqs,
            skip,
            json,
            layer_types,
        } => {
            let removed = parse_block_list(&skip).context("--skip")?;
            let model = Model::open(&model, &LoadOptions { layer_types })?;
            let mask = BlockMask::with_removed(model.n_blocks(), &removed).context("--skip")?;
            let ids = model.tokenizer.encode(&read_text(&text)?)?;
            let windows = cut_windows(&ids, seq_len, max_seqs, model.special.bos)?;
            let report = perplexity(&model, &windows, &mask, DEFAULT_BATCH)?;
            if json {
                let out = serde_json::json!({
                    "model": model.info.name,
                    "skip": mask.removed(),
                    "windows": report.windows,
                    "tokens_scored": report.tokens_scored,
                    "nll_sum": report.nll_sum,
                    "ppl": report.ppl,
                });
                println!("{out}");
            } else {
                println!(
                    "{} {}: ppl {:.4} over {} windows ({} tokens scored, nll {:.4})",
                    model.info.name,
                    mask,
                    report.ppl,
                    report.windows,
                    report.tokens_scored,
                    report.nll_sum
                );
            }
        }
    }
    Ok(())
}

fn read_text(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read text file {}", path.display()))
}
