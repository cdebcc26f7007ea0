//! Zero-shot multiple-choice tasks as data: task files in lm-evaluation-harness's own schema
//! (`output_type: multiple_choice`), read as lm-eval writes them, into [`Doc`]s (each option's
//! log-likelihood request, the gold option, the lengths `acc_norm` divides by).
//!
//! The seven built-in tasks are the files in `tasks/` of the repository, compiled into the
//! binary (so it runs from any working directory) and reading the data directory; a user's
//! task is one more file, named by its path.
//!
//! What each key does follows lm-eval's `ConfigurableTask` (zero-shot):
//! - `doc_to_text`, `doc_to_choice`, `doc_to_target`: a record's field when the value names one
//!   of the data's columns, else a Jinja template ([`super::template`]); an integer or a list
//!   is a literal (a list of option texts; a mapping's values). A `doc_to_text` or
//!   `doc_to_target` that renders to digits is an index; `doc_to_choice` as a template must
//!   give a list (`{{choices.text}}`, `{{[sol1, sol2]}}`).
//! - The context is `description` (rendered) + `doc_to_text`; option *i* is scored as
//!   `target_delimiter + choice_i` after it. When `doc_to_text` gives an index instead of text,
//!   the task has multiple inputs (lm-eval's `multiple_input`, WinoGrande): the contexts are
//!   `description + choice_i`, the one continuation `target_delimiter + doc_to_target`, and
//!   the index is the gold option.
//! - The records are `<data root>/<dataset_path>[/<dataset_name>]/<split>.jsonl` (the layout
//!   of the `datasets` library's JSONL export), the split being `test_split`, else
//!   `validation_split`, as lm-eval evaluates; or, for `dataset_path: json`, the file
//!   `dataset_kwargs.data_files` names for that split (relative to the task file).
//! - `include:` reads a base file (relative to the including file); the including file's keys
//!   win. Keys lm-eval defines that have no effect at zero-shot log-likelihood scoring are
//!   accepted ([`NO_EFFECT`]); what needs Python or generation is refused with the key's
//!   file:line ([`refusal`]); any other key is an error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_yaml_ng::Value as YValue;
use sha2::{Digest, Sha256};

use super::template::Jinja;

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
    /// The record's `id` field, or else its `doc_id`.
    pub id: String,
    /// The gold option, from 0.
    pub label: usize,
    /// One request per option, in option order.
    pub requests: Vec<Request>,
    /// What `acc_norm` divides each option's log-likelihood by: the option text's length in
    /// characters (code points, as Python's `len`), without the delimiter.
    pub norm_lengths: Vec<f64>,
    /// What a per-sample log says about the record, as lm-eval's `--log_samples` does.
    pub sample: std::sync::Arc<SampleInfo>,
}

/// A record's fields in lm-eval's per-sample logs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SampleInfo {
    /// Position of the record in its split (lm-eval's `doc_id`), from 0.
    pub doc_id: usize,
    /// The record as read.
    pub doc: Value,
    /// `doc_to_target`'s value (for multiple inputs, the continuation).
    pub target: Value,
    /// The option texts (`doc_to_choice`).
    pub choices: Vec<String>,
    /// Each request as (context, continuation), as lm-eval's `arguments`.
    pub arguments: Vec<(String, String)>,
    /// sha256 of the record as Python's `json.dumps(doc, indent=2, ensure_ascii=False)` writes
    /// it (keys in the file's order).
    pub doc_hash: String,
    /// sha256 of the first request's context.
    pub prompt_hash: String,
    /// sha256 of `str(target)`.
    pub target_hash: String,
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
    /// sha256 of the task file(s) and the data file, for built-in tasks too (manifests).
    pub content_sha256: String,
    /// The data file read.
    pub data_path: PathBuf,
}

/// Keys of lm-eval's task schema that change nothing in zero-shot log-likelihood scoring here:
/// accepted, and listed in docs/objectives.md.
pub const NO_EFFECT: &[&str] = &[
    "tag",
    "group",
    "task_alias",
    "group_alias",
    "training_split",
    "fewshot_split",
    "fewshot_delimiter",
    "fewshot_config",
    "should_decontaminate",
    "doc_to_decontamination_query",
    "generation_kwargs",
    "repeats",
    "unsafe_code",
    "metadata",
];

/// Keys this reader uses.
const USED: &[&str] = &[
    "include",
    "task",
    "output_type",
    "dataset_path",
    "dataset_name",
    "dataset_kwargs",
    "test_split",
    "validation_split",
    "description",
    "doc_to_text",
    "doc_to_choice",
    "doc_to_target",
    "target_delimiter",
    "num_fewshot",
    "metric_list",
];

/// Keys of lm-eval's schema that need Python or do something not done here: why, and what to
/// do instead.
pub fn refusal(key: &str) -> Option<&'static str> {
    Some(match key {
        "process_docs" => {
            "process_docs runs Python over the dataset: write the processed records to the \
             JSONL the task reads instead, and remove process_docs"
        }
        "process_results" => {
            "process_results is Python: only acc and acc_norm are scored here (metric_list)"
        }
        "doc_to_image" | "doc_to_audio" => "multimodal inputs are not scored here",
        "use_prompt" => {
            "use_prompt takes prompts from promptsource (Python): write the prompt as \
             doc_to_text"
        }
        "class" => "a task class is Python: write the task as a YAML task file",
        "custom_dataset" => {
            "custom_dataset is a Python function: point dataset_path at the JSONL export"
        }
        "gen_prefix" => "gen_prefix prefixes generated answers: generation is not scored here",
        "filter_list" => {
            "filters post-process model answers; none is applied to log-likelihood scores \
             here: remove filter_list"
        }
        _ => return None,
    })
}

