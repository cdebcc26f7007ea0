//! Hugging Face checkpoint folder → folder without some blocks.
//!
//! - safetensors: each source file gives an output file of the same name with the tensors that
//!   remain, bytes and dtype unchanged, the language model's layers renumbered; the shard index
//!   is rewritten (weight map, total size). A shard the removal empties is not written.
//! - config.json: `num_hidden_layers`; Gemma 3's `layer_types` written out layer by layer, so
//!   that a reload computes the chosen rule whatever pattern the reader would otherwise assume,
//!   and `sliding_window_pattern` kept only where it agrees with them; any other list with one
//!   entry per layer loses the removed layers' entries.
//! - every other file (tokenizer, generation config, ...) is copied, except weights in other
//!   formats, which would still hold the removed blocks.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use safetensors::SafeTensors;
use serde_json::Value;

use super::staging::{Kind, Staging};
use super::{rename_tensor, ExportRequest, Exported, Renamed, Renumbering};
use crate::model::gemma3;
use crate::model::hf::{Checkpoint, Family, HfConfig};
use crate::model::LayerTypeRule;
use crate::progress::Progress;

/// Where the language model's layers are, by how the checkpoint nests it (see
/// `model::hf::Nesting`); a vision tower's layers live elsewhere and are left alone.
const LAYER_PREFIXES: [&str; 3] = [
    "model.layers.",
    "language_model.model.layers.",
    "model.language_model.layers.",
];

const INDEX: &str = "model.safetensors.index.json";

/// Weight formats not rewritten, so not copied: they would still hold every block.
const OTHER_WEIGHTS: [&str; 8] = ["bin", "pt", "pth", "h5", "msgpack", "onnx", "gguf", "ckpt"];

/// Writes the checkpoint in `dir` without the blocks of `request`.
pub fn export(dir: &Path, request: &ExportRequest) -> Result<Exported> {
    let ckpt = Checkpoint::open(dir)?;
    let n_blocks = ckpt.config.num_hidden_layers;
    let map = Renumbering::new(n_blocks, &request.removed)?;
    let family = ckpt.config.family()?;
    // Gemma 3: whether each remaining layer attends globally, under the chosen rule.
    let global_after = (family == Family::Gemma3)
        .then(|| {
            let cfg = gemma3::Config::from_hf(&ckpt.config)?;
            Ok::<Vec<bool>, anyhow::Error>(match request.layer_types {
                LayerTypeRule::Own => map.kept().iter().map(|&i| cfg.is_global(i)).collect(),
                LayerTypeRule::Renumbered => (0..map.n_after()).map(|i| cfg.is_global(i)).collect(),
            })
        })
        .transpose()?;
    let layer_types = global_after.as_ref().map(|_| request.layer_types);

    let staged = Staging::new(&request.out, Kind::Folder, request.force)?;
    let out = staged.path();
    let mut notes = Vec::new();
    let weights = write_weights(&ckpt, &map, out, &mut notes, request.quiet)?;
    if dir.join(INDEX).exists() {
        write_index(&dir.join(INDEX), &weights, &out.join(INDEX))?;
    }
    write_config(
        &dir.join("config.json"),
        n_blocks,
        &map,
        global_after.as_deref(),
        &out.join("config.json"),
        &mut notes,
    )?;
    copy_other_files(dir, &ckpt, out, &mut notes)?;
    check_written(out, &map, global_after.as_deref())?;

    let mut files: Vec<String> = weights.files.clone();
    files.push("config.json".into());
    if dir.join(INDEX).exists() {
        files.push(INDEX.into());
    }
    staged.commit()?;
    Ok(Exported {
        format: "hf",
        source: dir.to_path_buf(),
        out: request.out.clone(),
        removed: map.removed(),
        blocks_before: n_blocks,
        blocks_after: map.n_after(),
        tensors_before: weights.tensors_before,
        tensors_after: weights.weight_map.len(),
        tensor_bytes: weights.bytes,
        files,
        layer_types,
        notes,
    })
}

/// What the weight files of an export hold.
struct Weights {
    /// Tensor name → file, for the index.
    weight_map: BTreeMap<String, String>,
    bytes: u64,
    tensors_before: usize,
    files: Vec<String>,
}

/// The new name of a tensor: layers under one of [`LAYER_PREFIXES`] renumbered or dropped.
fn rename(name: &str, map: &Renumbering) -> Result<Renamed> {
    for prefix in LAYER_PREFIXES {
        if super::block_index(name, prefix).is_some() {
            return rename_tensor(name, prefix, map);
        }
    }
    Ok(Renamed::Same)
}

