//! [`KlObjective`]: the KL divergence of the pruned model's next-token distributions from the
//! unpruned model's, on windows of calibration text: EvoPress's fitness (Sieberling et al.,
//! arXiv 2410.14649). Lower is better; the unpruned model scores 0.
//!
//! The windows are drawn exactly as perplexity's (the same description, `kind: kl`), so a KL
//! objective and a perplexity objective with the same fields and seed read the same tokens.
//! The unpruned model's distributions are computed once, when the objective is built for a
//! model, and kept as [`DenseReference`]s (a `hidden`-wide vector per scored token, not the
//! vocabulary-wide distribution: see there why that is exact).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use super::{Evaluation, Objective, ObjectiveSpec, PerplexityObjective, PerplexitySpec, Workload};
use crate::model::{BlockMask, Tokenization};

pub struct KlObjective {
    spec: ObjectiveSpec,
    workload: Workload,
    tokens_scored: usize,
    pub articles: Vec<String>,
}

impl KlObjective {
    /// Draws the windows as perplexity does; the dense reference comes later
    /// ([`Self::attach_reference`]), once the workload is cut as it will run.
    pub fn new(spec: PerplexitySpec, model: &dyn Tokenization, data_dir: &Path) -> Result<Self> {
        let windows = PerplexityObjective::new(spec, model, data_dir)?;
        let ObjectiveSpec::Perplexity(resolved) = windows.spec().clone() else {
            unreachable!("a perplexity objective's spec is perplexity")
        };
        let tokens_scored = windows.tokens_scored();
        let articles = windows.articles.clone();
        Ok(Self {
            spec: ObjectiveSpec::Kl(resolved),
            workload: windows.into_workload(),
            tokens_scored,
            articles,
        })
    }

    pub fn refine(&mut self) -> Result<()> {
        let coarse = std::mem::replace(&mut self.workload, Workload::empty());
        self.workload = coarse.refined(crate::workload::FINE_SEQUENCES)?;
        Ok(())
    }

    /// Runs the unpruned model over every batch and keeps its distributions at the scored
    /// rows. Without a loaded model (a plan counting tokens) the objective has none and
    /// refuses to score.
    pub fn attach_reference(&mut self, model: &dyn Tokenization) -> Result<()> {
        let Some(model) = model.model() else {
            return Ok(());
        };
        let full = BlockMask::full(model.n_blocks());
        for batch in &mut self.workload.batches {
            let hidden = model.hidden_states_with(&batch.tokens, &batch.layout, &full)?;
            let rows = model.select_rows(&hidden, &batch.rows)?;
            batch.reference = Some(
                model
                    .dense_reference(&rows)
                    .context("the KL objective's dense reference")?,
            );
        }
        Ok(())
    }

    fn check_reference(&self) {
        debug_assert!(
            self.workload.batches.iter().all(|b| b.reference.is_some()),
            "a KL objective scored without its dense reference"
        );
    }
}

impl Objective for KlObjective {
    fn spec(&self) -> &ObjectiveSpec {
        &self.spec
    }

    fn workload(&self) -> &Workload {
        &self.workload
    }

    /// Item values are `−KL` summed over a window's scored tokens; the score is the mean KL
    /// per token, in nats.
    fn finish(&self, _removed: &[usize], item_values: &[f64]) -> Evaluation {
        self.check_reference();
        let kl_sum = -item_values.iter().sum::<f64>();
        let kl = kl_sum / self.tokens_scored as f64;
        Evaluation {
            value: kl,
            metrics: BTreeMap::from([
                ("kl".to_string(), kl),
                ("kl_sum".to_string(), kl_sum),
                ("tokens_scored".to_string(), self.tokens_scored as f64),
                ("windows".to_string(), item_values.len() as f64),
            ]),
        }
    }

    /// Mean KL over the tokens of the first `batches` batches.
    fn partial(&self, item_values: &[f64], batches: usize) -> f64 {
        if batches >= self.workload.batches.len() {
            return self.finish(&[], item_values).value;
        }
        let (covered, tokens) = self.workload.prefix_items(batches);
        let kl: f64 = -item_values
            .iter()
            .zip(&covered)
            .filter(|(_, &c)| c)
            .map(|(v, _)| v)
            .sum::<f64>();
        kl / tokens as f64
    }

    // No bound: a token's KL is at least 0, but computed from f32 logits a near-zero one can
    // come out a few 1e-7 below, so a partial sum is not a safe bound to abandon on.
}