/// One file of a task (the task file, or one it includes), for `file:line` in messages.
struct SourceFile {
    origin: String,
    text: String,
}

/// A task file's keys after `include:`s, each with the file that set it.
struct Keys {
    files: Vec<SourceFile>,
    /// key → (value, index into `files`); later files override.
    values: BTreeMap<String, (YValue, usize)>,
}

impl Keys {
    /// `origin:line` of `key` in the file that set it.
    fn at(&self, key: &str) -> String {
        match self.values.get(key) {
            Some((_, f)) => line_of(&self.files[*f], key),
            None => self
                .files
                .last()
                .map_or(String::new(), |f| f.origin.clone()),
        }
    }

    fn get(&self, key: &str) -> Option<&YValue> {
        self.values
            .get(key)
            .map(|(v, _)| v)
            .filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(YValue::String(s)) => Ok(Some(s.clone())),
            Some(YValue::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => bail!("{}: {key} must be text", self.at(key)),
        }
    }

    fn source(&self, key: &str) -> Result<Source> {
        let value = self.get(key).ok_or_else(|| {
            anyhow!(
                "{}: missing field `{key}` (a multiple_choice task needs doc_to_text, \
                 doc_to_choice and doc_to_target)",
                self.at(key)
            )
        })?;
        let texts = |items: Vec<&YValue>| -> Result<Vec<String>> {
            items
                .into_iter()
                .map(|v| match v {
                    YValue::String(s) => Ok(s.clone()),
                    YValue::Number(n) => Ok(n.to_string()),
                    YValue::Bool(b) => Ok(if *b { "True" } else { "False" }.to_string()),
                    _ => bail!("{}: {key}: a list of texts", self.at(key)),
                })
                .collect()
        };
        Ok(match value {
            YValue::String(s) => Source::Str(s.clone()),
            YValue::Number(n) => match n.as_i64() {
                Some(i) => Source::Int(i),
                None => bail!("{}: {key}: {n} is not an index", self.at(key)),
            },
            YValue::Sequence(items) => Source::List(texts(items.iter().collect())?),
            YValue::Mapping(m) => Source::List(texts(m.values().collect())?),
            _ => bail!(
                "{}: {key} is a field name, a template, an index or a list",
                self.at(key)
            ),
        })
    }
}

/// `origin:line` of a top-level key in one file.
fn line_of(file: &SourceFile, key: &str) -> String {
    let line = file.text.lines().position(|l| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    });
    match line {
        Some(i) => format!("{}:{}", file.origin, i + 1),
        None => file.origin.clone(),
    }
}

/// A `doc_to_*` value as written.
#[derive(Debug, Clone)]
enum Source {
    Int(i64),
    /// A column's name or a template (told apart by the data's columns, as lm-eval does).
    Str(String),
    /// Literal option texts.
    List(Vec<String>),
}

/// What `doc_to_text` gives for a record.
enum Text {
    Prompt(String),
    /// Multiple inputs: the gold option's index.
    Index(usize),
}

/// The checked form of a task file.
struct TaskDef {
    name: String,
    /// The task file, for messages (`tasks/arc_easy.yaml (built in)` or its path).
    origin: String,
    keys: Keys,
    data_path: PathBuf,
    /// Where the data path comes from, for messages.
    data_hint: String,
    /// The key that names the data file, for messages.
    data_key: &'static str,
    description: String,
    text: Source,
    choice: Source,
    target: Source,
    /// `metadata.acc_norm_choices`: for multiple inputs, the texts whose lengths `acc_norm`
    /// divides by instead of the contexts' (lm-eval's choice).
    norm_choices: Option<Source>,
    delimiter: String,
    acc_norm: bool,
    jinja: Jinja,
    /// The data's columns (every record's keys): names that are fields, not templates.
    columns: BTreeSet<String>,
}

