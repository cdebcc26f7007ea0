//! Executing a suite: every (model, seed, objective, searcher), through one memoised evaluator
//! per (model, seed, objective) and the shared on-disk store, so an interrupted suite resumes
//! where it stopped and a rerun costs nothing.
//!
//! Models run one after another. The unit of parallel work (`--jobs`) is one (seed, objective)
//! group of a model: its searchers share one evaluator and run in the declared order, so results
//! do not depend on the number of jobs.

use crate::load::open_model;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::Suite;
use crate::evaluator::{Evaluator, EvaluatorOptions};
use crate::model::{BlockMask, LoadOptions, Model};
use crate::objective::{Direction, Objective, ObjectiveSpec};
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
    /// What the search cost: the original cost of every evaluation it was first to ask for in
    /// its group (from the store when served from there) plus its own work. Not written to
    /// results.json, runs.csv or runs.jsonl, which stay byte-identical however the suite was
    /// run (resumed, sharded, served from a store): it is in timings.csv and report.md.
    #[serde(skip)]
    pub seconds: f64,
    /// Whether the searcher starts from one-shot's answer (evolutionary, local).
    pub starts_from_one_shot: bool,
    /// The best score found after each evaluation the searcher asked for (its budget-quality
    /// curve; abandoned evaluations repeat the best so far).
    pub best_so_far: Vec<f64>,
    /// The chosen set scored under every objective of the suite on this seed's calibration
    /// sample (the run's own objective gives `score`).
    pub calibration: BTreeMap<String, f64>,
    /// The chosen set scored on each held-out outcome of the suite (evaluation split).
    pub heldout: BTreeMap<String, f64>,
    /// Every set the search scored in full, in the order it asked, for the references a claim
    /// reads beyond their choice ([`search::SearcherKind::keeps_scores`]); empty (and not
    /// written) for every other searcher.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scored: Vec<ScoredSet>,
}

/// One set a search scored in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredSet {
    pub removed: Vec<usize>,
    pub score: f64,
}

/// The objective of one (model, seed, objective) with nothing removed and with each removable
/// block removed alone: the single-removal curve. One-shot has evaluated these already, so the
/// memo serves them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleRemovals {
    pub model: String,
    pub objective: String,
    pub direction: Direction,
    pub seed: u64,
    pub full: f64,
    pub blocks: Vec<usize>,
    pub scores: Vec<f64>,
}

/// Everything a suite run produced, in declaration order (model, seed, objective, searcher).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRuns {
    pub runs: Vec<RunRecord>,
    pub single_removals: Vec<SingleRemovals>,
    /// What each piece of work cost (timings.csv); never part of the byte-identical outputs.
    #[serde(skip)]
    pub timings: Vec<Timing>,
}

/// One row of timings.csv: a search, or one of the suite's other phases for a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub model: String,
    /// `load`, `search`, `single_removals`, `calibration_scoring` or `heldout`.
    pub phase: String,
    /// The objective (or held-out outcome) scored; empty for `load`.
    pub objective: String,
    /// The searcher of a `search` row; empty otherwise.
    pub searcher: String,
    pub seed: Option<u64>,
    /// Evaluations computed in this process, and served from the store.
    pub computed: usize,
    pub from_store: usize,
    /// What the work cost, with each stored evaluation at its original cost.
    pub seconds: f64,
    /// Wall time in this process.
    pub wall_seconds: f64,
    /// Candidates the sieve screened out on part of the items (no score).
    #[serde(default)]
    pub screened: usize,
    /// Tokens run through the model in this process (each batch's padded tokens per batch
    /// computed, partial evaluations included).
    #[serde(default)]
    pub tokens: u64,
}

impl Timing {
    fn new(model: &str, phase: &str, objective: &str, seed: Option<u64>) -> Self {
        Self {
            model: model.to_string(),
            phase: phase.to_string(),
            objective: objective.to_string(),
            searcher: String::new(),
            seed,
            computed: 0,
            from_store: 0,
            seconds: 0.0,
            wall_seconds: 0.0,
            screened: 0,
            tokens: 0,
        }
    }

