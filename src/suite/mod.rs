//! Suites: a study's runs declared in YAML (`suites/*.yaml`) and executed through the memoised
//! evaluator.
//!
//! A suite names models, objectives (full descriptions), searchers (with parameters), how many
//! blocks to remove per model, the protected blocks and the seeds. Each seed resamples the
//! calibration data (it is the objectives' `seed`) and seeds the stochastic searchers, so the
//! seeds are the resamples the statistics run over. [`run::run_suite`] executes every
//! (model, seed, objective, searcher) and writes one JSON line per finished run; [`claims`]
//! turns runs into verdicts; [`check`] compares them and the runs with what the suite expects
//! and with the goldens ([`golden`]). `crate::study` puts these together with the report.

pub mod check;
pub mod claims;
pub mod golden;
pub mod manifest;
pub mod plan;
pub mod run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::blocks::Protection;
use crate::model::{DeviceSpec, LayerTypeRule, Precision};
use crate::objective::ObjectiveSpec;
use crate::search::{SearcherKind, SearcherParams};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    /// Why the suite is sized as it is; shown in reports.
    pub description: String,
    /// Catalogue ids or GGUF paths.
    pub models: Vec<String>,
    #[serde(default)]
    pub layer_types: LayerTypeRule,
    /// `cpu` (default), `cuda` or `cuda:N`; `depthprune run --device` overrides it.
    #[serde(default)]
    pub device: DeviceSpec,
    /// `f32` (default), `bf16` or `f16`; `depthprune run --dtype` overrides it.
    #[serde(default)]
    pub dtype: Precision,
    /// Objectives by short name (e.g. `ppl`, `acc`); their `seed` is replaced by each suite seed.
    pub objectives: BTreeMap<String, ObjectiveSpec>,
    /// Objectives sized per model: objective name → model → windows (perplexity) or questions
    /// per task (accuracy), replacing the size under `objectives` on that model, so each model
    /// gets an objective as reliable as the claims ask (an objective is noisier on one model
    /// than another at the same size).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sizes: BTreeMap<String, BTreeMap<String, usize>>,
    /// Held-out outcomes by name: every run's chosen set is also scored on these (evaluation
    /// split, their own fixed seed), so runs are compared on data no search has seen.
    #[serde(default)]
    pub heldout: BTreeMap<String, ObjectiveSpec>,
    pub searchers: Vec<SearcherEntry>,
    /// Blocks to remove, per model (by the id used in `models`): a count, or a fraction of the
    /// model's blocks such as `0.25`.
    pub k: BTreeMap<String, BlockCount>,
    /// `ends` (default), `none` or a list such as `0,29`.
    #[serde(default)]
    pub protect: Protection,
    /// Calibration resamples: each seed is one objective seed and one searcher seed.
    pub seeds: Vec<u64>,
    /// Whether greedy's steps and beam's levels sieve their candidates by successive halving
    /// over the objective's batches (default) or score every one on every item. Chosen sets
    /// can differ (the sieve is a heuristic); every reported score is exact either way.
    #[serde(default = "sieve_default", skip_serializing_if = "is_true")]
    pub sieve: bool,
    /// How finely the sieve's fidelity levels cut each objective's items (`fine`: a level per
    /// two questions or windows, the first rung an eighth of them); every score is the same
    /// bits either way, only which candidates the sieve drops can differ.
    #[serde(default, skip_serializing_if = "is_default")]
    pub rungs: crate::objective::Rungs,
    /// Thresholds and expected verdicts of the study's claims; without it, runs only.
    #[serde(default)]
    pub claims: Option<claims::ClaimSettings>,
    /// The data directory (relative to the suite's folder): the root of built-in tasks' data
    /// and of lm-eval task files' `<dataset_path>/<dataset_name>/<split>.jsonl`;
    /// `depthprune run --data-dir` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// A store of this suite's evaluations kept with it (relative to the suite's folder, e.g.
    /// `../evidence/decisive/store`): `depthprune run` audits a sample of it, then serves it and
    /// computes only what it lacks (`study::evidence`); `--from-scratch` ignores it. Not part of
    /// what the suite is (its hash, its shards): it says how its results may be obtained.
    #[serde(default, skip_serializing)]
    pub evidence: Option<PathBuf>,
    /// How the evidence's sampled records are checked: this many fine batches of each
    /// recomputed and its value derived from its stored items (a spot check, for objectives
    /// too large to recompute 1 % of the records whole); absent, each recomputed whole. Like
    /// `evidence`, not part of the suite's hash.
    #[serde(default, skip_serializing)]
    pub audit_batches: Option<usize>,
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