/// Reads `task` (built in, or a file), checks it, and reads and checks every record of its
/// data, before any model work. Errors name the task file and line, or the data file and line,
/// and what to change.
pub fn load_task(task: &TaskRef, data_dir: &Path) -> Result<LoadedTask> {
    let keys = match task {
        TaskRef::Builtin(t) => read_keys(
            SourceFile {
                origin: format!("tasks/{}.yaml (built in)", t.name()),
                text: t.yaml().to_string(),
            },
            None,
            0,
        )?,
        TaskRef::File(f) => {
            let text = std::fs::read_to_string(&f.file).with_context(|| {
                format!(
                    "cannot read task file {}: a task is a built-in name or the path of a \
                     .yaml task file",
                    f.file.display()
                )
            })?;
            let origin = f.file.display().to_string();
            read_keys(SourceFile { origin, text }, Some(&f.file), 0)?
        }
    };
    let task_dir = match task {
        TaskRef::Builtin(_) => data_dir.to_path_buf(),
        TaskRef::File(f) => f.file.parent().map_or_else(PathBuf::new, Path::to_path_buf),
    };
    let mut def = TaskDef::parse(keys, data_dir, &task_dir)?;
    let data = std::fs::read(&def.data_path).with_context(|| {
        format!(
            "{}: cannot read the records {} ({})",
            def.keys.at(def.data_key),
            def.data_path.display(),
            def.data_hint
        )
    })?;
    let docs = def.read_docs(&data)?;
    let mut h = Sha256::new();
    // The task file first, then what it includes, then the data: a file without `include:`
    // hashes as it always did.
    for f in def.keys.files.iter().rev() {
        h.update(f.text.as_bytes());
    }
    h.update(&data);
    let content_sha256 = hex(&h.finalize());
    let resolved = match task {
        TaskRef::Builtin(t) => TaskRef::Builtin(*t),
        TaskRef::File(f) => TaskRef::File(TaskFile {
            file: f.file.clone(),
            sha256: Some(content_sha256.clone()),
        }),
    };
    Ok(LoadedTask {
        name: def.name,
        acc_norm: def.acc_norm,
        docs,
        resolved,
        content_sha256,
        data_path: def.data_path,
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Reads a task file's keys, following `include:` (relative to the including file) first, so
/// the including file's keys override; `!function` anywhere is refused.
fn read_keys(file: SourceFile, path: Option<&Path>, depth: usize) -> Result<Keys> {
    let value: YValue =
        serde_yaml_ng::from_str(&file.text).map_err(|e| super::yaml_error(&file.origin, &e))?;
    let YValue::Mapping(map) = value else {
        bail!(
            "{}: a task file is a YAML mapping (task: ..., dataset_path: ..., ...)",
            file.origin
        );
    };
    let mut keys = Keys {
        files: Vec::new(),
        values: BTreeMap::new(),
    };
    let mut own = BTreeMap::new();
    for (k, v) in map {
        let YValue::String(k) = k else {
            bail!("{}: keys are names", file.origin);
        };
        if let Some(tag) = find_tag(&v) {
            bail!(
                "{}: {k} is `{tag} ...`, Python code: it cannot run here. Write it as a Jinja \
                 template (doc_to_text: \"Question: {{{{question}}}}\\nAnswer:\"), a field name \
                 or a literal, or write what the code computes into the JSONL records",
                line_of(&file, &k)
            );
        }
        own.insert(k, v);
    }
    if let Some(include) = own.remove("include") {
        let at = line_of(&file, "include");
        let YValue::String(name) = include else {
            bail!("{at}: include names one YAML file");
        };
        let Some(path) = path else {
            bail!("{at}: a built-in task includes nothing");
        };
        if depth > 16 {
            bail!("{at}: include nests more than 16 deep (a cycle?)");
        }
        let base = path.parent().unwrap_or(Path::new("")).join(&name);
        let text = std::fs::read_to_string(&base).with_context(|| {
            format!(
                "{at}: cannot read the included file {} (include is relative to the file \
                 that includes it)",
                base.display()
            )
        })?;
        let origin = base.display().to_string();
        keys = read_keys(SourceFile { origin, text }, Some(&base), depth + 1)?;
    }
    keys.files.push(file);
    let index = keys.files.len() - 1;
    for (k, v) in own {
        keys.values.insert(k, (v, index));
    }
    Ok(keys)
}

/// The first YAML tag (`!function`) in a value.
fn find_tag(v: &YValue) -> Option<String> {
    match v {
        YValue::Tagged(t) => Some(t.tag.to_string()),
        YValue::Sequence(items) => items.iter().find_map(find_tag),
        YValue::Mapping(m) => m.values().find_map(find_tag),
        _ => None,
    }
}

impl TaskDef {
    fn parse(keys: Keys, data_dir: &Path, task_dir: &Path) -> Result<Self> {
        let origin = keys
            .files
            .last()
            .map(|f| f.origin.clone())
            .unwrap_or_default();
        for key in keys.values.keys() {
            if let Some(why) = refusal(key) {
                bail!("{}: {key} is not supported: {why}", keys.at(key));
            }
            if !USED.contains(&key.as_str()) && !NO_EFFECT.contains(&key.as_str()) {
                let mut known: Vec<&str> = USED.iter().chain(NO_EFFECT).copied().collect();
                known.sort();
                bail!(
                    "{}: unknown field `{key}`, expected one of lm-evaluation-harness's task \
                     keys: {}",
                    keys.at(key),
                    known.join(", ")
                );
            }
        }
        let name = match keys.get("task") {
            Some(YValue::String(s)) => s.clone(),
            Some(YValue::Sequence(_)) => bail!(
                "{}: a list of tasks makes this a group file: name its tasks' files instead",
                keys.at("task")
            ),
            _ => bail!(
                "{}: missing field `task` (the task's name)",
                keys.at("task")
            ),
        };
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            bail!(
                "{}: task name '{name}' must be letters, digits, `_` or `-` (it names metrics \
                 such as `{name}/acc`)",
                keys.at("task"),
            );
        }
        match keys.string("output_type")?.as_deref() {
            Some("multiple_choice") => {}
            None => bail!(
                "{}: no output_type: lm-eval's default is generate_until, which is not scored \
                 here; add output_type: multiple_choice",
                origin
            ),
            Some(kind) => bail!(
                "{}: output_type '{kind}' is not scored here: only multiple_choice tasks \
                 (log-likelihood of each option); generate_until and loglikelihood_rolling need \
                 generation or another harness",
                keys.at("output_type")
            ),
        }
        match keys.get("num_fewshot") {
            None => {}
            Some(YValue::Number(n)) if n.as_u64() == Some(0) => {}
            Some(_) => bail!(
                "{}: few-shot prompts are not supported (the study is zero-shot): set \
                 num_fewshot: 0 or remove it",
                keys.at("num_fewshot")
            ),
        }
        let acc_norm = metrics(&keys)?;
        let (data_path, data_hint) = data_file(&keys, data_dir, task_dir)?;
        let data_key = match keys.string("dataset_path")?.as_deref() {
            Some("json") => "dataset_kwargs",
            _ => "dataset_path",
        };
        let jinja = Jinja::new();
        let description = keys.string("description")?.unwrap_or_default();
        jinja
            .check(&description)
            .with_context(|| format!("{}: description", keys.at("description")))?;
        let (text, choice, target) = (
            keys.source("doc_to_text")?,
            keys.source("doc_to_choice")?,
            keys.source("doc_to_target")?,
        );
        let norm_choices = match keys.get("metadata") {
            Some(YValue::Mapping(m)) => match m.get("acc_norm_choices") {
                Some(YValue::String(s)) => Some(Source::Str(s.clone())),
                Some(_) => bail!(
                    "{}: metadata.acc_norm_choices is a field or a template",
                    keys.at("metadata")
                ),
                None => None,
            },
            _ => None,
        };
        for (key, source) in [
            ("doc_to_text", &text),
            ("doc_to_choice", &choice),
            ("doc_to_target", &target),
        ] {
            if let Source::Str(s) = source {
                jinja
                    .check(s)
                    .with_context(|| format!("{}: {key}", keys.at(key)))?;
            }
        }
        let delimiter = keys.string("target_delimiter")?.unwrap_or(" ".into());
        Ok(Self {
            name,
            origin,
            keys,
            data_path,
            data_hint,
            data_key,
            description,
            text,
            choice,
            target,
            norm_choices,
            delimiter,
            acc_norm,
            jinja,
            columns: BTreeSet::new(),
        })
    }

    /// `key (origin:line)`, to say which part of the task file a record's error comes from.
    fn key_context(&self, key: &str) -> String {
        format!("{key} ({})", self.keys.at(key))
    }

    fn read_docs(&mut self, data: &[u8]) -> Result<Vec<Doc>> {
        let text = std::str::from_utf8(data)
            .with_context(|| format!("{} is not UTF-8 text", self.data_path.display()))?;
        let mut records = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("{}:{}", self.data_path.display(), i + 1);
            let record: Value = serde_json::from_str(line)
                .with_context(|| format!("{at}: malformed record (one JSON object a line)"))?;
            let Value::Object(map) = &record else {
                bail!("{at}: a record is a JSON object");
            };
            self.columns.extend(map.keys().cloned());
            records.push((at, line, record));
        }
        if records.is_empty() {
            bail!(
                "{} has no records: task {} ({}) needs at least one",
                self.data_path.display(),
                self.name,
                self.origin
            );
        }
        let mut multiple_input = None;
        let mut docs = Vec::new();
        for (doc_id, (at, line, record)) in records.into_iter().enumerate() {
            let doc = self
                .doc(record, line, doc_id, &mut multiple_input)
                .with_context(|| {
                    format!(
                        "{at}: record of task {} ({}); fix the record or the task file",
                        self.name, self.origin
                    )
                })?;
            docs.push(doc);
        }
        Ok(docs)
    }

    /// A field's value when `s` names a column, else `None` (then `s` is a template).
    fn field<'a>(&self, s: &str, record: &'a Value) -> Option<&'a Value> {
        self.columns.contains(s).then(|| &record[s])
    }

    fn render(&self, key: &str, s: &str, record: &Value) -> Result<String> {
        self.jinja
            .render(s, record)
            .with_context(|| self.key_context(key))
    }

    /// lm-eval's `doc_to_text`.
    fn doc_to_text(&self, record: &Value) -> Result<Text> {
        let index =
            |i: i64| usize::try_from(i).map_err(|_| anyhow!("doc_to_text gives {i}, not an index"));
        Ok(match &self.text {
            Source::Int(i) => Text::Index(index(*i)?),
            Source::List(_) => bail!(
                "{}: doc_to_text is a field name or a template, not a list",
                self.keys.at("doc_to_text")
            ),
            Source::Str(s) => match self.field(s, record) {
                Some(Value::String(t)) => Text::Prompt(t.clone()),
                Some(Value::Number(n)) if n.is_i64() => Text::Index(index(n.as_i64().unwrap())?),
                Some(other) => bail!(
                    "{}: field `{s}` is {other}, neither text nor an index",
                    self.key_context("doc_to_text")
                ),
                None => {
                    let t = self.render("doc_to_text", s, record)?;
                    match digits(&t) {
                        Some(i) => Text::Index(i),
                        None => Text::Prompt(t),
                    }
                }
            },
        })
    }

    /// lm-eval's `doc_to_choice` (a list of texts).
    fn doc_to_choice(&self, key: &str, source: &Source, record: &Value) -> Result<Vec<String>> {
        let value = match source {
            Source::List(items) => return Ok(items.clone()),
            Source::Int(i) => bail!("{}: {key} is {i}: it must give a list", self.keys.at(key)),
            Source::Str(s) => match self.field(s, record) {
                Some(v) => v.clone(),
                None => match self.jinja.eval(s, record) {
                    Some(v) => v.with_context(|| self.key_context(key))?,
                    None => bail!(
                        "{}: {key} is a column holding a list, a list, or one expression giving \
                         a list (`{{{{choices.text}}}}`, `{{{{[sol1, sol2]}}}}`), not '{s}'",
                        self.keys.at(key)
                    ),
                },
            },
        };
        let Value::Array(items) = value else {
            bail!(
                "{}: gives {}, not a list of options",
                self.key_context(key),
                short(&value)
            );
        };
        items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => bail!("{}: option {} is not text", self.key_context(key), short(v)),
            })
            .collect()
    }

    /// lm-eval's `doc_to_target`: an index or a text.
    fn doc_to_target(&self, record: &Value) -> Result<Value> {
        let value = match &self.target {
            Source::Int(i) => Value::from(*i),
            Source::List(_) => bail!(
                "{}: several gold options (a list) are not scored here",
                self.keys.at("doc_to_target")
            ),
            Source::Str(s) => match self.field(s, record) {
                Some(v) => v.clone(),
                None => {
                    let t = self.render("doc_to_target", s, record)?;
                    match digits(&t) {
                        Some(i) => Value::from(i),
                        None => Value::String(t),
                    }
                }
            },
        };
        match value {
            Value::Number(_) | Value::String(_) => Ok(value),
            other => bail!(
                "{}: gives {}: a gold option is an index or a text (several gold options are \
                 not scored here)",
                self.key_context("doc_to_target"),
                short(&other)
            ),
        }
    }

    fn doc(
        &self,
        record: Value,
        line: &str,
        doc_id: usize,
        multiple_input: &mut Option<bool>,
    ) -> Result<Doc> {
        let choices = self.doc_to_choice("doc_to_choice", &self.choice, &record)?;
        if choices.len() < 2 {
            bail!(
                "doc_to_choice gives {} option(s): at least two are needed",
                choices.len()
            );
        }
        let description = self.render("description", &self.description, &record)?;
        let text = self.doc_to_text(&record)?;
        let is_multiple = matches!(text, Text::Index(_));
        if *multiple_input.get_or_insert(is_multiple) != is_multiple {
            bail!(
                "{}: gives an index here and text for the first record: a task has one \
                 context per option (an index) or one shared context (text), not both",
                self.key_context("doc_to_text")
            );
        }
        let target = self.doc_to_target(&record)?;
        let target_text = match &target {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let (label, requests, norm_texts) = match text {
            Text::Prompt(prompt) => {
                let label = match &target {
                    Value::Number(n) => n.as_u64().map(|l| l as usize).ok_or_else(|| {
                        anyhow!(
                            "{}: label {n} is not an index (0, 1, ...)",
                            self.key_context("doc_to_target")
                        )
                    })?,
                    _ => choices
                        .iter()
                        .position(|c| *c == target_text)
                        .ok_or_else(|| {
                            anyhow!(
                                "{}: '{target_text}' is none of the options {choices:?}",
                                self.key_context("doc_to_target")
                            )
                        })?,
                };
                let context = format!("{description}{prompt}");
                let requests = choices
                    .iter()
                    .map(|c| Request {
                        context: context.clone(),
                        continuation: format!("{}{c}", self.delimiter),
                    })
                    .collect();
                (label, requests, choices.clone())
            }
            Text::Index(label) => {
                let continuation = format!("{}{target_text}", self.delimiter);
                let requests = choices
                    .iter()
                    .map(|c| Request {
                        context: format!("{description}{c}"),
                        continuation: continuation.clone(),
                    })
                    .collect();
                let norm_texts = match &self.norm_choices {
                    Some(s) => self.doc_to_choice("metadata", s, &record)?,
                    None => choices.clone(),
                };
                (label, requests, norm_texts)
            }
        };
        if label >= choices.len() {
            bail!(
                "{}: label {label} is out of range: there are {} options, numbered from 0",
                self.key_context(if is_multiple {
                    "doc_to_text"
                } else {
                    "doc_to_target"
                }),
                choices.len()
            );
        }
        if norm_texts.len() != choices.len() {
            bail!(
                "{}: metadata.acc_norm_choices gives {} texts for {} options",
                self.keys.at("metadata"),
                norm_texts.len(),
                choices.len()
            );
        }
        let id = match record.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => doc_id.to_string(),
        };
        let requests: Vec<Request> = requests;
        let sample = SampleInfo {
            doc_id,
            doc_hash: sha256_hex(&python_json(line)?),
            prompt_hash: sha256_hex(&requests[0].context),
            target_hash: sha256_hex(&target_text),
            doc: record,
            target,
            choices,
            arguments: requests
                .iter()
                .map(|r| (r.context.clone(), r.continuation.clone()))
                .collect(),
        };
        Ok(Doc {
            id,
            label,
            requests,
            norm_lengths: norm_texts
                .iter()
                .map(|c| c.chars().count().max(1) as f64)
                .collect(),
            sample: std::sync::Arc::new(sample),
        })
    }
}

