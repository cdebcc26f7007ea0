//! Prompt templates of task files: `{{field}}` substitution, nothing else.
//!
//! Why not Jinja (minijinja), as lm-evaluation-harness uses: every prompt the shipped tasks
//! need is a substitution of record fields, and the numbers must reproduce exactly; a full
//! template language would add semantics (whitespace control, filters, undefined values that
//! render as empty strings) whose every corner would need pinning, for no task that uses them.
//! Anything more elaborate is better done once, in the JSONL the task reads. A name that is
//! not in a record is an error, never an empty string.
//!
//! - `{{name}}` or `{{ name }}`: the record's field `name` (a string, or a number or boolean
//!   written as JSON writes it); `{{raw.question}}` reaches into an object.
//! - A whole value that is a bare name (`context`, `raw.question`) is that field, as in the
//!   harness's task files.

use anyhow::{bail, Result};
use serde_json::Value;

/// A dotted path into a JSON record (`raw.question`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    /// A path of identifiers (`[A-Za-z_][A-Za-z0-9_]*`) joined by dots, or `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let parts: Vec<String> = s.split('.').map(str::to_string).collect();
        let ident = |p: &String| {
            let mut chars = p.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        parts.iter().all(ident).then_some(Self(parts))
    }

    /// The value at this path, or an error naming the path and the fields the record has.
    pub fn get<'a>(&self, record: &'a Value) -> Result<&'a Value> {
        let mut at = record;
        for (i, part) in self.0.iter().enumerate() {
            match at.get(part) {
                Some(v) => at = v,
                None => {
                    let known = match at {
                        Value::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
                        _ => "none: it is not an object".to_string(),
                    };
                    let path = self.0[..=i].join(".");
                    bail!("no field `{path}` in this record (its fields: {known})");
                }
            }
        }
        Ok(at)
    }

    /// The value as text: strings as they are, numbers and booleans as JSON writes them.
    pub fn text(&self, record: &Value) -> Result<String> {
        match self.get(record)? {
            Value::String(s) => Ok(s.clone()),
            v @ (Value::Number(_) | Value::Bool(_)) => Ok(v.to_string()),
            other => bail!(
                "field `{self}` is {}, not text",
                match other {
                    Value::Null => "null",
                    Value::Array(_) => "a list",
                    _ => "an object",
                }
            ),
        }
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Field(FieldPath),
}

/// A parsed template: literal text and fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `source`: a bare field name, or text with `{{field}}` in it. Errors say what is
    /// malformed and where (character offset).
    pub fn parse(source: &str) -> Result<Self> {
        match FieldPath::parse(source) {
            Some(path) => Ok(Self {
                parts: vec![Part::Field(path)],
            }),
            None => Self::parse_text(source),
        }
    }

    /// Parses `source` as text in which only `{{field}}` substitutes: a bare word is itself
    /// (the entries of a list of choices, such as `["no", "yes"]`).
    pub fn parse_text(source: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                bail!(
                    "`{{{{` at character {} is never closed with `}}}}`",
                    offset + open
                );
            };
            let name = after[..close].trim();
            let Some(path) = FieldPath::parse(name) else {
                bail!(
                    "`{{{{{}}}}}` at character {} is not a field name (letters, digits, `_`, \
                     dots between names; no filters or expressions)",
                    &after[..close],
                    offset + open
                );
            };
            parts.push(Part::Field(path));
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if rest.contains("}}") {
            bail!("`}}}}` without an opening `{{{{`");
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// The template with `record`'s fields substituted.
    pub fn render(&self, record: &Value) -> Result<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Field(path) => out.push_str(&path.text(record)?),
            }
        }
        Ok(out)
    }

    /// The whole template is one field (so a list-valued field may stand for the choices).
    pub fn as_field(&self) -> Option<&FieldPath> {
        match self.parts.as_slice() {
            [Part::Field(path)] => Some(path),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_substituted() {
        let r = json!({"q": "Why?", "n": 3, "raw": {"stem": "x"}});
        let t = Template::parse("Question: {{q}} ({{ n }}, {{raw.stem}})\nAnswer:").unwrap();
        assert_eq!(t.render(&r).unwrap(), "Question: Why? (3, x)\nAnswer:");
        assert_eq!(Template::parse("q").unwrap().render(&r).unwrap(), "Why?");
        assert_eq!(
            Template::parse("no fields").unwrap().render(&r).unwrap(),
            "no fields"
        );
        assert_eq!(Template::parse_text("q").unwrap().render(&r).unwrap(), "q");
    }

    #[test]
    fn unknown_fields_and_bad_syntax_are_errors() {
        let r = json!({"question": "Why?"});
        let err = Template::parse("{{questoin}}")
            .unwrap()
            .render(&r)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`questoin`") && err.contains("question"),
            "{err}"
        );
        let err = Template::parse("a {{q").unwrap_err().to_string();
        assert!(err.contains("character 2 is never closed"), "{err}");
        let err = Template::parse("{{ q | upper }}").unwrap_err().to_string();
        assert!(err.contains("not a field name"), "{err}");
        assert!(Template::parse("a }} b").is_err());
        let err = Template::parse("{{q}}")
            .unwrap()
            .render(&json!({"q": ["a"]}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a list, not text"), "{err}");
    }
}