fn sieve_default() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A model id as a file-name part (`smollm2-135m`; paths lose their folders).
pub fn file_stem(model: &str) -> String {
    let base = model.rsplit(['/', '\\']).next().unwrap_or(model);
    base.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// How many blocks to remove: `2`, or `0.25` of the model's blocks (rounded, at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BlockCount {
    Blocks(usize),
    Fraction(f64),
}

impl BlockCount {
    pub fn resolve(self, n_blocks: usize) -> usize {
        match self {
            BlockCount::Blocks(k) => k,
            BlockCount::Fraction(f) => ((f * n_blocks as f64).round() as usize).max(1),
        }
    }

    fn check(self) -> Result<()> {
        if let BlockCount::Fraction(f) = self {
            if !(f > 0.0 && f < 1.0) {
                bail!("a fraction of blocks must lie strictly between 0 and 1, not {f}");
            }
        }
        Ok(())
    }
}

/// A searcher by name, with optional budget and parameters (`params: {beam_width: 2}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearcherEntry {
    pub name: SearcherKind,
    #[serde(default)]
    pub budget: Option<Budget>,
    /// A budget in compute (full-evaluation equivalents, see `Problem::compute`) instead of
    /// evaluations: one number, or one per model. Give the stochastic searchers the same one
    /// to compare them at equal cost; with `params: {screen: true}` a screened-out candidate
    /// costs only the share of the items it was scored on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<Compute>,
    #[serde(default)]
    pub params: SearcherParams,
}

/// A searcher's compute, in full-evaluation equivalents: one number for every model, or one
/// per model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Compute {
    Evaluations(f64),
    PerModel(BTreeMap<String, f64>),
}

/// A searcher's evaluations: one number for every model, or one per model (`{smollm2-135m: 84,
/// gemma3-270m: 48}`), so that a budget can be the same multiple of what each model's start
/// costs (its single removals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Budget {
    Evaluations(usize),
    PerModel(BTreeMap<String, usize>),
}

impl SearcherEntry {
    /// The compute budget on `model_id` (`None`: the budget is in evaluations).
    pub fn compute_for(&self, model_id: &str) -> Option<f64> {
        match &self.compute {
            None => None,
            Some(Compute::Evaluations(c)) => Some(*c),
            Some(Compute::PerModel(per_model)) => per_model.get(model_id).copied(),
        }
    }

    /// The budget on `model_id` (`None`: the searcher's default).
    pub fn budget_for(&self, model_id: &str) -> Option<usize> {
        match &self.budget {
            None => None,
            Some(Budget::Evaluations(n)) => Some(*n),
            Some(Budget::PerModel(per_model)) => per_model.get(model_id).copied(),
        }
    }
}