    /// Adds the evaluator calls in `trace` made during `wall` seconds: stored answers count at
    /// their original cost instead of the time it took to read them.
    fn add(&mut self, trace: &[crate::search::TraceStep], wall: f64) {
        use crate::evaluator::Source;
        let mut seconds = wall;
        for entry in trace {
            match entry.source {
                Source::Computed => self.computed += 1,
                Source::Store => self.from_store += 1,
                Source::Screened => self.screened += 1,
                _ => {}
            }
            self.tokens += entry.tokens;
            seconds += entry.cost - entry.seconds;
        }
        self.seconds += seconds.max(0.0);
        self.wall_seconds += wall;
    }
}

/// One (model, seed, objective) group: the searchers that share an evaluator, and the unit a
/// sharded run distributes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupKey {
    pub model: String,
    pub seed: u64,
    pub objective: String,
}

impl std::fmt::Display for GroupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} / seed {} / {}",
            self.model, self.seed, self.objective
        )
    }
}

/// Every group of `suite`, in declaration order (model, seed, objective): the order runs are
/// reported in, whichever process ran them.
pub fn all_groups(suite: &Suite) -> Vec<GroupKey> {
    suite
        .models
        .iter()
        .flat_map(|model| {
            suite.seeds.iter().flat_map(move |&seed| {
                suite.objectives.keys().map(move |objective| GroupKey {
                    model: model.clone(),
                    seed,
                    objective: objective.clone(),
                })
            })
        })
        .collect()
}

pub struct RunOptions {
    /// `runs.jsonl` goes here as searches finish; the caller writes the rest.
    pub out_dir: PathBuf,
    pub data_dir: PathBuf,
    pub store_dir: PathBuf,
    pub engine: EvaluatorOptions,
    pub quiet: bool,
    /// (model, seed, objective) groups run at once; 1 runs them one after another.
    pub jobs: usize,
    /// Write lm-eval-shaped per-sample records of every accuracy held-out outcome, one file
    /// per chosen set: `samples/<model>/<outcome>/removed-<blocks>.jsonl` under `out_dir`.
    pub log_samples: bool,
}

impl RunOptions {
    /// Options that serve every evaluation from `store` and compute none (a miss is an error),
    /// writing `runs.jsonl` into `out_dir`: how a suite's runs are read from its evidence
    /// (`compare`, `registry`, the tests' replays).
    pub fn replay(out_dir: PathBuf, store: PathBuf, data_dir: PathBuf) -> Self {
        Self {
            out_dir,
            data_dir,
            store_dir: store,
            engine: EvaluatorOptions {
                replay: true,
                ..EvaluatorOptions::default()
            },
            quiet: true,
            jobs: 2,
            log_samples: false,
        }
    }
}

/// One (seed, objective) of a model: the searchers that share an evaluator.
struct Group<'a> {
    seed: u64,
    objective: &'a str,
}

/// Runs every search of `suite`, one model at a time (each is loaded once and dropped before the
/// next: paper-scale models do not fit in memory together), its (seed, objective) groups spread
/// over `options.jobs` threads.
pub fn run_suite(suite: &Suite, options: &RunOptions) -> Result<SuiteRuns> {
    run_groups(suite, options, None)
}

