//! Executing a suite: every (model, seed, objective, searcher), through one memoised evaluator
//! per (model, objective, seed) and the shared on-disk store, so an interrupted suite resumes
//! where it stopped and a rerun costs nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::Suite;
use crate::evaluator::{Evaluator, EvaluatorOptions};
use crate::model::{LoadOptions, Model};
use crate::objective::Direction;
use crate::search::{self, Problem};

/// One finished search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub model: String,
    pub objective: String,
    pub objective_key: String,
    pub direction: Direction,
    pub searcher: String,
    pub seed: u64,
    pub k: usize,
    pub removed: Vec<usize>,
    pub ranking: Vec<usize>,
    pub score: f64,
    pub evaluations: usize,
    pub seconds: f64,
}

/// Where a suite run writes: `runs.jsonl`, one record per finished search, appended as they
/// finish.
pub struct RunOptions {
    pub out_dir: PathBuf,
    pub data_dir: PathBuf,
    pub store_dir: PathBuf,
    pub engine: EvaluatorOptions,
    pub quiet: bool,
}

pub fn run_suite(suite: &Suite, options: &RunOptions) -> Result<Vec<RunRecord>> {
    std::fs::create_dir_all(&options.out_dir)
        .with_context(|| format!("creating output folder {}", options.out_dir.display()))?;
    let total =
        suite.models.len() * suite.seeds.len() * suite.objectives.len() * suite.searchers.len();
    let bar = crate::scan::progress_bar(total as u64, options.quiet, &suite.name);
    let mut records = Vec::with_capacity(total);
    let log_path = options.out_dir.join("runs.jsonl");
    let mut log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    for model_id in &suite.models {
        let model = Model::open(
            model_id,
            &LoadOptions {
                layer_types: suite.layer_types,
            },
        )?;
        let k = suite.k[model_id];
        let protected =
            search::parse_protected(&suite.protect, model.n_blocks()).context("protect")?;
        for &seed in &suite.seeds {
            for objective_name in suite.objectives.keys() {
                let spec = suite.objective_for_seed(objective_name, seed);
                let objective = spec.build(&model, &options.data_dir)?;
                let mut evaluator = Evaluator::new(&model, objective.as_ref(), options.engine)?
                    .with_store(&options.store_dir)?;
                for entry in &suite.searchers {
                    bar.set_message(format!(
                        "{model_id} {objective_name} {} seed {seed}",
                        entry.name
                    ));
                    let searcher = search::by_name_for_model(
                        &entry.name,
                        &entry.params,
                        &model,
                        objective.workload(),
                    )?;
                    let problem = Problem {
                        n_blocks: model.n_blocks(),
                        k,
                        protected: protected.clone(),
                        direction: spec.direction(),
                        budget: entry.budget,
                    };
                    let started = Instant::now();
                    let result = search::search(searcher.as_ref(), &problem, &mut evaluator, seed)
                        .with_context(|| {
                            format!(
                                "{model_id} / {objective_name} / {} / seed {seed}",
                                entry.name
                            )
                        })?;
                    let record = RunRecord {
                        model: model_id.clone(),
                        objective: objective_name.clone(),
                        objective_key: spec.key(),
                        direction: spec.direction(),
                        searcher: entry.name.clone(),
                        seed,
                        k,
                        removed: result.removed,
                        ranking: result.ranking,
                        score: result.score,
                        evaluations: result.evaluations,
                        seconds: started.elapsed().as_secs_f64(),
                    };
                    writeln!(log, "{}", serde_json::to_string(&record)?)?;
                    records.push(record);
                    bar.inc(1);
                }
            }
        }
    }
    bar.finish_and_clear();
    write_outputs(&options.out_dir, &records)?;
    Ok(records)
}

/// `results.json` (every run) and `runs.csv` (one row per run).
pub fn write_outputs(dir: &Path, records: &[RunRecord]) -> Result<()> {
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(records)?,
    )?;
    let mut csv =
        String::from("model,objective,searcher,seed,k,removed,score,evaluations,seconds,ranking\n");
    let join = |v: &[usize]| {
        v.iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    for r in records {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{:.3},{}\n",
            r.model,
            r.objective,
            r.searcher,
            r.seed,
            r.k,
            join(&r.removed),
            r.score,
            r.evaluations,
            r.seconds,
            join(&r.ranking)
        ));
    }
    std::fs::write(dir.join("runs.csv"), csv)?;
    Ok(())
}