fn write_weights(
    ckpt: &Checkpoint,
    map: &Renumbering,
    out: &Path,
    notes: &mut Vec<String>,
    quiet: bool,
) -> Result<Weights> {
    let progress = Progress::new(
        "export",
        Some(ckpt.weight_files.len() as u64),
        "weight files",
        quiet,
    );
    let mut weights = Weights {
        weight_map: BTreeMap::new(),
        bytes: 0,
        tensors_before: 0,
        files: Vec::new(),
    };
    let mut layer_tensors = 0;
    for path in &ckpt.weight_files {
        let file_name = path
            .file_name()
            .ok_or_else(|| anyhow!("{} has no file name", path.display()))?
            .to_string_lossy()
            .into_owned();
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        // SAFETY: mapped read-only; the source is not written while the export reads it.
        let mmap = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("cannot map {}", path.display()))?;
        let tensors = SafeTensors::deserialize(&mmap)
            .map_err(|e| anyhow!("{} is not a readable safetensors file: {e}", path.display()))?;
        let (_, header) = SafeTensors::read_metadata(&mmap)
            .map_err(|e| anyhow!("{} is not a readable safetensors file: {e}", path.display()))?;
        let mut kept = Vec::new();
        for (name, view) in tensors.iter() {
            weights.tensors_before += 1;
            let renamed = rename(name, map).with_context(|| path.display().to_string())?;
            if renamed != Renamed::Same {
                layer_tensors += 1;
            }
            let new_name = match renamed {
                Renamed::Dropped => continue,
                Renamed::Same => name.to_string(),
                Renamed::To(n) => n,
            };
            weights.bytes += view.data().len() as u64;
            weights
                .weight_map
                .insert(new_name.clone(), file_name.clone());
            kept.push((new_name, view));
        }
        if kept.is_empty() {
            notes.push(format!(
                "{file_name}: held only removed blocks' tensors, not written"
            ));
            continue;
        }
        let dest = out.join(&file_name);
        safetensors::serialize_to_file(kept, header.metadata().clone(), &dest)
            .map_err(|e| anyhow!("writing {}: {e}", dest.display()))?;
        weights.files.push(file_name);
        progress.inc(1);
    }
    if layer_tensors == 0 {
        bail!(
            "{}: no tensor is named like a layer ({}<i>.*); this checkpoint's layout is not one the exporter knows",
            ckpt.dir.display(),
            LAYER_PREFIXES.join("<i>.*, ")
        );
    }
    Ok(weights)
}

/// The source's shard index with the new weight map and total size; its other metadata kept.
fn write_index(source: &Path, weights: &Weights, dest: &Path) -> Result<()> {
    let mut index = read_json(source)?;
    let object = index
        .as_object_mut()
        .ok_or_else(|| anyhow!("{} is not a JSON object", source.display()))?;
    object.insert(
        "weight_map".into(),
        serde_json::to_value(&weights.weight_map)?,
    );
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(m) = metadata.as_object_mut() {
        m.insert("total_size".into(), weights.bytes.into());
    }
    write_json(dest, &index)
}

/// config.json with the layer count, and every per-layer list, for the remaining blocks.
fn write_config(
    source: &Path,
    n_blocks: usize,
    map: &Renumbering,
    global_after: Option<&[bool]>,
    dest: &Path,
    notes: &mut Vec<String>,
) -> Result<()> {
    let mut config = read_json(source)?;
    // Multimodal Gemma 3 keeps the language model's settings in text_config.
    let nested = config.get("model_type").and_then(Value::as_str) == Some("gemma3")
        && config.get("text_config").is_some_and(Value::is_object);
    let text = if nested {
        &mut config["text_config"]
    } else {
        &mut config
    };
    let text = text
        .as_object_mut()
        .ok_or_else(|| anyhow!("{} is not a JSON object", source.display()))?;
    text.insert("num_hidden_layers".into(), map.n_after().into());
    if let Some(global) = global_after {
        let types: Vec<&str> = global
            .iter()
            .map(|&g| {
                if g {
                    "full_attention"
                } else {
                    "sliding_attention"
                }
            })
            .collect();
        text.insert("layer_types".into(), serde_json::to_value(types)?);
        let pattern = text.get("sliding_window_pattern").and_then(Value::as_u64);
        if let Some(p) = pattern {
            let agrees = (p > 0)
                && global
                    .iter()
                    .enumerate()
                    .all(|(i, &g)| g == (i as u64 + 1).is_multiple_of(p));
            if !agrees {
                text.remove("sliding_window_pattern");
                notes.push(format!(
                    "config.json: sliding_window_pattern ({p}) removed, layer_types no longer follow it; a reader that ignores layer_types (older transformers) would compute other types"
                ));
            }
        }
    }
    let kept = map.kept();
    for (key, value) in text.iter_mut() {
        if key == "architectures" || (key == "layer_types" && global_after.is_some()) {
            continue;
        }
        if let Value::Array(items) = value {
            if items.len() == n_blocks {
                *items = kept.iter().map(|&i| items[i].clone()).collect();
                notes.push(format!(
                    "config.json: {key} has one entry per layer, removed layers' dropped"
                ));
            }
        }
    }
    write_json(dest, &config)
}

