//! The Jinja templates of task files, through minijinja, configured as lm-evaluation-harness
//! configures Jinja2 (`lm_eval/utils.py`): undefined names are errors (`StrictUndefined`), a
//! trailing newline is kept, and the `regex_replace` filter is registered. Python's methods
//! on strings, lists and dicts (`.strip()`, `.lstrip()`, `.split()`, `.index(...)`, ...) come
//! from `minijinja-contrib`'s `pycompat`, plus `.index` (on lists and strings), which lm-eval's
//! files use (`choices.label.index(answerKey)`) and `pycompat` lacks.
//!
//! What differs from Jinja2 is where Python's `str()` of a value would show: minijinja writes
//! `none`, `true` and `["a", "b"]` where Jinja2 writes `None`, `True` and `['a', 'b']`. A
//! template that is one expression (`{{[sol1, sol2]}}`) is evaluated to its value instead of
//! rendered, which is what lm-eval's `ast.literal_eval` of the rendered text gives back.
//!
//! [`FieldPath`] (a dotted path into a record) is shared with JSONL corpora.

use anyhow::{anyhow, bail, Result};
use minijinja::value::{from_args, Value as JValue, ValueKind};
use minijinja::{Environment, Error as JError, ErrorKind, State, UndefinedBehavior};
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

/// The template environment of task files (one per loaded task; cheap to build).
pub struct Jinja {
    env: Environment<'static>,
}

impl Default for Jinja {
    fn default() -> Self {
        Self::new()
    }
}

impl Jinja {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_unknown_method_callback(python_methods);
        env.add_filter("regex_replace", regex_replace);
        Self { env }
    }

    /// Parses `source` without rendering it, so a syntax error is reported when the task file
    /// loads rather than at its first record.
    pub fn check(&self, source: &str) -> Result<()> {
        match single_expression(source) {
            Some(expr) => self.env.compile_expression(expr).map(drop),
            None => self.env.template_from_str(source).map(drop),
        }
        .map_err(|e| anyhow!("{}", describe(&e)))
    }

    /// `source` rendered with `record`'s fields as its variables.
    pub fn render(&self, source: &str, record: &Value) -> Result<String> {
        let ctx = JValue::from_serialize(record);
        let tmpl = self
            .env
            .template_from_str(source)
            .map_err(|e| anyhow!("{}", describe(&e)))?;
        tmpl.render(&ctx).map_err(|e| {
            let missing = (e.kind() == ErrorKind::UndefinedError)
                .then(|| missing_field(tmpl.undeclared_variables(true), record))
                .flatten();
            missing.unwrap_or_else(|| anyhow!("{}", describe(&e)))
        })
    }

    /// The value of a one-expression template (`{{choices.text}}`, `{{[sol1, sol2]}}`), or
    /// `None` when `source` is more than one expression.
    pub fn eval(&self, source: &str, record: &Value) -> Option<Result<Value>> {
        let expr = single_expression(source)?;
        let run = || -> Result<Value> {
            let compiled = self
                .env
                .compile_expression(expr)
                .map_err(|e| anyhow!("{}", describe(&e)))?;
            let value = compiled.eval(JValue::from_serialize(record)).map_err(|e| {
                let missing = (e.kind() == ErrorKind::UndefinedError)
                    .then(|| missing_field(compiled.undeclared_variables(true), record))
                    .flatten();
                missing.unwrap_or_else(|| anyhow!("{}", describe(&e)))
            })?;
            // An undefined attribute inside a list literal is a value, not an error, even in
            // strict mode.
            if has_undefined(&value) {
                return Err(
                    missing_object_key(compiled.undeclared_variables(true), record)
                        .unwrap_or_else(|| anyhow!("`{expr}` is undefined for this record")),
                );
            }
            serde_json::to_value(&value).map_err(|e| anyhow!("`{expr}` gives no plain value: {e}"))
        };
        Some(run())
    }
}

/// The expression inside a template that is exactly one `{{ ... }}`.
pub fn single_expression(source: &str) -> Option<&str> {
    let inner = source.strip_prefix("{{")?.strip_suffix("}}")?;
    if ["{{", "}}", "{%", "%}", "{#"]
        .iter()
        .any(|m| inner.contains(m))
    {
        return None;
    }
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    Some(inner.strip_suffix('-').unwrap_or(inner))
}

/// minijinja's message with its own detail (the line and what was expected).
fn describe(e: &JError) -> String {
    let mut text = e.to_string();
    if let Some(detail) = e.detail() {
        if !text.contains(detail) {
            text = format!("{text}: {detail}");
        }
    }
    text
}

/// The first name (or dotted path) a template uses that `record` lacks, as an error naming
/// it and the fields the record has.
fn missing_field(
    names: std::collections::HashSet<String>,
    record: &Value,
) -> Option<anyhow::Error> {
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort();
    names
        .iter()
        .filter_map(|n| FieldPath::parse(n))
        .find_map(|p| p.get(record).err())
}

fn has_undefined(v: &JValue) -> bool {
    let Ok(items) = v.try_iter() else {
        return v.is_undefined();
    };
    match v.kind() {
        ValueKind::Seq => items.into_iter().any(|x| has_undefined(&x)),
        ValueKind::Map => items
            .into_iter()
            .any(|k| v.get_item(&k).is_ok_and(|x| has_undefined(&x))),
        _ => v.is_undefined(),
    }
}

