//! Calibration objectives: what a set of removed blocks costs.
//!
//! An objective is described by a plain serde struct ([`ObjectiveSpec`]) that a suite file can
//! declare and whose canonical JSON hashes to a stable key. Built for a model it becomes an
//! [`Objective`]: a prepared [`Workload`] (token batches, and which rows to score against which
//! targets) plus the rule that turns per-item log-likelihoods into a score. Running the
//! workload is left to the caller ([`evaluate`] here, the caching evaluator elsewhere), so every
//! objective benefits from the same engine.
//!
//! - [`perplexity`]: mean next-token NLL over windows of calibration text (lower is better);
//! - [`accuracy`]: zero-shot multiple choice, lm-evaluation-harness style (higher is better);
//! - [`kl`]: KL divergence from the unpruned model's next-token distributions on windows of
//!   calibration text, EvoPress's fitness (lower is better);
//! - [`noise`]: a seeded uniform draw per set, a control that runs no model (lower is better).

pub mod accuracy;
pub mod kl;
pub mod noise;
pub mod perplexity;
pub mod samples;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{BlockMask, Model};
pub use crate::search::Direction;
pub use crate::workload::{Rungs, WorkBatch, Workload};
pub use accuracy::{AccMetric, AccuracyObjective, AccuracySpec};
pub use kl::KlObjective;
pub use noise::{NoiseObjective, NoiseSpec};
pub use perplexity::{PerplexityObjective, PerplexitySpec};

/// The kinds of calibration objective, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObjectiveKind {
    /// Perplexity on text windows.
    #[value(name = "ppl")]
    Perplexity,
    /// Zero-shot multiple-choice accuracy.
    #[value(name = "acc")]
    Accuracy,
    /// KL divergence from the unpruned model on text windows (EvoPress's fitness).
    #[value(name = "kl")]
    Kl,
}

/// A full description of an objective: what data, how much, which split, which seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObjectiveSpec {
    Perplexity(PerplexitySpec),
    Accuracy(AccuracySpec),
    /// KL divergence from the unpruned model, on windows described as perplexity's.
    Kl(PerplexitySpec),
    /// A control: scores are seeded noise (see [`noise`]).
    Noise(NoiseSpec),
}

impl ObjectiveSpec {
    /// A stable key: the sha256 of the canonical JSON form (every field, seeds and sizes
    /// included), so equal descriptions share memoised evaluations across runs.
    ///
    /// A corpus or task file counts by its content (sha256, filled in when the objective is
    /// built: key a built objective's `spec()`), not by its path; built-in corpora and tasks by
    /// name, so the keys of objectives that name only those are what they always were.
    pub fn key(&self) -> String {
        let json = serde_json::to_string(&self.identity()).expect("objective specs serialise");
        let digest = Sha256::digest(json.as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    fn identity(&self) -> Self {
        let mut spec = self.clone();
        match &mut spec {
            Self::Perplexity(p) | Self::Kl(p) => p.source = p.source.identity(),
            Self::Accuracy(a) => {
                for t in &mut a.tasks {
                    *t = t.identity();
                }
            }
            Self::Noise(n) => {
                if let Some(t) = &mut n.text {
                    t.source = t.source.identity();
                    // Ignored: the windows are drawn with the noise's own seed.
                    t.seed = 0;
                }
            }
        }
        spec
    }

    /// Relative corpus and task file paths are taken relative to `base` (a suite's folder).
    pub fn rebase(&mut self, base: &Path) {
        match self {
            Self::Perplexity(p) | Self::Kl(p) => p.source.rebase(base),
            Self::Accuracy(a) => {
                for t in &mut a.tasks {
                    t.rebase(base);
                }
            }
            Self::Noise(n) => {
                if let Some(t) = &mut n.text {
                    t.source.rebase(base);
                }
            }
        }
    }

    /// Reads and checks the objective's data (corpus, task files and records) without a
    /// model, so a mistake in a file is reported before a model loads or a search starts.
    pub fn check_data(&self, data_dir: &Path) -> Result<()> {
        match self {
            Self::Perplexity(p) | Self::Kl(p) => {
                crate::data::corpus::load_corpus(&p.source, data_dir)?;
            }
            Self::Accuracy(a) => {
                for t in &a.tasks {
                    crate::data::tasks::load_task(t, data_dir)?;
                }
            }
            Self::Noise(n) => {
                if let Some(t) = &n.text {
                    crate::data::corpus::load_corpus(&t.source, data_dir)?;
                }
            }
        }
        Ok(())
    }

    pub fn direction(&self) -> Direction {
        match self {
            Self::Perplexity(_) | Self::Kl(_) | Self::Noise(_) => Direction::Minimize,
            Self::Accuracy(_) => Direction::Maximize,
        }
    }

    pub fn split(&self) -> crate::data::Split {
        match self {
            Self::Perplexity(p) | Self::Kl(p) => p.split,
            Self::Accuracy(a) => a.split,
            Self::Noise(_) => crate::data::Split::Calibration,
        }
    }

    /// Short name: `ppl`, `acc`, `kl` or `noise`.
    pub fn short_name(&self) -> &'static str {
        match self {
            Self::Perplexity(_) => "ppl",
            Self::Accuracy(_) => "acc",
            Self::Kl(_) => "kl",
            Self::Noise(_) => "noise",
        }
    }

    /// The name of the number it scores: `perplexity`, or the accuracy metric (`acc_norm`,
    /// `gold_logprob`, ...), for axis labels.
    pub fn score_name(&self) -> &'static str {
        match self {
            Self::Perplexity(_) => "perplexity",
            Self::Accuracy(a) => a.metric.name(),
            Self::Kl(_) => "KL divergence",
            Self::Noise(_) => "noise",
        }
    }

