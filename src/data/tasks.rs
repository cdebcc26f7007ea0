//! The zero-shot multiple-choice tasks, as lm-evaluation-harness prompts and scores them
//! (`../shared/data/FORMATS.md`).

use std::path::Path;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::read_jsonl;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Task {
    ArcEasy,
    ArcChallenge,
    Hellaswag,
    Piqa,
    Winogrande,
    Boolq,
    Openbookqa,
}

impl Task {
    pub const ALL: [Task; 7] = [
        Task::ArcEasy,
        Task::ArcChallenge,
        Task::Hellaswag,
        Task::Piqa,
        Task::Winogrande,
        Task::Boolq,
        Task::Openbookqa,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::ArcEasy => "arc_easy",
            Self::ArcChallenge => "arc_challenge",
            Self::Hellaswag => "hellaswag",
            Self::Piqa => "piqa",
            Self::Winogrande => "winogrande",
            Self::Boolq => "boolq",
            Self::Openbookqa => "openbookqa",
        }
    }

    fn file(self) -> &'static str {
        match self {
            Self::ArcEasy => "arc_easy/test.jsonl",
            Self::ArcChallenge => "arc_challenge/test.jsonl",
            Self::Hellaswag => "hellaswag/validation.jsonl",
            Self::Piqa => "piqa/validation.jsonl",
            Self::Winogrande => "winogrande/validation.jsonl",
            Self::Boolq => "boolq/validation.jsonl",
            Self::Openbookqa => "openbookqa/test.jsonl",
        }
    }

    /// Whether the harness reports `acc_norm` for this task. WinoGrande and BoolQ report `acc`
    /// only; their `acc_norm` here is their `acc`, as pruning papers tabulate them.
    pub fn has_acc_norm(self) -> bool {
        !matches!(self, Self::Winogrande | Self::Boolq)
    }

    /// The task's records, validated.
    pub fn load(self, data_dir: &Path) -> Result<Vec<McRecord>> {
        let path = data_dir.join(self.file());
        let records: Vec<McRecord> = read_jsonl(&path)?;
        for (i, r) in records.iter().enumerate() {
            let at = || format!("{}:{} (id {})", path.display(), i + 1, r.id);
            if r.choices.len() < 2 {
                bail!("{}: fewer than two choices", at());
            }
            if r.label >= r.choices.len() {
                bail!(
                    "{}: label {} but only {} choices",
                    at(),
                    r.label,
                    r.choices.len()
                );
            }
            if self == Task::Winogrande {
                let ok = r
                    .contexts
                    .as_ref()
                    .is_some_and(|c| c.len() == r.choices.len())
                    && r.continuation.is_some();
                if !ok {
                    bail!(
                        "{}: WinoGrande records need one context per choice and a continuation",
                        at()
                    );
                }
            }
        }
        Ok(records)
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One multiple-choice question in the shared schema.
#[derive(Debug, Clone, Deserialize)]
pub struct McRecord {
    pub id: String,
    pub context: String,
    pub choices: Vec<String>,
    pub label: usize,
    /// WinoGrande: one context per option (partial scoring).
    #[serde(default)]
    pub contexts: Option<Vec<String>>,
    /// WinoGrande: the one continuation scored under every context (leading space included).
    #[serde(default)]
    pub continuation: Option<String>,
}

/// One log-likelihood request: the model's summed log-probability of `continuation` given
/// `context` is the option's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub context: String,
    pub continuation: String,
}

impl McRecord {
    /// The requests for each option, in option order. Ordinary tasks score `" " + choice` after
    /// the shared context; WinoGrande scores the shared continuation after each option's context.
    pub fn requests(&self) -> Vec<Request> {
        match (&self.contexts, &self.continuation) {
            (Some(contexts), Some(continuation)) => contexts
                .iter()
                .map(|c| Request {
                    context: c.clone(),
                    continuation: continuation.clone(),
                })
                .collect(),
            _ => self
                .choices
                .iter()
                .map(|c| Request {
                    context: self.context.clone(),
                    continuation: format!(" {c}"),
                })
                .collect(),
        }
    }

    /// The length `acc_norm` divides by: the option text's length in characters (code points,
    /// as Python's `len`), without the delimiter.
    pub fn norm_lengths(&self) -> Vec<f64> {
        self.choices
            .iter()
            .map(|c| c.chars().count().max(1) as f64)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> McRecord {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn ordinary_requests_put_a_space_before_each_choice() {
        let r =
            record(r#"{"id":"x","context":"Q: 2+2?\nAnswer:","choices":["4","five"],"label":0}"#);
        let reqs = r.requests();
        assert_eq!(
            reqs[1],
            Request {
                context: "Q: 2+2?\nAnswer:".into(),
                continuation: " five".into()
            }
        );
        assert_eq!(r.norm_lengths(), vec![1.0, 4.0]);
    }

    #[test]
    fn winogrande_scores_the_continuation_under_each_context() {
        let r = record(
            r#"{"id":"w","context":"A beat B so _ won.","choices":["A","B"],"label":0,
                "contexts":["A beat B so A","A beat B so B"],"continuation":" won."}"#,
        );
        let reqs = r.requests();
        assert_eq!(reqs[0].context, "A beat B so A");
        assert_eq!(reqs[1].context, "A beat B so B");
        assert!(reqs.iter().all(|q| q.continuation == " won."));
    }
}
