//! Helpers shared by the integration tests: where the data and the reference fixtures live, and
//! real models loaded once per test binary through the same cache the CLI uses.

#![allow(dead_code)]

pub mod evidence;
pub mod tiny_hf;

use depthprune::load::open_model;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use depthprune::model::{LayerTypeRule, LoadOptions, Model};

/// The reference outputs of independent implementations (`tests/fixtures/`, each folder's
/// README.md says where they came from).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The data the CLI uses: `$DEPTHPRUNE_DATA`, else the data the library carries, unpacked into
/// the cache (the same path a user's first command takes).
pub fn data_dir() -> PathBuf {
    depthprune::data::data_dir(None).unwrap_or_else(|e| panic!("the evaluation data: {e:#}"))
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

/// `depthprune run SUITE --out OUT --store STORE EXTRA...`, waited for.
pub fn run_suite(
    suite: &std::path::Path,
    out: &std::path::Path,
    store: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_depthprune"))
        .arg("run")
        .arg(suite)
        .arg("--out")
        .arg(out)
        .arg("--store")
        .arg(store)
        .args(extra)
        .output()
        .expect("running depthprune")
}
