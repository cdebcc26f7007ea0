//! Text corpora for perplexity: the built-in WikiText-2, or any text file or JSONL.
//!
//! A corpus is read into units, the pieces calibration and evaluation never share (see
//! [`super::split`]): documents, paragraphs (separated by blank lines) or lines. Perplexity
//! windows are cut within a unit, never across two, so units shorter than a window contribute
//! none. Whitespace-only units are dropped.
//!
//! - `wikitext2`: WikiText-2 raw test, its 60 articles as documents (the data directory's
//!   `wikitext2/wikitext-2-raw-v1.test.articles.jsonl`).
//! - a `.jsonl` file: one JSON object a line; `text_field` (default `text`) holds the text and
//!   the optional `id_field` names its document: records with the same id are one document,
//!   their texts joined by a newline in file order (without it, every record is a document).
//!   Default unit: document.
//! - any other file: UTF-8 text, one document. Default unit: paragraph.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::template::FieldPath;

/// What calibration and evaluation never share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Unit {
    Document,
    Paragraph,
    Line,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Document => "document",
            Unit::Paragraph => "paragraph",
            Unit::Line => "line",
        }
    }
}

/// A corpus as an objective names it.
///
/// Serialised as `wikitext2` (as before corpus files existed, so existing store keys stay
/// valid) or as `{file, sha256, unit, ...}`; in store keys a file counts by its sha256 and
/// options, not by its path.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CorpusRef {
    /// WikiText-2 raw test, cut into its 60 articles.
    #[default]
    Wikitext2,
    File(CorpusFile),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusFile {
    #[serde(default, skip_serializing_if = "super::path_is_empty")]
    pub file: PathBuf,
    /// Of the file; set when the corpus is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// [default: document for JSONL, paragraph for text]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    /// JSONL: the field holding the text [default: text].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_field: Option<String>,
    /// JSONL: the field naming each record's document [default: none, a record is a document].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_field: Option<String>,
}

impl FromStr for CorpusRef {
    type Err = anyhow::Error;

    /// `wikitext2`, or the path of a corpus file.
    fn from_str(s: &str) -> Result<Self> {
        if s == "wikitext2" {
            return Ok(CorpusRef::Wikitext2);
        }
        if s.is_empty() {
            bail!("an empty corpus name: give wikitext2 or the path of a .txt or .jsonl file");
        }
        Ok(CorpusRef::File(CorpusFile {
            file: PathBuf::from(s),
            sha256: None,
            unit: None,
            text_field: None,
            id_field: None,
        }))
    }
}

impl Serialize for CorpusRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            CorpusRef::Wikitext2 => s.serialize_str("wikitext2"),
            CorpusRef::File(f) => f.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for CorpusRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Name(String),
            File(CorpusFile),
        }
        // An untagged mismatch would only say "did not match any variant": say what is allowed.
        let form = Form::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "a corpus is wikitext2, the path of a text or .jsonl file, or {file: PATH, \
                 unit: document|paragraph|line, text_field: NAME, id_field: NAME}",
            )
        })?;
        match form {
            Form::Name(s) => s.parse().map_err(serde::de::Error::custom),
            Form::File(f) => Ok(CorpusRef::File(f)),
        }
    }
}

impl CorpusRef {
    /// The corpus of the command line's `--corpus` and `--corpus-unit`.
    pub fn from_args(corpus: Option<&str>, unit: Option<Unit>) -> Result<Self> {
        let mut c: CorpusRef = corpus.unwrap_or("wikitext2").parse()?;
        if let Some(u) = unit {
            match &mut c {
                CorpusRef::Wikitext2 => bail!(
                    "--corpus-unit applies to corpus files; wikitext2 is cut into its articles"
                ),
                CorpusRef::File(f) => f.unit = Some(u),
            }
        }
        Ok(c)
    }

