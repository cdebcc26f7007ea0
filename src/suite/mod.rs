//! Suites: a study's runs declared in YAML (`suites/*.yaml`) and executed through the memoised
//! evaluator.
//!
//! A suite names models, objectives (full descriptions), searchers (with parameters), how many
//! blocks to remove per model, the protected blocks and the seeds. Each seed resamples the
//! calibration data (it is the objectives' `seed`) and seeds the stochastic searchers, so the
//! seeds are the resamples the statistics run over. [`run::run_suite`] executes every
//! (model, seed, objective, searcher) and writes one JSON line per finished run; [`execute`]
//! adds the claim verdicts and writes every output file (see [`crate::report::files`]).

pub mod check;
pub mod claims;
pub mod merge;
pub mod plan;
pub mod run;
pub mod shard;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::model::{DeviceSpec, LayerTypeRule, Precision};
use crate::objective::ObjectiveSpec;
use crate::search::SearcherParams;

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
    /// Held-out outcomes by name: every run's chosen set is also scored on these (evaluation
    /// split, their own fixed seed), so runs are compared on data no search has seen.
    #[serde(default)]
    pub heldout: BTreeMap<String, ObjectiveSpec>,
    pub searchers: Vec<SearcherEntry>,
    /// Blocks to remove, per model (by the id used in `models`): a count, or a fraction of the
    /// model's blocks such as `0.25`.
    pub k: BTreeMap<String, BlockCount>,
    /// `ends`, `none` or a list such as `0,29`.
    #[serde(default = "default_protect")]
    pub protect: String,
    /// Calibration resamples: each seed is one objective seed and one searcher seed.
    pub seeds: Vec<u64>,
    /// Thresholds and expected verdicts of the study's claims; without it, runs only.
    #[serde(default)]
    pub claims: Option<claims::ClaimSettings>,
}

/// What [`execute`] returns: the runs and, when the suite states claims, their verdicts.
pub struct SuiteOutcome {
    pub runs: run::SuiteRuns,
    pub verdicts: Option<Vec<claims::ClaimResult>>,
}

/// Runs a suite, computes its claims' verdicts and writes every output file into
/// `options.out_dir`.
pub fn execute(suite: &Suite, options: &run::RunOptions) -> Result<SuiteOutcome> {
    let runs = run::run_suite(suite, options)?;
    // The bootstrap and permutation draws have a fixed seed: a verdict is a function of the runs.
    let verdicts = suite.claims.as_ref().map(|settings| {
        claims::evaluate_claims(&runs.runs, &suite.heldout_directions(), settings, 0)
    });
    crate::report::files::write_suite_outputs(&options.out_dir, suite, &runs, verdicts.as_deref())?;
    Ok(SuiteOutcome { runs, verdicts })
}

fn default_protect() -> String {
    "ends".to_string()
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
    pub name: String,
    #[serde(default)]
    pub budget: Option<usize>,
    #[serde(default)]
    pub params: SearcherParams,
}

impl Suite {
    /// Reads and checks a suite file; errors name the file, the line and what is wrong.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read suite {}", path.display()))?;
        let suite: Suite = serde_yaml::from_str(&text).map_err(|e| {
            let at = e
                .location()
                .map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column()));
            // serde_yaml appends the location itself; say it once, in front.
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            anyhow::anyhow!("{}{at}: {message}", path.display())
        })?;
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
        for (name, spec) in &self.heldout {
            if spec.split() != crate::data::Split::Evaluation {
                bail!("held-out outcome '{name}' must use `split: evaluation`: calibration data is what the searches optimised");
            }
        }
        for s in &self.searchers {
            if s.name != "block_influence" {
                crate::search::by_name(&s.name, &s.params)?;
            }
        }
        if self.claims.is_some() {
            if self.objectives.len() < 2 {
                bail!("the claims compare objectives: name at least two under `objectives`");
            }
            if !self.searchers.iter().any(|s| s.name == "one_shot") {
                bail!("the claims measure gains over one-shot: add `{{name: one_shot}}` to `searchers`");
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

    /// The objective `name` as run under suite seed `seed`. Its sample seed derives from both,
    /// so two objectives never share a calibration sample by accident: the same description
    /// under two names is two calibration resamples of one objective.
    pub fn objective_for_seed(&self, name: &str, seed: u64) -> ObjectiveSpec {
        let mut spec = self.objectives[name].clone();
        let sample_seed = crate::rng::derive_seed(seed, &format!("suite-objective/{name}"));
        match &mut spec {
            ObjectiveSpec::Perplexity(p) => p.seed = sample_seed,
            ObjectiveSpec::Accuracy(a) => a.seed = sample_seed,
        }
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

    #[test]
    fn a_good_suite_loads() {
        let s = load(GOOD).unwrap();
        assert_eq!(s.searchers[1].params.beam_width, Some(2));
        assert_eq!(s.searchers[1].budget, Some(200));
        assert_eq!(s.protect, "ends");
        match s.objective_for_seed("ppl", 7) {
            ObjectiveSpec::Perplexity(p) => assert_eq!(
                (p.seed, p.n_seqs),
                (crate::rng::derive_seed(7, "suite-objective/ppl"), 4)
            ),
            other => panic!("{other:?}"),
        }
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
        assert!(err.contains("unknown searcher 'oneshot'"), "{err}");
    }
}
