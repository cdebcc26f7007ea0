//! The `depthprune` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use depthprune::data::{self, Split, Task};
use depthprune::evaluator::{Evaluator, EvaluatorOptions};
use depthprune::model::{
    parse_block_list, BlockMask, DeviceSpec, LayerTypeRule, LoadOptions, Model, Precision,
};
use depthprune::objective::{
    evaluate, AccMetric, AccuracySpec, Objective, ObjectiveSpec, PerplexitySpec,
};
use depthprune::perplexity::{cut_windows, perplexity};
use depthprune::registry;
use depthprune::search::{self, Problem, SearcherParams};
use depthprune::suite::run::RunOptions;
use depthprune::suite::Suite;

#[derive(Parser)]
#[command(
    name = "depthprune",
    version,
    about = "Depth pruning of LLMs: which blocks look redundant, under which objective"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Where models run: cpu, cuda or cuda:N (CUDA needs a build with --features cuda)
    /// [default: cpu, or the suite's `device`]
    #[arg(long, global = true)]
    device: Option<DeviceSpec>,
    /// Float type of the weights and activations [default: f32, or the suite's `dtype`]
    #[arg(long, global = true, value_enum)]
    dtype: Option<Precision>,
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
    /// Score a model with some blocks removed under a calibration objective.
    Eval {
        /// Model id or path to a GGUF file.
        #[arg(long)]
        model: String,
        #[command(flatten)]
        objective: ObjectiveArgs,
        /// Blocks to remove, 0-based, comma-separated.
        #[arg(long, default_value = "")]
        skip: String,
        #[arg(long, default_value = "own")]
        layer_types: LayerTypeRule,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One-shot scan: the objective with each single block removed.
    Scan {
        /// Model id or path to a GGUF file.
        #[arg(long)]
        model: String,
        #[command(flatten)]
        objective: ObjectiveArgs,
        #[command(flatten)]
        engine: EngineArgs,
        #[arg(long, default_value = "own")]
        layer_types: LayerTypeRule,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// How well an objective's one-shot ranking reproduces across calibration resamples, at
    /// each size (windows for ppl, questions per task for acc): size a suite's objectives from it.
    Reliability {
        /// Model id or path to a GGUF file.
        #[arg(long)]
        model: String,
        #[command(flatten)]
        objective: ObjectiveArgs,
        #[command(flatten)]
        engine: EngineArgs,
        /// Sizes to measure, comma-separated: windows (ppl) or questions per task (acc).
        #[arg(long, value_delimiter = ',', required = true)]
        sizes: Vec<usize>,
        /// Calibration resamples per size (seeds 0..N).
        #[arg(long, default_value_t = 5)]
        seeds: u64,
        /// Size of the top-k sets compared.
        #[arg(long, default_value_t = 3)]
        k: usize,
        /// Blocks left out of rankings: `ends` (first and last), `none`, or a list.
        #[arg(long, default_value = "ends")]
        protect: String,
        #[arg(long, default_value = "own")]
        layer_types: LayerTypeRule,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run every search a suite declares; writes results.json, runs.csv and runs.jsonl.
    Run {
        /// The suite file (YAML).
        suite: PathBuf,
        /// Output folder [default: results/<suite name>]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA or ../shared/data]
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Fail (exit 1) when a claim's verdict differs from the suite's `expected`, or a model's
        /// runs differ from golden/<suite>-<model>.txt.
        #[arg(long)]
        check: bool,
        /// Folder of the golden files `--check` compares with.
        #[arg(long, default_value = "golden")]
        golden_dir: PathBuf,
        /// (seed, objective) groups of a model to run at once. Each already uses every core for its
        /// matrix products, so more than 1 pays only on machines with many cores.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Run only shard I of N (0-based): its groups, its own store under --out (unless
        /// --store), shard.json for `depthprune merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<depthprune::suite::shard::ShardSpec>,
    },
    /// What a suite will cost: evaluations, tokens and estimated time per group, measured on
    /// the spot; the groups dealt to N shards.
    Plan {
        /// The suite file (YAML).
        suite: PathBuf,
        #[arg(long, default_value_t = 1)]
        shards: usize,
        /// Seconds per token of a full forward instead of measuring: S for every model, or
        /// MODEL=S (repeatable).
        #[arg(long)]
        cost: Vec<String>,
        /// MODEL=N: do not open MODEL, assume N blocks (its tokens are counted with
        /// --token-proxy's tokenizer; its --cost is needed).
        #[arg(long)]
        blocks: Vec<String>,
        #[arg(long, default_value = "smollm2-135m")]
        token_proxy: String,
        /// Plan for `run --no-prefix-cache`.
        #[arg(long)]
        no_prefix_cache: bool,
        /// Tokens of each objective the measurement forward runs.
        #[arg(long, default_value_t = 2048)]
        measure_tokens: usize,
        /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA or ../shared/data]
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Combine the output folders of `run --shard I/N` into every output file of `run`.
    Merge {
        /// The suite file the shards ran (YAML).
        suite: PathBuf,
        /// The shards' output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder [default: results/<suite name>]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Merge although groups are missing: no verdicts, report.md says so first.
        #[arg(long)]
        partial: bool,
        /// As `run --check`.
        #[arg(long)]
        check: bool,
        #[arg(long, default_value = "golden")]
        golden_dir: PathBuf,
    },
    /// Choose k blocks to remove with a search algorithm.
    Search {
        /// Model id or path to a GGUF file.
        #[arg(long)]
        model: String,
        #[command(flatten)]
        objective: ObjectiveArgs,
        #[command(flatten)]
        engine: EngineArgs,
        /// one_shot, greedy, beam, evolutionary, annealing, random, local, exhaustive or
        /// block_influence.
        #[arg(long)]
        searcher: String,
        /// Blocks to remove.
        #[arg(long)]
        k: usize,
        /// Blocks that may not be removed: `ends` (first and last), `none`, or a list.
        #[arg(long, default_value = "ends")]
        protect: String,
        /// Maximum evaluations [default: the searcher's own].
        #[arg(long)]
        budget: Option<usize>,
        /// Seed of the searcher's own randomness (the objective has --seed).
        #[arg(long, default_value_t = 0)]
        search_seed: u64,
        #[arg(long)]
        beam_width: Option<usize>,
        #[arg(long, default_value = "own")]
        layer_types: LayerTypeRule,
        /// Print JSON (with the full trace) instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Write the model without some blocks: a GGUF (tensors copied as they are) or a Hugging
    /// Face checkpoint folder, whichever the model is.
    Export {
        /// Model id, path to a GGUF file, checkpoint folder or hf:<org>/<name>.
        #[arg(long)]
        model: String,
        /// Blocks to remove, 0-based, comma-separated (e.g. 3,7,12).
        #[arg(long)]
        skip: String,
        #[command(flatten)]
        target: ExportArgs,
    },
    /// Export the set one run of a suite chose (read from the suite's results.json).
    ExportBest {
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
        target: ExportArgs,
    },
}

#[derive(clap::Args)]
struct ExportArgs {
    /// Where to write: a .gguf file for a GGUF model, a folder for a Hugging Face checkpoint.
    #[arg(long)]
    out: PathBuf,
    /// Gemma 3: the layer types the exported model computes: each block's own ("own") or those
    /// of the new positions ("renumbered"). A GGUF can only express what its layer index implies.
    #[arg(long, default_value = "own")]
    layer_types: LayerTypeRule,
    /// Replace an existing export at --out.
    #[arg(long)]
    force: bool,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

impl ExportArgs {
    fn export(&self, model: String, removed: Vec<usize>) -> Result<()> {
        let done = depthprune::export::export(&depthprune::export::ExportRequest {
            model,
            removed,
            layer_types: self.layer_types,
            out: self.out.clone(),
            force: self.force,
        })?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&done)?);
            return Ok(());
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
            println!(
                "layer types: {} (loaded with nothing skipped, it scores as the source with --skip {} --layer-types {})",
                format!("{rule:?}").to_lowercase(),
                done.removed
                    .iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                format!("{rule:?}").to_lowercase()
            );
        }
        for note in &done.notes {
            println!("note: {note}");
        }
        Ok(())
    }
}

#[derive(clap::Args)]
struct EngineArgs {
    /// Do not reuse residual streams of shared block prefixes.
    #[arg(long)]
    no_prefix_cache: bool,
    /// Do not reuse earlier evaluations (in memory or on disk).
    #[arg(long)]
    no_memo: bool,
    /// Evaluation store [default: $DEPTHPRUNE_CACHE/evals]
    #[arg(long)]
    store: Option<PathBuf>,
    /// Memory budget of the prefix cache, in MiB.
    #[arg(long, default_value_t = 3072)]
    cache_mib: usize,
}

impl EngineArgs {
    fn options(&self) -> EvaluatorOptions {
        EvaluatorOptions {
            prefix_cache: !self.no_prefix_cache,
            memo: !self.no_memo,
            cache_budget_bytes: self.cache_mib << 20,
        }
    }

    fn store_dir(&self) -> Result<PathBuf> {
        match &self.store {
            Some(p) => Ok(p.clone()),
            None => Ok(registry::cache_dir()?.join("evals")),
        }
    }
}

#[derive(clap::Args)]
struct ObjectiveArgs {
    /// ppl (perplexity on WikiText-2 windows) or acc (zero-shot multiple choice).
    #[arg(long, value_parser = ["ppl", "acc"])]
    objective: String,
    /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA or ../shared/data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Which pool the sample comes from; the two never share an article or a record.
    #[arg(long, value_enum, default_value = "calibration")]
    split: Split,
    /// Which sample is drawn from that pool (a calibration resample).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// acc: tasks to average over, comma-separated [default: all seven]
    #[arg(long, value_enum, value_delimiter = ',')]
    tasks: Vec<Task>,
    /// acc: questions per task.
    #[arg(long, default_value_t = 32)]
    n_per_task: usize,
    /// acc: the number that is reported as the score (and drives searches).
    #[arg(long, value_enum, default_value = "acc_norm")]
    metric: AccMetric,
    /// ppl: number of windows.
    #[arg(long, default_value_t = 16)]
    n_seqs: usize,
    /// ppl: tokens per window.
    #[arg(long, default_value_t = 128)]
    seq_len: usize,
}

impl ObjectiveArgs {
    fn spec(&self) -> ObjectiveSpec {
        match self.objective.as_str() {
            "ppl" => ObjectiveSpec::Perplexity(PerplexitySpec {
                n_seqs: self.n_seqs,
                seq_len: self.seq_len,
                seed: self.seed,
                split: self.split,
                ..PerplexitySpec::default()
            }),
            _ => ObjectiveSpec::Accuracy(AccuracySpec {
                tasks: if self.tasks.is_empty() {
                    Task::ALL.to_vec()
                } else {
                    self.tasks.clone()
                },
                n_per_task: self.n_per_task,
                seed: self.seed,
                split: self.split,
                metric: self.metric,
                ..AccuracySpec::default()
            }),
        }
    }
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
    let load = |layer_types: LayerTypeRule| LoadOptions {
        layer_types,
        device: cli.device.unwrap_or_default(),
        dtype: cli.dtype.unwrap_or_default(),
    };
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
            let model = Model::open(&model, &load(LayerTypeRule::default()))?;
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
            let model = Model::open(&model, &load(layer_types))?;
            let mask = BlockMask::with_removed(model.n_blocks(), &removed).context("--skip")?;
            let ids = model.tokenizer.encode(&read_text(&text)?)?;
            let windows = cut_windows(&ids, seq_len, max_seqs, model.special.bos)?;
            let report = perplexity(&model, &windows, &mask)?;
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
        Cmd::Eval {
            model,
            objective,
            skip,
            layer_types,
            json,
        } => {
            let removed = parse_block_list(&skip).context("--skip")?;
            let data_dir = data::data_dir(objective.data_dir.as_deref())?;
            let model = Model::open(&model, &load(layer_types))?;
            let mask = BlockMask::with_removed(model.n_blocks(), &removed).context("--skip")?;
            let spec = objective.spec();
            let started = std::time::Instant::now();
            let prepared = spec.build(&model, &data_dir)?;
            let workload = prepared.workload();
            eprintln!(
                "prepared {}: {} tokens in {} batches ({:.1} s)",
                spec.short_name(),
                workload.n_tokens(),
                workload.batches.len(),
                started.elapsed().as_secs_f64()
            );
            let result = evaluate(prepared.as_ref(), &model, &mask)?;
            let seconds = started.elapsed().as_secs_f64();
            if json {
                let out = serde_json::json!({
                    "model": model.info.name,
                    "skip": mask.removed(),
                    "objective": spec,
                    "objective_key": spec.key(),
                    "value": result.value,
                    "metrics": result.metrics,
                    "seconds": seconds,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", depthprune::report::evaluation_table(&spec, &result));
                println!(
                    "{} {} {}: {:.4} ({seconds:.1} s)",
                    model.info.name,
                    mask,
                    spec.short_name(),
                    result.value
                );
            }
        }
        Cmd::Reliability {
            model,
            objective,
            engine,
            sizes,
            seeds,
            k,
            protect,
            layer_types,
            json,
        } => {
            // Checked before the model loads: a typo should not cost a model load.
            depthprune::reliability::check_request(&sizes, seeds)?;
            let (model, spec, _) = open_with_objective(&model, &objective, &load(layer_types))?;
            let data_dir = data::data_dir(objective.data_dir.as_deref())?;
            let problem = Problem {
                n_blocks: model.n_blocks(),
                k,
                protected: search::parse_protected(&protect, model.n_blocks())
                    .context("--protect")?,
                direction: spec.direction(),
                budget: None,
            };
            let store = engine.store_dir()?;
            let points = depthprune::reliability::reliability_curve(
                &model,
                &depthprune::reliability::CurveRequest {
                    spec: &spec,
                    sizes: &sizes,
                    seeds,
                    problem: &problem,
                },
                &depthprune::reliability::Engine {
                    data_dir: &data_dir,
                    store: &store,
                    options: engine.options(),
                },
                |p| {
                    if !json {
                        eprintln!(
                            "size {}: cross-seed tau {:.3}, top-{k} Jaccard {:.3} (chance {:.3}), {:.0} s",
                            p.size, p.cross_seed_tau, p.top_k_jaccard, p.chance_jaccard, p.seconds
                        );
                    }
                },
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&points)?);
            } else {
                print!("{}", depthprune::report::reliability_table(&points, k));
            }
        }
        Cmd::Scan {
            model,
            objective,
            engine,
            layer_types,
            json,
            quiet,
        } => {
            let started = std::time::Instant::now();
            let (model, spec, prepared) =
                open_with_objective(&model, &objective, &load(layer_types))?;
            let mut evaluator = Evaluator::new(&model, prepared.as_ref(), engine.options())?
                .with_store(&engine.store_dir()?)?;
            let scan = depthprune::scan::one_shot_scan(&mut evaluator, quiet)?;
            let stats = evaluator.stats();
            let seconds = started.elapsed().as_secs_f64();
            if json {
                let out = serde_json::json!({
                    "model": model.info.name,
                    "objective": spec,
                    "objective_key": spec.key(),
                    "full": scan.full,
                    "blocks": scan.rows,
                    "stats": stats,
                    "seconds": seconds,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", depthprune::report::scan_table(&scan));
                println!(
                    "{} {}: full {:.4}; {} evaluations computed, {} from memo, {} from store; {:.1} s",
                    model.info.name,
                    spec.short_name(),
                    scan.full.value,
                    stats.computed,
                    stats.memo_hits,
                    stats.store_hits,
                    seconds
                );
            }
        }
        Cmd::Run {
            suite,
            out,
            data_dir,
            engine,
            quiet,
            jobs,
            check,
            golden_dir,
            shard,
        } => {
            let mut suite = Suite::load(&suite)?;
            if let Some(device) = cli.device {
                suite.device = device;
            }
            if let Some(dtype) = cli.dtype {
                suite.dtype = dtype;
            }
            let out_dir = out.unwrap_or_else(|| PathBuf::from("results").join(&suite.name));
            let options = RunOptions {
                store_dir: match (&shard, &engine.store) {
                    (Some(_), None) => depthprune::suite::shard::default_store(&out_dir),
                    _ => engine.store_dir()?,
                },
                out_dir,
                data_dir: data::data_dir(data_dir.as_deref())?,
                engine: engine.options(),
                quiet,
                jobs,
            };
            if let Some(spec) = shard {
                if check {
                    bail!("--check needs every group: use it with `depthprune merge`");
                }
                let done = depthprune::suite::shard::run_shard(&suite, &options, spec)?;
                println!(
                    "shard {spec}: {} groups, {} runs; merge with `depthprune merge` from {}",
                    done.manifest.groups.len(),
                    done.runs.runs.len(),
                    options.out_dir.display()
                );
                return Ok(());
            }
            let outcome = depthprune::suite::execute(&suite, &options)?;
            // A long table of runs would bury the verdicts; it is in report.md and runs.csv.
            if outcome.runs.runs.len() <= 24 {
                print!("{}", depthprune::report::runs_table(&outcome.runs.runs));
            }
            if let (Some(verdicts), Some(settings)) = (&outcome.verdicts, &suite.claims) {
                print!("{}", depthprune::report::claims_table(verdicts, settings));
            }
            println!(
                "{} runs; results, report.md and plots in {}",
                outcome.runs.runs.len(),
                options.out_dir.display()
            );
            if check {
                let mut problems = match (&outcome.verdicts, &suite.claims) {
                    (Some(v), Some(settings)) => {
                        depthprune::suite::check::verdict_problems(v, settings)
                    }
                    _ => Vec::new(),
                };
                problems.extend(depthprune::suite::check::golden_problems(
                    &golden_dir,
                    &suite,
                    &outcome.runs.runs,
                )?);
                if !problems.is_empty() {
                    bail!(
                        "{} check(s) failed:\n{}",
                        problems.len(),
                        problems.join("\n")
                    );
                }
                println!("check: every verdict as expected, every run as its golden file");
            }
        }
        Cmd::Plan {
            suite,
            shards,
            cost,
            blocks,
            token_proxy,
            no_prefix_cache,
            measure_tokens,
            data_dir,
            json,
        } => {
            use depthprune::suite::plan;
            let mut suite = Suite::load(&suite)?;
            suite.device = cli.device.unwrap_or(suite.device);
            suite.dtype = cli.dtype.unwrap_or(suite.dtype);
            let p = plan::plan(
                &suite,
                &plan::PlanOptions {
                    data_dir: data::data_dir(data_dir.as_deref())?,
                    shards,
                    costs: plan::parse_costs(&cost)?,
                    assumed_blocks: plan::parse_blocks(&blocks)?,
                    token_proxy,
                    prefix_cache: !no_prefix_cache,
                    measure_tokens,
                },
            )?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print!("{}", plan::plan_table(&p));
            }
        }
        Cmd::Merge {
            suite,
            dirs,
            out,
            partial,
            check,
            golden_dir,
        } => {
            // The shards' --device/--dtype are part of the suite they ran.
            let mut suite = Suite::load(&suite)?;
            suite.device = cli.device.unwrap_or(suite.device);
            suite.dtype = cli.dtype.unwrap_or(suite.dtype);
            let out_dir = out.unwrap_or_else(|| PathBuf::from("results").join(&suite.name));
            let merged = depthprune::suite::merge::merge(
                &suite,
                &dirs,
                &depthprune::suite::merge::MergeOptions {
                    out_dir: out_dir.clone(),
                    partial,
                },
            )?;
            if let (Some(verdicts), Some(settings)) = (&merged.verdicts, &suite.claims) {
                print!("{}", depthprune::report::claims_table(verdicts, settings));
            }
            println!(
                "{} shard folder(s), {} runs, {} evaluations in {}/store ({} in more than one shard){}; results, report.md and plots in {}",
                merged.shards.len(),
                merged.runs.runs.len(),
                merged.evaluations,
                out_dir.display(),
                merged.duplicates,
                if merged.missing.is_empty() { String::new() } else { format!("; PARTIAL: {} groups missing", merged.missing.len()) },
                out_dir.display()
            );
            if check {
                depthprune::suite::check::check_outcome(
                    &golden_dir,
                    &suite,
                    &merged.runs.runs,
                    merged.verdicts.as_deref(),
                )?;
                println!("check: every verdict as expected, every run as its golden file");
            }
        }
        Cmd::Search {
            model,
            objective,
            engine,
            searcher,
            k,
            protect,
            budget,
            search_seed,
            beam_width,
            layer_types,
            json,
        } => {
            let started = std::time::Instant::now();
            let (model, spec, prepared) =
                open_with_objective(&model, &objective, &load(layer_types))?;
            let params = SearcherParams {
                beam_width,
                ..SearcherParams::default()
            };
            let algorithm =
                search::by_name_for_model(&searcher, &params, &model, prepared.workload())?;
            let problem = Problem {
                n_blocks: model.n_blocks(),
                k,
                protected: search::parse_protected(&protect, model.n_blocks())
                    .context("--protect")?,
                direction: spec.direction(),
                budget,
            };
            let mut evaluator = Evaluator::new(&model, prepared.as_ref(), engine.options())?
                .with_store(&engine.store_dir()?)?;
            let result = search::search(algorithm.as_ref(), &problem, &mut evaluator, search_seed)?;
            let seconds = started.elapsed().as_secs_f64();
            if json {
                let out = serde_json::json!({
                    "model": model.info.name,
                    "objective": spec,
                    "objective_key": spec.key(),
                    "problem": problem,
                    "result": result,
                    "stats": evaluator.stats(),
                    "seconds": seconds,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                let list = |v: &[usize]| {
                    v.iter()
                        .map(|b| b.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                println!("searcher:    {}", result.searcher);
                println!("removed:     {}", list(&result.removed));
                println!("score:       {:.4} ({})", result.score, spec.short_name());
                println!("ranking:     {}", list(&result.ranking));
                println!(
                    "evaluations: {} (budget {})",
                    result.evaluations,
                    problem.budget.map_or("default".into(), |b| b.to_string())
                );
                println!("wall time:   {seconds:.1} s");
            }
        }
        Cmd::Export {
            model,
            skip,
            target,
        } => {
            let removed = parse_block_list(&skip).context("--skip")?;
            target.export(model, removed)?;
        }
        Cmd::ExportBest {
            results,
            model,
            objective,
            searcher,
            seed,
            target,
        } => {
            let key = depthprune::export::best::RunKey {
                model,
                objective,
                searcher,
                seed,
            };
            let run = depthprune::export::best::chosen_set(&results, &key)?;
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
            target.export(run.model, run.removed)?;
        }
    }
    Ok(())
}

/// Loads the model and prepares the objective the arguments describe for it.
fn open_with_objective(
    model: &str,
    objective: &ObjectiveArgs,
    load: &LoadOptions,
) -> Result<(Model, ObjectiveSpec, Box<dyn Objective>)> {
    let data_dir = data::data_dir(objective.data_dir.as_deref())?;
    let model = Model::open(model, load)?;
    let spec = objective.spec();
    let prepared = spec.build(&model, &data_dir)?;
    Ok((model, spec, prepared))
}

fn read_text(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read text file {}", path.display()))
}