    /// A relative corpus file is taken relative to `base` (a suite's folder).
    pub fn rebase(&mut self, base: &Path) {
        if let CorpusRef::File(f) = self {
            if f.file.is_relative() {
                f.file = base.join(&f.file);
            }
        }
    }

    /// The form store keys hash: a loaded corpus file by its digest and options alone.
    pub fn identity(&self) -> Self {
        match self {
            CorpusRef::File(f) if f.sha256.is_some() => CorpusRef::File(CorpusFile {
                file: PathBuf::new(),
                ..f.clone()
            }),
            other => other.clone(),
        }
    }
}

/// A piece of text that is calibration or evaluation as a whole.
#[derive(Debug, Clone, PartialEq)]
pub struct TextUnit {
    pub id: String,
    pub text: String,
}

pub struct LoadedCorpus {
    /// For messages: `wikitext2` or the file's path.
    pub name: String,
    pub unit: Unit,
    pub units: Vec<TextUnit>,
    /// The label of the corpus's partition and sample draws (`rng::rng_for`).
    pub label: String,
    /// The reference with the file's sha256 and the options in effect filled in.
    pub resolved: CorpusRef,
}

/// Reads a corpus into its units, with clear errors before any model work: an unreadable or
/// malformed file (file and line), an empty corpus, one too small to split in two.
pub fn load_corpus(corpus: &CorpusRef, data_dir: &Path) -> Result<LoadedCorpus> {
    let loaded = match corpus {
        CorpusRef::Wikitext2 => {
            let path = data_dir.join("wikitext2/wikitext-2-raw-v1.test.articles.jsonl");
            let bytes = std::fs::read(&path).with_context(|| {
                format!(
                    "cannot read {}: is the data directory complete? (pass --data-dir)",
                    path.display()
                )
            })?;
            let docs = jsonl_documents(&path, &bytes, "text", Some("id"))?;
            LoadedCorpus {
                name: "wikitext2".into(),
                unit: Unit::Document,
                units: docs,
                label: "wikitext2".into(),
                resolved: CorpusRef::Wikitext2,
            }
        }
        CorpusRef::File(f) => load_file(f)?,
    };
    let kind = loaded.unit.name();
    match loaded.units.len() {
        0 => bail!(
            "corpus {} has no text (unit {kind}; whitespace-only units are dropped): give a \
             file with text in it",
            loaded.name
        ),
        1 => bail!(
            "corpus {} has a single {kind}: calibration and evaluation each need at least one; \
             use a finer unit (--corpus-unit / `unit:` paragraph or line) or a corpus with more \
             {kind}s",
            loaded.name
        ),
        _ => Ok(loaded),
    }
}

fn load_file(f: &CorpusFile) -> Result<LoadedCorpus> {
    let path = &f.file;
    let name = path.display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "json" {
        bail!("corpus {name}: JSON files are not read; write one object a line (.jsonl)");
    }
    let jsonl = ext == "jsonl";
    if !jsonl && (f.text_field.is_some() || f.id_field.is_some()) {
        bail!(
            "corpus {name}: text_field and id_field apply to .jsonl files; a text file is read \
             as it is"
        );
    }
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read corpus file {name}: give wikitext2 or the path of a .txt or .jsonl file"
        )
    })?;
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let unit = f.unit.unwrap_or(if jsonl {
        Unit::Document
    } else {
        Unit::Paragraph
    });
    let text_field = f.text_field.clone().unwrap_or_else(|| "text".into());
    let units = if jsonl {
        let docs = jsonl_documents(path, &bytes, &text_field, f.id_field.as_deref())?;
        match unit {
            Unit::Document => docs,
            _ => docs
                .iter()
                .flat_map(|d| {
                    split(&d.text, unit)
                        .into_iter()
                        .enumerate()
                        .map(|(k, (_, text))| TextUnit {
                            id: format!("{}/{}{}", d.id, &unit.name()[..1], k + 1),
                            text,
                        })
                })
                .collect(),
        }
    } else {
        let text = std::str::from_utf8(&bytes)
            .with_context(|| format!("corpus {name} is not UTF-8 text"))?;
        if unit == Unit::Document {
            bail!(
                "corpus {name}: a text file is one document, which cannot be split into \
                 calibration and evaluation: use unit paragraph or line, or a .jsonl file with \
                 one document per record"
            );
        }
        split(text, unit)
            .into_iter()
            .map(|(line, text)| TextUnit {
                id: format!("line {line}"),
                text,
            })
            .collect()
    };
    Ok(LoadedCorpus {
        name,
        unit,
        units,
        label: format!("corpus/{digest}"),
        resolved: CorpusRef::File(CorpusFile {
            file: path.clone(),
            sha256: Some(digest),
            unit: Some(unit),
            text_field: jsonl.then_some(text_field),
            id_field: f.id_field.clone(),
        }),
    })
}