/// The first dotted name whose parts are missing from an object of the record (a part after a
/// list or a string is a method or an index, not checked).
fn missing_object_key(
    names: std::collections::HashSet<String>,
    record: &Value,
) -> Option<anyhow::Error> {
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort();
    names.iter().find_map(|name| {
        let mut at = record;
        let parts: Vec<&str> = name.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let Value::Object(map) = at else {
                return None;
            };
            match map.get(*part) {
                Some(v) => at = v,
                None => {
                    let known = map.keys().cloned().collect::<Vec<_>>().join(", ");
                    return Some(anyhow!(
                        "no field `{}` in this record (its fields: {known})",
                        parts[..=i].join(".")
                    ));
                }
            }
        }
        None
    })
}

/// Python's methods: `pycompat`'s, and `index` on lists and strings (a `ValueError` in Python
/// when the item is absent; an error here too).
fn python_methods(
    state: &State,
    value: &JValue,
    method: &str,
    args: &[JValue],
) -> Result<JValue, JError> {
    if method == "index" {
        let (what,): (&JValue,) = from_args(args)?;
        let found = match value.kind() {
            ValueKind::Seq => value.try_iter()?.position(|x| &x == what),
            ValueKind::String => {
                let (s, w) = (value.as_str().unwrap_or(""), what.as_str().unwrap_or(""));
                s.find(w).map(|b| s[..b].chars().count())
            }
            _ => return Err(JError::from(ErrorKind::UnknownMethod)),
        };
        return found.map(JValue::from).ok_or_else(|| {
            JError::new(
                ErrorKind::InvalidOperation,
                format!("{what} is not in {value} (Python's .index raises ValueError)"),
            )
        });
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// lm-eval's `regex_replace(string, pattern, repl, count=0)` filter (Python's `re.sub`):
/// `\1` and `\g<name>` in `repl` are groups.
fn regex_replace(
    string: String,
    pattern: String,
    repl: String,
    count: Option<usize>,
) -> Result<String, JError> {
    let re = regex::Regex::new(&pattern).map_err(|e| {
        JError::new(
            ErrorKind::InvalidOperation,
            format!("regex_replace: bad pattern {pattern:?}: {e}"),
        )
    })?;
    // Python's replacement syntax in the regex crate's: `$` is literal, `\N` / `\g<N>` groups.
    let groups = regex::Regex::new(r"\\g<(\w+)>|\\(\d+)").expect("a valid pattern");
    let escaped = repl.replace('$', "$$");
    let rust_repl = groups.replace_all(&escaped, |c: &regex::Captures| {
        format!("${{{}}}", c.get(1).or(c.get(2)).map_or("", |m| m.as_str()))
    });
    Ok(re
        .replacen(&string, count.unwrap_or(0), rust_repl.as_ref())
        .into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(source: &str, record: &Value) -> String {
        Jinja::new().render(source, record).unwrap()
    }

    fn eval(source: &str, record: &Value) -> Value {
        Jinja::new().eval(source, record).unwrap().unwrap()
    }

    /// Every construct lm-eval's multiple-choice files use, with the value Jinja2 gives.
    #[test]
    fn lm_eval_constructs_render_as_jinja2_does() {
        let r = json!({
            "question": "  Why?  ", "answerKey": " B", "n": 3,
            "choices": {"label": ["A", "B"], "text": ["x", "y"]},
            "sol1": "a", "sol2": "b", "sentence": "He _ won.", "raw": {"stem": "s"},
        });
        assert_eq!(render("Q: {{question | trim}}\nA:", &r), "Q: Why?\nA:");
        assert_eq!(render("{{question.strip()}}|", &r), "Why?|");
        assert_eq!(render("{{question.lstrip()}}|", &r), "Why?  |");
        assert_eq!(render("{{choices.text | join(', ')}}", &r), "x, y");
        assert_eq!(
            render("{{choices.label.index(answerKey.lstrip())}}", &r),
            "1"
        );
        assert_eq!(render("{{sentence.index('_')}}", &r), "3");
        assert_eq!(
            render("{{sentence[:sentence.index('_')] ~ sol1}}", &r),
            "He a"
        );
        assert_eq!(render("{{raw.stem}} {{n}}", &r), "s 3");
        assert_eq!(render("{{ n - 1 }}", &r), "2");
        assert_eq!(
            render("{{ question | regex_replace('(W)hy', '\\\\1hat') }}", &r),
            "  What?  "
        );
        assert_eq!(render("ends with a newline\n", &r), "ends with a newline\n");
        assert_eq!(eval("{{[sol1, sol2]}}", &r), json!(["a", "b"]));
        assert_eq!(eval("{{ choices.text }}", &r), json!(["x", "y"]));
        assert_eq!(eval("{{choices.label.index('A')}}", &r), json!(0));
        assert!(Jinja::new().eval("a {{b}}", &r).is_none());
    }

    #[test]
    fn unknown_fields_and_bad_syntax_are_errors() {
        let r = json!({"question": "Why?", "raw": {"a": 1}});
        let j = Jinja::new();
        let err = j.render("{{questoin}}", &r).unwrap_err().to_string();
        assert!(
            err.contains("no field `questoin`") && err.contains("question"),
            "{err}"
        );
        let err = j.render("{{raw.b}}", &r).unwrap_err().to_string();
        assert!(err.contains("no field `raw.b`"), "{err}");
        let err = j.eval("{{[raw.b]}}", &r).unwrap().unwrap_err().to_string();
        assert!(err.contains("no field `raw.b`"), "{err}");
        let err = j.check("a {{q").unwrap_err().to_string();
        assert!(err.contains("syntax error"), "{err}");
        let err = j
            .render("{{question.index('z')}}", &r)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ValueError"), "{err}");
    }
}