/// A rendered `doc_to_text` / `doc_to_target` that is an integer (Python's `str.isdigit`,
/// then `ast.literal_eval`).
fn digits(s: &str) -> Option<usize> {
    (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// A value in a message, cut short.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// A JSON line as Python's `json.dumps(obj, indent=2, ensure_ascii=False)` writes it: keys in
/// the file's order, two-space indent, `": "` and `","` separators.
fn python_json(line: &str) -> Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"  "),
    );
    serde_transcode::transcode(&mut serde_json::Deserializer::from_str(line), &mut ser)
        .context("re-serialising a record")?;
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// `acc_norm` in `metric_list` (names, or lm-eval's mappings); absent, lm-eval's default for
/// multiple_choice: acc and acc_norm.
fn metrics(keys: &Keys) -> Result<bool> {
    let Some(list) = keys.get("metric_list") else {
        return Ok(true);
    };
    let at = keys.at("metric_list");
    let YValue::Sequence(items) = list else {
        bail!("{at}: metric_list is a list");
    };
    let mut acc_norm = false;
    for item in items {
        let name = match item {
            YValue::String(s) => s.clone(),
            YValue::Mapping(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        (Some("metric"), _) => {}
                        (Some("aggregation"), YValue::String(a)) if a == "mean" => {}
                        (Some("higher_is_better"), YValue::Bool(true)) => {}
                        (Some(k @ ("aggregation" | "higher_is_better")), v) => {
                            bail!("{at}: {k}: {v:?}: acc and acc_norm are means, higher is better")
                        }
                        (k, _) => bail!(
                            "{at}: metric option {k:?} is not supported: an entry is {{metric, \
                             aggregation: mean, higher_is_better: true}}"
                        ),
                    }
                }
                match m.get("metric") {
                    Some(YValue::String(s)) => s.clone(),
                    _ => bail!("{at}: an entry of metric_list names its metric"),
                }
            }
            _ => bail!("{at}: metric_list entries are names or {{metric: ...}}"),
        };
        match name.as_str() {
            "acc" => {}
            "acc_norm" => acc_norm = true,
            other => bail!("{at}: unknown metric '{other}': metric_list takes acc and acc_norm"),
        }
    }
    Ok(acc_norm)
}

