//! Helpers shared by the integration tests: where the shared data lives, and real models
//! loaded once per test binary through the same cache the CLI uses.

#![allow(dead_code)]

pub mod tiny_hf;

use depthprune::load::open_model;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use depthprune::model::{LayerTypeRule, LoadOptions, Model};

/// `../shared` beside the repository (override with `DEPTHPRUNE_SHARED`).
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("DEPTHPRUNE_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("shared"),
    }
}

pub fn fixtures_dir() -> PathBuf {
    shared_dir().join("fixtures")
}

pub fn data_dir() -> PathBuf {
    shared_dir().join("data")
}

type Cache = Mutex<Vec<((String, LayerTypeRule), Arc<Model>)>>;

/// A real model, fetched on first use and loaded once per test binary.
pub fn model(id: &str, layer_types: LayerTypeRule) -> Arc<Model> {
    static MODELS: OnceLock<Cache> = OnceLock::new();
    let models = MODELS.get_or_init(|| Mutex::new(Vec::new()));
    let mut models = models.lock().unwrap_or_else(|e| e.into_inner());
    let key = (id.to_string(), layer_types);
    if let Some((_, m)) = models.iter().find(|(k, _)| *k == key) {
        return m.clone();
    }
    let m = Arc::new(
        open_model(
            id,
            &LoadOptions {
                layer_types,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("loading {id}: {e:#}")),
    );
    models.push((key, m.clone()));
    m
}

/// The JSON a successful command printed; panics with its stderr otherwise.
pub fn json_stdout(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
