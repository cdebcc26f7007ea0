//! The set a suite chose: one run of a suite's `results.json`, named by (model, objective,
//! searcher, seed).
//!
//! Only the fields that name a run and its set are read, so results written by older or newer
//! versions of the suite runner still serve.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// One run as `results.json` records it (the fields an export needs).
#[derive(Debug, Clone, Deserialize)]
pub struct ChosenSet {
    pub model: String,
    pub objective: String,
    pub searcher: String,
    pub seed: u64,
    pub removed: Vec<usize>,
    #[serde(default)]
    pub score: Option<f64>,
}

/// Which run to take.
#[derive(Debug, Clone)]
pub struct RunKey {
    pub model: String,
    pub objective: String,
    pub searcher: String,
    pub seed: u64,
}

/// The run of `results` named by `key`; an error listing what the file holds otherwise.
pub fn chosen_set(results: &Path, key: &RunKey) -> Result<ChosenSet> {
    let text = std::fs::read_to_string(results)
        .with_context(|| format!("cannot read {}", results.display()))?;
    // `{manifest, runs}`, or the bare array of runs older versions wrote.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Results {
        WithManifest { runs: Vec<ChosenSet> },
        Runs(Vec<ChosenSet>),
    }
    let runs = match serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a suite's results.json ({{manifest, runs}}: runs with model, objective, searcher, seed and removed)",
            results.display()
        )
    })? {
        Results::WithManifest { runs } | Results::Runs(runs) => runs,
    };
    let matching: Vec<&ChosenSet> = runs
        .iter()
        .filter(|r| {
            r.model == key.model
                && r.objective == key.objective
                && r.searcher == key.searcher
                && r.seed == key.seed
        })
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let values = |f: fn(&ChosenSet) -> String| {
                let mut v: Vec<String> = runs.iter().map(f).collect();
                v.sort();
                v.dedup();
                v.join(", ")
            };
            bail!(
                "{} has no run with model '{}', objective '{}', searcher '{}' and seed {}; it has models [{}], objectives [{}], searchers [{}], seeds [{}]",
                results.display(),
                key.model,
                key.objective,
                key.searcher,
                key.seed,
                values(|r| r.model.clone()),
                values(|r| r.objective.clone()),
                values(|r| r.searcher.clone()),
                values(|r| r.seed.to_string()),
            )
        }
        many => bail!(
            "{} has {} runs with model '{}', objective '{}', searcher '{}' and seed {}; results from one suite run have one",
            results.display(),
            many.len(),
            key.model,
            key.objective,
            key.searcher,
            key.seed
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_run_and_lists_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        let run = |searcher: &str, seed: u64, removed: &[usize]| {
            serde_json::json!({
                "model": "smollm2-135m", "objective": "ppl", "objective_key": "x",
                "direction": "minimize", "searcher": searcher, "seed": seed, "k": 2,
                "removed": removed, "ranking": [], "score": 61.5, "evaluations": 10,
                "seconds": 1.0,
            })
        };
        let runs = serde_json::json!([run("greedy", 0, &[3, 7]), run("beam", 0, &[3, 9])]);
        std::fs::write(&path, runs.to_string()).unwrap();
        let key = |searcher: &str, seed| RunKey {
            model: "smollm2-135m".into(),
            objective: "ppl".into(),
            searcher: searcher.into(),
            seed,
        };
        let found = chosen_set(&path, &key("beam", 0)).unwrap();
        assert_eq!(found.removed, vec![3, 9]);
        assert_eq!(found.score, Some(61.5));
        let err = chosen_set(&path, &key("beam", 4)).unwrap_err().to_string();
        assert!(
            err.contains("searchers [beam, greedy]") && err.contains("seeds [0]"),
            "{err}"
        );
    }
}
