//! What a suite will cost before it runs (`depthprune plan SUITE.yaml`), and the work estimate
//! that `crate::study::shard` balances shards by.
//!
//! For every (model, seed, objective) group: the evaluations its searchers can make (each
//! searcher's budget for the suite's k; [`EvaluationCount::bound`] adds them up, while
//! [`EvaluationCount::estimate`] takes out what the memo is known to share: the single removals
//! that one-shot, greedy's and beam's first round, evolutionary and local all start from,
//! one-shot's set, and greedy's later rounds, which beam repeats while greedy's path stays in
//! its beam), the evaluations that score the group's chosen sets under the other
//! objectives and the held-out outcomes, and the tokens each evaluation runs. The *work* of a
//! group (evaluations × tokens × blocks) is a function of the suite, the models' block counts
//! and their tokenizers only, so every machine deals the same shards. The *time* multiplies it
//! by a per-token cost measured on the spot: a forward of each objective's first batches
//! through every block, and the output head on its scored rows (or `--cost`, seconds per token
//! of a full forward, where no model can be run). An evaluation runs the head and, through the
//! prefix cache, half of the blocks on average (it resumes where its set first differs from
//! one already run); without the prefix cache, every kept block.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::run::{all_groups, GroupKey};
use super::Suite;
use crate::model::{LoadOptions, Model, Tokenization, Vocabulary};
use crate::objective::{ObjectiveSpec, Workload};
use crate::progress::Progress;
use crate::search::{Problem, SearcherKind};

pub struct PlanOptions {
    pub data_dir: PathBuf,
    pub shards: usize,
    /// Seconds per token of a full forward, per model id (`--cost MODEL=S`), or for every model
    /// without its own (`--cost S`, key `*`). Given costs replace the measurement.
    pub costs: BTreeMap<String, f64>,
    /// Block counts of models the plan does not open (`--blocks MODEL=N`): their token counts
    /// come from `token_proxy`'s tokenizer and their cost must be given.
    pub assumed_blocks: BTreeMap<String, usize>,
    pub token_proxy: String,
    /// Whether the run will use the prefix cache (`run --no-prefix-cache` turns it off).
    pub prefix_cache: bool,
    /// Tokens of each objective the measurement runs through the model (first batches).
    pub measure_tokens: usize,
    /// No progress on stderr.
    pub quiet: bool,
}

/// Evaluations of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluationCount {
    /// Every searcher's budget, plus the single-removal curve's full model: no sharing at all.
    pub bound: usize,
    /// Less what the memo is known to serve (shared single removals and one-shot's set).
    pub estimate: usize,
    /// Chosen sets of the other objectives' runs scored under this group's objective (at most).
    pub cross_scoring: usize,
    /// The steps of `estimate` that the sieve screens (greedy's rounds, beam's levels).
    #[serde(skip)]
    pub sieved_steps: Vec<SievedStep>,
}

/// One sieved step: `candidates` sieved for `keep`, of which `computed` are not already known
/// (the others take part in the halving for free).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SievedStep {
    pub candidates: usize,
    pub computed: usize,
    pub keep: usize,
}

impl EvaluationCount {
    /// `estimate` in full evaluations when the sieve screens its steps over an objective of
    /// `levels` batches: a step's computed candidates cost their share of the levels the
    /// halving computes ([`crate::search::sieve::levels_computed`]) instead of `levels` each.
    pub fn sieved_estimate(&self, levels: usize, first: usize) -> f64 {
        let saved: f64 = self
            .sieved_steps
            .iter()
            .map(|s| {
                let sieved =
                    crate::search::sieve::levels_computed(s.candidates, s.keep, levels, first)
                        as f64
                        / levels.max(1) as f64;
                s.computed as f64 * (1.0 - sieved / s.candidates.max(1) as f64)
            })
            .sum();
        self.estimate as f64 - saved
    }
}

