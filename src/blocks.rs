//! Blocks by index: [`BlockMask`] (which transformer blocks run), block lists as people write
//! them, and [`Protection`] (which blocks a search may not remove).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};
use serde::{Deserialize, Deserializer, Serialize};

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

/// Blocks a search may not remove: `ends` (the first and the last), `none`, or a list such as
/// `0,29`. Written the same way on the command line (`--protect`) and in a suite (`protect:`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(into = "String")]
pub enum Protection {
    #[default]
    Ends,
    None,
    Blocks(BTreeSet<usize>),
}

impl Protection {
    /// The protected blocks of a model with `n_blocks` blocks; a listed block it does not have
    /// is an error.
    pub fn blocks(&self, n_blocks: usize) -> Result<BTreeSet<usize>> {
        match self {
            Self::Ends => Ok(BTreeSet::from([0, n_blocks.saturating_sub(1)])),
            Self::None => Ok(BTreeSet::new()),
            Self::Blocks(list) => {
                if let Some(&b) = list.iter().find(|&&b| b >= n_blocks) {
                    bail!(
                        "protected block {b} does not exist: the model has {n_blocks} blocks, numbered 0..={}",
                        n_blocks.saturating_sub(1)
                    );
                }
                Ok(list.clone())
            }
        }
    }
}

impl FromStr for Protection {
    type Err = anyhow::Error;
    fn from_str(text: &str) -> Result<Self> {
        match text.trim() {
            "ends" => Ok(Self::Ends),
            "none" | "" => Ok(Self::None),
            list => Ok(Self::Blocks(
                parse_block_list(list)
                    .map_err(|e| anyhow::anyhow!("{e}; or write `ends` or `none`"))?
                    .into_iter()
                    .collect(),
            )),
        }
    }
}

// A visitor rather than `try_from`: an error raised while the YAML scalar is being read keeps
// its line and column in the suite file.
impl<'de> Deserialize<'de> for Protection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Protection;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`ends`, `none` or a list of block indices such as `0,29`")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Protection, E> {
                text.parse()
                    .map_err(|e: anyhow::Error| E::custom(format!("{e:#}")))
            }
            fn visit_u64<E: serde::de::Error>(self, block: u64) -> Result<Protection, E> {
                Ok(Protection::Blocks(BTreeSet::from([block as usize])))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl From<Protection> for String {
    fn from(p: Protection) -> String {
        match p {
            Protection::Ends => "ends".into(),
            Protection::None => "none".into(),
            Protection::Blocks(list) => list
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(","),
        }
    }
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

    #[test]
    fn protection_parses_as_people_write_it() {
        assert_eq!(
            "ends".parse::<Protection>().unwrap().blocks(30).unwrap(),
            BTreeSet::from([0, 29])
        );
        assert!("none"
            .parse::<Protection>()
            .unwrap()
            .blocks(30)
            .unwrap()
            .is_empty());
        let listed: Protection = "0, 5".parse().unwrap();
        assert_eq!(listed.blocks(30).unwrap(), BTreeSet::from([0, 5]));
        assert_eq!(String::from(listed), "0,5");
        assert!(listed_error("edns").contains("or write `ends` or `none`"));
        assert!(Protection::Blocks(BTreeSet::from([30])).blocks(30).is_err());
    }

    fn listed_error(text: &str) -> String {
        format!("{:#}", text.parse::<Protection>().unwrap_err())
    }
}
