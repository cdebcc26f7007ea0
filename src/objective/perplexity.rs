//! [`PerplexityObjective`]: perplexity on windows drawn from calibration text (WikiText-2, or any
//! corpus file; see `data::corpus`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::{Evaluation, Objective, ObjectiveSpec, Workload};
use crate::data::corpus::{load_corpus, CorpusRef};
use crate::data::split::{pool, sample, DEFAULT_PARTITION_SEED};
use crate::data::Split;
use crate::model::Tokenization;
use crate::perplexity::{cut_windows, window_workload};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerplexitySpec {
    /// The corpus: `wikitext2`, a file's path, or `{file, unit, text_field, id_field}`.
    #[serde(default, alias = "corpus")]
    pub source: CorpusRef,
    /// Number of windows.
    #[serde(default = "default_n_seqs")]
    pub n_seqs: usize,
    /// Tokens per window (BOS included when the model uses one).
    #[serde(default = "default_seq_len")]
    pub seq_len: usize,
    /// Which windows are drawn from the split's articles.
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_split")]
    pub split: Split,
    /// Which articles calibrate and which evaluate (see `data::split`).
    #[serde(default = "default_partition_seed")]
    pub partition_seed: u64,
}

fn default_n_seqs() -> usize {
    16
}
fn default_seq_len() -> usize {
    128
}
fn default_split() -> Split {
    Split::Calibration
}
fn default_partition_seed() -> u64 {
    DEFAULT_PARTITION_SEED
}

impl Default for PerplexitySpec {
    fn default() -> Self {
        Self {
            source: CorpusRef::default(),
            n_seqs: default_n_seqs(),
            seq_len: default_seq_len(),
            seed: 0,
            split: default_split(),
            partition_seed: default_partition_seed(),
        }
    }
}

pub struct PerplexityObjective {
    spec: ObjectiveSpec,
    workload: Workload,
    tokens_scored: usize,
    /// Ids of the corpus units (articles) the windows came from (for disjointness checks and
    /// reports).
    pub articles: Vec<String>,
}

impl PerplexityObjective {
    /// Cuts the workload fine ([`Workload::refined`]): the same items, more fidelity levels.
    pub fn refine(&mut self) -> Result<()> {
        let coarse = std::mem::replace(&mut self.workload, Workload::empty());
        self.workload = coarse.refined(crate::workload::FINE_SEQUENCES)?;
        Ok(())
    }

    /// Tokenises the split's units (articles), cuts each into windows by the fixture's rule,
    /// and draws `n_seqs` of them with the seed.
    pub fn new(spec: PerplexitySpec, model: &dyn Tokenization, data_dir: &Path) -> Result<Self> {
        let corpus = load_corpus(&spec.source, data_dir)?;
        let articles = &corpus.units;
        let source = corpus.label.as_str();
        let mut candidates: Vec<(usize, Vec<u32>)> = Vec::new();
        for a in pool(articles.len(), source, spec.partition_seed, spec.split) {
            let ids = model.tokenizer().encode(&articles[a].text)?;
            // Articles shorter than one window contribute nothing.
            if let Ok(windows) = cut_windows(&ids, spec.seq_len, usize::MAX, model.bos()) {
                candidates.extend(windows.into_iter().map(|w| (a, w)));
            }
        }
        if candidates.len() < spec.n_seqs {
            bail!(
                "the {} split of corpus {} has only {} windows of {} tokens (windows are cut \
                 within a {}, and shorter ones give none); ask for at most that many (n_seqs), \
                 shorter windows (seq_len), a coarser unit, or more text",
                format!("{:?}", spec.split).to_lowercase(),
                corpus.name,
                candidates.len(),
                spec.seq_len,
                corpus.unit.name()
            );
        }
        let chosen = sample(
            &(0..candidates.len()).collect::<Vec<_>>(),
            spec.n_seqs,
            source,
            spec.seed,
        );
        let windows: Vec<Vec<u32>> = chosen.iter().map(|&c| candidates[c].1.clone()).collect();
        let mut article_ids: Vec<String> = chosen
            .iter()
            .map(|&c| articles[candidates[c].0].id.clone())
            .collect();
        article_ids.sort();
        article_ids.dedup();
        let workload = window_workload(model, &windows)?;
        let tokens_scored = windows.iter().map(|w| w.len() - 1).sum();
        Ok(Self {
            spec: ObjectiveSpec::Perplexity(PerplexitySpec {
                source: corpus.resolved,
                ..spec
            }),
            workload,
            tokens_scored,
            articles: article_ids,
        })
    }
}

impl PerplexityObjective {
    /// Tokens whose next-token prediction is scored (every window's but its first).
    pub fn tokens_scored(&self) -> usize {
        self.tokens_scored
    }

    /// The windows' workload, for an objective that scores the same windows another way.
    pub fn into_workload(self) -> Workload {
        self.workload
    }
}

impl Objective for PerplexityObjective {
    fn spec(&self) -> &ObjectiveSpec {
        &self.spec
    }

    fn workload(&self) -> &Workload {
        &self.workload
    }

    fn finish(&self, _removed: &[usize], item_log_probs: &[f64]) -> Evaluation {
        let nll_sum = -item_log_probs.iter().sum::<f64>();
        let ppl = (nll_sum / self.tokens_scored as f64).exp();
        let metrics = BTreeMap::from([
            ("ppl".to_string(), ppl),
            ("nll_sum".to_string(), nll_sum),
            ("tokens_scored".to_string(), self.tokens_scored as f64),
            ("windows".to_string(), item_log_probs.len() as f64),
        ]);
        Evaluation {
            value: ppl,
            metrics,
        }
    }

    /// Perplexity over the tokens the first `batches` batches score.
    fn partial(&self, item_log_probs: &[f64], batches: usize) -> f64 {
        if batches >= self.workload.batches.len() {
            return self.finish(&[], item_log_probs).value;
        }
        // Only these batches' windows count, whatever else `item_log_probs` holds: a stored
        // record may carry more of a candidate's windows than the rung compares on, and the
        // sieve's decisions must not depend on what a store happens to hold.
        let (covered, tokens) = self.workload.prefix_items(batches);
        let nll: f64 = -item_log_probs
            .iter()
            .zip(&covered)
            .filter(|(_, &c)| c)
            .map(|(lp, _)| lp)
            .sum::<f64>();
        (nll / tokens as f64).exp()
    }

    /// NLL only accumulates, so the perplexity of the processed windows over all tokens is a
    /// lower bound on the final perplexity.
    fn bound(&self, partial_log_probs: &[f64]) -> Option<f64> {
        let nll = -partial_log_probs.iter().sum::<f64>();
        Some((nll / self.tokens_scored as f64).exp())
    }
}