/// Counts a group's evaluations for a model of `n_blocks` blocks.
pub fn evaluation_count(suite: &Suite, model_id: &str, n_blocks: usize) -> Result<EvaluationCount> {
    let k = suite.k[model_id].resolve(n_blocks);
    let protected = suite
        .protect
        .blocks(n_blocks)
        .context("the suite's `protect`")?;
    let problem = Problem {
        n_blocks,
        k,
        protected,
        direction: crate::objective::Direction::Minimize,
        budget: None,
        compute: None,
    };
    problem
        .validate()
        .with_context(|| format!("model '{model_id}' with k = {k}"))?;
    let n = problem.removable().len();
    let (mut bound, mut estimate) = (0, 0);
    let (mut singles_known, mut one_shot_set_known) = (false, false);
    // Greedy's path after its first round: beam's best partial set is greedy's at every depth
    // (same ranking, same ties) as long as it stays in the beam, which it usually does, so beam
    // asks again for every candidate greedy asks for, and the other way round.
    let greedy_later_rounds: usize = (1..k).map(|r| n - r).sum();
    let mut greedy_path_known = false;
    let mut sieved_steps = Vec::new();
    for entry in &suite.searchers {
        // A compute budget is what the search spends, screened or not (a screened-out
        // proposal costs its share of the levels, so screening buys proposals, not time): it
        // is charged in full evaluations, rounded up.
        let budget = match (
            entry.compute_for(model_id),
            entry.budget_for(model_id),
            entry.name,
        ) {
            (Some(c), _, _) => c.ceil() as usize,
            (None, Some(b), _) => b,
            (None, None, kind) if kind.measure().is_some() => 1,
            (None, None, kind) => kind.build(&entry.params, None)?.default_budget(&problem),
        };
        // What this searcher asks for that an earlier one of its group already evaluated.
        let uses_singles = k > 0
            && matches!(
                entry.name,
                SearcherKind::OneShot
                    | SearcherKind::Greedy
                    | SearcherKind::Beam
                    | SearcherKind::Evolutionary
                    | SearcherKind::Local
            );
        let uses_one_shot_set =
            matches!(entry.name, SearcherKind::Evolutionary | SearcherKind::Local);
        let mut shared = 0;
        let walks_greedy_path = matches!(entry.name, SearcherKind::Greedy | SearcherKind::Beam);
        if walks_greedy_path && suite.sieve && entry.params.sieve.unwrap_or(true) {
            // Greedy keeps 1 of each round's candidates, beam `width` of each level's; the
            // round after greedy's path (or the singles) is known costs nothing to sieve.
            let keep = match entry.name {
                SearcherKind::Beam => entry
                    .params
                    .beam_width
                    .unwrap_or(crate::search::beam::DEFAULT_WIDTH)
                    .max(1),
                _ => 1,
            };
            for r in 0..k {
                let candidates = (keep * (n - r)).min(crate::search::beam::binomial(n, r + 1));
                let known = match r {
                    0 if singles_known => candidates,
                    0 => 0,
                    _ if greedy_path_known => n - r,
                    _ => 0,
                };
                sieved_steps.push(SievedStep {
                    candidates,
                    computed: candidates - known.min(candidates),
                    keep,
                });
            }
        }
        if walks_greedy_path && greedy_path_known {
            shared += greedy_later_rounds;
        }
        greedy_path_known |= walks_greedy_path;
        if uses_singles && singles_known {
            shared += n;
        }
        if uses_one_shot_set && one_shot_set_known {
            shared += 1;
        }
        singles_known |= uses_singles;
        one_shot_set_known |= entry.name == SearcherKind::OneShot || uses_one_shot_set;
        bound += budget;
        estimate += budget.saturating_sub(shared);
    }
    // The single-removal curve: the full model, and the singles if no searcher ran them.
    bound += 1 + n;
    estimate += 1 + if singles_known { 0 } else { n };
    let cross_scoring = suite.searchers.len() * (suite.objectives.len() - 1);
    Ok(EvaluationCount {
        bound,
        estimate,
        cross_scoring,
        sieved_steps,
    })
}

/// What the plan needs to know of a model: its block count and the tokens of each objective.
#[derive(Debug, Clone)]
pub struct ModelFacts {
    pub n_blocks: usize,
    /// Tokens per evaluation of each (seed, objective) and of each held-out outcome.
    pub tokens: BTreeMap<(u64, String), usize>,
    /// Batches of each (seed, objective): the sieve's fidelity levels.
    pub batches: BTreeMap<(u64, String), usize>,
    /// The fewest levels the sieve's first rung scores, per (seed, objective).
    pub first_rung: BTreeMap<(u64, String), usize>,
    pub heldout_tokens: BTreeMap<String, usize>,
    /// Seconds to prepare each objective (read, sample, tokenise), per group, as measured.
    pub build_seconds: BTreeMap<(u64, String), f64>,
    pub heldout_build_seconds: BTreeMap<String, f64>,
}

