//! `depthprune export` and `export-best`: write the model without some blocks, as a GGUF
//! (tensors copied as they are) or a Hugging Face checkpoint folder, whichever the model is.

use std::path::PathBuf;

use anyhow::{Context, Result};
use depthprune::export::best::{chosen_set, RunKey};
use depthprune::export::{export, ExportRequest};
use depthprune::model::{parse_block_list, LayerTypeRule};

use super::{block_list, print_json, Global};

#[derive(clap::Args)]
pub struct Args {
    /// Model id, path to a GGUF file, checkpoint folder or hf:<org>/<name>.
    #[arg(long)]
    model: String,
    /// Blocks to remove, 0-based, comma-separated (e.g. 3,7,12).
    #[arg(long)]
    skip: String,
    #[command(flatten)]
    target: Target,
}

#[derive(clap::Args)]
pub struct BestArgs {
    /// A suite's results.json.
    results: PathBuf,
    /// The run's model, as the suite names it (also the model exported).
    #[arg(long)]
    model: String,
    /// The run's objective, as the suite names it.
    #[arg(long)]
    objective: String,
    #[arg(long)]
    searcher: String,
    #[arg(long)]
    seed: u64,
    #[command(flatten)]
    target: Target,
}

/// Where and how to write the export.
#[derive(clap::Args)]
struct Target {
    /// Where to write: a .gguf file for a GGUF model, a folder for a Hugging Face checkpoint.
    #[arg(long)]
    out: PathBuf,
    /// Gemma 3: the layer types the exported model computes: each block's own ("own") or those
    /// of the new positions ("renumbered"). A GGUF can only express what its layer index implies.
    #[arg(long, value_enum, default_value_t = LayerTypeRule::Own)]
    layer_types: LayerTypeRule,
    /// Replace an existing export at --out.
    #[arg(long)]
    force: bool,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, global: Global) -> Result<()> {
    let removed = parse_block_list(&args.skip).context("--skip")?;
    args.target.write(args.model, removed, global.quiet)
}

pub fn run_best(args: BestArgs, global: Global) -> Result<()> {
    let key = RunKey {
        model: args.model,
        objective: args.objective,
        searcher: args.searcher,
        seed: args.seed,
    };
    let run = chosen_set(&args.results, &key)?;
    eprintln!(
        "{} {} {} seed {}: removed {:?}{}",
        run.model,
        run.objective,
        run.searcher,
        run.seed,
        run.removed,
        run.score
            .map_or(String::new(), |s| format!(", score {s:.4}"))
    );
    args.target.write(run.model, run.removed, global.quiet)
}

impl Target {
    fn write(&self, model: String, removed: Vec<usize>, quiet: bool) -> Result<()> {
        let done = export(&ExportRequest {
            model,
            removed,
            layer_types: self.layer_types,
            out: self.out.clone(),
            force: self.force,
            quiet,
        })?;
        if self.json {
            return print_json(&done);
        }
        println!(
            "wrote {} ({}): {} → {} blocks, {} → {} tensors, {:.1} MB of tensor data",
            done.out.display(),
            done.format,
            done.blocks_before,
            done.blocks_after,
            done.tensors_before,
            done.tensors_after,
            done.tensor_bytes as f64 / 1e6
        );
        if let Some(rule) = done.layer_types {
            let rule = format!("{rule:?}").to_lowercase();
            println!(
                "layer types: {rule} (loaded with nothing skipped, it scores as the source with --skip {} --layer-types {rule})",
                block_list(&done.removed),
            );
        }
        for note in &done.notes {
            println!("note: {note}");
        }
        Ok(())
    }
}