impl Suite {
    /// Reads and checks a suite file; errors name the file, the line and what is wrong.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read suite {}", path.display()))?;
        let mut suite: Suite = serde_yaml_ng::from_str(&text)
            .map_err(|e| crate::data::yaml_error(&path.display().to_string(), &e))?;
        // Corpus and task files named in a suite are found beside it, wherever it is run from.
        let base = path.parent().unwrap_or(Path::new(""));
        for spec in suite
            .objectives
            .values_mut()
            .chain(suite.heldout.values_mut())
        {
            spec.rebase(base);
        }
        for d in [&mut suite.data_dir, &mut suite.evidence]
            .into_iter()
            .flatten()
        {
            if d.is_relative() {
                *d = base.join(&*d);
            }
        }
        // Messages name the folder a person would find (not `suites/../evidence/...`).
        if let Some(d) = &mut suite.evidence {
            if let Ok(resolved) = std::fs::canonicalize(&*d) {
                *d = resolved;
            }
        }
        suite
            .check()
            .with_context(|| format!("suite {}", path.display()))?;
        Ok(suite)
    }

    fn check(&self) -> Result<()> {
        if self.models.is_empty()
            || self.objectives.is_empty()
            || self.searchers.is_empty()
            || self.seeds.is_empty()
        {
            bail!("models, objectives, searchers and seeds must each name at least one entry");
        }
        for m in &self.models {
            match self.k.get(m) {
                None => bail!("k has no entry for model '{m}'"),
                Some(k) => k.check().with_context(|| format!("k of '{m}'"))?,
            }
        }
        if let Some(entry) = self.searchers.iter().find(|e| e.name.measure().is_some()) {
            let textless = self
                .objectives
                .iter()
                .find(|(_, spec)| matches!(spec, ObjectiveSpec::Noise(n) if n.text.is_none()));
            if let Some((name, _)) = textless {
                bail!(
                    "searcher {} measures the model on each objective's text, and noise objective \
                     '{name}' has none: give it `text: {{n_seqs: 2, seq_len: 128}}`",
                    entry.name
                );
            }
        }
        for entry in &self.searchers {
            if let Some(Compute::PerModel(per_model)) = &entry.compute {
                if let Some(m) = self.models.iter().find(|m| !per_model.contains_key(*m)) {
                    bail!(
                        "searcher {}: its compute has no entry for model '{m}' (give one number, or one per model)",
                        entry.name
                    );
                }
            }
            if entry.compute.is_some() && entry.budget.is_some() {
                bail!(
                    "searcher {}: give a budget in evaluations or in compute, not both",
                    entry.name
                );
            }
            if let Some(Budget::PerModel(per_model)) = &entry.budget {
                if let Some(m) = self.models.iter().find(|m| !per_model.contains_key(*m)) {
                    bail!(
                        "searcher {}: its budget has no entry for model '{m}' (give one number, or one per model)",
                        entry.name
                    );
                }
                if let Some(m) = per_model.keys().find(|m| !self.models.contains(m)) {
                    bail!(
                        "searcher {}: its budget names '{m}', which is not among `models`",
                        entry.name
                    );
                }
            }
        }
        if self.audit_batches == Some(0) {
            bail!("audit_batches must be at least 1 (leave it out to recompute records whole)");
        }
        for (name, per_model) in &self.sizes {
            let Some(spec) = self.objectives.get(name) else {
                bail!("sizes: '{name}' is not among `objectives`");
            };
            if matches!(spec, ObjectiveSpec::Noise(_)) {
                bail!("sizes: '{name}' is a noise objective, which has no size");
            }
            if let Some(m) = self.models.iter().find(|m| !per_model.contains_key(*m)) {
                bail!("sizes: '{name}' has no entry for model '{m}' (size it on every model)");
            }
            if let Some(m) = per_model.keys().find(|m| !self.models.contains(m)) {
                bail!("sizes: '{name}' names '{m}', which is not among `models`");
            }
            if let Some((m, _)) = per_model.iter().find(|(_, &s)| s == 0) {
                bail!("sizes: '{name}' on '{m}' must be at least 1");
            }
        }
        for (name, spec) in &self.heldout {
            if matches!(spec, ObjectiveSpec::Noise(_)) {
                bail!("held-out outcome '{name}' is a noise objective: a control belongs under `objectives`, not among the outcomes runs are judged by");
            }
            if spec.split() != crate::data::Split::Evaluation {
                bail!("held-out outcome '{name}' must use `split: evaluation`: calibration data is what the searches optimised");
            }
        }
        if self.claims.is_some() {
            if self.objectives.len() < 2 {
                bail!("the claims compare objectives: name at least two under `objectives`");
            }
            // Most claims measure gains over, or the reliability of, one-shot's ranking.
            let needs_one_shot = self.claims.as_ref().is_some_and(|c| {
                c.test
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|claim| claim.needs_one_shot()))
            });
            if needs_one_shot
                && !self
                    .searchers
                    .iter()
                    .any(|s| s.name == SearcherKind::OneShot)
            {
                bail!("the claims measure gains over one-shot: add `{{name: one_shot}}` to `searchers`");
            }
        }
        if self
            .searchers
            .iter()
            .any(|s| s.name == SearcherKind::AngularDistance)
        {
            if let Some((name, _)) = self.objectives.iter().find(|(_, spec)| {
                !matches!(spec, ObjectiveSpec::Perplexity(_) | ObjectiveSpec::Kl(_))
                    && !matches!(spec, ObjectiveSpec::Noise(n) if n.text.is_some())
            }) {
                bail!(
                    "searcher angular_distance reads the last token of each calibration window, and objective '{name}' has no windows: give angular_distance a suite whose objectives are all perplexity, kl or noise with `text:`"
                );
            }
        }
        Ok(())
    }

    /// Checks what depends on a model's block count (k, protected blocks, each searcher's
    /// budget), so a suite that cannot run fails before any evaluation.
    pub fn check_model(&self, model_id: &str, n_blocks: usize) -> Result<()> {
        let k = self.k[model_id].resolve(n_blocks);
        let protected = self
            .protect
            .blocks(n_blocks)
            .with_context(|| format!("protect, for {model_id}"))?;
        for entry in &self.searchers {
            let problem = crate::search::Problem {
                n_blocks,
                k,
                protected: protected.clone(),
                direction: crate::search::Direction::Minimize,
                budget: entry.budget_for(model_id),
                compute: entry.compute_for(model_id),
            };
            problem
                .validate()
                .with_context(|| format!("{model_id} ({n_blocks} blocks), k = {k}"))?;
            if entry.name.measure().is_some() {
                continue;
            }
            let searcher = entry.name.build(&entry.params, None)?;
            let needed = searcher.min_budget(&problem);
            if let Some(budget) = entry.budget_for(model_id).filter(|&b| b < needed) {
                bail!(
                    "searcher {} has budget {budget} but needs at least {needed} evaluations for {model_id} (k = {k}, {n_blocks} blocks): raise its budget",
                    entry.name
                );
            }
            if let Some(c) = entry.compute_for(model_id).filter(|&c| c < needed as f64) {
                bail!(
                    "searcher {} has compute {c} but needs at least {needed} full evaluations for {model_id} (k = {k}, {n_blocks} blocks): raise its compute",
                    entry.name
                );
            }
        }
        Ok(())
    }

    /// Each held-out outcome's direction (perplexity minimises, accuracy maximises).
    pub fn heldout_directions(&self) -> BTreeMap<String, crate::objective::Direction> {
        self.heldout
            .iter()
            .map(|(name, spec)| (name.clone(), spec.direction()))
            .collect()
    }

    /// The objective `name` as run on `model_id` under suite seed `seed`: at the model's size
    /// (`sizes`) where one is given. Its sample seed derives from the name and the seed, so two
    /// objectives never share a calibration sample by accident: the same description under
    /// two names is two calibration resamples of one objective.
    pub fn objective_for(&self, name: &str, model_id: &str, seed: u64) -> ObjectiveSpec {
        let mut spec = self.objectives[name].clone();
        if let Some(&size) = self.sizes.get(name).and_then(|s| s.get(model_id)) {
            spec.set_size(size)
                .expect("suite checks refuse sizes for objectives without one");
        }
        let sample_seed = crate::rng::derive_seed(seed, &format!("suite-objective/{name}"));
        *spec.seed_mut() = sample_seed;
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Suite> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, text).unwrap();
        Suite::load(&path)
    }

    const GOOD: &str = "
