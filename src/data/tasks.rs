//! Zero-shot multiple-choice tasks as data: YAML task files in the style of
//! lm-evaluation-harness's, read into [`Doc`]s (each option's log-likelihood request, the gold
//! option, the lengths `acc_norm` divides by).
//!
//! The seven built-in tasks are the files in `tasks/` of the repository, compiled into the
//! binary (so it runs from any working directory) and reading the data directory; a user's
//! task is one more file, named by its path. A task file:
//!
//! ```yaml
//! task: my_task                  # name: metric keys (`my_task/acc`), sampling labels
//! dataset_path: my_task.jsonl    # JSONL, one record per line; relative to the task file
//!                                # (built-in tasks: relative to the data directory)
//! doc_id: id                     # optional: the field naming a record [default: its line]
//! doc_to_text: "Question: {{question}}\nAnswer:"   # the context (template or field)
//! doc_to_choice: choices         # a field holding the option texts, or a list of texts
//!                                # (templates: `["no", "yes"]`, `["{{sol1}}", "{{sol2}}"]`)
//! doc_to_target: label           # the field with the gold option: its index from 0, or its text
//! target_delimiter: " "          # put before every continuation [default " "]
//! metric_list: [acc, acc_norm]   # acc_norm: the task's normalised scores are its `acc_norm`
//! num_fewshot: 0                 # zero-shot only
//! ```
//!
//! Partial scoring (WinoGrande): `doc_to_contexts` (one context per option: a list field or a
//! list of templates) replaces `doc_to_text`, and `doc_to_continuation` is the one continuation
//! scored after each of them; `doc_to_choice` still gives the option texts (for `acc_norm`).
//! Templates are described in [`super::template`].

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::template::{FieldPath, Template};

/// The built-in tasks, in the order their metrics are averaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The task file shipped in `tasks/`.
    pub fn yaml(self) -> &'static str {
        match self {
            Self::ArcEasy => include_str!("../../tasks/arc_easy.yaml"),
            Self::ArcChallenge => include_str!("../../tasks/arc_challenge.yaml"),
            Self::Hellaswag => include_str!("../../tasks/hellaswag.yaml"),
            Self::Piqa => include_str!("../../tasks/piqa.yaml"),
            Self::Winogrande => include_str!("../../tasks/winogrande.yaml"),
            Self::Boolq => include_str!("../../tasks/boolq.yaml"),
            Self::Openbookqa => include_str!("../../tasks/openbookqa.yaml"),
        }
    }

    /// The task's records (the data directory holds their files).
    pub fn load(self, data_dir: &Path) -> Result<Vec<Doc>> {
        Ok(load_task(&TaskRef::Builtin(self), data_dir)?.docs)
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where metrics of the task named `name` come in averages and tables: built-in tasks in their
/// order, then other tasks by name. (Macro averages are summed in this order; it is the order
/// the built-in tasks always had, so their averages stay bit for bit what they were.)
pub fn task_order(name: &str) -> (usize, String) {
    let builtin = Task::from_name(name).map_or(Task::ALL.len(), |t| t as usize);
    (builtin, name.to_string())
}

/// A task as an objective names it: a built-in one, or a task file.
///
/// Serialised as the built-in's name (as before task files existed, so existing store keys
/// stay valid) or as `{file, sha256}`; in store keys a file counts by its sha256 (with its
/// data file's), not by its path.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskRef {
    Builtin(Task),
    File(TaskFile),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFile {
    #[serde(default, skip_serializing_if = "super::path_is_empty")]
    pub file: PathBuf,
    /// Of the task file followed by its data file; set when the task is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl From<Task> for TaskRef {
    fn from(t: Task) -> Self {
        TaskRef::Builtin(t)
    }
}

impl FromStr for TaskRef {
    type Err = anyhow::Error;

    /// A built-in task's name, or the path of a task file (`.yaml` / `.yml`).
    fn from_str(s: &str) -> Result<Self> {
        if let Some(t) = Task::from_name(s) {
            return Ok(TaskRef::Builtin(t));
        }
        let path = Path::new(s);
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            return Ok(TaskRef::File(TaskFile {
                file: path.to_path_buf(),
                sha256: None,
            }));
        }
        let names: Vec<&str> = Task::ALL.iter().map(|t| t.name()).collect();
        bail!(
            "unknown task '{s}': the built-in tasks are {}; a task file is a path ending in .yaml",
            names.join(", ")
        )
    }
}

