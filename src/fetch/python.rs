//! Python packages that independent checks run (the `gguf` reader the export tests compare
//! against), fetched the way models are: on first use, by the project, into a folder of the
//! cache it owns (`$DEPTHPRUNE_CACHE/python/<hash of the requirements>`), so a fresh machine
//! needs only what README lists (python3 with pip) and nothing is installed system-wide.
//!
//! `pip install --target` rather than a virtual environment: `python3 -m venv` needs Debian's
//! separate `python3-venv` package, and `--target` is also exempt from PEP 668's refusal to
//! install into a distribution's Python.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};

use super::checksum::hex;

/// Marks a complete install; written last, so a half-finished one is never used.
const COMPLETE: &str = ".depthprune-complete";

/// Installed packages and the interpreter that imports them.
#[derive(Debug, Clone)]
pub struct PythonPackages {
    pub dir: PathBuf,
    python: OsString,
}

impl PythonPackages {
    /// The interpreter with the packages importable.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.python);
        cmd.env("PYTHONPATH", &self.dir)
            .env("PYTHONNOUSERSITE", "1");
        cmd
    }
}

/// What to do about a failed `python3 -m pip ...`, from its stderr (shared with the model
/// catalogue, which downloads wheels the same way).
pub(crate) fn pip_failure_hint(stderr: &str) -> &'static str {
    if stderr.contains("No module named pip") {
        "pip is missing: install it (`apt-get install python3-pip` or `python3 -m ensurepip`)"
    } else {
        "check the network connection to the package index"
    }
}

/// The interpreter: `$DEPTHPRUNE_PYTHON`, else `python3` on the PATH.
fn python() -> OsString {
    std::env::var_os("DEPTHPRUNE_PYTHON")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// `requirements` (pinned pip specifiers such as `gguf==0.17.1`) installed under the cache,
/// on first use; later calls return at once.
pub fn ensure(requirements: &[&str]) -> Result<PythonPackages> {
    ensure_in(&python(), &super::cache_dir()?.join("python"), requirements)
}

/// [`ensure`] with the interpreter `python`, under `root` instead of the cache.
pub fn ensure_in(python: &OsStr, root: &Path, requirements: &[&str]) -> Result<PythonPackages> {
    let python = python.to_os_string();
    let tag = hex(&Sha256::digest(requirements.join("\n").as_bytes()));
    let dir = root.join(&tag[..16]);
    let packages = PythonPackages {
        dir: dir.clone(),
        python: python.clone(),
    };
    if dir.join(COMPLETE).is_file() {
        return Ok(packages);
    }
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    // A sibling folder, renamed into place when complete: parallel tests never see half an
    // install, and an interrupted one leaves only a folder the next call replaces.
    let staging = tempfile::Builder::new()
        .prefix(".installing-")
        .tempdir_in(root)
        .with_context(|| format!("creating a folder in {}", root.display()))?;
    eprintln!(
        "installing {} into {} (once)",
        requirements.join(" "),
        dir.display()
    );
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--only-binary=:all:",
            "--target",
        ])
        .arg(staging.path())
        .args(requirements)
        .output()
        .map_err(|e| {
            anyhow!(
                "cannot run {} ({e}): installing {} needs python3 with pip; install them \
                 (e.g. `apt-get install python3 python3-pip`) or point DEPTHPRUNE_PYTHON at an \
                 interpreter that has pip",
                python.to_string_lossy(),
                requirements.join(" ")
            )
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = pip_failure_hint(&stderr);
        bail!(
            "`{} -m pip install --target {} {}` failed: {hint}\n{}",
            python.to_string_lossy(),
            staging.path().display(),
            requirements.join(" "),
            stderr.trim()
        );
    }
    std::fs::write(staging.path().join(COMPLETE), requirements.join("\n"))?;
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, &dir) {
        // Another process finished first: use its install.
        let _ = std::fs::remove_dir_all(&staged);
        if !dir.join(COMPLETE).is_file() {
            return Err(e).with_context(|| format!("moving the install to {}", dir.display()));
        }
    }
    Ok(packages)
}