name: tiny
description: two searchers on one model
models: [smollm2-135m]
objectives:
  ppl: {kind: perplexity, n_seqs: 4, seq_len: 64}
searchers:
  - {name: one_shot}
  - {name: beam, budget: 200, params: {beam_width: 2}}
k: {smollm2-135m: 2}
seeds: [0, 1]
";

    /// `suite` on SmolLM2 and Gemma 3, k = 2 on each.
    fn on_two_models(suite: &str) -> String {
        suite
            .replace(
                "models: [smollm2-135m]",
                "models: [smollm2-135m, gemma3-270m]",
            )
            .replace(
                "k: {smollm2-135m: 2}",
                "k: {smollm2-135m: 2, gemma3-270m: 2}",
            )
    }

    #[test]
    fn a_good_suite_loads() {
        let s = load(GOOD).unwrap();
        assert_eq!(s.searchers[1].params.beam_width, Some(2));
        assert_eq!(s.searchers[1].budget_for("m"), Some(200));
        assert_eq!(s.protect, Protection::Ends);
        match s.objective_for("ppl", "smollm2-135m", 7) {
            ObjectiveSpec::Perplexity(p) => assert_eq!(
                (p.seed, p.n_seqs),
                (crate::rng::derive_seed(7, "suite-objective/ppl"), 4)
            ),
            other => panic!("{other:?}"),
        }
    }

    /// `sizes` resizes an objective on one model and leaves the others (and the seed rule)
    /// alone; it must name every model, only suite models and sized objectives. (A noise
    /// objective is refused as a held-out outcome here too.)
    #[test]
    fn an_objective_can_be_sized_per_model() {
        let two = on_two_models(GOOD);
        let sized = format!("{two}sizes: {{ppl: {{smollm2-135m: 8, gemma3-270m: 2}}}}\n");
        let s = load(&sized).unwrap();
        let n_seqs = |m: &str| match s.objective_for("ppl", m, 7) {
            ObjectiveSpec::Perplexity(p) => {
                assert_eq!(p.seed, crate::rng::derive_seed(7, "suite-objective/ppl"));
                p.n_seqs
            }
            other => panic!("{other:?}"),
        };
        assert_eq!((n_seqs("smollm2-135m"), n_seqs("gemma3-270m")), (8, 2));
        for (bad, says) in [
            (
                "sizes: {ppl: {smollm2-135m: 8}}",
                "no entry for model 'gemma3-270m'",
            ),
            (
                "sizes: {acc: {smollm2-135m: 8, gemma3-270m: 2}}",
                "'acc' is not among",
            ),
            (
                "sizes: {ppl: {smollm2-135m: 8, gemma3-270m: 2, qwen: 1}}",
                "'qwen', which is not among",
            ),
            (
                "sizes: {ppl: {smollm2-135m: 0, gemma3-270m: 2}}",
                "at least 1",
            ),
            ("heldout: {n: {kind: noise}}", "is a noise objective"),
            ("audit_batches: 0", "audit_batches must be at least 1"),
        ] {
            let e = format!("{:#}", load(&format!("{two}{bad}\n")).unwrap_err());
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_budget_can_be_given_per_model_and_must_name_every_model() {
        let per_model = GOOD.replace("budget: 200", "budget: {smollm2-135m: 84}");
        assert_eq!(
            load(&per_model).unwrap().searchers[1].budget_for("smollm2-135m"),
            Some(84)
        );
        let missing = on_two_models(GOOD).replace("budget: 200", "budget: {smollm2-135m: 84}");
        let e = format!("{:#}", load(&missing).unwrap_err());
        assert!(e.contains("no entry for model 'gemma3-270m'"), "{e}");
        let stray = GOOD.replace("budget: 200", "budget: {smollm2-135m: 84, gemma: 48}");
        let e = format!("{:#}", load(&stray).unwrap_err());
        assert!(e.contains("'gemma', which is not among `models`"), "{e}");
    }

    #[test]
    fn a_baseline_that_measures_the_model_needs_text_beside_noise() {
        let noise = GOOD.replace(
            "ppl: {kind: perplexity, n_seqs: 4, seq_len: 64}",
            "ppl: {kind: perplexity, n_seqs: 4, seq_len: 64}\n  noise: {kind: noise}",
        );
        let measuring = noise.replace(
            "- {name: one_shot}",
            "- {name: one_shot}\n  - {name: block_influence}",
        );
        let e = format!("{:#}", load(&measuring).unwrap_err());
        assert!(
            e.contains("noise objective 'noise' has none: give it `text:"),
            "{e}"
        );
        let with_text = measuring.replace("{kind: noise}", "{kind: noise, text: {n_seqs: 2}}");
        load(&with_text).unwrap();
        load(&noise).unwrap();
    }

    #[test]
    fn claims_need_two_objectives_and_one_shot() {
        let claims = "claims: {alpha: 0.05, permutations: 10, min_cross_searcher_agreement: 0.5, max_ranking_tau: 0.5, max_relative_gain: 0.05, share_margin: 0.1}\n";
        let err = format!("{:#}", load(&format!("{GOOD}{claims}")).unwrap_err());
        assert!(err.contains("at least two"), "{err}");
        let two = GOOD.replace(
            "  ppl: {kind: perplexity, n_seqs: 4, seq_len: 64}",
            "  ppl: {kind: perplexity, n_seqs: 4, seq_len: 64}\n  acc: {kind: accuracy, n_per_task: 4}",
        );
        load(&format!("{two}{claims}")).unwrap();
        let err = format!(
            "{:#}",
            load(&format!(
                "{}{claims}",
                two.replace("  - {name: one_shot}\n", "")
            ))
            .unwrap_err()
        );
        assert!(err.contains("one_shot"), "{err}");
    }

    #[test]
    fn k_is_a_count_or_a_fraction() {
        let s = load(&GOOD.replace("smollm2-135m: 2}", "smollm2-135m: 0.25}")).unwrap();
        assert_eq!(s.k["smollm2-135m"], BlockCount::Fraction(0.25));
        assert_eq!(s.k["smollm2-135m"].resolve(30), 8);
        assert_eq!(BlockCount::Fraction(0.01).resolve(18), 1);
        let err = format!(
            "{:#}",
            load(&GOOD.replace("smollm2-135m: 2}", "smollm2-135m: 1.5}")).unwrap_err()
        );
        assert!(err.contains("strictly between 0 and 1"), "{err}");
    }

    /// Every suite shipped in `suites/` parses and passes the checks.
    #[test]
    fn shipped_suites_load() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                Suite::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
                n += 1;
            }
        }
        assert!(n >= 3, "claims, paper and the pilot");
        // And the worked example of docs/objectives.md on a corpus and a task of one's own.
        let own =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/own-data/suite.yaml");
        Suite::load(&own).unwrap_or_else(|e| panic!("{e:#}"));
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let err = load(&GOOD.replace("seeds: [0, 1]", "seeds: [0, 1]\nsede: 3"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("s.yaml:12:1: unknown field `sede`"), "{err}");
        let err = load(&GOOD.replace("n_seqs: 4", "n_seq: 4"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `n_seq`"), "{err}");
    }

    /// A misspelt claim in `predicted`, `expected` or `test` fails when the suite is read.
    #[test]
    fn unknown_claims_are_refused_with_the_allowed_values() {
        let two = GOOD.replace(
            "  ppl: {kind: perplexity, n_seqs: 4, seq_len: 64}",
            "  ppl: {kind: perplexity, n_seqs: 4, seq_len: 64}\n  acc: {kind: accuracy, n_per_task: 4}",
        );
        let claims = "claims:\n  alpha: 0.05\n  permutations: 10\n  min_cross_searcher_agreement: 0.5\n  max_ranking_tau: 0.5\n  max_relative_gain: 0.05\n  share_margin: 0.1\n  predicted: {searchers_converg: holds}\n";
        let err = load(&format!("{two}{claims}")).unwrap_err().to_string();
        assert!(err.contains("s.yaml:20:"), "{err}");
        assert!(err.contains("unknown variant `searchers_converg`"), "{err}");
        assert!(err.contains("searchers_converge"), "{err}");
        let err = load(&format!(
            "{two}{}",
            claims.replace("{searchers_converg: holds}", "{searchers_converge: maybe}")
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown variant `maybe`"), "{err}");
    }

    #[test]
    fn heldout_outcomes_must_be_held_out() {
        let err = format!(
            "{:#}",
            load(&format!(
                "{GOOD}heldout:\n  ppl: {{kind: perplexity, n_seqs: 2}}\n"
            ))
            .unwrap_err()
        );
        assert!(err.contains("must use `split: evaluation`"), "{err}");
        load(&format!(
            "{GOOD}heldout:\n  ppl: {{kind: perplexity, n_seqs: 2, split: evaluation}}\n"
        ))
        .unwrap();
    }

    /// Corpus and task files are found beside the suite; a malformed reference says what is
    /// allowed, with the line.
    #[test]
    fn corpus_and_task_files_are_relative_to_the_suite() {
        let own = GOOD.replace(
            "  ppl: {kind: perplexity, n_seqs: 4, seq_len: 64}",
            "  ppl: {kind: perplexity, corpus: {file: notes.txt, unit: line}, n_seqs: 4}\n  \
             ppl2: {kind: perplexity, source: /abs/notes.jsonl}\n  \
             acc: {kind: accuracy, tasks: [arc_easy, sub/mine.yaml], n_per_task: 4}",
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, &own).unwrap();
        let s = Suite::load(&path).unwrap();
        let json = |name: &str| serde_json::to_value(&s.objectives[name]).unwrap();
        assert_eq!(
            json("ppl")["source"],
            serde_json::json!({"file": dir.path().join("notes.txt"), "unit": "line"})
        );
        assert_eq!(
            json("ppl2")["source"],
            serde_json::json!({"file": "/abs/notes.jsonl"})
        );
        assert_eq!(
            json("acc")["tasks"],
            serde_json::json!(["arc_easy", {"file": dir.path().join("sub/mine.yaml")}])
        );
        let err = load(&own.replace("unit: line}", "unti: line}"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("s.yaml:6:") && err.contains("a corpus is wikitext2"),
            "{err}"
        );
        let err = load(&own.replace("arc_easy, sub", "arc_esay, sub"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown task 'arc_esay'"), "{err}");
    }

    #[test]
    fn inconsistent_suites_are_refused() {
        let err = format!(
            "{:#}",
            load(&GOOD.replace("k: {smollm2-135m: 2}", "k: {gemma3-270m: 2}")).unwrap_err()
        );
        assert!(
            err.contains("k has no entry for model 'smollm2-135m'"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            load(&GOOD.replace("name: one_shot", "name: oneshot")).unwrap_err()
        );
        assert!(err.contains("s.yaml:8:"), "{err}");
        assert!(
            err.contains("unknown variant `oneshot`, expected one of `one_shot`, `greedy`"),
            "{err}"
        );
    }
}
