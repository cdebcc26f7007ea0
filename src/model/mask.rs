//! [`BlockMask`]: which transformer blocks run.

use std::fmt;

use anyhow::{bail, Result};

/// Which of a model's blocks run. A removed block is the identity on the residual stream; the
/// blocks that remain keep their own weights and identity (e.g. Gemma's local/global type).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockMask {
    keep: Vec<bool>,
}

impl BlockMask {
    /// Every block runs.
    pub fn full(n_blocks: usize) -> Self {
        Self {
            keep: vec![true; n_blocks],
        }
    }

    /// Every block runs except `removed` (0-based, as in the GGUF). Repeated or out-of-range
    /// indices, and removing every block, are errors.
    pub fn with_removed(n_blocks: usize, removed: &[usize]) -> Result<Self> {
        let mut keep = vec![true; n_blocks];
        for &i in removed {
            if i >= n_blocks {
                bail!(
                    "block {i} does not exist: the model has {n_blocks} blocks, numbered 0..={}",
                    n_blocks.saturating_sub(1)
                );
            }
            if !keep[i] {
                bail!("block {i} is named twice in the blocks to remove");
            }
            keep[i] = false;
        }
        if n_blocks > 0 && keep.iter().all(|k| !k) {
            bail!("cannot remove all {n_blocks} blocks: at least one must remain");
        }
        Ok(Self { keep })
    }

    pub fn n_blocks(&self) -> usize {
        self.keep.len()
    }

    pub fn is_kept(&self, block: usize) -> bool {
        self.keep[block]
    }

    /// The removed blocks, ascending.
    pub fn removed(&self) -> Vec<usize> {
        (0..self.keep.len()).filter(|&i| !self.keep[i]).collect()
    }

    /// The blocks that run, ascending.
    pub fn kept(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.keep.len()).filter(|&i| self.keep[i])
    }
}

impl fmt::Display for BlockMask {
    /// `-[3,7,12]` (blocks removed) or `full`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let removed = self.removed();
        if removed.is_empty() {
            return write!(f, "full");
        }
        let list: Vec<String> = removed.iter().map(|i| i.to_string()).collect();
        write!(f, "-[{}]", list.join(","))
    }
}

/// Parses a `--skip` list such as `3,7,12` (empty string: nothing removed).
pub fn parse_block_list(text: &str) -> Result<Vec<usize>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| {
            let part = part.trim();
            part.parse::<usize>().map_err(|_| {
                anyhow::anyhow!(
                    "'{part}' is not a block index: give 0-based indices separated by commas, e.g. 3,7,12"
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_blocks_round_trip() {
        let m = BlockMask::with_removed(5, &[3, 1]).unwrap();
        assert_eq!(m.removed(), vec![1, 3]);
        assert_eq!(m.kept().collect::<Vec<_>>(), vec![0, 2, 4]);
        assert_eq!(m.to_string(), "-[1,3]");
        assert_eq!(BlockMask::full(3).to_string(), "full");
    }

    #[test]
    fn impossible_masks_are_errors() {
        assert!(BlockMask::with_removed(4, &[4])
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(BlockMask::with_removed(4, &[1, 1])
            .unwrap_err()
            .to_string()
            .contains("twice"));
        assert!(BlockMask::with_removed(2, &[0, 1])
            .unwrap_err()
            .to_string()
            .contains("all 2"));
    }

    #[test]
    fn block_lists_parse() {
        assert_eq!(parse_block_list("3, 7,12").unwrap(), vec![3, 7, 12]);
        assert_eq!(parse_block_list("").unwrap(), Vec::<usize>::new());
        assert!(parse_block_list("3,x").is_err());
        assert!(parse_block_list("-1").is_err());
    }
}