/// Builds every objective of `suite` for `model` (tokenised with `model`'s tokenizer) and
/// records its tokens; `n_blocks` is the model's unless assumed.
pub fn model_facts(
    suite: &Suite,
    model_id: &str,
    model: &dyn Tokenization,
    n_blocks: usize,
    data_dir: &Path,
) -> Result<ModelFacts> {
    let mut facts = ModelFacts {
        n_blocks,
        tokens: BTreeMap::new(),
        batches: BTreeMap::new(),
        first_rung: BTreeMap::new(),
        heldout_tokens: BTreeMap::new(),
        build_seconds: BTreeMap::new(),
        heldout_build_seconds: BTreeMap::new(),
    };
    let tokens_of = |spec: &ObjectiveSpec, rungs| -> Result<(usize, usize, usize, f64)> {
        let started = Instant::now();
        let objective = spec.build_with(model, data_dir, rungs)?;
        let workload = objective.workload();
        Ok((
            workload.n_tokens(),
            workload.batches.len(),
            workload.first_rung,
            started.elapsed().as_secs_f64(),
        ))
    };
    for &seed in &suite.seeds {
        for name in suite.objectives.keys() {
            let (tokens, batches, first, seconds) =
                tokens_of(&suite.objective_for(name, model_id, seed), suite.rungs)
                    .with_context(|| format!("objective '{name}', seed {seed}"))?;
            facts.tokens.insert((seed, name.clone()), tokens);
            facts.batches.insert((seed, name.clone()), batches);
            facts.first_rung.insert((seed, name.clone()), first);
            facts.build_seconds.insert((seed, name.clone()), seconds);
        }
    }
    for (name, spec) in &suite.heldout {
        let (tokens, _, _, seconds) = tokens_of(spec, crate::objective::Rungs::Batches)
            .with_context(|| format!("held-out outcome '{name}'"))?;
        facts.heldout_tokens.insert(name.clone(), tokens);
        facts.heldout_build_seconds.insert(name.clone(), seconds);
    }
    Ok(facts)
}

/// The work of each group of `model_id` (in [`all_groups`] order): block-token evaluations,
/// its searches' estimate plus the scoring of chosen sets (other objectives, held-out).
pub fn group_work(suite: &Suite, model_id: &str, facts: &ModelFacts) -> Result<Vec<f64>> {
    let count = evaluation_count(suite, model_id, facts.n_blocks)?;
    let heldout: usize = facts.heldout_tokens.values().sum();
    Ok(all_groups(suite)
        .into_iter()
        .filter(|g| g.model == model_id)
        .map(|g| {
            let key = (g.seed, g.objective.clone());
            let tokens = facts.tokens[&key];
            let searched = count.sieved_estimate(facts.batches[&key], facts.first_rung[&key]);
            let evals = (searched + count.cross_scoring as f64) * tokens as f64
                + (suite.searchers.len() * heldout) as f64;
            evals * facts.n_blocks as f64
        })
        .collect())
}

/// Every group's work, reading each model's tokenizer in turn, not its weights (what
/// `run --shard` balances by).
pub fn suite_work(suite: &Suite, data_dir: &Path) -> Result<Vec<f64>> {
    let mut work = Vec::new();
    for model_id in &suite.models {
        let vocabulary = crate::load::open_vocabulary(model_id)?;
        let facts = model_facts(suite, model_id, &vocabulary, vocabulary.n_blocks, data_dir)?;
        work.extend(group_work(suite, model_id, &facts)?);
    }
    Ok(work)
}

fn load_options(suite: &Suite) -> LoadOptions {
    LoadOptions {
        layer_types: suite.layer_types,
        device: suite.device,
        dtype: suite.dtype,
    }
}

/// A per-token cost: blocks (per block) and head, by objective (the head runs on the scored
/// rows only, so its share depends on the objective).
#[derive(Debug, Clone, Serialize)]
pub struct TokenCost {
    /// `measured` or `given`.
    pub source: String,
    pub block_seconds_per_token: f64,
    /// Head seconds per token of each objective (by suite name; held-out as `heldout:<name>`).
    pub head_seconds_per_token: BTreeMap<String, f64>,
}

impl TokenCost {
    fn head(&self, objective: &str) -> f64 {
        self.head_seconds_per_token
            .get(objective)
            .copied()
            .unwrap_or(0.0)
    }
}

