//! The objective-free baselines' measurements against independent computations: angular
//! distance (Gromov et al.) against a NumPy Llama forward written from the architecture
//! (`tests/python/llama_reference.py`), on the same GGUF and the same calibration windows.

mod common;

use depthprune::model::LayerTypeRule;
use depthprune::objective::{ObjectiveSpec, PerplexitySpec};

/// NumPy and the `gguf` reader, installed on first use into the cache (README: python3 with
/// pip), pinned.
const REFERENCE: &[&str] = &["gguf==0.17.1", "numpy==2.4.6"];

#[test]
fn angular_distances_match_an_independent_numpy_forward() {
    let model = common::model("smollm2-135m", LayerTypeRule::Own);
    let spec = ObjectiveSpec::Perplexity(PerplexitySpec {
        n_seqs: 3,
        seq_len: 64,
        seed: 7,
        ..PerplexitySpec::default()
    });
    let objective = spec.build(&model, &common::data_dir()).unwrap();
    let windows: Vec<Vec<u32>> = objective
        .workload()
        .batches
        .iter()
        .flat_map(|b| b.tokens.to_vec2::<u32>().unwrap())
        .collect();
    assert_eq!(windows.len(), 3);
    let ours = depthprune::angular::angular_distances(&model, objective.workload()).unwrap();

    let scratch = tempfile::tempdir().unwrap();
    let windows_file = scratch.path().join("windows.json");
    std::fs::write(&windows_file, serde_json::to_string(&windows).unwrap()).unwrap();
    let out = scratch.path().join("angular.json");
    let python = depthprune::fetch::python::ensure(REFERENCE).expect("numpy and gguf");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/llama_reference.py");
    let gguf = depthprune::fetch::catalog::resolve("smollm2-135m")
        .unwrap()
        .path;
    let o = python
        .command()
        .arg(&script)
        .arg(&gguf)
        .arg(&windows_file)
        .arg("angular")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the reference failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let reference: Vec<Vec<f64>> = serde_json::from_value(reference["distance"].clone()).unwrap();

    let n = model.n_blocks();
    assert_eq!(reference.len(), n + 1);
    let mut largest = 0.0f64;
    for l in 0..=n {
        for m in l + 1..=n {
            largest = largest.max((ours.distance[l][m] - reference[l][m]).abs());
        }
    }
    eprintln!("angular distance: largest difference from the NumPy reference {largest:.2e}");
    // f32 streams against float64: cosines agree to ~1e-6, arccos amplifies that near 1.
    assert!(largest < 1e-4, "largest difference {largest}");
    // The baseline's choice is the reference's.
    let best = |d: &Vec<Vec<f64>>| {
        (1..n - 3)
            .min_by(|&a, &b| d[a][a + 3].total_cmp(&d[b][b + 3]))
            .unwrap()
    };
    assert_eq!(best(&ours.distance), best(&reference));
}
