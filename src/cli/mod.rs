//! The command line: one module per command, each parsing its arguments, calling the library
//! and printing a typed result (a line or a table for people, `--json` for programs). The
//! argument groups several commands share live here.

pub mod audit;
pub mod compare;
pub mod data_dir;
pub mod eval;
pub mod export;
pub mod fetch;
pub mod merge;
pub mod plan;
pub mod power;
pub mod ppl;
pub mod registry;
pub mod reliability;
pub mod run;
pub mod scan;
pub mod search;
pub mod tokenize;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use depthprune::data::{self, CorpusRef, Split, TaskRef, Unit};
use depthprune::evaluator::EvaluatorOptions;
use depthprune::load::open_model;
use depthprune::model::{DeviceSpec, LayerTypeRule, LoadOptions, Model, Precision};
use depthprune::objective::{
    AccMetric, AccuracySpec, Objective, ObjectiveKind, ObjectiveSpec, PerplexitySpec, Rungs,
};
use serde::Serialize;

/// [`RunOptions::replay`] with the data folder resolved (`--data-dir`, else the default).
///
/// [`RunOptions::replay`]: depthprune::suite::run::RunOptions::replay
pub fn replay_options(
    out_dir: &Path,
    store: &Path,
    data_dir: Option<&Path>,
) -> Result<depthprune::suite::run::RunOptions> {
    Ok(depthprune::suite::run::RunOptions::replay(
        out_dir.to_path_buf(),
        store.to_path_buf(),
        data::data_dir(data_dir)?,
    ))
}

/// Options every command accepts.
#[derive(clap::Args, Clone, Copy)]
pub struct Global {
    /// Where models run: cpu, cuda or cuda:N (CUDA needs a build with --features cuda)
    /// [default: cpu, or the suite's `device`]
    #[arg(long, global = true)]
    pub device: Option<DeviceSpec>,
    /// Float type of the weights and activations [default: f32, or the suite's `dtype`]
    #[arg(long, global = true, value_enum)]
    pub dtype: Option<Precision>,
    /// No progress on stderr (a bar on a terminal, otherwise a line every
    /// $DEPTHPRUNE_PROGRESS_SECONDS, default 30)
    #[arg(long, global = true)]
    pub quiet: bool,
}

/// The model a command runs, and how its remaining blocks take their layer types.
#[derive(clap::Args)]
pub struct ModelArgs {
    /// Catalogue id (smollm2-135m, gemma3-270m), hf:<org>/<name>[@rev], a checkpoint folder or
    /// a .gguf file.
    #[arg(long)]
    pub model: String,
    /// Gemma 3: whether remaining blocks keep their own local/global type ("own") or take the
    /// type of their new position ("renumbered", as deleting HF layers does).
    #[arg(long, value_enum, default_value_t = LayerTypeRule::Own)]
    pub layer_types: LayerTypeRule,
}

impl ModelArgs {
    pub fn open(&self, global: Global) -> Result<Model> {
        open_model(
            &self.model,
            &LoadOptions {
                layer_types: self.layer_types,
                device: global.device.unwrap_or_default(),
                dtype: global.dtype.unwrap_or_default(),
            },
        )
    }
}

/// The evaluator's caches and store.
#[derive(clap::Args)]
pub struct EngineArgs {
    /// Do not reuse residual streams of shared block prefixes.
    #[arg(long)]
    pub no_prefix_cache: bool,
    /// Do not reuse earlier evaluations (in memory or on disk).
    #[arg(long)]
    pub no_memo: bool,
    /// Evaluation store [default: $DEPTHPRUNE_CACHE/evals]
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Memory budget of the prefix cache, in MiB.
    #[arg(long, default_value_t = 3072)]
    pub cache_mib: usize,
    /// Serve every evaluation from the store (--store) and fail on the first it lacks: no
    /// score is computed (block influence's one forward with every block is).
    #[arg(long, conflicts_with = "no_memo")]
    pub replay: bool,
}

impl EngineArgs {
    pub fn options(&self) -> EvaluatorOptions {
        EvaluatorOptions {
            prefix_cache: !self.no_prefix_cache,
            memo: !self.no_memo,
            cache_budget_bytes: self.cache_mib << 20,
            sieve: true,
            replay: self.replay,
        }
    }

