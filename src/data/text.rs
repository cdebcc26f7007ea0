//! Text corpora for perplexity.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::read_jsonl;

/// A text source an objective can draw calibration windows from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSource {
    /// WikiText-2 raw test, cut into its 60 articles.
    Wikitext2,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Article {
    pub id: String,
    pub text: String,
}

impl TextSource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Wikitext2 => "wikitext2",
        }
    }

    /// The source's documents, the unit that calibration and evaluation never share.
    pub fn load(self, data_dir: &Path) -> Result<Vec<Article>> {
        match self {
            Self::Wikitext2 => {
                read_jsonl(&data_dir.join("wikitext2/wikitext-2-raw-v1.test.articles.jsonl"))
            }
        }
    }
}
