//! Per-sample logs of an accuracy evaluation, shaped as lm-evaluation-harness's
//! `--log_samples` records (one JSON line per question), so a number can be traced to its
//! questions and compared with lm-eval's own logs.
//!
//! lm-eval's fields: `doc_id`, `doc`, `target`, `arguments` (each request's context and
//! continuation), `resps` / `filtered_resps` (each option's `[log-likelihood, is_greedy]`;
//! `is_greedy` is not computed here and is `null`), `filter` (`none`), `metrics`, `doc_hash`,
//! `prompt_hash`, `target_hash`, and each metric (`acc`, and `acc_norm` where the task lists
//! it). Added: `task`, `id` (the record's id), `gold` (the gold option's index), `pred` and
//! `pred_norm` (the options `acc` and `acc_norm` chose), `choices` and `completion_len` (what
//! `acc_norm` divides each log-likelihood by), so acc and acc_norm follow from a record alone.

use serde::Serialize;
use serde_json::Value;

use super::accuracy::{argmax, Question};

#[derive(Serialize)]
struct Record<'a> {
    task: &'a str,
    doc_id: usize,
    id: &'a str,
    doc: &'a Value,
    target: &'a Value,
    arguments: &'a [(String, String)],
    resps: Vec<[(f64, Option<bool>); 1]>,
    filtered_resps: Vec<(f64, Option<bool>)>,
    filter: &'static str,
    metrics: Vec<&'static str>,
    doc_hash: &'a str,
    prompt_hash: &'a str,
    target_hash: &'a str,
    acc: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    acc_norm: Option<f64>,
    gold: usize,
    pred: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pred_norm: Option<usize>,
    choices: &'a [String],
    completion_len: &'a [f64],
}

/// One JSON line per question, in the objective's question order.
pub fn sample_lines(questions: &[Question], option_ll: &[f64]) -> Vec<String> {
    questions
        .iter()
        .map(|q| {
            let ll = &option_ll[q.first_item..q.first_item + q.norm_lengths.len()];
            let normed: Vec<f64> = ll.iter().zip(&q.norm_lengths).map(|(l, n)| l / n).collect();
            let pred = argmax(ll);
            let pred_norm = q.acc_norm.then(|| argmax(&normed));
            let s = &q.sample;
            let record = Record {
                task: &q.task,
                doc_id: s.doc_id,
                id: &q.id,
                doc: &s.doc,
                target: &s.target,
                arguments: &s.arguments,
                resps: ll.iter().map(|&l| [(l, None)]).collect(),
                filtered_resps: ll.iter().map(|&l| (l, None)).collect(),
                filter: "none",
                metrics: if q.acc_norm {
                    vec!["acc", "acc_norm"]
                } else {
                    vec!["acc"]
                },
                doc_hash: &s.doc_hash,
                prompt_hash: &s.prompt_hash,
                target_hash: &s.target_hash,
                acc: (pred == q.label) as u8 as f64,
                acc_norm: pred_norm.map(|p| (p == q.label) as u8 as f64),
                gold: q.label,
                pred,
                pred_norm,
                choices: &s.choices,
                completion_len: &q.norm_lengths,
            };
            serde_json::to_string(&record).expect("sample records serialise")
        })
        .collect()
}