impl Serialize for TaskRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            TaskRef::Builtin(t) => s.serialize_str(t.name()),
            TaskRef::File(f) => f.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for TaskRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Name(String),
            File(TaskFile),
        }
        // An untagged mismatch would only say "did not match any variant": say what is allowed.
        let form = Form::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "a task is a built-in name (arc_easy, ...), the path of a .yaml task file, or \
                 {file: PATH, sha256: HEX}",
            )
        })?;
        match form {
            Form::Name(s) => s.parse().map_err(serde::de::Error::custom),
            Form::File(f) => Ok(TaskRef::File(f)),
        }
    }
}

impl TaskRef {
    /// A relative task file is taken relative to `base` (a suite's folder).
    pub fn rebase(&mut self, base: &Path) {
        if let TaskRef::File(f) = self {
            if f.file.is_relative() {
                f.file = base.join(&f.file);
            }
        }
    }

    /// The form store keys hash: a loaded task file by its digest alone.
    pub fn identity(&self) -> Self {
        match self {
            TaskRef::File(TaskFile {
                sha256: Some(h), ..
            }) => TaskRef::File(TaskFile {
                file: PathBuf::new(),
                sha256: Some(h.clone()),
            }),
            other => other.clone(),
        }
    }
}

/// One log-likelihood request: the model's summed log-probability of `continuation` given
/// `context` is the option's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub context: String,
    pub continuation: String,
}

/// One question as scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    pub id: String,
    /// The gold option, from 0.
    pub label: usize,
    /// One request per option, in option order.
    pub requests: Vec<Request>,
    /// What `acc_norm` divides each option's log-likelihood by: the option text's length in
    /// characters (code points, as Python's `len`), without the delimiter.
    pub norm_lengths: Vec<f64>,
}

/// A task file, read and checked, with its records.
#[derive(Debug)]
pub struct LoadedTask {
    pub name: String,
    /// Whether the task's `acc_norm` (and the continuous metrics) use normalised scores.
    pub acc_norm: bool,
    pub docs: Vec<Doc>,
    /// The reference with a task file's sha256 filled in.
    pub resolved: TaskRef,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskConfig {
    task: String,
    dataset_path: String,
    #[serde(default)]
    output_type: Option<String>,
    #[serde(default)]
    doc_id: Option<String>,
    #[serde(default)]
    doc_to_text: Option<String>,
    doc_to_choice: OneOrList,
    doc_to_target: String,
    #[serde(default)]
    doc_to_contexts: Option<OneOrList>,
    #[serde(default)]
    doc_to_continuation: Option<String>,
    #[serde(default = "default_delimiter")]
    target_delimiter: String,
    #[serde(default = "default_metrics")]
    metric_list: Vec<MetricEntry>,
    #[serde(default)]
    num_fewshot: u64,
}

fn default_delimiter() -> String {
    " ".to_string()
}

fn default_metrics() -> Vec<MetricEntry> {
    vec![MetricEntry::Name("acc".into())]
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrList {
    One(String),
    List(Vec<String>),
}

/// `acc`, or the harness's `{metric: acc, aggregation: mean, higher_is_better: true}` (the
/// aggregation is always the mean here).
#[derive(Deserialize)]
#[serde(untagged)]
enum MetricEntry {
    Name(String),
    Entry { metric: String },
}

/// A list of strings per record: a field holding a list, or a list of templates.
enum Choices {
    Field(FieldPath),
    Templates(Vec<Template>),
}

impl Choices {
    fn strings(&self, record: &Value) -> Result<Vec<String>> {
        match self {
            Choices::Field(path) => match path.get(record)? {
                Value::Array(items) => items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
                        _ => bail!("field `{path}` holds something other than text"),
                    })
                    .collect(),
                _ => bail!("field `{path}` is not a list"),
            },
            Choices::Templates(ts) => ts.iter().map(|t| t.render(record)).collect(),
        }
    }
}

enum Prompt {
    /// One context for every option; option i continues with delimiter + choice i.
    Shared(Template),
    /// One context per option, one continuation (delimiter + it) scored after each.
    Partial {
        contexts: Choices,
        continuation: Template,
    },
}

/// The checked form of a task file.
struct TaskDef {
    name: String,
    /// The task file, for messages (`tasks/arc_easy.yaml (built in)` or its path).
    origin: String,
    yaml: String,
    data_path: PathBuf,
    /// Where `dataset_path` is taken from, for messages.
    data_hint: String,
    doc_id: Option<FieldPath>,
    prompt: Prompt,
    choices: Choices,
    target: FieldPath,
    delimiter: String,
    acc_norm: bool,
}

