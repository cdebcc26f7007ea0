//! Calibration and evaluation data as data: the data the binary carries ([`bundled`]: the
//! repository's `data/`, described in its README.md and FORMATS.md; or `--data-dir` /
//! `$DEPTHPRUNE_DATA`, a folder of the same layout), and a user's own files.
//!
//! - [`tasks`]: multiple-choice tasks from task files in lm-evaluation-harness's schema (the
//!   seven built-in ones in `tasks/`);
//! - [`template`]: the Jinja templates of task files (minijinja, as lm-eval sets up Jinja2);
//! - [`corpus`]: text for perplexity (WikiText-2, or a text or JSONL file) cut into units;
//! - [`split`]: seeded, disjoint calibration / evaluation samples.

pub mod bundled;
pub mod corpus;
pub mod split;
pub mod tasks;
pub mod template;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

pub use corpus::{CorpusRef, Unit};
pub use split::Split;
pub use tasks::{Task, TaskRef};

/// Resolves the data directory: the explicit one, else `$DEPTHPRUNE_DATA`, else the data the
/// binary carries, unpacked into the cache on first use. Never the working directory.
pub fn data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    let candidate = match explicit {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os("DEPTHPRUNE_DATA").filter(|d| !d.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => return bundled::unpacked(),
        },
    };
    if !candidate.is_dir() {
        bail!(
            "data directory {} does not exist: pass --data-dir or set DEPTHPRUNE_DATA to the \
             folder holding wikitext2/, arc_easy/, ...",
            candidate.display()
        );
    }
    Ok(candidate)
}

/// For `skip_serializing_if`: a file reference whose path is left out of a store key.
pub(crate) fn path_is_empty(p: &Path) -> bool {
    p.as_os_str().is_empty()
}

/// A YAML error as `file:line:column: message` (serde_yaml_ng's own text says the location at the
/// end; it is said once, in front).
pub fn yaml_error(origin: &str, e: &serde_yaml_ng::Error) -> anyhow::Error {
    let at = e
        .location()
        .map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column()));
    let message = e.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    anyhow::anyhow!("{origin}{at}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_data_dir_says_what_to_do() {
        let err = data_dir(Some(Path::new("/nonexistent/data")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/data") && err.contains("--data-dir"),
            "{err}"
        );
    }
}
