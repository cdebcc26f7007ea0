//! Writing the pruned model itself: the source checkpoint without the removed blocks' tensors,
//! the remaining blocks renumbered and the metadata that counts or types layers rewritten, so
//! that the exported model loaded with nothing skipped computes what the source computes with
//! `--skip`.
//!
//! - [`gguf`]: GGUF → GGUF, tensor bytes copied as they are (no re-quantisation);
//! - [`hf`]: Hugging Face folder → folder (safetensors sharded like the source, config.json,
//!   tokenizer files);
//! - [`best`]: the chosen set of one run in a suite's `results.json`;
//! - [`staging`]: the temporary name an export is written under until it is complete.

pub mod best;
pub mod gguf;
pub mod hf;
pub mod staging;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::model::{BlockMask, LayerTypeRule};

/// What to export and where.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// A catalogue id, a `.gguf` path, a checkpoint folder or `hf:<org>/<name>[@rev]`.
    pub model: String,
    /// Blocks to remove, 0-based.
    pub removed: Vec<usize>,
    /// Gemma 3: which local/global type each remaining block gets.
    pub layer_types: LayerTypeRule,
    pub out: PathBuf,
    /// Replace an existing export at `out`.
    pub force: bool,
    /// No progress on stderr.
    pub quiet: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exported {
    /// `gguf` or `hf`.
    pub format: &'static str,
    pub source: PathBuf,
    pub out: PathBuf,
    pub removed: Vec<usize>,
    pub blocks_before: usize,
    pub blocks_after: usize,
    pub tensors_before: usize,
    pub tensors_after: usize,
    /// Tensor data written, in bytes.
    pub tensor_bytes: u64,
    /// Files written (1 for a GGUF).
    pub files: Vec<String>,
    /// The layer-type rule the export expresses, for architectures that have layer types.
    pub layer_types: Option<LayerTypeRule>,
    /// Things worth knowing about the result (metadata rewritten, files not copied, ...).
    pub notes: Vec<String>,
}

/// Where a model's files are, without loading it.
enum Source {
    Gguf(PathBuf),
    HfDir(PathBuf),
}

impl Source {
    /// Finds `spec`'s files as [`crate::load::open_model`] does, without hashing them.
    fn resolve(spec: &str) -> Result<Self> {
        let located = crate::fetch::locate(spec)?;
        Ok(match located.format {
            crate::fetch::Format::Gguf => Self::Gguf(located.path),
            crate::fetch::Format::HfCheckpoint => Self::HfDir(located.path),
        })
    }

    fn path(&self) -> &Path {
        match self {
            Self::Gguf(p) | Self::HfDir(p) => p,
        }
    }
}

/// Exports `request.model` without the blocks `request.removed`.
pub fn export(request: &ExportRequest) -> Result<Exported> {
    let source = Source::resolve(&request.model)
        .with_context(|| format!("exporting model '{}'", request.model))?;
    if same_path(source.path(), &request.out) {
        bail!(
            "--out {} is the model being exported; choose another path",
            request.out.display()
        );
    }
    match &source {
        Source::Gguf(path) => gguf::export(path, request),
        Source::HfDir(dir) => hf::export(dir, request),
    }
}

/// Old block index → new block index, for the blocks that remain.
#[derive(Debug, Clone)]
pub struct Renumbering {
    mask: BlockMask,
    new_index: Vec<Option<usize>>,
}

impl Renumbering {
    /// Checks `removed` against a model of `n_blocks` blocks: indices in range, none twice, and
    /// at least one block left (a model without blocks is not a pruned model).
    pub fn new(n_blocks: usize, removed: &[usize]) -> Result<Self> {
        let mask = BlockMask::with_removed(n_blocks, removed).context("--skip")?;
        let mut next = 0;
        let new_index = (0..n_blocks)
            .map(|i| {
                mask.is_kept(i).then(|| {
                    next += 1;
                    next - 1
                })
            })
            .collect();
        Ok(Self { mask, new_index })
    }

    pub fn n_before(&self) -> usize {
        self.mask.n_blocks()
    }

    pub fn n_after(&self) -> usize {
        self.mask.kept().count()
    }

    /// The new index of block `old`, or `None` when it is removed or does not exist.
    pub fn new_index(&self, old: usize) -> Option<usize> {
        self.new_index.get(old).copied().flatten()
    }

    /// The remaining blocks' old indices, in order (position = new index).
    pub fn kept(&self) -> Vec<usize> {
        self.mask.kept().collect()
    }

    pub fn removed(&self) -> Vec<usize> {
        self.mask.removed()
    }
}

/// The block index and the rest of a tensor name `<prefix><i>.<rest>`; `None` when the name is
/// not a block tensor under `prefix`.
pub fn block_index<'a>(name: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = name.strip_prefix(prefix)?;
    let (index, tail) = rest.split_once('.')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((index.parse().ok()?, tail))
}

/// What becomes of a tensor name under a renumbering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renamed {
    /// Not a block tensor: kept under its name.
    Same,
    /// A tensor of a remaining block, under its new name.
    To(String),
    /// A tensor of a removed block.
    Dropped,
}

/// Renames a tensor `<prefix><i>.<rest>` to `<prefix><new i>.<rest>`. A block index the model
/// does not have is an error: the file disagrees with its own block count.
pub fn rename_tensor(name: &str, prefix: &str, map: &Renumbering) -> Result<Renamed> {
    let Some((old, tail)) = block_index(name, prefix) else {
        return Ok(Renamed::Same);
    };
    if old >= map.n_before() {
        bail!(
            "tensor '{name}' belongs to block {old} but the model has {} blocks",
            map.n_before()
        );
    }
    Ok(match map.new_index(old) {
        Some(new) => Renamed::To(format!("{prefix}{new}.{tail}")),
        None => Renamed::Dropped,
    })
}

/// Whether two paths name the same file or folder (the second need not exist).
fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renumbering_closes_the_gaps() {
        let r = Renumbering::new(6, &[1, 4]).unwrap();
        assert_eq!(r.kept(), vec![0, 2, 3, 5]);
        assert_eq!(
            (0..7).map(|i| r.new_index(i)).collect::<Vec<_>>(),
            vec![Some(0), None, Some(1), Some(2), None, Some(3), None]
        );
        assert_eq!(r.n_after(), 4);
        let err = format!("{:#}", Renumbering::new(2, &[0, 1]).unwrap_err());
        assert!(err.contains("cannot remove all 2 blocks"), "{err}");
    }

    #[test]
    fn block_tensor_names_are_renumbered() {
        let r = Renumbering::new(12, &[3]).unwrap();
        let rename = |n| rename_tensor(n, "blk.", &r).unwrap();
        assert_eq!(
            rename("blk.11.attn_q.weight"),
            Renamed::To("blk.10.attn_q.weight".into())
        );
        assert_eq!(rename("blk.3.attn_q.weight"), Renamed::Dropped);
        assert_eq!(
            rename("blk.2.ffn_up.weight"),
            Renamed::To("blk.2.ffn_up.weight".into())
        );
        assert_eq!(rename("token_embd.weight"), Renamed::Same);
        assert_eq!(rename("blk.x.attn_q.weight"), Renamed::Same);
        let err = rename_tensor("blk.12.attn_q.weight", "blk.", &r).unwrap_err();
        assert!(err.to_string().contains("has 12 blocks"), "{err}");
        let hf = rename_tensor("model.layers.4.mlp.up_proj.weight", "model.layers.", &r).unwrap();
        assert_eq!(hf, Renamed::To("model.layers.3.mlp.up_proj.weight".into()));
    }
}
