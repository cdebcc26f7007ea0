//! [`AccuracyObjective`]: zero-shot multiple-choice accuracy, lm-evaluation-harness style.
//!
//! Each option's score is the summed log-likelihood of its continuation tokens given its
//! context. Context and continuation are tokenised as the harness does: whitespace ending the
//! context moves to the front of the continuation, `context + continuation` is tokenised as one
//! string, and the continuation tokens are those after the length of the context's own
//! tokenisation. The model input is the context's tokens followed by those continuation tokens.
//!
//! The options of a question are packed into one sequence: their common token prefix (the
//! shared context, or WinoGrande's sentence start) runs once and each option's remainder
//! attends only to that prefix and itself (see [`crate::model::Layout`]). The output head runs
//! only at the rows that predict continuation tokens.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::{Evaluation, Objective, ObjectiveSpec, WorkBatch, Workload};
use crate::data::split::{pool, sample, DEFAULT_PARTITION_SEED};
use crate::data::tasks::{load_task, task_order, Doc, LoadedTask, Request, SampleInfo};
use crate::data::{Split, Task, TaskRef};
use crate::model::{Layout, PackedSeq, Tokenization};
use crate::tokenizer::Tokenizer;

/// Packed questions are grouped into batches of at most this many tokens (padding included).
const BATCH_TOKENS: usize = 2048;

/// Which number drives a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum AccMetric {
    /// Macro average over tasks of `acc` (argmax of summed log-likelihood).
    Acc,
    /// Macro average of `acc_norm` (log-likelihood divided by the option's character length);
    /// tasks without `acc_norm` (WinoGrande, BoolQ) contribute `acc`.
    AccNorm,
    /// Continuous: mean over questions of the log-probability of the gold option under a
    /// softmax over the options' scores (normalised scores where the task uses `acc_norm`).
    GoldLogprob,
    /// Continuous: mean over questions of gold score minus the best other option's score.
    Margin,
}

