//! Which files make up a Hugging Face checkpoint folder: the safetensors shards its index names.
//! Shared by fetching (what to download, whether a snapshot is complete) and loading.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

/// The shard file names `model.safetensors.index.json` maps the tensors to, each once.
pub fn shard_names(index: &Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(index)
        .with_context(|| format!("cannot read {}", index.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", index.display()))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| anyhow!("{} has no weight_map", index.display()))?;
    Ok(map
        .values()
        .filter_map(|v| v.as_str().map(String::from))
        .collect())
}

/// The weight files of a checkpoint folder: the shards of `model.safetensors.index.json`, or
/// `model.safetensors`, or every `*.safetensors`.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let files = shard_names(&index)?;
        let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
        for p in &paths {
            if !p.exists() {
                bail!(
                    "{} lists {} but it is missing; download the whole checkpoint",
                    index.display(),
                    p.display()
                );
            }
        }
        return Ok(paths);
    }
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(vec![single]);
    }
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    all.sort();
    if all.is_empty() {
        bail!(
            "{} has no model.safetensors, model.safetensors.index.json or *.safetensors",
            dir.display()
        );
    }
    Ok(all)
}