    /// Prepares the objective's inputs for `model`.
    pub fn build(&self, model: &Model, data_dir: &Path) -> Result<Box<dyn Objective>> {
        self.build_for(model, data_dir)
    }

    /// Prepares the objective's inputs for a model's tokenization (a [`Model`], or a
    /// [`crate::model::Vocabulary`] when only its tokens are counted).
    pub fn build_for(
        &self,
        model: &dyn crate::model::Tokenization,
        data_dir: &Path,
    ) -> Result<Box<dyn Objective>> {
        self.build_with(model, data_dir, Rungs::Batches)
    }

    /// [`Self::build_for`] with the workload cut into `rungs`. The cut is not part of the
    /// objective's identity (its key): it changes no item's value, only which prefixes of the
    /// items the sieve can compare candidates on.
    pub fn build_with(
        &self,
        model: &dyn crate::model::Tokenization,
        data_dir: &Path,
        rungs: Rungs,
    ) -> Result<Box<dyn Objective>> {
        Ok(match self {
            Self::Perplexity(spec) => {
                let mut o = PerplexityObjective::new(spec.clone(), model, data_dir)?;
                if rungs == Rungs::Fine {
                    o.refine()?;
                }
                Box::new(o)
            }
            Self::Accuracy(spec) => {
                let mut o = AccuracyObjective::new(spec.clone(), model, data_dir)?;
                if rungs == Rungs::Fine {
                    o.refine()?;
                }
                Box::new(o)
            }
            Self::Kl(spec) => {
                let mut o = KlObjective::new(spec.clone(), model, data_dir)?;
                if rungs == Rungs::Fine {
                    o.refine()?;
                }
                o.attach_reference(model)?;
                Box::new(o)
            }
            Self::Noise(spec) => {
                Box::new(NoiseObjective::new(spec.clone()).measuring(model, data_dir)?)
            }
        })
    }

    /// The objective at another size: `size` windows (perplexity) or questions per task
    /// (accuracy). A noise objective has no size to change.
    pub fn set_size(&mut self, size: usize) -> Result<()> {
        match self {
            Self::Perplexity(p) | Self::Kl(p) => p.n_seqs = size,
            Self::Accuracy(a) => a.n_per_task = size,
            Self::Noise(_) => anyhow::bail!("a noise objective has no size"),
        }
        Ok(())
    }

    /// The seed that draws this objective's calibration sample.
    pub fn seed_mut(&mut self) -> &mut u64 {
        match self {
            Self::Perplexity(p) | Self::Kl(p) => &mut p.seed,
            Self::Accuracy(a) => &mut a.seed,
            Self::Noise(n) => &mut n.seed,
        }
    }
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The number a search optimises (direction given by the objective).
    pub value: f64,
    /// Everything else worth reporting (`ppl`, `nll_sum`, per-task `acc`, ...).
    pub metrics: BTreeMap<String, f64>,
}

/// An objective prepared for one model.
pub trait Objective: Send + Sync {
    fn spec(&self) -> &ObjectiveSpec;
    fn workload(&self) -> &Workload;
    /// The inputs the objective-free baselines (block influence, angular distance) measure
    /// the model on: the objective's own, or the text a noise objective names.
    fn measured_on(&self) -> &Workload {
        self.workload()
    }
    /// The evaluation of the set `removed` from the summed log-probability of each item
    /// (window or option). Only a control reads the set itself ([`noise`]).
    fn finish(&self, removed: &[usize], item_log_probs: &[f64]) -> Evaluation;
    /// Per-sample log lines (lm-eval's `--log_samples` records), where the objective has
    /// questions; `None` for perplexity.
    fn samples(&self, _item_log_probs: &[f64]) -> Option<Vec<String>> {
        None
    }
    /// A bound on the final value that holds whatever the unprocessed items turn out to be,
    /// given the sums of the processed ones (unprocessed items at 0), or `None` when the
    /// objective has none. The evaluator uses it to abandon hopeless evaluations early.
    fn bound(&self, _partial_log_probs: &[f64]) -> Option<f64> {
        None
    }
    /// The objective's score on the items of the workload's first `batches` batches only
    /// (other items at 0 and ignored): what the sieve compares candidates on. At every batch it
    /// is the full score.
    fn partial(&self, item_log_probs: &[f64], batches: usize) -> f64;
}

/// Runs `objective` on `model` with `mask`, batch by batch, without any caching.
pub fn evaluate(objective: &dyn Objective, model: &Model, mask: &BlockMask) -> Result<Evaluation> {
    Ok(objective.finish(&mask.removed(), &objective.workload().run(model, mask)?))
}