impl AccMetric {
    pub fn name(self) -> &'static str {
        match self {
            Self::Acc => "acc",
            Self::AccNorm => "acc_norm",
            Self::GoldLogprob => "gold_logprob",
            Self::Margin => "margin",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracySpec {
    /// Built-in tasks by name, task files by path (see `data::tasks`).
    #[serde(default = "default_tasks")]
    pub tasks: Vec<TaskRef>,
    /// Questions per task (fewer when the split's pool is smaller).
    #[serde(default = "default_n_per_task")]
    pub n_per_task: usize,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_split")]
    pub split: Split,
    #[serde(default = "default_metric")]
    pub metric: AccMetric,
    #[serde(default = "default_partition_seed")]
    pub partition_seed: u64,
}

fn default_tasks() -> Vec<TaskRef> {
    Task::ALL.map(TaskRef::Builtin).to_vec()
}
fn default_n_per_task() -> usize {
    32
}
fn default_split() -> Split {
    Split::Calibration
}
fn default_metric() -> AccMetric {
    AccMetric::AccNorm
}
fn default_partition_seed() -> u64 {
    DEFAULT_PARTITION_SEED
}

impl Default for AccuracySpec {
    fn default() -> Self {
        Self {
            tasks: default_tasks(),
            n_per_task: default_n_per_task(),
            seed: 0,
            split: default_split(),
            metric: default_metric(),
            partition_seed: default_partition_seed(),
        }
    }
}

/// A question as scored: its task, gold label, and per-option normalising lengths; its options
/// are items `first_item..first_item + n_options`.
#[derive(Debug, Clone)]
pub struct Question {
    /// The task's name (`arc_easy`, or a task file's `task:`).
    pub task: String,
    /// Whether the task scores with normalised log-likelihoods (its `metric_list` has
    /// `acc_norm`); otherwise its `acc_norm` is its `acc`.
    pub acc_norm: bool,
    pub id: String,
    pub label: usize,
    pub norm_lengths: Vec<f64>,
    pub first_item: usize,
    /// The record, its requests and hashes, for per-sample logs.
    pub sample: std::sync::Arc<SampleInfo>,
}

pub struct AccuracyObjective {
    spec: ObjectiveSpec,
    metric: AccMetric,
    questions: Vec<Question>,
    workload: Workload,
}

impl AccuracyObjective {
    /// Cuts the workload fine ([`Workload::refined`]): the same items, more fidelity levels.
    pub fn refine(&mut self) -> Result<()> {
        let empty = Workload {
            batches: vec![],
            n_items: 0,
            first_rung: 1,
            groups: Vec::new(),
        };
        let coarse = std::mem::replace(&mut self.workload, empty);
        self.workload = coarse.refined(crate::workload::FINE_SEQUENCES)?;
        Ok(())
    }

    pub fn new(spec: AccuracySpec, model: &dyn Tokenization, data_dir: &Path) -> Result<Self> {
        if spec.tasks.is_empty() {
            bail!("the accuracy objective needs at least one task");
        }
        // Every task file and record is read and checked before any tokenisation.
        let tasks = spec
            .tasks
            .iter()
            .map(|t| load_task(t, data_dir))
            .collect::<Result<Vec<_>>>()?;
        for (i, t) in tasks.iter().enumerate() {
            if tasks[..i].iter().any(|u| u.name == t.name) {
                bail!(
                    "two tasks are named '{}': their metrics would mix; give one task file \
                     another `task:` name",
                    t.name
                );
            }
        }
        let mut questions = Vec::new();
        let mut sequences = Vec::new();
        let mut n_items = 0;
        for task in &tasks {
            let name = task.name.as_str();
            for r in drawn(task, &spec) {
                let doc = &task.docs[r];
                let options = doc
                    .requests
                    .iter()
                    .map(|req| encode_request(model.tokenizer(), model.bos(), req))
                    .collect::<Result<Vec<_>>>()
                    .map_err(|e| e.context(format!("{name} record {}", doc.id)))?;
                sequences.push(pack_question(&options, n_items));
                questions.push(question(name, task.acc_norm, doc, n_items));
                n_items += options.len();
            }
        }
        let workload = packed_workload(model, sequences, n_items)?;
        let resolved = AccuracySpec {
            tasks: tasks.into_iter().map(|t| t.resolved).collect(),
            ..spec.clone()
        };
        Ok(Self {
            spec: ObjectiveSpec::Accuracy(resolved),
            metric: spec.metric,
            questions,
            workload,
        })
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }
}

/// The records of `task` that `spec` scores (its split's pool, the seed's draw), in order.
pub fn drawn(task: &LoadedTask, spec: &AccuracySpec) -> Vec<usize> {
    let name = task.name.as_str();
    let pool = pool(task.docs.len(), name, spec.partition_seed, spec.split);
    sample(&pool, spec.n_per_task, name, spec.seed)
}

fn question(task: &str, acc_norm: bool, doc: &Doc, first_item: usize) -> Question {
    Question {
        task: task.to_string(),
        acc_norm,
        id: doc.id.clone(),
        label: doc.label,
        norm_lengths: doc.norm_lengths.clone(),
        first_item,
        sample: doc.sample.clone(),
    }
}

/// One option as token ids: the full input and where its continuation starts.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedOption {
    pub tokens: Vec<u32>,
    pub continuation_start: usize,
}

/// The harness's `_encode_pair`, with BOS in front when the model uses one.
pub fn encode_request(
    tokenizer: &Tokenizer,
    bos: Option<u32>,
    req: &Request,
) -> Result<EncodedOption> {
    let trimmed = req.context.trim_end();
    let (context, continuation) = if trimmed.len() < req.context.len() {
        (
            trimmed.to_string(),
            format!("{}{}", &req.context[trimmed.len()..], req.continuation),
        )
    } else {
        (req.context.clone(), req.continuation.clone())
    };
    let whole = tokenizer.encode(&format!("{context}{continuation}"))?;
    let context_ids = tokenizer.encode(&context)?;
    if whole.len() <= context_ids.len() {
        bail!(
            "the continuation {:?} adds no tokens after the context",
            req.continuation
        );
    }
    let mut tokens: Vec<u32> = bos.into_iter().collect();
    tokens.extend(&context_ids);
    let continuation_start = tokens.len();
    if continuation_start == 0 {
        bail!("empty context and no BOS: nothing to condition the first continuation token on");
    }
    tokens.extend(&whole[context_ids.len()..]);
    Ok(EncodedOption {
        tokens,
        continuation_start,
    })
}

/// A question's options packed into one sequence, with the rows to score.
struct PackedQuestion {
    tokens: Vec<u32>,
    layout: PackedSeq,
    /// (packed row, target, item) for every continuation token.
    scored: Vec<(u32, u32, u32)>,
}

fn pack_question(options: &[EncodedOption], first_item: usize) -> PackedQuestion {
    let first = &options[0].tokens;
    let shared = (0..first.len())
        .take_while(|&i| options.iter().all(|o| o.tokens.get(i) == Some(&first[i])))
        .count();
    let mut tokens = first[..shared].to_vec();
    let mut layout = PackedSeq {
        positions: (0..shared as u32).collect(),
        segments: vec![0; shared],
    };
    let mut scored = Vec::new();
    for (k, option) in options.iter().enumerate() {
        let offset = tokens.len();
        tokens.extend(&option.tokens[shared..]);
        layout
            .positions
            .extend(shared as u32..option.tokens.len() as u32);
        layout.segments.extend(std::iter::repeat_n(
            k as u32 + 1,
            option.tokens.len() - shared,
        ));
        // Token p is predicted by the row holding token p - 1: in the shared prefix, or in
        // this option's own stretch.
        for p in option.continuation_start..option.tokens.len() {
            let prev = p - 1;
            let row = if prev < shared {
                prev
            } else {
                offset + prev - shared
            };
            scored.push((row as u32, option.tokens[p], (first_item + k) as u32));
        }
    }
    PackedQuestion {
        tokens,
        layout,
        scored,
    }
}

/// Groups packed questions (sorted by length, to limit padding) into batches.
fn packed_workload(
    model: &dyn Tokenization,
    mut questions: Vec<PackedQuestion>,
    n_items: usize,
) -> Result<Workload> {
    questions.sort_by_key(|q| q.tokens.len());
    let mut batches = Vec::new();
    let mut start = 0;
    while start < questions.len() {
        // Sorted ascending, so the last question of a batch sets its padded length.
        let mut end = start + 1;
        while end < questions.len()
            && (end + 1 - start) * questions[end].tokens.len() <= BATCH_TOKENS
        {
            end += 1;
        }
        let group = &questions[start..end];
        let seq = group.last().map_or(0, |q| q.tokens.len());
        let (mut rows, mut targets, mut items) = (Vec::new(), Vec::new(), Vec::new());
        for (b, q) in group.iter().enumerate() {
            for &(row, target, item) in &q.scored {
                rows.push((b * seq) as u32 + row);
                targets.push(target);
                items.push(item);
            }
        }
        let token_lists: Vec<Vec<u32>> = group.iter().map(|q| q.tokens.clone()).collect();
        let layouts: Vec<PackedSeq> = group.iter().map(|q| q.layout.clone()).collect();
        batches.push(WorkBatch {
            tokens: model.token_tensor(&token_lists)?,
            layout: Layout::packed(&layouts),
            rows,
            targets,
            items,
            reference: None,
        });
        start = end;
    }
    Ok(Workload {
        batches,
        n_items,
        first_rung: 1,
        groups: Vec::new(),
    })
}

/// Per-task and macro-averaged metrics from each option's summed log-likelihood.
pub fn score_questions(questions: &[Question], option_ll: &[f64]) -> BTreeMap<String, f64> {
    #[derive(Default)]
    struct Tally {
        n: usize,
        acc: f64,
        acc_norm: f64,
        gold_logprob: f64,
        margin: f64,
    }
    let mut per_task: BTreeMap<(usize, String), Tally> = BTreeMap::new();
    for q in questions {
        let n = q.norm_lengths.len();
        let ll = &option_ll[q.first_item..q.first_item + n];
        let normed: Vec<f64> = ll
            .iter()
            .zip(&q.norm_lengths)
            .map(|(l, len)| l / len)
            .collect();
        let used: &[f64] = if q.acc_norm { &normed } else { ll };
        let t = per_task.entry(task_order(&q.task)).or_default();
        t.n += 1;
        t.acc += (argmax(ll) == q.label) as u8 as f64;
        t.acc_norm += (argmax(used) == q.label) as u8 as f64;
        t.gold_logprob += used[q.label] - log_sum_exp(used);
        let best_other = (0..n)
            .filter(|&i| i != q.label)
            .map(|i| used[i])
            .fold(f64::NEG_INFINITY, f64::max);
        t.margin += used[q.label] - best_other;
    }
    let mut m = BTreeMap::new();
    let mut macro_avg = [0.0; 4];
    for ((_, task), t) in &per_task {
        let n = t.n as f64;
        let values = [t.acc / n, t.acc_norm / n, t.gold_logprob / n, t.margin / n];
        for (name, v) in ["acc", "acc_norm", "gold_logprob", "margin"]
            .iter()
            .zip(values)
        {
            m.insert(format!("{task}/{name}"), v);
        }
        m.insert(format!("{task}/n"), n);
        for (acc, v) in macro_avg.iter_mut().zip(values) {
            *acc += v / per_task.len() as f64;
        }
    }
    for (name, v) in ["acc", "acc_norm", "gold_logprob", "margin"]
        .iter()
        .zip(macro_avg)
    {
        m.insert(name.to_string(), v);
    }
    m
}

/// The tasks an evaluation's metrics report, in the order of its macro average.
pub fn reported_tasks(metrics: &BTreeMap<String, f64>) -> Vec<String> {
    let mut names: Vec<String> = metrics
        .keys()
        .filter_map(|k| k.strip_suffix("/n"))
        .map(str::to_string)
        .collect();
    names.sort_by_key(|n| task_order(n));
    names
}

/// Index of the first maximum, as `numpy.argmax`.
pub(crate) fn argmax(xs: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best
}

fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    max + xs.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

impl Objective for AccuracyObjective {
    fn spec(&self) -> &ObjectiveSpec {
        &self.spec
    }

