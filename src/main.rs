//! The `depthprune` command line; each command is a module of [`cli`].

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// See Cargo.toml: tensor outputs are reused memory instead of fresh pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "depthprune",
    version,
    about = "Depth pruning of LLMs: which blocks look redundant, under which objective"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: cli::Global,
}

#[derive(Subcommand)]
enum Command {
    /// Download a catalogued model into the cache (done automatically on first use).
    Fetch(cli::fetch::Args),
    /// Print the folder of the evaluation data (WikiText-2 and the seven tasks): $DEPTHPRUNE_DATA,
    /// else the data built into depthprune, unpacked into the cache on first use.
    Data(cli::data_dir::Args),
    /// Print the token ids of a text file as a JSON array (no BOS).
    Tokenize(cli::tokenize::Args),
    /// Perplexity of a text with some blocks removed.
    Ppl(cli::ppl::Args),
    /// Score a model with some blocks removed under a calibration objective.
    Eval(cli::eval::Args),
    /// One-shot scan: the objective with each single block removed.
    Scan(cli::scan::Args),
    /// How well an objective's one-shot ranking reproduces across calibration resamples, at
    /// each size (windows for ppl, questions per task for acc): size a suite's objectives from it.
    Reliability(cli::reliability::Args),
    /// Run every search a suite declares; writes results.json, runs.csv, report.md and plots.
    Run(cli::run::Args),
    /// What a suite will cost: evaluations, tokens and estimated time per group, measured on
    /// the spot; the groups dealt to N shards.
    Plan(cli::plan::Args),
    /// Recompute a seeded, stratified sample of a store's records from scratch and fail on
    /// any that differs: how a shipped store is trusted.
    Audit(cli::audit::Args),
    /// The seeds each claim needs for a wanted power, from a finished suite's per-seed
    /// statistics (its claims.json).
    Power(cli::power::Args),
    /// Whether one suite's searches do as well as another's on held-out data (the same seeds,
    /// objectives and held-out outcomes; e.g. a smaller or screened budget against today's),
    /// paired run by run, replayed from the store.
    Compare(cli::compare::Args),
    /// Write the claims registry (docs/registry.md): every claim, its source and its verdicts
    /// in every suite that ships its evidence, replayed from those stores.
    Registry(cli::registry::Args),
    /// Combine the output folders of `run --shard I/N` into every output file of `run`.
    Merge(cli::merge::Args),
    /// Choose k blocks to remove with a search algorithm.
    Search(cli::search::Args),
    /// Write the model without some blocks: a GGUF (tensors copied as they are) or a Hugging
    /// Face checkpoint folder, whichever the model is.
    Export(cli::export::Args),
    /// Export the set one run of a suite chose (read from the suite's results.json).
    ExportBest(cli::export::BestArgs),
}

fn main() -> ExitCode {
    // candle runs large element-wise maps on a pool of its own spinning threads; with
    // `Model::run_block` already running one part of the batch per rayon thread, that pool only
    // competes for the same cores (measured: a scan 1.2x slower with it). Set before any tensor
    // op reads it; a value the user set is kept.
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    // Without RAYON_NUM_THREADS, candle counts the physical cores by parsing /proc/cpuinfo at
    // every matmul (3-4 % of an accuracy search's time on 2 cores); fixing its own count once
    // keeps the same thread count without the reads.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = candle_core::utils::get_num_threads();
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    let Cli { command, global } = Cli::parse();
    let result = match command {
        Command::Fetch(args) => cli::fetch::run(args),
        Command::Data(args) => cli::data_dir::run(args),
        Command::Tokenize(args) => cli::tokenize::run(args, global),
        Command::Ppl(args) => cli::ppl::run(args, global),
        Command::Eval(args) => cli::eval::run(args, global),
        Command::Scan(args) => cli::scan::run(args, global),
        Command::Reliability(args) => cli::reliability::run(args, global),
        Command::Run(args) => cli::run::run(args, global),
        Command::Plan(args) => cli::plan::run(args, global),
        Command::Audit(args) => cli::audit::run(args, global),
        Command::Power(args) => cli::power::run(args, global),
        Command::Compare(args) => cli::compare::run(args, global),
        Command::Registry(args) => cli::registry::run(args, global),
        Command::Merge(args) => cli::merge::run(args, global),
        Command::Search(args) => cli::search::run(args, global),
        Command::Export(args) => cli::export::run(args, global),
        Command::ExportBest(args) => cli::export::run_best(args, global),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