/// The documents of a JSONL corpus, in order of first appearance; whitespace-only ones dropped.
fn jsonl_documents(
    path: &Path,
    bytes: &[u8],
    text_field: &str,
    id_field: Option<&str>,
) -> Result<Vec<TextUnit>> {
    let name = path.display();
    let field = |key: &str, v: &str| {
        FieldPath::parse(v).with_context(|| {
            format!("corpus {name}: {key} '{v}' is not a field name (letters, digits, `_`, dots)")
        })
    };
    let text_path = field("text_field", text_field)?;
    let id_path = id_field.map(|f| field("id_field", f)).transpose()?;
    let text = std::str::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8 text"))?;
    let mut docs: Vec<TextUnit> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{name}:{}", i + 1);
        let record: Value = serde_json::from_str(line)
            .with_context(|| format!("{}: malformed record (one JSON object a line)", at()))?;
        let body = match text_path.get(&record) {
            Ok(Value::String(s)) => s.clone(),
            Ok(_) => bail!("{}: field `{text_path}` is not a string", at()),
            Err(e) => bail!(
                "{}: {e}: set text_field to the field holding the text",
                at()
            ),
        };
        let id = match &id_path {
            Some(p) => p.text(&record).with_context(|| {
                format!("{}: id_field: every record needs its document id", at())
            })?,
            None => format!("line {}", i + 1),
        };
        match index.get(&id) {
            Some(&k) => {
                docs[k].text.push('\n');
                docs[k].text.push_str(&body);
            }
            None => {
                index.insert(id.clone(), docs.len());
                docs.push(TextUnit { id, text: body });
            }
        }
    }
    docs.retain(|d| !d.text.trim().is_empty());
    Ok(docs)
}