/// The records' file: `<data_dir>/<dataset_path>[/<dataset_name>]/<split>.jsonl`, or
/// `dataset_kwargs.data_files` (relative to the task file) for `dataset_path: json`; with a
/// hint for a message when it cannot be read.
fn data_file(keys: &Keys, data_dir: &Path, task_dir: &Path) -> Result<(PathBuf, String)> {
    let path = keys
        .string("dataset_path")?
        .ok_or_else(|| anyhow!("{}: missing field `dataset_path`", keys.at("dataset_path")))?;
    let split = match (keys.string("test_split")?, keys.string("validation_split")?) {
        (Some(s), _) | (None, Some(s)) => s,
        (None, None) => bail!(
            "{}: no split to evaluate: lm-eval scores test_split, else validation_split; \
             name one (the records are <data dir>/<dataset_path>/<dataset_name>/<split>.jsonl)",
            keys.at("dataset_path")
        ),
    };
    if path == "json" {
        let at = keys.at("dataset_kwargs");
        let files = match keys.get("dataset_kwargs") {
            Some(YValue::Mapping(m)) => m.get("data_files").cloned(),
            _ => None,
        };
        let file = match files {
            Some(YValue::String(f)) => f,
            Some(YValue::Mapping(m)) => match m.get(split.as_str()) {
                Some(YValue::String(f)) => f.clone(),
                _ => bail!("{at}: dataset_kwargs.data_files names no file for split '{split}'"),
            },
            _ => bail!(
                "{at}: dataset_path: json needs dataset_kwargs: {{data_files: {{{split}: \
                 FILE.jsonl}}}}"
            ),
        };
        return Ok((
            task_dir.join(file),
            "dataset_kwargs.data_files is relative to the task file's folder".into(),
        ));
    }
    let mut file = data_dir.join(&path);
    if let Some(name) = keys.string("dataset_name")? {
        file = file.join(name);
    }
    Ok((
        file.join(format!("{split}.jsonl")),
        format!(
            "<data dir>/<dataset_path>/<dataset_name>/<split>.jsonl, the data dir being {} \
             (--data-dir or a suite's data_dir)",
            data_dir.display()
        ),
    ))
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

    const QA: &str = "task: qa\noutput_type: multiple_choice\ndataset_path: json\n\
                      dataset_kwargs: {data_files: {test: d.jsonl}}\ntest_split: test\n\
                      doc_to_text: \"Q: {{q}}\\nA:\"\ndoc_to_choice: options\n\
                      doc_to_target: gold\nmetric_list: [acc, acc_norm]\n";

    #[test]
    fn a_task_file_gives_the_harness_requests() {
        let dir = tempfile::tempdir().unwrap();
        let t = load(
            dir.path(),
            QA,
            "{\"id\": \"a\", \"q\": \"2+2?\", \"options\": [\"4\", \"five\"], \"gold\": 0}\n\n\
             {\"q\": \"1+1?\", \"options\": [\"2\", \"3\"], \"gold\": \"3\"}\n",
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
        // No `id` field: the doc_id (position in the split) names it.
        assert_eq!((t.docs[1].id.as_str(), t.docs[1].label), ("1", 1));
        let s = &t.docs[1].sample;
        assert_eq!((s.doc_id, &s.target), (1, &Value::from("3")));
        // Python: hashlib.sha256(json.dumps(doc, indent=2, ensure_ascii=False).encode())
        assert_eq!(
            python_json(r#"{"q":"1+1?","options":["2","3"],"gold":"3"}"#).unwrap(),
            "{\n  \"q\": \"1+1?\",\n  \"options\": [\n    \"2\",\n    \"3\"\n  ],\n  \"gold\": \"3\"\n}"
        );
        assert_eq!(s.target_hash, sha256_hex("3"));
        assert_eq!(s.prompt_hash, sha256_hex("Q: 1+1?\nA:"));
        match &t.resolved {
            TaskRef::File(f) => assert_eq!(f.sha256.as_ref().unwrap().len(), 64),
            other => panic!("{other:?}"),
        }
    }

    /// The constructs of lm-eval's multiple-choice files: templates with filters and Python
    /// methods for each doc_to_*, a list literal, literal lists and mappings of options, an
    /// integer target, `description`, the delimiters, `include:`, the datasets layout.
    #[test]
    fn lm_eval_constructs_are_read_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join("org/sciq/main")).unwrap();
        std::fs::write(
            root.join("org/sciq/main/validation.jsonl"),
            "{\"support\": \"  Heat. \", \"question\": \"What?\", \"d1\": \"cold\", \
             \"answer\": \"hot\", \"choices\": {\"label\": [\"A\", \"B\"], \"text\": [\"x\", \"y\"]}, \
             \"answerKey\": \" B\"}\n",
        )
        .unwrap();
        write(
            dir.path(),
            "base.yaml",
            "output_type: multiple_choice\ndataset_path: org/sciq\ndataset_name: main\n\
             training_split: train\nvalidation_split: validation\ntest_split: null\n\
             fewshot_delimiter: \"\\n\\n\"\nnum_fewshot: 0\nshould_decontaminate: true\n\
             doc_to_decontamination_query: question\ntag: [science]\n\
             metadata: {version: 1.0}\nmetric_list:\n  - metric: acc\n    aggregation: mean\n\
             \x20   higher_is_better: true\n",
        );
        let task = |extra: &str| {
            let file = write(
                dir.path(),
                "t.yaml",
                &format!("include: base.yaml\ntask: sciq\n{extra}"),
            );
            load_task(&TaskRef::File(TaskFile { file, sha256: None }), &root)
        };
        let t = task(
            "description: \"Science. \"\ndoc_to_text: \"{{support | trim}}\\n{{question.lstrip()}}\"\n\
             doc_to_choice: \"{{[d1, answer]}}\"\ndoc_to_target: 1\ntarget_delimiter: \": \"\n",
        )
        .unwrap();
        let d = &t.docs[0];
        assert!(!t.acc_norm, "metric_list from the included file: acc only");
        assert_eq!(d.requests[0].context, "Science. Heat.\nWhat?");
        assert_eq!(d.requests[1].continuation, ": hot");
        assert_eq!(d.label, 1);
        let t = task(
            "doc_to_text: \"{{question}}\"\ndoc_to_choice: \"{{choices.text}}\"\n\
             doc_to_target: \"{{choices.label.index(answerKey.strip())}}\"\n",
        )
        .unwrap();
        assert_eq!(t.docs[0].label, 1);
        assert_eq!(t.docs[0].requests[1].continuation, " y");
        let t = task(
            "doc_to_text: question\ndoc_to_choice: {a: cold, b: hot}\ndoc_to_target: answer\n",
        )
        .unwrap();
        assert_eq!(
            (t.docs[0].label, t.docs[0].requests[0].context.as_str()),
            (1, "What?")
        );
        let t = task(
            "doc_to_text: question\ndoc_to_choice: [\"{{d1}}\", hot]\ndoc_to_target: answer\n",
        )
        .unwrap();
        // List entries are literal texts, as in lm-eval.
        assert_eq!(t.docs[0].requests[0].continuation, " {{d1}}");
        // The including file's keys win over the base's.
        let t = task(
            "doc_to_text: question\ndoc_to_choice: [a, b]\ndoc_to_target: 0\nmetric_list: [acc_norm]\n",
        )
        .unwrap();
        assert!(t.acc_norm);
    }

    /// Multiple inputs (WinoGrande in lm-eval): doc_to_text gives the gold index, the choices
    /// are the contexts, doc_to_target the one continuation.
    #[test]
    fn an_index_from_doc_to_text_makes_one_context_per_option() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = "task: w\noutput_type: multiple_choice\ndataset_path: json\n\
                    dataset_kwargs: {data_files: d.jsonl}\nvalidation_split: train\n\
                    doc_to_text: \"{{answer | int - 1}}\"\n\
                    doc_to_choice: \"{{[sentence[:sentence.index('_')] ~ option1, sentence[:sentence.index('_')] ~ option2]}}\"\n\
                    doc_to_target: \"{{sentence[sentence.index('_') + 1:].strip()}}\"\n";
        let t = load(
            dir.path(),
            yaml,
            "{\"sentence\": \"So _ won the match.\", \"option1\": \"A\", \"option2\": \"Bo\", \"answer\": \"2\"}\n",
        )
        .unwrap();
        let d = &t.docs[0];
        assert_eq!(d.id, "0");
        assert_eq!(d.label, 1);
        assert_eq!(d.requests[0].context, "So A");
        assert_eq!(d.requests[1].context, "So Bo");
        assert!(d
            .requests
            .iter()
            .all(|r| r.continuation == " won the match."));
        // lm-eval divides by the choices' (contexts') lengths.
        assert_eq!(d.norm_lengths, vec![4.0, 5.0]);
        assert!(
            t.acc_norm,
            "lm-eval's default metric_list: acc and acc_norm"
        );
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
            e.contains("doc_to_text (") && e.contains("t.yaml:6") && e.contains("its fields: "),
            "{e}"
        );

        let e = err(QA, &good.replace("\"gold\": 0", "\"gold\": 2"));
        assert!(
            e.contains("d.jsonl:1:") && e.contains("label 2 is out of range"),
            "{e}"
        );

        let e = err(QA, &good.replace("\"gold\": 0", "\"gold\": \"3\""));
        assert!(e.contains("'3' is none of the options"), "{e}");

        let e = err(&QA.replace("doc_to_target: gold\n", ""), good);
        assert!(
            e.contains("t.yaml") && e.contains("missing field `doc_to_target`"),
            "{e}"
        );

        let e = err(&format!("{QA}num_fewshot: 5\n"), good);
        assert!(
            e.contains("t.yaml:10:") && e.contains("num_fewshot: 0"),
            "{e}"
        );

        let e = err(&QA.replace("{{q}}", "{{q"), good);
        assert!(e.contains("t.yaml:6:") && e.contains("syntax error"), "{e}");

        let e = err(&format!("{QA}doc_to_txet: x\n"), good);
        assert!(
            e.contains("t.yaml:10:") && e.contains("unknown field `doc_to_txet`"),
            "{e}"
        );

        let e = err(&format!("{QA}doc_id: id\n"), good);
        assert!(
            e.contains("t.yaml:10:") && e.contains("unknown field `doc_id`"),
            "{e}"
        );

        let e = err(&QA.replace("[acc, acc_norm]", "[acc, f1]"), good);
        assert!(
            e.contains("t.yaml:9:") && e.contains("unknown metric 'f1'"),
            "{e}"
        );

        let e = err(
            &QA.replace(
                "[acc, acc_norm]",
                "\n  - metric: acc\n    aggregation: median",
            ),
            good,
        );
        assert!(e.contains("t.yaml:9:") && e.contains("means"), "{e}");

        let e = err(QA, "");
        assert!(e.contains("has no records"), "{e}");

        let e = err(&QA.replace("test: d.jsonl", "test: missing.jsonl"), good);
        assert!(
            e.contains("t.yaml:4:") && e.contains("missing.jsonl"),
            "{e}"
        );
        assert!(e.contains("relative to the task file's folder"), "{e}");

        let e = err(
            &QA.replace("doc_to_choice: options", "doc_to_choice: \"{{q}} {{q}}\""),
            good,
        );
        assert!(
            e.contains("t.yaml:7:") && e.contains("one expression giving a list"),
            "{e}"
        );

        let e = err(
            &QA.replace("dataset_path: json", "dataset_path: org/x"),
            good,
        );
        assert!(
            e.contains("org/x/test.jsonl") && e.contains("--data-dir"),
            "{e}"
        );

        let e = err(&QA.replace("test_split: test\n", ""), good);
        assert!(e.contains("no split to evaluate"), "{e}");
    }

    /// What needs Python or generation is refused at load with the key's line and what to do.
    #[test]
    fn python_and_generation_are_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let good = "{\"q\": \"x\", \"options\": [\"1\", \"2\"], \"gold\": 0}\n";
        let err = |yaml: &str| format!("{:#}", load(dir.path(), yaml, good).unwrap_err());
        let e = err(&QA.replace(
            "doc_to_target: gold",
            "doc_to_target: !function utils.target",
        ));
        assert!(
            e.contains("t.yaml:8:")
                && e.contains("`!function ...`, Python code")
                && e.contains("JSONL"),
            "{e}"
        );
        let e = err(&format!("{QA}process_docs: !function utils.process_docs\n"));
        assert!(e.contains("t.yaml:10:") && e.contains("Python"), "{e}");
        let e = err(&format!("{QA}process_docs: utils.process_docs\n"));
        assert!(
            e.contains("t.yaml:10:") && e.contains("write the processed records"),
            "{e}"
        );
        let e = err(&QA.replace("multiple_choice", "generate_until"));
        assert!(
            e.contains("t.yaml:2:") && e.contains("'generate_until' is not scored here"),
            "{e}"
        );
        let e = err(&QA.replace("output_type: multiple_choice\n", ""));
        assert!(e.contains("add output_type: multiple_choice"), "{e}");
        for key in [
            "filter_list",
            "use_prompt",
            "process_results",
            "gen_prefix",
            "class",
        ] {
            let e = err(&format!("{QA}{key}: x\n"));
            assert!(
                e.contains("t.yaml:10:") && e.contains("not supported"),
                "{key}: {e}"
            );
        }
        let e = err(&QA.replace("task: qa", "task: [a, b]"));
        assert!(e.contains("group file"), "{e}");
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