/// Reads `task` (built in, or a file), checks it, and reads and checks every record of its
/// data, before any model work. Errors name the task file and line, or the data file and line,
/// and what to change.
pub fn load_task(task: &TaskRef, data_dir: &Path) -> Result<LoadedTask> {
    let (yaml, origin, base, data_hint) = match task {
        TaskRef::Builtin(t) => (
            t.yaml().to_string(),
            format!("tasks/{}.yaml (built in)", t.name()),
            data_dir.to_path_buf(),
            format!(
                "relative to the data directory {}: is it complete? (pass --data-dir)",
                data_dir.display()
            ),
        ),
        TaskRef::File(f) => {
            let yaml = std::fs::read_to_string(&f.file).with_context(|| {
                format!(
                    "cannot read task file {}: a task is a built-in name or the path of a \
                     .yaml task file",
                    f.file.display()
                )
            })?;
            let base = f.file.parent().map_or_else(PathBuf::new, Path::to_path_buf);
            (
                yaml,
                f.file.display().to_string(),
                base,
                "relative to the task file's folder".to_string(),
            )
        }
    };
    let def = TaskDef::parse(yaml, origin, &base, data_hint)?;
    let data = std::fs::read(&def.data_path).with_context(|| {
        format!(
            "{}: cannot read dataset_path {} ({})",
            def.at("dataset_path"),
            def.data_path.display(),
            def.data_hint
        )
    })?;
    let docs = def.read_docs(&data)?;
    let resolved = match task {
        TaskRef::Builtin(t) => TaskRef::Builtin(*t),
        TaskRef::File(f) => {
            let mut h = Sha256::new();
            h.update(def.yaml.as_bytes());
            h.update(&data);
            let digest = h.finalize();
            TaskRef::File(TaskFile {
                file: f.file.clone(),
                sha256: Some(digest.iter().map(|b| format!("{b:02x}")).collect()),
            })
        }
    };
    Ok(LoadedTask {
        name: def.name,
        acc_norm: def.acc_norm,
        docs,
        resolved,
    })
}

