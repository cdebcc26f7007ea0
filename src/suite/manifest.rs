//! What produced a suite's results, in `results.json` and `report.md`: the build (git commit,
//! and whether the tree had changes), device, dtype and thread count, the suite's hash, each
//! model's weights sha256, each task file's and corpus's content hash, and the items every
//! (objective, seed) and held-out outcome scored.
//!
//! A function of the suite, its data, its models and the build (no timestamps, no host
//! names), so a sharded and merged run writes the same manifest as one run.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::data::corpus::load_corpus;
use crate::data::split::pool;
use crate::data::tasks::{hex, load_task};
use crate::objective::accuracy::drawn;
use crate::objective::ObjectiveSpec;
use crate::suite::Suite;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Manifest {
    /// `git rev-parse HEAD` when the binary was built (`unknown` outside a checkout).
    pub git_commit: String,
    /// Whether tracked files differed from that commit (`true`, `false` or `unknown`).
    pub git_dirty: String,
    pub version: String,
    pub device: String,
    pub dtype: String,
    /// Threads of the pool the matrix products run on.
    pub threads: usize,
    /// sha256 of the suite as read (its canonical JSON).
    pub suite_sha256: String,
    /// Model (as the suite names it) → sha256 of its weights.
    pub models: BTreeMap<String, String>,
    /// Task or corpus name → sha256 of its task file(s) and data (built-in ones too).
    pub data: BTreeMap<String, String>,
    pub items: Vec<Items>,
}

/// The items one objective sample scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Items {
    /// The objective's name, or `heldout/<name>`.
    pub objective: String,
    /// The suite seed (absent for held-out outcomes, whose sample is fixed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// How many: questions (accuracy) or the split's corpus units (perplexity).
    pub n: usize,
    /// sha256 of the ids, one per line: `task/id` of each question drawn, in order; for
    /// perplexity the ids of the split's units the windows are drawn from (which windows
    /// follows from the seed and the tokenizer).
    pub ids_sha256: String,
}

impl Manifest {
    /// Reads the suite's data (no model is loaded; weights are hashed, or their verified
    /// hash reused, by `fetch::resolve`).
    pub fn build(suite: &Suite, data_dir: &Path) -> Result<Self> {
        let mut models = BTreeMap::new();
        for m in &suite.models {
            let resolved = crate::fetch::resolve(m).with_context(|| format!("manifest: {m}"))?;
            models.insert(m.clone(), resolved.weights_sha256);
        }
        let mut data = BTreeMap::new();
        let mut items = Vec::new();
        for name in suite.objectives.keys() {
            // An objective sized per model draws other items on each model.
            let labels: Vec<(String, &str)> = if suite.sizes.contains_key(name) {
                suite
                    .models
                    .iter()
                    .map(|m| (format!("{name}@{m}"), m.as_str()))
                    .collect()
            } else {
                vec![(name.clone(), suite.models[0].as_str())]
            };
            for (label, model_id) in labels {
                for &seed in &suite.seeds {
                    let spec = suite.objective_for(name, model_id, seed);
                    items.push(item_ids(
                        &spec,
                        label.clone(),
                        Some(seed),
                        data_dir,
                        &mut data,
                    )?);
                }
            }
        }
        for (name, spec) in &suite.heldout {
            items.push(item_ids(
                spec,
                format!("heldout/{name}"),
                None,
                data_dir,
                &mut data,
            )?);
        }
        let suite_json = serde_json::to_string(suite).context("manifest: the suite")?;
        Ok(Self {
            git_commit: env!("DEPTHPRUNE_GIT_COMMIT").to_string(),
            git_dirty: env!("DEPTHPRUNE_GIT_DIRTY").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            device: String::from(suite.device),
            dtype: serde_json::to_value(suite.dtype)?
                .as_str()
                .unwrap_or_default()
                .to_string(),
            threads: rayon::current_num_threads(),
            suite_sha256: hex(&Sha256::digest(suite_json.as_bytes())),
            models,
            data,
            items,
        })
    }

    /// The manifest as a Markdown section.
    pub fn markdown(&self) -> String {
        let mut md = String::from("## Manifest\n\n| what | value |\n|---|---|\n");
        let dirty = if self.git_dirty == "true" {
            " (dirty)"
        } else {
            ""
        };
        md += &format!(
            "| build | depthprune {} at {}{dirty} |\n| device, dtype, threads | {}, {}, {} |\n| suite sha256 | `{}` |\n",
            self.version, self.git_commit, self.device, self.dtype, self.threads, self.suite_sha256
        );
        for (m, h) in &self.models {
            md += &format!("| model {m} | `{h}` |\n");
        }
        for (d, h) in &self.data {
            md += &format!("| data {d} | `{h}` |\n");
        }
        for i in &self.items {
            let seed = i.seed.map_or(String::new(), |s| format!(", seed {s}"));
            md += &format!(
                "| items {}{seed} | {} ids, sha256 `{}` |\n",
                i.objective, i.n, i.ids_sha256
            );
        }
        md
    }
}

fn item_ids(
    spec: &ObjectiveSpec,
    objective: String,
    seed: Option<u64>,
    data_dir: &Path,
    data: &mut BTreeMap<String, String>,
) -> Result<Items> {
    let mut ids = Vec::new();
    match spec {
        ObjectiveSpec::Accuracy(a) => {
            for t in &a.tasks {
                let task = load_task(t, data_dir)?;
                for r in drawn(&task, a) {
                    ids.push(format!("{}/{}", task.name, task.docs[r].id));
                }
                data.insert(task.name.clone(), task.content_sha256.clone());
            }
        }
        ObjectiveSpec::Perplexity(p) | ObjectiveSpec::Kl(p) => {
            let corpus = load_corpus(&p.source, data_dir)?;
            for u in pool(corpus.units.len(), &corpus.label, p.partition_seed, p.split) {
                ids.push(corpus.units[u].id.clone());
            }
            let mut h = Sha256::new();
            for u in &corpus.units {
                h.update(u.id.as_bytes());
                h.update(b"\n");
                h.update(u.text.as_bytes());
                h.update(b"\n");
            }
            data.insert(corpus.name.clone(), hex(&h.finalize()));
        }
        // Draws from a seed; the text its baselines measure the model on, if any.
        ObjectiveSpec::Noise(n) => {
            if let Some(text) = n.text_at_seed() {
                return item_ids(
                    &ObjectiveSpec::Perplexity(text),
                    objective,
                    seed,
                    data_dir,
                    data,
                );
            }
        }
    }
    let joined = ids.join("\n");
    Ok(Items {
        objective,
        seed,
        n: ids.len(),
        ids_sha256: hex(&Sha256::digest(joined.as_bytes())),
    })
}