/// [`run_suite`] for only the groups in `only` (a shard's; `None`: every group). The chosen sets
/// of these groups' runs are still scored under every objective and held-out outcome; models
/// none of these groups use are not loaded.
pub fn run_groups(
    suite: &Suite,
    options: &RunOptions,
    only: Option<&BTreeSet<GroupKey>>,
) -> Result<SuiteRuns> {
    // A mistake in a corpus or task file is reported now, not after the first model's searches.
    for (kind, objectives) in [
        ("objective", &suite.objectives),
        ("held-out outcome", &suite.heldout),
    ] {
        for (name, spec) in objectives {
            spec.check_data(&options.data_dir)
                .with_context(|| format!("suite {}: {kind} '{name}'", suite.name))?;
        }
    }
    std::fs::create_dir_all(&options.out_dir)
        .with_context(|| format!("creating output folder {}", options.out_dir.display()))?;
    let groups: Vec<Group> = suite
        .seeds
        .iter()
        .flat_map(|&seed| {
            suite
                .objectives
                .keys()
                .map(move |objective| Group { seed, objective })
        })
        .collect();
    let selected = |model: &str, g: &Group| {
        only.is_none_or(|only| {
            only.contains(&GroupKey {
                model: model.to_string(),
                seed: g.seed,
                objective: g.objective.to_string(),
            })
        })
    };
    let n_selected: usize = suite
        .models
        .iter()
        .map(|m| groups.iter().filter(|g| selected(m, g)).count())
        .sum();
    let bar = crate::progress::Progress::new(
        &suite.name,
        Some((n_selected * suite.searchers.len()) as u64),
        "searches",
        options.quiet,
    );
    let log_path = options.out_dir.join("runs.jsonl");
    let log = Mutex::new(
        std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?,
    );
    let on_record = |record: &RunRecord| -> Result<()> {
        let mut log = log.lock().expect("log lock");
        writeln!(log, "{}", serde_json::to_string(record)?)?;
        bar.inc(1);
        bar.set_message(format!(
            "{} {} {} seed {}",
            record.model, record.objective, record.searcher, record.seed
        ));
        Ok(())
    };

    // Every model's block count is read from its metadata first, so k, protection and budgets
    // that cannot work fail now, not after the first model's runs.
    for model_id in &suite.models {
        let located = crate::fetch::locate(model_id)?;
        let n_blocks = crate::model::count_blocks(&located.path)
            .with_context(|| format!("reading the block count of {model_id}"))?;
        suite.check_model(model_id, n_blocks)?;
    }

    let mut out = SuiteRuns {
        runs: Vec::new(),
        single_removals: Vec::new(),
        timings: Vec::new(),
    };
    for model_id in &suite.models {
        let model_groups: Vec<&Group> = groups.iter().filter(|g| selected(model_id, g)).collect();
        if model_groups.is_empty() {
            continue;
        }
        bar.set_message(format!("loading {model_id}"));
        let started = Instant::now();
        let model = open_model(
            model_id,
            &LoadOptions {
                layer_types: suite.layer_types,
                device: suite.device,
                dtype: suite.dtype,
            },
        )?;
        bar.set_message(format!("{model_id}: searching"));
        let mut load = Timing::new(model_id, "load", "", None);
        load.add(&[], started.elapsed().as_secs_f64());
        out.timings.push(load);
        // Windows and questions exist only once tokenised: a corpus too small for its windows
        // is found now, not after other objectives' searches (how many windows a split offers
        // does not depend on the seed).
        let objectives = Objectives::new(&model, &options.data_dir, suite.rungs);
        let first_seed = suite.seeds[0];
        let prepared = suite
            .objectives
            .keys()
            .map(|name| (name, suite.objective_for(name, model_id, first_seed)))
            .chain(
                suite
                    .heldout
                    .iter()
                    .map(|(name, spec)| (name, spec.clone())),
            );
        for (name, spec) in prepared {
            objectives
                .get(&spec)
                .with_context(|| format!("{model_id}: objective '{name}'"))?;
        }
        let next = AtomicUsize::new(0);
        type Finished = (usize, Vec<RunRecord>, SingleRemovals, Vec<Timing>);
        let finished: Mutex<Vec<Finished>> = Mutex::new(Vec::new());
        let worker = || -> Result<()> {
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(group) = model_groups.get(index) else {
                    return Ok(());
                };
                let (records, singles, timings) =
                    run_group(suite, model_id, &objectives, group, options, &on_record)?;
                finished
                    .lock()
                    .expect("results lock")
                    .push((index, records, singles, timings));
            }
        };
        let jobs = options.jobs.clamp(1, model_groups.len().max(1));
        if jobs == 1 {
            worker()?;
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..jobs).map(|_| scope.spawn(worker)).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("suite worker panicked"))
                    .collect::<Result<Vec<()>>>()
            })?;
        }
        let mut finished = finished.into_inner().expect("results lock");
        finished.sort_by_key(|(index, ..)| *index);
        let mut model_runs = Vec::new();
        for (_, records, singles, timings) in finished {
            model_runs.extend(records);
            out.single_removals.push(singles);
            out.timings.extend(timings);
        }
        bar.set_message(format!(
            "{model_id}: scoring chosen sets under every objective"
        ));
        out.timings.extend(score_across_objectives(
            suite,
            model_id,
            &objectives,
            &groups,
            &mut model_runs,
            options,
        )?);
        for (name, spec) in &suite.heldout {
            bar.set_message(format!("{model_id}: held-out {name}"));
            out.timings.push(score_heldout(
                name,
                spec,
                model_id,
                &objectives,
                &mut model_runs,
                options,
            )?);
        }
        out.runs.extend(model_runs);
    }
    bar.finish();
    Ok(out)
}

