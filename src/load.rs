//! A model by the name a person gives it: [`crate::fetch`] finds its files and their identity,
//! [`crate::model`] loads them.

use anyhow::{Context, Result};

use crate::fetch::{self, Format};
use crate::model::{LoadOptions, Model, Vocabulary};

/// Loads a catalogue id (fetching it on first use), `hf:<org>/<name>[@rev]` (through the
/// Hugging Face cache), a checkpoint folder, or a path to a local GGUF.
pub fn open_model(spec: &str, options: &LoadOptions) -> Result<Model> {
    let loaded = fetch::resolve(spec).and_then(|r| match r.format {
        Format::Gguf => Model::load_gguf(&r.path, &r.name, r.weights_sha256, options),
        Format::HfCheckpoint => Model::load_hf_dir(&r.path, &r.name, r.weights_sha256, options),
    });
    loaded.with_context(|| format!("loading model '{spec}'"))
}

/// The tokenizer, BOS and block count of the model `spec` names, without its weights (the
/// files are fetched as for [`open_model`]).
pub fn open_vocabulary(spec: &str) -> Result<Vocabulary> {
    let opened = fetch::resolve(spec).and_then(|r| match r.format {
        Format::Gguf => Vocabulary::open_gguf(&r.path),
        Format::HfCheckpoint => Vocabulary::open_hf_dir(&r.path),
    });
    opened.with_context(|| format!("reading the tokenizer of model '{spec}'"))
}