/// Paragraphs (runs of non-blank lines) or non-blank lines of `text`, each with the number of
/// its first line; the text between is dropped, the lines of a paragraph keep their newlines.
fn split(text: &str, unit: Unit) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            out.extend(current.take());
            continue;
        }
        match (&mut current, unit) {
            (Some((_, para)), Unit::Paragraph) => {
                para.push('\n');
                para.push_str(line);
            }
            _ => {
                out.extend(current.take());
                current = Some((i + 1, line.to_string()));
            }
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, text: &str) -> CorpusRef {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().parse().unwrap()
    }

    fn with(c: CorpusRef, f: impl FnOnce(&mut CorpusFile)) -> CorpusRef {
        match c {
            CorpusRef::File(mut cf) => {
                f(&mut cf);
                CorpusRef::File(cf)
            }
            other => other,
        }
    }

    #[test]
    fn paragraphs_and_lines_of_a_text_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = file(
            dir.path(),
            "c.txt",
            "One a.\nOne b.\n\n  \nTwo.\n\n\nThree.\n",
        );
        let p = load_corpus(&c, dir.path()).unwrap();
        assert_eq!(p.unit, Unit::Paragraph);
        let got: Vec<(&str, &str)> = p
            .units
            .iter()
            .map(|u| (u.id.as_str(), u.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("line 1", "One a.\nOne b."),
                ("line 5", "Two."),
                ("line 8", "Three.")
            ]
        );
        let l = load_corpus(&with(c, |f| f.unit = Some(Unit::Line)), dir.path()).unwrap();
        assert_eq!(l.units.len(), 4);
        assert_eq!(l.units[1].text, "One b.");
        assert_ne!(p.resolved.identity(), l.resolved.identity());
    }

    #[test]
    fn jsonl_records_group_into_documents_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let c = file(
            dir.path(),
            "c.jsonl",
            "{\"doc\": \"a\", \"body\": \"x1\"}\n{\"doc\": \"b\", \"body\": \"y\"}\n\
             {\"doc\": \"a\", \"body\": \"x2\"}\n{\"doc\": \"c\", \"body\": \" \"}\n",
        );
        let c = with(c, |f| {
            f.text_field = Some("body".into());
            f.id_field = Some("doc".into());
        });
        let docs = load_corpus(&c, dir.path()).unwrap();
        let got: Vec<(&str, &str)> = docs
            .units
            .iter()
            .map(|u| (u.id.as_str(), u.text.as_str()))
            .collect();
        assert_eq!(got, vec![("a", "x1\nx2"), ("b", "y")]);
        let lines = load_corpus(&with(c, |f| f.unit = Some(Unit::Line)), dir.path()).unwrap();
        assert_eq!(lines.units[1].id, "a/l2");
    }

    #[test]
    fn keys_count_the_content_and_options_not_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_corpus(&file(dir.path(), "a.txt", "p1\n\np2\n"), dir.path()).unwrap();
        let b = load_corpus(&file(dir.path(), "b.txt", "p1\n\np2\n"), dir.path()).unwrap();
        let c = load_corpus(&file(dir.path(), "c.txt", "p1\n\np3\n"), dir.path()).unwrap();
        assert_eq!(a.resolved.identity(), b.resolved.identity());
        assert_eq!(a.label, b.label);
        assert_ne!(a.resolved.identity(), c.resolved.identity());
        // The default unit is written out, so naming it changes nothing.
        let explicit = with(file(dir.path(), "a.txt", "p1\n\np2\n"), |f| {
            f.unit = Some(Unit::Paragraph)
        });
        assert_eq!(
            load_corpus(&explicit, dir.path()).unwrap().resolved,
            a.resolved
        );
        assert_eq!(
            serde_json::to_string(&CorpusRef::Wikitext2).unwrap(),
            "\"wikitext2\""
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let err = |c: CorpusRef| format!("{:#}", load_corpus(&c, dir.path()).err().unwrap());
        let e = err(file(dir.path(), "empty.txt", " \n\n"));
        assert!(e.contains("empty.txt has no text"), "{e}");
        let e = err(file(dir.path(), "one.txt", "just one paragraph\n"));
        assert!(e.contains("single paragraph") && e.contains("line"), "{e}");
        let e = err(with(file(dir.path(), "doc.txt", "a\n\nb\n"), |f| {
            f.unit = Some(Unit::Document)
        }));
        assert!(e.contains("one document"), "{e}");
        let e = err(file(
            dir.path(),
            "bad.jsonl",
            "{\"text\": \"a\"}\n{\"txt\": \"b\"}\n",
        ));
        assert!(
            e.contains("bad.jsonl:2:") && e.contains("text_field"),
            "{e}"
        );
        let e = err(file(
            dir.path(),
            "bad2.jsonl",
            "{\"text\": \"a\"}\nnot json\n",
        ));
        assert!(e.contains("bad2.jsonl:2: malformed record"), "{e}");
        let e = err("nowhere/x.txt".parse().unwrap());
        assert!(e.contains("nowhere/x.txt"), "{e}");
        let e = format!(
            "{:#}",
            CorpusRef::from_args(None, Some(Unit::Line)).unwrap_err()
        );
        assert!(e.contains("--corpus-unit applies to corpus files"), "{e}");
    }
}