/// Every objective a model's groups and held-out outcomes use, built (read, sampled, tokenised)
/// once and shared by the groups, the cross-objective scoring and the held-out scoring.
struct Objectives<'m> {
    model: &'m Model,
    data_dir: &'m std::path::Path,
    rungs: crate::objective::Rungs,
    /// By the spec's JSON (as the suite states it, before files are resolved).
    built: Mutex<HashMap<String, Arc<dyn Objective>>>,
}

impl<'m> Objectives<'m> {
    fn new(
        model: &'m Model,
        data_dir: &'m std::path::Path,
        rungs: crate::objective::Rungs,
    ) -> Self {
        Self {
            model,
            data_dir,
            rungs,
            built: Mutex::new(HashMap::new()),
        }
    }

    /// `spec` built for the model: the first call builds it (under the lock, so no two
    /// threads tokenise the same objective), later ones share it.
    fn get(&self, spec: &ObjectiveSpec) -> Result<Arc<dyn Objective>> {
        let key = serde_json::to_string(spec)?;
        let mut built = self.built.lock().expect("objectives lock");
        if let Some(o) = built.get(&key) {
            return Ok(o.clone());
        }
        let o: Arc<dyn Objective> =
            Arc::from(spec.build_with(self.model, self.data_dir, self.rungs)?);
        built.insert(key, o.clone());
        Ok(o)
    }
}