    pub fn store_dir(&self) -> Result<PathBuf> {
        match &self.store {
            Some(p) => Ok(p.clone()),
            None => Ok(depthprune::fetch::cache_dir()?.join("evals")),
        }
    }
}

/// A calibration objective, described on the command line.
#[derive(clap::Args)]
pub struct ObjectiveArgs {
    /// ppl (perplexity on windows of a corpus, WikiText-2 by default) or acc (zero-shot multiple
    /// choice).
    #[arg(long, value_enum)]
    pub objective: ObjectiveKind,
    /// Folder with wikitext2/, arc_easy/, ... [default: $DEPTHPRUNE_DATA, else the data built into depthprune]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Which pool the sample comes from; the two never share an article or a record.
    #[arg(long, value_enum, default_value = "calibration")]
    pub split: Split,
    /// Which sample is drawn from that pool (a calibration resample).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// acc: tasks to average over, comma-separated: built-in names (arc_easy, arc_challenge,
    /// hellaswag, piqa, winogrande, boolq, openbookqa) or task files (.yaml) [default: the seven]
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<TaskRef>,
    /// acc: questions per task.
    #[arg(long, default_value_t = 32)]
    pub n_per_task: usize,
    /// acc: the number that is reported as the score (and drives searches).
    #[arg(long, value_enum, default_value = "acc_norm")]
    pub metric: AccMetric,
    /// ppl: number of windows.
    #[arg(long, default_value_t = 16)]
    pub n_seqs: usize,
    /// ppl: tokens per window.
    #[arg(long, default_value_t = 128)]
    pub seq_len: usize,
    /// ppl: the text: wikitext2, or a .txt or .jsonl file [default: wikitext2]
    #[arg(long)]
    pub corpus: Option<String>,
    /// ppl: what calibration and evaluation never share in a corpus file [default: document
    /// for .jsonl, paragraph for text]
    #[arg(long, value_enum)]
    pub corpus_unit: Option<Unit>,
    /// The sieve's fidelity levels: `batches` as packed, or `fine` (a level per two questions
    /// or windows, the first rung an eighth of them). Scores are the same bits either way.
    #[arg(long, value_enum, default_value = "batches")]
    pub rungs: Rungs,
}

impl ObjectiveArgs {
    pub fn spec(&self) -> Result<ObjectiveSpec> {
        Ok(match self.objective {
            ObjectiveKind::Perplexity | ObjectiveKind::Kl => {
                let windows = PerplexitySpec {
                    source: CorpusRef::from_args(self.corpus.as_deref(), self.corpus_unit)?,
                    n_seqs: self.n_seqs,
                    seq_len: self.seq_len,
                    seed: self.seed,
                    split: self.split,
                    ..PerplexitySpec::default()
                };
                match self.objective {
                    ObjectiveKind::Kl => ObjectiveSpec::Kl(windows),
                    _ => ObjectiveSpec::Perplexity(windows),
                }
            }
            ObjectiveKind::Accuracy => ObjectiveSpec::Accuracy(AccuracySpec {
                tasks: if self.tasks.is_empty() {
                    AccuracySpec::default().tasks
                } else {
                    self.tasks.clone()
                },
                n_per_task: self.n_per_task,
                seed: self.seed,
                split: self.split,
                metric: self.metric,
                ..AccuracySpec::default()
            }),
        })
    }

    pub fn data_dir(&self) -> Result<PathBuf> {
        data::data_dir(self.data_dir.as_deref())
    }

    /// Loads the model and prepares this objective for it; the data folder, corpus and task
    /// files are checked first, so a mistake in them costs no model load. The spec returned is
    /// the prepared objective's (files' sha256 filled in: its `key()` is the store's).
    pub fn open_with_model(
        &self,
        model: &ModelArgs,
        global: Global,
    ) -> Result<(Model, ObjectiveSpec, Box<dyn Objective>)> {
        let data_dir = self.data_dir()?;
        let spec = self.spec()?;
        spec.check_data(&data_dir)?;
        let model = model.open(global)?;
        let prepared = spec.build_with(&model, &data_dir, self.rungs)?;
        Ok((model, prepared.spec().clone(), prepared))
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read text file {}", path.display()))
}

/// `3,7,12`.
pub fn block_list(blocks: &[usize]) -> String {
    blocks
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