/// Copies every file of the checkpoint that is not rewritten (tokenizer files and the like).
fn copy_other_files(
    dir: &Path,
    ckpt: &Checkpoint,
    out: &Path,
    notes: &mut Vec<String>,
) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
        let rewritten = name == "config.json"
            || name == INDEX
            || ckpt.weight_files.iter().any(|w| w == &path)
            || ext.as_deref() == Some("safetensors");
        if rewritten || !path.is_file() {
            continue;
        }
        if ext.is_some_and(|e| OTHER_WEIGHTS.contains(&e.as_str())) {
            notes.push(format!(
                "{name}: weights in another format, not copied (they would still hold every block)"
            ));
            continue;
        }
        std::fs::copy(&path, out.join(&name))
            .with_context(|| format!("copying {}", path.display()))?;
    }
    Ok(())
}

/// Opens the written folder as a model load would, and checks its layer count, its layer
/// types and that its layers are numbered 0..n.
fn check_written(out: &Path, map: &Renumbering, global_after: Option<&[bool]>) -> Result<()> {
    let broken = |what: String| {
        anyhow!(
            "{} does not read back as written: {what} (a bug in the exporter; please report it)",
            out.display()
        )
    };
    let ckpt = Checkpoint::open(out).map_err(|e| broken(format!("{e:#}")))?;
    let config: &HfConfig = &ckpt.config;
    if config.num_hidden_layers != map.n_after() {
        return Err(broken(format!(
            "num_hidden_layers {}",
            config.num_hidden_layers
        )));
    }
    if let Some(global) = global_after {
        let cfg = gemma3::Config::from_hf(config)?;
        let reloaded: Vec<bool> = (0..map.n_after()).map(|i| cfg.is_global(i)).collect();
        if reloaded != global {
            return Err(broken("layer types".into()));
        }
    }
    let mut layers = std::collections::BTreeSet::new();
    for path in &ckpt.weight_files {
        let file = File::open(path)?;
        // SAFETY: as in write_weights; the file was just written by this process.
        let mmap = unsafe { memmap2::Mmap::map(&file) }?;
        let tensors = SafeTensors::deserialize(&mmap).map_err(|e| broken(e.to_string()))?;
        for name in tensors.names() {
            if let Some((i, _)) = LAYER_PREFIXES
                .iter()
                .find_map(|p| super::block_index(name, p))
            {
                layers.insert(i);
            }
        }
    }
    if !layers.iter().copied().eq(0..map.n_after()) {
        return Err(broken(format!("layers {layers:?}")));
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_language_models_layers_are_renumbered() {
        let map = Renumbering::new(4, &[1]).unwrap();
        let to = |n: &str| Renamed::To(n.to_string());
        for (name, expected) in [
            (
                "model.layers.3.mlp.up_proj.weight",
                to("model.layers.2.mlp.up_proj.weight"),
            ),
            (
                "language_model.model.layers.2.self_attn.q_proj.weight",
                to("language_model.model.layers.1.self_attn.q_proj.weight"),
            ),
            (
                "model.language_model.layers.1.input_layernorm.weight",
                Renamed::Dropped,
            ),
            // A vision tower's layers are not the language model's blocks.
            (
                "vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight",
                Renamed::Same,
            ),
            ("lm_head.weight", Renamed::Same),
        ] {
            assert_eq!(rename(name, &map).unwrap(), expected, "{name}");
        }
    }
}