fn run_group(
    suite: &Suite,
    model_id: &str,
    objectives: &Objectives,
    group: &Group,
    options: &RunOptions,
    on_record: &(dyn Fn(&RunRecord) -> Result<()> + Sync),
) -> Result<(Vec<RunRecord>, SingleRemovals, Vec<Timing>)> {
    let (seed, objective_name) = (group.seed, group.objective);
    let model = objectives.model;
    let k = suite.k[model_id].resolve(model.n_blocks());
    let protected = suite.protect.blocks(model.n_blocks()).context("protect")?;
    let spec = suite.objective_for(objective_name, model_id, seed);
    let objective = objectives.get(&spec)?;
    let engine = EvaluatorOptions {
        sieve: options.engine.sieve && suite.sieve,
        ..options.engine
    };
    let mut evaluator =
        Evaluator::new(model, objective.as_ref(), engine)?.with_store(&options.store_dir)?;
    let problem = |budget, compute| Problem {
        n_blocks: model.n_blocks(),
        k,
        protected: protected.clone(),
        direction: spec.direction(),
        budget,
        compute,
    };
    let mut records = Vec::with_capacity(suite.searchers.len());
    let mut timings = Vec::with_capacity(suite.searchers.len() + 1);
    for entry in &suite.searchers {
        // A baseline's measurement forward is part of what the search costs.
        let started = Instant::now();
        let traced = evaluator.trace().len();
        let measured = entry
            .name
            .measure()
            .map(|what| crate::measure::measure(what, model, objective.measured_on()))
            .transpose()
            .with_context(|| format!("{model_id} / {objective_name} / {}", entry.name))?;
        let searcher = entry.name.build(&entry.params, measured)?;
        let result = search::search(
            searcher.as_ref(),
            &problem(entry.budget_for(model_id), entry.compute_for(model_id)),
            &mut evaluator,
            seed,
        )
        .with_context(|| {
            format!(
                "{model_id} / {objective_name} / {} / seed {seed}",
                entry.name
            )
        })?;
        let mut best_so_far = Vec::with_capacity(result.trace.len());
        let mut best: Option<f64> = None;
        for step in &result.trace {
            if let Some(score) = step.score {
                if best.is_none_or(|b| spec.direction().better(score, b)) {
                    best = Some(score);
                }
            }
            best_so_far.push(best.unwrap_or(f64::NAN));
        }
        let mut timing = Timing::new(model_id, "search", objective_name, Some(seed));
        timing.searcher = entry.name.name().to_string();
        timing.add(
            &evaluator.trace()[traced..],
            started.elapsed().as_secs_f64(),
        );
        let record = RunRecord {
            model: model_id.to_string(),
            objective: objective_name.to_string(),
            objective_key: objective.spec().key(),
            direction: spec.direction(),
            searcher: entry.name.name().to_string(),
            seed,
            k,
            removed: result.removed,
            ranking: result.ranking,
            score: result.score,
            evaluations: result.evaluations,
            seconds: timing.seconds,
            starts_from_one_shot: searcher.starts_from_one_shot(),
            best_so_far,
            calibration: BTreeMap::from([(objective_name.to_string(), result.score)]),
            heldout: BTreeMap::new(),
            scored: if entry.name.keeps_scores() {
                result
                    .trace
                    .iter()
                    .filter_map(|step| {
                        step.score.map(|score| ScoredSet {
                            removed: step.removed.clone(),
                            score,
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            },
        };
        on_record(&record)?;
        records.push(record);
        timings.push(timing);
    }

    let started = Instant::now();
    let traced = evaluator.trace().len();
    let n = model.n_blocks();
    let blocks = problem(None, None).removable();
    let full = evaluator.evaluate(&BlockMask::full(n))?.value;
    let scores = blocks
        .iter()
        .map(|&b| {
            Ok(evaluator
                .evaluate(&BlockMask::with_removed(n, &[b])?)?
                .value)
        })
        .collect::<Result<Vec<f64>>>()?;
    let singles = SingleRemovals {
        model: model_id.to_string(),
        objective: objective_name.to_string(),
        direction: spec.direction(),
        seed,
        full,
        blocks,
        scores,
    };
    let mut timing = Timing::new(model_id, "single_removals", objective_name, Some(seed));
    timing.add(
        &evaluator.trace()[traced..],
        started.elapsed().as_secs_f64(),
    );
    timings.push(timing);
    Ok((records, singles, timings))
}

/// Scores every run's chosen set under the suite's other objectives on the same seed's
/// calibration sample, so each run has, e.g., a calibration perplexity whatever it optimised.
/// The group's evaluations are in the store already; only the other objectives' sets are new.
fn score_across_objectives(
    suite: &Suite,
    model_id: &str,
    objectives: &Objectives,
    groups: &[Group],
    runs: &mut [RunRecord],
    options: &RunOptions,
) -> Result<Vec<Timing>> {
    let mut timings = Vec::new();
    if suite.objectives.len() < 2 {
        return Ok(timings);
    }
    for group in groups {
        let spec = suite.objective_for(group.objective, model_id, group.seed);
        let sets: BTreeSet<Vec<usize>> = runs
            .iter()
            .filter(|r| r.seed == group.seed && r.objective != group.objective)
            .map(|r| r.removed.clone())
            .collect();
        if sets.is_empty() {
            continue;
        }
        let mut timing = Timing::new(
            model_id,
            "calibration_scoring",
            group.objective,
            Some(group.seed),
        );
        let scores = score_sets(&spec, objectives, &sets, options, &mut timing)?;
        timings.push(timing);
        for r in runs
            .iter_mut()
            .filter(|r| r.seed == group.seed && r.objective != group.objective)
        {
            r.calibration
                .insert(group.objective.to_string(), scores[&r.removed]);
        }
    }
    Ok(timings)
}

/// Scores every run's chosen set on the held-out outcome `name`.
fn score_heldout(
    name: &str,
    spec: &ObjectiveSpec,
    model_id: &str,
    objectives: &Objectives,
    runs: &mut [RunRecord],
    options: &RunOptions,
) -> Result<Timing> {
    let sets: BTreeSet<Vec<usize>> = runs.iter().map(|r| r.removed.clone()).collect();
    let mut timing = Timing::new(model_id, "heldout", name, None);
    let scores = score_sets(spec, objectives, &sets, options, &mut timing)
        .with_context(|| format!("held-out outcome '{name}'"))?;
    for r in runs.iter_mut() {
        r.heldout.insert(name.to_string(), scores[&r.removed]);
    }
    if options.log_samples && matches!(spec, ObjectiveSpec::Accuracy(_)) {
        log_samples(name, spec, model_id, objectives, &sets, options)?;
    }
    Ok(timing)
}

/// Per-sample records of held-out outcome `name` for each set: the workload run again without
/// the store (which keeps scores, not log-likelihoods).
fn log_samples(
    name: &str,
    spec: &ObjectiveSpec,
    model_id: &str,
    objectives: &Objectives,
    sets: &BTreeSet<Vec<usize>>,
    options: &RunOptions,
) -> Result<()> {
    let model = objectives.model;
    let objective = objectives.get(spec)?;
    let dir = options
        .out_dir
        .join("samples")
        .join(super::file_stem(model_id))
        .join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for set in sets {
        let mask = BlockMask::with_removed(model.n_blocks(), set)?;
        let log_probs = objective.workload().run(model, &mask)?;
        let lines = objective.samples(&log_probs).unwrap_or_default();
        let blocks: Vec<String> = set.iter().map(|b| b.to_string()).collect();
        let stem = if blocks.is_empty() {
            "none".to_string()
        } else {
            blocks.join("-")
        };
        let path = dir.join(format!("removed-{stem}.jsonl"));
        std::fs::write(&path, lines.join("\n") + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `spec`'s score of each set, through a memoised evaluator and the store. Sets are scored in
/// ascending order, so neighbours share long prefixes in the prefix cache.
fn score_sets(
    spec: &ObjectiveSpec,
    objectives: &Objectives,
    sets: &BTreeSet<Vec<usize>>,
    options: &RunOptions,
    timing: &mut Timing,
) -> Result<BTreeMap<Vec<usize>, f64>> {
    let started = Instant::now();
    let model = objectives.model;
    let objective = objectives.get(spec)?;
    let mut evaluator = Evaluator::new(model, objective.as_ref(), options.engine)?
        .with_store(&options.store_dir)?;
    let scores = sets
        .iter()
        .map(|set| {
            let mask = BlockMask::with_removed(model.n_blocks(), set)?;
            Ok((set.clone(), evaluator.evaluate(&mask)?.value))
        })
        .collect::<Result<_>>()?;
    timing.add(evaluator.trace(), started.elapsed().as_secs_f64());
    Ok(scores)
}