/// Times a forward of `workload`'s first batches (at least `cap` tokens, or all) through every
/// block and then the head: the median of at least five passes (after a warm-up one) and of
/// as many as fit in about two seconds, because one short pass on a shared machine can be
/// several times slower or faster than what a long run sees.
fn measure(model: &Model, workload: &Workload, cap: usize) -> Result<(f64, f64)> {
    let mut batches = Vec::new();
    let mut tokens = 0;
    for b in &workload.batches {
        batches.push(b);
        tokens += b.layout.batch() * b.layout.seq();
        if tokens >= cap {
            break;
        }
    }
    if tokens == 0 {
        bail!("the objective has no tokens to measure");
    }
    let n = model.n_blocks();
    let (mut blocks, mut head) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for pass in 0.. {
        if pass > 5 && started.elapsed().as_secs_f64() > 2.0 {
            break;
        }
        let (mut tb, mut th) = (0.0, 0.0);
        let mut sums = vec![0.0; workload.n_items];
        for b in &batches {
            let started = Instant::now();
            let mut x = model.embed(&b.tokens)?;
            for i in 0..n {
                x = model.run_block(i, i, &x, &b.layout)?;
            }
            x.device().synchronize()?;
            tb += started.elapsed().as_secs_f64();
            let started = Instant::now();
            b.accumulate(model, &x, &mut sums)?;
            th += started.elapsed().as_secs_f64();
        }
        if pass > 0 {
            blocks.push(tb);
            head.push(th);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((
        median(blocks) / (n * tokens) as f64,
        median(head) / tokens as f64,
    ))
}

/// One group's line of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct GroupPlan {
    pub model: String,
    pub seed: u64,
    pub objective: String,
    pub tokens_per_evaluation: usize,
    /// The objective's batches: the sieve's fidelity levels.
    pub batches: usize,
    pub evaluations: EvaluationCount,
    /// `evaluations.estimate` in full evaluations once the sieve screens greedy's and beam's
    /// steps (equal to it when the suite turns the sieve off or the objective is one batch).
    pub sieved_estimate: f64,
    pub work: f64,
    pub estimated_seconds: f64,
    pub shard: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelPlan {
    pub model: String,
    pub n_blocks: usize,
    pub k: usize,
    /// `opened`, or `assumed` (`--blocks`; tokens counted with the proxy's tokenizer).
    pub facts: String,
    /// Measured load time (0 when not opened).
    pub load_seconds: f64,
    pub cost: TokenCost,
    /// Seconds per token of a full forward (every block and the head), first objective.
    pub full_forward_seconds_per_token: f64,
    /// Seconds per token of an evaluation: the blocks it runs on average and the head, first
    /// objective (the table's `s/token`).
    pub evaluation_seconds_per_token: f64,
    /// Held-out scoring of this model's chosen sets, and preparing those objectives, per shard
    /// that runs any of its groups.
    pub heldout_seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShardPlan {
    pub shard: usize,
    pub groups: usize,
    pub models: Vec<String>,
    pub estimated_seconds: f64,
}

/// The plan: per model, per group, per shard, and the totals.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub suite: String,
    pub device: String,
    pub shards: usize,
    /// Fraction of the blocks an evaluation is assumed to run (before the head).
    pub blocks_run_fraction: BTreeMap<String, f64>,
    pub models: Vec<ModelPlan>,
    pub groups: Vec<GroupPlan>,
    pub shard_plans: Vec<ShardPlan>,
    /// Sum over shards: the device time the whole suite takes.
    pub total_seconds: f64,
    pub device_hours: f64,
    /// The longest shard: the wall time with one device per shard.
    pub wall_seconds: f64,
    pub notes: Vec<String>,
}

/// Parses `--cost` values: `S` (every model) or `MODEL=S`, seconds per token of a full forward.
pub fn parse_costs(values: &[String]) -> Result<BTreeMap<String, f64>> {
    let mut costs = BTreeMap::new();
    for v in values {
        let (model, s) = match v.rsplit_once('=') {
            Some((m, s)) => (m.to_string(), s),
            None => ("*".to_string(), v.as_str()),
        };
        let seconds: f64 = s
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite() && *x > 0.0)
            .with_context(|| {
                format!("--cost '{v}': expected seconds per token (e.g. 2e-5) or MODEL=SECONDS")
            })?;
        costs.insert(model, seconds);
    }
    Ok(costs)
}

/// Parses `--blocks MODEL=N`.
pub fn parse_blocks(values: &[String]) -> Result<BTreeMap<String, usize>> {
    values
        .iter()
        .map(|v| {
            let (m, n) = v.rsplit_once('=').with_context(|| {
                format!("--blocks '{v}': expected MODEL=N, e.g. hf:Qwen/Qwen3-8B=36")
            })?;
            let n: usize = n
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .with_context(|| format!("--blocks '{v}': N must be a positive number"))?;
            Ok((m.to_string(), n))
        })
        .collect()
}

/// Plans `suite`: opens each model (or assumes its block count), counts, measures, assigns.
pub fn plan(suite: &Suite, options: &PlanOptions) -> Result<Plan> {
    if options.shards == 0 {
        bail!("--shards must be at least 1");
    }
    for m in options.assumed_blocks.keys() {
        if !suite.models.contains(m) {
            bail!(
                "--blocks names '{m}', which is not among the suite's models: {}",
                suite.models.join(", ")
            );
        }
    }
    for m in options.costs.keys().filter(|m| *m != "*") {
        if !suite.models.contains(m) {
            bail!(
                "--cost names '{m}', which is not among the suite's models: {}",
                suite.models.join(", ")
            );
        }
    }
    // Fail before any model is loaded when an assumed model has no cost.
    for m in options.assumed_blocks.keys() {
        if !options.costs.contains_key(m) && !options.costs.contains_key("*") {
            bail!("'{m}' is not opened (--blocks), so its cost cannot be measured: give it with --cost {m}=SECONDS_PER_TOKEN (or --cost SECONDS for every model)");
        }
    }
    let ratio = |n_blocks: usize, k: usize| {
        if options.prefix_cache {
            0.5
        } else {
            (n_blocks - k) as f64 / n_blocks as f64
        }
    };
    let mut proxy: Option<Vocabulary> = None;
    let mut models = Vec::new();
    let mut all_facts = Vec::new();
    let mut notes = Vec::new();
    for entry in &suite.searchers {
        if entry.params.screening().is_some() && entry.compute.is_none() {
            notes.push(format!(
                "{} screens under a budget in evaluations: charged as if every proposal were scored in full (an upper bound); give it `compute:` for an exact charge",
                entry.name
            ));
        }
    }
    if suite.rungs == crate::objective::Rungs::Fine {
        notes.push("rungs: fine: greedy's and beam's steps are charged the levels successive halving computes over pairs of questions (or windows)".to_string());
    }
    let progress = Progress::new(
        "plan",
        Some(suite.models.len() as u64),
        "models",
        options.quiet,
    );
    for model_id in &suite.models {
        progress.set_message(format!("{model_id}: counting tokens, measuring the cost"));
        let given = options
            .costs
            .get(model_id)
            .or_else(|| options.costs.get("*"))
            .copied();
        let (facts, load_seconds, cost, how) = if let Some(&n_blocks) =
            options.assumed_blocks.get(model_id)
        {
            if proxy.is_none() {
                // Only its tokenizer is used.
                proxy = Some(
                    crate::load::open_vocabulary(&options.token_proxy).with_context(|| {
                        format!("the token proxy '{}' (--token-proxy)", options.token_proxy)
                    })?,
                );
            }
            let p = proxy.as_ref().expect("just opened");
            let facts = model_facts(suite, model_id, p, n_blocks, &options.data_dir)?;
            let c = given.expect("checked above");
            notes.push(format!(
                "{model_id}: {n_blocks} blocks assumed (--blocks); tokens counted with {}'s tokenizer; the shards `run --shard` deals from the real tokenizer may differ",
                options.token_proxy
            ));
            (facts, 0.0, given_cost(c, n_blocks), "assumed".to_string())
        } else {
            let started = Instant::now();
            let model = crate::load::open_model(model_id, &load_options(suite))?;
            let load_seconds = started.elapsed().as_secs_f64();
            let n_blocks = model.n_blocks();
            let facts = model_facts(suite, model_id, &model, n_blocks, &options.data_dir)?;
            let cost = match given {
                Some(c) => given_cost(c, n_blocks),
                None => {
                    let seed = suite.seeds[0];
                    let mut cost = TokenCost {
                        source: "measured".into(),
                        block_seconds_per_token: f64::INFINITY,
                        head_seconds_per_token: BTreeMap::new(),
                    };
                    let specs = suite
                        .objectives
                        .keys()
                        .map(|name| (name.clone(), suite.objective_for(name, model_id, seed)))
                        .chain(
                            suite
                                .heldout
                                .iter()
                                .map(|(name, spec)| (format!("heldout:{name}"), spec.clone())),
                        );
                    for (name, spec) in specs {
                        let objective = spec.build_with(&model, &options.data_dir, suite.rungs)?;
                        let (b, h) = measure(&model, objective.workload(), options.measure_tokens)
                            .with_context(|| format!("measuring {model_id} on '{name}'"))?;
                        cost.block_seconds_per_token = cost.block_seconds_per_token.min(b);
                        cost.head_seconds_per_token.insert(name, h);
                    }
                    cost
                }
            };
            (facts, load_seconds, cost, "opened".to_string())
        };
        let k = suite.k[model_id].resolve(facts.n_blocks);
        let first = suite.objectives.keys().next().expect("checked suite");
        let blocks = facts.n_blocks as f64 * cost.block_seconds_per_token;
        let per_token = ratio(facts.n_blocks, k) * blocks + cost.head(first);
        let full = blocks + cost.head(first);
        progress.inc(1);
        models.push(ModelPlan {
            model: model_id.clone(),
            n_blocks: facts.n_blocks,
            k,
            facts: how,
            load_seconds,
            cost,
            full_forward_seconds_per_token: full,
            evaluation_seconds_per_token: per_token,
            heldout_seconds: 0.0,
        });
        all_facts.push(facts);
    }

    // Work (machine-independent) decides the shards; cost turns work into seconds.
    let mut work = Vec::new();
    for (m, facts) in models.iter().zip(&all_facts) {
        work.extend(group_work(suite, &m.model, facts)?);
    }
    let bins = assign(&work, options.shards);
    let mut groups = Vec::new();
    for ((g, w), shard) in all_groups(suite).into_iter().zip(&work).zip(&bins) {
        let at = suite
            .models
            .iter()
            .position(|m| *m == g.model)
            .expect("a suite model");
        let (m, facts) = (&models[at], &all_facts[at]);
        let count = evaluation_count(suite, &g.model, facts.n_blocks)?;
        let seconds = group_seconds(suite, &g, m, facts, &count, ratio(m.n_blocks, m.k));
        let key = (g.seed, g.objective.clone());
        groups.push(GroupPlan {
            tokens_per_evaluation: facts.tokens[&key],
            batches: facts.batches[&key],
            sieved_estimate: count.sieved_estimate(facts.batches[&key], facts.first_rung[&key]),
            model: g.model,
            seed: g.seed,
            objective: g.objective,
            evaluations: count,
            work: *w,
            estimated_seconds: seconds,
            shard: *shard,
        });
    }
    // Held-out scoring: every run's set under each outcome, in the shard that ran the run.
    for (m, facts) in models.iter_mut().zip(&all_facts) {
        let per_eval: f64 = facts
            .heldout_tokens
            .iter()
            .map(|(name, &t)| {
                t as f64
                    * (ratio(m.n_blocks, m.k) * m.n_blocks as f64 * m.cost.block_seconds_per_token
                        + m.cost.head(&format!("heldout:{name}")))
            })
            .sum();
        m.heldout_seconds = per_eval * suite.searchers.len() as f64;
    }
    let mut shard_plans: Vec<ShardPlan> = (0..options.shards)
        .map(|shard| ShardPlan {
            shard,
            groups: 0,
            models: Vec::new(),
            estimated_seconds: 0.0,
        })
        .collect();
    for g in &mut groups {
        let at = suite
            .models
            .iter()
            .position(|m| *m == g.model)
            .expect("a suite model");
        let m = &models[at];
        // Each run's chosen set on every held-out outcome.
        g.estimated_seconds += m.heldout_seconds;
        let s = &mut shard_plans[g.shard];
        s.groups += 1;
        s.estimated_seconds += g.estimated_seconds;
        if !s.models.contains(&g.model) {
            s.models.push(g.model.clone());
            // Each shard loads each of its models once and prepares the held-out outcomes.
            s.estimated_seconds +=
                m.load_seconds + all_facts[at].heldout_build_seconds.values().sum::<f64>();
        }
    }
    let total_seconds: f64 = shard_plans.iter().map(|s| s.estimated_seconds).sum();
    let wall_seconds = shard_plans
        .iter()
        .map(|s| s.estimated_seconds)
        .fold(0.0, f64::max);
    let blocks_run_fraction = models
        .iter()
        .map(|m| (m.model.clone(), ratio(m.n_blocks, m.k)))
        .collect();
    Ok(Plan {
        suite: suite.name.clone(),
        device: String::from(suite.device),
        shards: options.shards,
        blocks_run_fraction,
        models,
        groups,
        shard_plans,
        total_seconds,
        device_hours: total_seconds / 3600.0,
        wall_seconds,
        notes,
    })
}

fn given_cost(seconds_per_token: f64, n_blocks: usize) -> TokenCost {
    // A full forward's cost spread over the blocks; the head's share is not known apart.
    TokenCost {
        source: "given".into(),
        block_seconds_per_token: seconds_per_token / n_blocks as f64,
        head_seconds_per_token: BTreeMap::new(),
    }
}

/// A group's seconds: its objective prepared (once for its searches, once more for each other
/// objective's sets it scores), its evaluations (estimate) and the cross-objective scoring at
/// the measured cost, and block influence's forward when the suite has it.
fn group_seconds(
    suite: &Suite,
    g: &GroupKey,
    m: &ModelPlan,
    facts: &ModelFacts,
    count: &EvaluationCount,
    ratio: f64,
) -> f64 {
    let key = (g.seed, g.objective.clone());
    let tokens = facts.tokens[&key] as f64;
    let block = m.cost.block_seconds_per_token * m.n_blocks as f64;
    let per_eval = tokens * (ratio * block + m.cost.head(&g.objective));
    let builds = facts.build_seconds[&key] * if suite.objectives.len() > 1 { 2.0 } else { 1.0 };
    // Each baseline's measurement is one forward of every block over the calibration tokens.
    let measurements = suite
        .searchers
        .iter()
        .filter(|s| s.name.measure().is_some())
        .count();
    let influence = measurements as f64 * tokens * block;
    let searched = count.sieved_estimate(facts.batches[&key], facts.first_rung[&key]);
    builds + (searched + count.cross_scoring as f64) * per_eval + influence
}

/// The plan as tables: per (model, objective) over its seeds, per shard, and the totals.
pub fn plan_table(plan: &Plan) -> String {
    use tabled::{builder::Builder, settings::Style};
    let mut b = Builder::default();
    b.push_record([
        "model",
        "blocks",
        "k",
        "objective",
        "groups",
        "tokens/eval",
        "evals/group (bound)",
        "evals/group (est.)",
        "batches",
        "est., sieved",
        "s/token (eval)",
        "cost",
        "h/group",
        "h total",
    ]);
    let mut seen = Vec::new();
    for g in &plan.groups {
        if seen.contains(&(g.model.clone(), g.objective.clone())) {
            continue;
        }
        seen.push((g.model.clone(), g.objective.clone()));
        let these: Vec<&GroupPlan> = plan
            .groups
            .iter()
            .filter(|x| x.model == g.model && x.objective == g.objective)
            .collect();
        let m = plan
            .models
            .iter()
            .find(|m| m.model == g.model)
            .expect("model");
        let hours: f64 = these.iter().map(|x| x.estimated_seconds).sum::<f64>() / 3600.0;
        let tokens = these.iter().map(|x| x.tokens_per_evaluation).sum::<usize>() / these.len();
        b.push_record([
            g.model.clone(),
            m.n_blocks.to_string(),
            m.k.to_string(),
            g.objective.clone(),
            these.len().to_string(),
            tokens.to_string(),
            (g.evaluations.bound + g.evaluations.cross_scoring).to_string(),
            (g.evaluations.estimate + g.evaluations.cross_scoring).to_string(),
            g.batches.to_string(),
            format!(
                "{:.0}",
                these
                    .iter()
                    .map(|x| x.sieved_estimate + x.evaluations.cross_scoring as f64)
                    .sum::<f64>()
                    / these.len() as f64
            ),
            format!("{:.2e}", m.evaluation_seconds_per_token),
            m.cost.source.clone(),
            format!("{:.2}", hours / these.len() as f64),
            format!("{hours:.2}"),
        ]);
    }
    let mut table = b.build();
    table.with(Style::sharp());
    let mut out = format!("{table}\n");
    let mut b = Builder::default();
    b.push_record(["shard", "groups", "models", "estimated h"]);
    for s in &plan.shard_plans {
        b.push_record([
            s.shard.to_string(),
            s.groups.to_string(),
            s.models.join(", "),
            format!("{:.2}", s.estimated_seconds / 3600.0),
        ]);
    }
    let mut table = b.build();
    table.with(Style::sharp());
    out.push_str(&format!("{table}\n"));
    out.push_str(&format!(
        "{}: {:.2} device-hours in all ({:.0} s) on {}; longest of {} shard(s): {:.2} h\n",
        plan.suite,
        plan.device_hours,
        plan.total_seconds,
        plan.device,
        plan.shards,
        plan.wall_seconds / 3600.0
    ));
    for note in &plan.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// Deals items of the given weights to `shards` bins: heaviest first, each to the lightest bin
/// so far (ties: earlier item, lower bin). Returns each item's bin.
pub fn assign(weights: &[f64], shards: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Stable sort on a total order: equal weights keep declaration order.
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]));
    let mut load = vec![0.0f64; shards.max(1)];
    let mut bin = vec![0; weights.len()];
    for item in order {
        let lightest = (0..load.len())
            .min_by(|&x, &y| load[x].total_cmp(&load[y]))
            .expect("at least one shard");
        bin[item] = lightest;
        load[lightest] += weights[item];
    }
    bin
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(searchers: &str) -> Suite {
        serde_yaml_ng::from_str(&format!(
            "name: t\ndescription: d\nmodels: [m]\nobjectives:\n  ppl: {{kind: perplexity}}\n  acc: {{kind: accuracy}}\nsearchers: {searchers}\nk: {{m: 3}}\nseeds: [0]\n"
        ))
        .unwrap()
    }

    /// The claims suite's searchers on SmolLM2 (30 blocks, ends protected, k = 3).
    #[test]
    fn evaluation_counts_follow_the_budgets_and_the_shared_singles() {
        let s = suite("[{name: one_shot}, {name: greedy}, {name: beam, params: {beam_width: 2}}, {name: evolutionary, budget: 32}, {name: annealing, budget: 32}, {name: random, budget: 32}, {name: local, budget: 32}, {name: block_influence}]");
        let c = evaluation_count(&s, "m", 30).unwrap();
        // one_shot 28 + 1, greedy 28 + 27 + 26, beam 28 + 54 + 52, four budgets of 32, block
        // influence 1, and the curve's full model and singles.
        let searches = 29 + 81 + 134 + 4 * 32 + 1;
        assert_eq!(c.bound, searches + 1 + 28);
        // Shared: greedy's and beam's first rounds, greedy's later rounds (27 + 26) in beam,
        // evolutionary's and local's singles and one-shot's set.
        assert_eq!(c.estimate, searches - 28 - 28 - 53 - 2 * 29 + 1);
        assert_eq!(c.cross_scoring, 8);
        // Without one_shot, the first searcher that needs the singles pays for them.
        let c = evaluation_count(
            &suite("[{name: greedy}, {name: local, budget: 40}]"),
            "m",
            30,
        )
        .unwrap();
        assert_eq!(c.estimate, 81 + 40 - 28 + 1);
    }

    /// Greedy after one-shot, k = 3 of 28 removable blocks: its first round is one-shot's
    /// singles; rounds 2 and 3 (27 and 26 candidates, keep 1) are sieved over 8 batches: 27
    /// stop at levels 1 (18), 2 (6), 4 (1), 8 (2), i.e. 50 levels or 6.25 full evaluations;
    /// 26 at 17, 6, 1, 2, i.e. 49 levels.
    #[test]
    fn the_sieve_charges_greedy_the_levels_its_rungs_compute() {
        let s = suite("[{name: one_shot}, {name: greedy}]");
        let c = evaluation_count(&s, "m", 30).unwrap();
        assert_eq!(c.estimate, 29 + 81 - 28 + 1);
        assert_eq!(c.sieved_estimate(1, 1), c.estimate as f64);
        let sieved = c.estimate as f64 - 27.0 - 26.0 + 50.0 / 8.0 + 49.0 / 8.0;
        assert!((c.sieved_estimate(8, 1) - sieved).abs() < 1e-9, "{c:?}");
        // A suite that turns the sieve off is charged every level.
        let mut off = s.clone();
        off.sieve = false;
        let c = evaluation_count(&off, "m", 30).unwrap();
        assert_eq!(c.sieved_estimate(8, 1), c.estimate as f64);
        // So is a greedy that turns its own sieve off.
        let exact = suite("[{name: one_shot}, {name: greedy, params: {sieve: false}}]");
        let c = evaluation_count(&exact, "m", 30).unwrap();
        assert_eq!(c.sieved_estimate(8, 1), c.estimate as f64);
    }

    /// Fine rungs at 40 questions (20 levels, first rung 3): round 2's 27 candidates stop at
    /// 3 (18), 5 (6), 10 (1) and 20 (2) levels; round 3's 26 at 3 (17), 5 (6), 10 (1), 20 (2).
    #[test]
    fn fine_rungs_charge_from_their_first_rung() {
        let s = suite("[{name: one_shot}, {name: greedy}]");
        let c = evaluation_count(&s, "m", 30).unwrap();
        let levels = |n: f64| n * 3.0 + 6.0 * 5.0 + 10.0 + 2.0 * 20.0;
        let sieved = c.estimate as f64 - 27.0 - 26.0 + (levels(18.0) + levels(17.0)) / 20.0;
        assert!((c.sieved_estimate(20, 3) - sieved).abs() < 1e-9, "{c:?}");
    }

    /// A compute budget is charged in full evaluations, rounded up, screened or not; beside
    /// an evaluation budget it is refused.
    #[test]
    fn a_compute_budget_is_charged_whole() {
        let plain = evaluation_count(&suite("[{name: random, budget: 40}]"), "m", 30).unwrap();
        let screened = evaluation_count(
            &suite("[{name: random, compute: 39.5, params: {screen: true}}]"),
            "m",
            30,
        )
        .unwrap();
        assert_eq!(plain.estimate, screened.estimate);
        let per_model = evaluation_count(
            &suite("[{name: random, compute: {m: 12}, params: {screen: true}}]"),
            "m",
            30,
        )
        .unwrap();
        assert_eq!(per_model.estimate + 28, plain.estimate);
    }

    #[test]
    fn costs_and_blocks_parse() {
        let c = parse_costs(&["2e-5".into(), "hf:a/b=1e-4".into()]).unwrap();
        assert_eq!((c["*"], c["hf:a/b"]), (2e-5, 1e-4));
        assert!(format!("{:#}", parse_costs(&["x".into()]).unwrap_err()).contains("--cost 'x'"));
        assert!(parse_costs(&["-1".into()]).is_err());
        let b = parse_blocks(&["hf:Qwen/Qwen3-8B=36".into()]).unwrap();
        assert_eq!(b["hf:Qwen/Qwen3-8B"], 36);
        assert!(parse_blocks(&["m".into()]).is_err());
        assert!(parse_blocks(&["m=0".into()]).is_err());
    }
}