    fn workload(&self) -> &Workload {
        &self.workload
    }

    fn samples(&self, item_log_probs: &[f64]) -> Option<Vec<String>> {
        Some(super::samples::sample_lines(
            &self.questions,
            item_log_probs,
        ))
    }

    fn finish(&self, _removed: &[usize], item_log_probs: &[f64]) -> Evaluation {
        let metrics = score_questions(&self.questions, item_log_probs);
        Evaluation {
            value: metrics[self.metric.name()],
            metrics,
        }
    }

    /// The metric over the questions the first `batches` batches score (a question's options
    /// are packed into one sequence, so it lies in one batch).
    fn partial(&self, item_log_probs: &[f64], batches: usize) -> f64 {
        if batches >= self.workload.batches.len() {
            return self.finish(&[], item_log_probs).value;
        }
        let mut covered = vec![false; self.workload.n_items];
        for b in &self.workload.batches[..batches] {
            for &i in &b.items {
                covered[i as usize] = true;
            }
        }
        let questions: Vec<Question> = self
            .questions
            .iter()
            .filter(|q| covered[q.first_item])
            .cloned()
            .collect();
        score_questions(&questions, item_log_probs)[self.metric.name()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(task: Task, label: usize, lens: &[f64], first_item: usize) -> Question {
        Question {
            task: task.to_string(),
            acc_norm: task != Task::Boolq,
            id: String::new(),
            label,
            norm_lengths: lens.to_vec(),
            first_item,
            sample: Default::default(),
        }
    }

    /// Hand-checkable: two ARC questions and one BoolQ question with known log-likelihoods.
    #[test]
    fn acc_and_acc_norm_by_hand() {
        let questions = [
            // acc picks option 0 (-2 > -3): wrong; acc_norm picks 1 (-3/6 = -0.5 > -2/1): right.
            q(Task::ArcEasy, 1, &[1.0, 6.0], 0),
            // both pick option 0: right.
            q(Task::ArcEasy, 0, &[2.0, 2.0], 2),
            // BoolQ has no acc_norm: acc_norm = acc; picks 1 (-1 > -4): right.
            q(Task::Boolq, 1, &[2.0, 3.0], 4),
        ];
        let ll = [-2.0, -3.0, -1.0, -5.0, -4.0, -1.0];
        let m = score_questions(&questions, &ll);
        assert_eq!(m["arc_easy/acc"], 0.5);
        assert_eq!(m["arc_easy/acc_norm"], 1.0);
        assert_eq!(m["boolq/acc"], 1.0);
        assert_eq!(m["boolq/acc_norm"], 1.0);
        assert_eq!(m["acc"], 0.75);
        assert_eq!(m["acc_norm"], 1.0);
        // gold log-prob of BoolQ: -1 - ln(e^-4 + e^-1); margin: -1 - (-4) = 3.
        let expected = -1.0 - ((-4.0f64).exp() + (-1.0f64).exp()).ln();
        assert!((m["boolq/gold_logprob"] - expected).abs() < 1e-12);
        assert_eq!(m["boolq/margin"], 3.0);
        // ARC margins on normalised scores: q1: -0.5 - (-2) = 1.5, q2: -0.5 - (-2.5) = 2.
        assert!((m["arc_easy/margin"] - 1.75).abs() < 1e-12);
    }

    #[test]
    fn ties_go_to_the_first_option() {
        assert_eq!(argmax(&[-1.0, -1.0, -2.0]), 0);
    }

    #[test]
    fn packing_shares_the_common_prefix_and_scores_each_option() {
        let options = vec![
            EncodedOption {
                tokens: vec![1, 2, 3, 10, 11],
                continuation_start: 3,
            },
            EncodedOption {
                tokens: vec![1, 2, 3, 20],
                continuation_start: 3,
            },
        ];
        let p = pack_question(&options, 7);
        assert_eq!(p.tokens, vec![1, 2, 3, 10, 11, 20]);
        assert_eq!(p.layout.positions, vec![0, 1, 2, 3, 4, 3]);
        assert_eq!(p.layout.segments, vec![0, 0, 0, 1, 1, 2]);
        // Option 0: token 10 predicted at row 2 (shared), 11 at row 3; option 1: 20 at row 2.
        assert_eq!(p.scored, vec![(2, 10, 7), (3, 11, 7), (2, 20, 8)]);
    }
}