impl TaskDef {
    fn parse(yaml: String, origin: String, base: &Path, data_hint: String) -> Result<Self> {
        let config: TaskConfig =
            serde_yaml_ng::from_str(&yaml).map_err(|e| super::yaml_error(&origin, &e))?;
        let mut def = Self {
            name: config.task.clone(),
            origin,
            yaml,
            data_path: base.join(&config.dataset_path),
            data_hint,
            doc_id: None,
            prompt: Prompt::Shared(Template::parse("").expect("empty template")),
            choices: Choices::Templates(Vec::new()),
            target: FieldPath::parse("label").expect("a field name"),
            delimiter: config.target_delimiter.clone(),
            acc_norm: false,
        };
        let name_ok = !def.name.is_empty()
            && def
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            bail!(
                "{}: task name '{}' must be letters, digits, `_` or `-` (it names metrics such \
                 as `{0}/acc`)",
                def.at("task"),
                def.name
            );
        }
        if let Some(kind) = &config.output_type {
            if kind != "multiple_choice" {
                bail!(
                    "{}: output_type '{kind}' is not scored here: only multiple_choice tasks \
                     (remove output_type or set it to multiple_choice)",
                    def.at("output_type")
                );
            }
        }
        if config.num_fewshot != 0 {
            bail!(
                "{}: few-shot prompts are not supported (the study is zero-shot): set \
                 num_fewshot: 0 or remove it",
                def.at("num_fewshot")
            );
        }
        for m in &config.metric_list {
            let name = match m {
                MetricEntry::Name(n) | MetricEntry::Entry { metric: n } => n.as_str(),
            };
            match name {
                "acc" => {}
                "acc_norm" => def.acc_norm = true,
                other => bail!(
                    "{}: unknown metric '{other}': metric_list takes acc and acc_norm",
                    def.at("metric_list")
                ),
            }
        }
        if let Some(id) = &config.doc_id {
            def.doc_id = Some(def.field("doc_id", id)?);
        }
        def.target = def.field("doc_to_target", &config.doc_to_target)?;
        def.choices = def.choices("doc_to_choice", &config.doc_to_choice)?;
        def.prompt = match (
            &config.doc_to_text,
            &config.doc_to_contexts,
            &config.doc_to_continuation,
        ) {
            (Some(text), None, None) => Prompt::Shared(def.template("doc_to_text", text)?),
            (None, Some(contexts), Some(continuation)) => Prompt::Partial {
                contexts: def.choices("doc_to_contexts", contexts)?,
                continuation: def.template("doc_to_continuation", continuation)?,
            },
            (Some(_), Some(_), _) => bail!(
                "{}: doc_to_text and doc_to_contexts exclude each other: doc_to_text is the one \
                 context of every option, doc_to_contexts one context per option (partial \
                 scoring); keep one",
                def.at("doc_to_contexts")
            ),
            (None, Some(_), None) => bail!(
                "{}: partial scoring needs doc_to_continuation, the text scored after each \
                 option's context",
                def.at("doc_to_contexts")
            ),
            (Some(_), None, Some(_)) => bail!(
                "{}: doc_to_continuation belongs to partial scoring: add doc_to_contexts (one \
                 context per option), or remove it (options continue doc_to_text with \
                 target_delimiter + choice)",
                def.at("doc_to_continuation")
            ),
            (None, None, _) => bail!(
                "{}: missing doc_to_text, the prompt every option continues (or \
                 doc_to_contexts and doc_to_continuation for partial scoring)",
                def.origin
            ),
        };
        Ok(def)
    }

    /// `origin:line` of a top-level key, for messages.
    fn at(&self, key: &str) -> String {
        let line = self
            .yaml
            .lines()
            .position(|l| l.starts_with(&format!("{key}:")));
        match line {
            Some(i) => format!("{}:{}", self.origin, i + 1),
            None => self.origin.clone(),
        }
    }

    /// `key (origin:line)`, to say which part of the task file a record's error comes from.
    fn key_context(&self, key: &str) -> String {
        format!("{key} ({})", self.at(key))
    }

    fn field(&self, key: &str, value: &str) -> Result<FieldPath> {
        FieldPath::parse(value).ok_or_else(|| {
            anyhow!(
                "{}: {key} must name a field of the records (such as `label` or `raw.answer`), \
                 not '{value}'",
                self.at(key)
            )
        })
    }

    fn template(&self, key: &str, value: &str) -> Result<Template> {
        Template::parse(value).with_context(|| format!("{}: {key}", self.at(key)))
    }

    fn choices(&self, key: &str, value: &OneOrList) -> Result<Choices> {
        match value {
            OneOrList::One(s) => match Template::parse(s)?.as_field() {
                Some(path) => Ok(Choices::Field(path.clone())),
                None => bail!(
                    "{}: {key} is a field holding a list, or a YAML list of templates, not \
                     '{s}'",
                    self.at(key)
                ),
            },
            // As in the harness, list entries are text: `["no", "yes"]` are two words, and
            // `["{{sol1}}", "{{sol2}}"]` two fields.
            OneOrList::List(items) => Ok(Choices::Templates(
                items
                    .iter()
                    .map(|t| {
                        Template::parse_text(t).with_context(|| format!("{}: {key}", self.at(key)))
                    })
                    .collect::<Result<_>>()?,
            )),
        }
    }

    fn read_docs(&self, data: &[u8]) -> Result<Vec<Doc>> {
        let text = std::str::from_utf8(data)
            .with_context(|| format!("{} is not UTF-8 text", self.data_path.display()))?;
        let mut docs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("{}:{}", self.data_path.display(), i + 1);
            let record: Value = serde_json::from_str(line)
                .with_context(|| format!("{at}: malformed record (one JSON object a line)"))?;
            let doc = self.doc(&record, i + 1).with_context(|| {
                format!(
                    "{at}: record of task {} ({}); fix the record or the task file",
                    self.name, self.origin
                )
            })?;
            docs.push(doc);
        }
        if docs.is_empty() {
            bail!(
                "{} has no records: task {} ({}) needs at least one",
                self.data_path.display(),
                self.name,
                self.origin
            );
        }
        Ok(docs)
    }

    fn doc(&self, record: &Value, line: usize) -> Result<Doc> {
        let id = match &self.doc_id {
            Some(path) => path
                .text(record)
                .with_context(|| self.key_context("doc_id"))?,
            None => format!("line {line}"),
        };
        let choices = self
            .choices
            .strings(record)
            .with_context(|| self.key_context("doc_to_choice"))?;
        if choices.len() < 2 {
            bail!(
                "doc_to_choice gives {} option(s): at least two are needed",
                choices.len()
            );
        }
        let label = match self
            .target
            .get(record)
            .with_context(|| self.key_context("doc_to_target"))?
        {
            Value::Number(n) => match n.as_u64() {
                Some(l) => l as usize,
                None => bail!(
                    "{}: label {n} is not an index (0, 1, ...)",
                    self.key_context("doc_to_target")
                ),
            },
            Value::String(s) => choices.iter().position(|c| c == s).ok_or_else(|| {
                anyhow!(
                    "{}: '{s}' is none of the options {choices:?}",
                    self.key_context("doc_to_target")
                )
            })?,
            other => bail!(
                "{}: {other} is neither an option's index nor its text",
                self.key_context("doc_to_target")
            ),
        };
        if label >= choices.len() {
            bail!(
                "{}: label {label} is out of range: there are {} options, numbered from 0",
                self.key_context("doc_to_target"),
                choices.len()
            );
        }
        let requests = match &self.prompt {
            Prompt::Shared(text) => {
                let context = text
                    .render(record)
                    .with_context(|| self.key_context("doc_to_text"))?;
                choices
                    .iter()
                    .map(|c| Request {
                        context: context.clone(),
                        continuation: format!("{}{c}", self.delimiter),
                    })
                    .collect()
            }
            Prompt::Partial {
                contexts,
                continuation,
            } => {
                let contexts = contexts
                    .strings(record)
                    .with_context(|| self.key_context("doc_to_contexts"))?;
                if contexts.len() != choices.len() {
                    bail!(
                        "doc_to_contexts gives {} contexts for {} options: partial scoring \
                         needs one per option",
                        contexts.len(),
                        choices.len()
                    );
                }
                let continuation = format!(
                    "{}{}",
                    self.delimiter,
                    continuation
                        .render(record)
                        .with_context(|| self.key_context("doc_to_continuation"))?
                );
                contexts
                    .into_iter()
                    .map(|context| Request {
                        context,
                        continuation: continuation.clone(),
                    })
                    .collect()
            }
        };
        Ok(Doc {
            id,
            label,
            requests,
            norm_lengths: choices
                .iter()
                .map(|c| c.chars().count().max(1) as f64)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(dir: &Path, yaml: &str, data: &str) -> Result<LoadedTask> {
        write(dir, "d.jsonl", data);
        let file = write(dir, "t.yaml", yaml);
        load_task(&TaskRef::File(TaskFile { file, sha256: None }), dir)
    }

    const QA: &str = "task: qa\ndataset_path: d.jsonl\ndoc_id: id\n\
                      doc_to_text: \"Q: {{q}}\\nA:\"\ndoc_to_choice: options\n\
                      doc_to_target: gold\nmetric_list: [acc, acc_norm]\n";

    #[test]
    fn a_task_file_gives_the_harness_requests() {
        let dir = tempfile::tempdir().unwrap();
        let t = load(
            dir.path(),
            QA,
            "{\"id\": \"a\", \"q\": \"2+2?\", \"options\": [\"4\", \"five\"], \"gold\": 0}\n\n\
             {\"id\": \"b\", \"q\": \"1+1?\", \"options\": [\"2\", \"3\"], \"gold\": \"3\"}\n",
        )
        .unwrap();
        assert_eq!(t.name, "qa");
        assert!(t.acc_norm);
        assert_eq!(t.docs.len(), 2);
        assert_eq!(
            t.docs[0].requests[1],
            Request {
                context: "Q: 2+2?\nA:".into(),
                continuation: " five".into()
            }
        );
        assert_eq!(t.docs[0].norm_lengths, vec![1.0, 4.0]);
        assert_eq!((t.docs[1].id.as_str(), t.docs[1].label), ("b", 1));
        match &t.resolved {
            TaskRef::File(f) => assert_eq!(f.sha256.as_ref().unwrap().len(), 64),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn partial_scoring_scores_one_continuation_under_each_context() {
        let dir = tempfile::tempdir().unwrap();
        let yaml =
            "task: w\ndataset_path: d.jsonl\ndoc_to_contexts: [\"{{a}} won\", \"{{b}} won\"]\n\
                    doc_to_continuation: rest\ndoc_to_choice: [\"{{a}}\", \"{{b}}\"]\n\
                    doc_to_target: label\n";
        let t = load(
            dir.path(),
            yaml,
            "{\"a\": \"A\", \"b\": \"Bo\", \"rest\": \"the match.\", \"label\": 1}\n",
        )
        .unwrap();
        let d = &t.docs[0];
        assert_eq!(d.id, "line 1");
        assert_eq!(d.requests[0].context, "A won");
        assert_eq!(d.requests[1].context, "Bo won");
        assert!(d.requests.iter().all(|r| r.continuation == " the match."));
        assert_eq!(d.norm_lengths, vec![1.0, 2.0]);
        assert!(!t.acc_norm);
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let good = "{\"id\": \"a\", \"q\": \"x\", \"options\": [\"1\", \"2\"], \"gold\": 0}\n";
        let err =
            |yaml: &str, data: &str| format!("{:#}", load(dir.path(), yaml, data).unwrap_err());

        let e = err(&QA.replace("{{q}}", "{{question}}"), good);
        assert!(
            e.contains("d.jsonl:1:") && e.contains("no field `question`"),
            "{e}"
        );
        assert!(
            e.contains("doc_to_text") && e.contains("its fields: "),
            "{e}"
        );

        let e = err(QA, &good.replace("\"gold\": 0", "\"gold\": 2"));
        assert!(
            e.contains("d.jsonl:1:") && e.contains("label 2 is out of range"),
            "{e}"
        );

        let e = err(QA, &format!("{good}{}", good.replace(", \"gold\": 0", "")));
        assert!(
            e.contains("d.jsonl:2:") && e.contains("no field `gold`"),
            "{e}"
        );

        let e = err(&QA.replace("doc_to_target: gold\n", ""), good);
        assert!(
            e.contains("t.yaml") && e.contains("missing field `doc_to_target`"),
            "{e}"
        );

        let e = err(&format!("{QA}num_fewshot: 5\n"), good);
        assert!(
            e.contains("t.yaml:8:") && e.contains("num_fewshot: 0"),
            "{e}"
        );

        let e = err(&QA.replace("{{q}}", "{{q"), good);
        assert!(e.contains("t.yaml:4:") && e.contains("never closed"), "{e}");

        let e = err(&format!("{QA}doc_to_txet: x\n"), good);
        assert!(
            e.contains("t.yaml:8:") && e.contains("unknown field `doc_to_txet`"),
            "{e}"
        );

        let e = err(&QA.replace("[acc, acc_norm]", "[acc, f1]"), good);
        assert!(
            e.contains("t.yaml:7:") && e.contains("unknown metric 'f1'"),
            "{e}"
        );

        let e = err(QA, "");
        assert!(e.contains("has no records"), "{e}");

        let e = err(&QA.replace("d.jsonl", "missing.jsonl"), good);
        assert!(
            e.contains("t.yaml:2:") && e.contains("missing.jsonl"),
            "{e}"
        );
        assert!(e.contains("relative to the task file's folder"), "{e}");
    }

    #[test]
    fn tasks_are_named_by_builtin_name_or_path() {
        assert_eq!(
            "piqa".parse::<TaskRef>().unwrap(),
            TaskRef::Builtin(Task::Piqa)
        );
        assert!(matches!(
            "my/task.yaml".parse::<TaskRef>().unwrap(),
            TaskRef::File(_)
        ));
        let err = "piqaa".parse::<TaskRef>().unwrap_err().to_string();
        assert!(
            err.contains("arc_easy, arc_challenge") && err.contains(".yaml"),
            "{err}"
        );
        // Built-ins serialise as their name, as they always did.
        let json = serde_json::to_string(&vec![TaskRef::Builtin(Task::ArcEasy)]).unwrap();
        assert_eq!(json, "[\"arc_easy\"]");
        let back: Vec<TaskRef> =
            serde_json::from_str("[\"arc_easy\", {\"file\": \"x.yaml\", \"sha256\": \"ab\"}]")
                .unwrap();
        assert_eq!(back[0], TaskRef::Builtin(Task::ArcEasy));
        // In keys, a loaded file counts by its digest only.
        assert_eq!(
            serde_json::to_string(&back[1].identity()).unwrap(),
            "{\"sha256\":\"ab\"}"
        );
    }

    #[test]
    fn a_missing_builtin_data_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", Task::Piqa.load(dir.path()).unwrap_err());
        assert!(err.contains("piqa/validation.jsonl"), "{err}");
        assert!(err.contains("--data-dir"), "{err}");
    }
}
