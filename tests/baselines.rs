//! The field's measures against independent computations: angular distance (Gromov et al.)
//! and the KL objective (EvoPress's fitness), each against a NumPy Llama forward in float64
//! written from the architecture (`tests/python/llama_reference.py`), on the same GGUF and the
//! same calibration windows.

mod common;

use depthprune::model::LayerTypeRule;
use depthprune::objective::{ObjectiveSpec, PerplexitySpec};

/// NumPy and the `gguf` reader, installed on first use into the cache (README: python3 with
/// pip), pinned.
const REFERENCE: &[&str] = &["gguf==0.17.1", "numpy==2.4.6"];

/// The windows of a small perplexity-shaped sample, and the NumPy reference run over them.
struct Reference {
    model: std::sync::Arc<depthprune::model::Model>,
    windows: Vec<Vec<u32>>,
    scratch: tempfile::TempDir,
}

impl Reference {
    fn new(spec: &ObjectiveSpec) -> (Self, Box<dyn depthprune::objective::Objective>) {
        let model = common::model("smollm2-135m", LayerTypeRule::Own);
        let objective = spec.build(&model, &common::data_dir()).unwrap();
        let windows: Vec<Vec<u32>> = objective
            .workload()
            .batches
            .iter()
            .flat_map(|b| b.tokens.to_vec2::<u32>().unwrap())
            .collect();
        let scratch = tempfile::tempdir().unwrap();
        let reference = Self {
            model,
            windows,
            scratch,
        };
        (reference, objective)
    }

    fn run(&self, args: &[&str]) -> serde_json::Value {
        let windows_file = self.scratch.path().join("windows.json");
        std::fs::write(&windows_file, serde_json::to_string(&self.windows).unwrap()).unwrap();
        let out = self.scratch.path().join("out.json");
        let python = depthprune::fetch::python::ensure(REFERENCE).expect("numpy and gguf");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/python/llama_reference.py");
        let gguf = depthprune::fetch::catalog::resolve("smollm2-135m")
            .unwrap()
            .path;
        let o = python
            .command()
            .arg(&script)
            .arg(&gguf)
            .arg(&windows_file)
            .arg(args[0])
            .arg(&out)
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "the reference failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
    }
}

fn windows(n_seqs: usize) -> PerplexitySpec {
    PerplexitySpec {
        n_seqs,
        seq_len: 64,
        seed: 7,
        ..PerplexitySpec::default()
    }
}

#[test]
fn angular_distances_match_an_independent_numpy_forward() {
    let (reference, objective) = Reference::new(&ObjectiveSpec::Perplexity(windows(3)));
    assert_eq!(reference.windows.len(), 3);
    let ours =
        depthprune::angular::angular_distances(&reference.model, objective.workload()).unwrap();
    let theirs: Vec<Vec<f64>> =
        serde_json::from_value(reference.run(&["angular"])["distance"].clone()).unwrap();

    let n = reference.model.n_blocks();
    assert_eq!(theirs.len(), n + 1);
    let largest = ours
        .distance
        .iter()
        .flatten()
        .zip(theirs.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    eprintln!("angular distance: largest difference from the NumPy reference {largest:.2e}");
    // f32 streams against float64: cosines agree to ~1e-6, arccos amplifies that near 1.
    assert!(largest < 1e-4, "largest difference {largest}");
    // The baseline's choice is the reference's.
    let best = |d: &Vec<Vec<f64>>| {
        (1..n - 3)
            .min_by(|&a, &b| d[a][a + 3].total_cmp(&d[b][b + 3]))
            .unwrap()
    };
    assert_eq!(best(&ours.distance), best(&theirs));
}

#[test]
fn the_kl_objective_matches_an_independent_numpy_forward() {
    let (reference, objective) = Reference::new(&ObjectiveSpec::Kl(windows(2)));
    let n = reference.model.n_blocks();
    let score = |removed: &[usize]| {
        let mask = depthprune::model::BlockMask::with_removed(n, removed).unwrap();
        depthprune::objective::evaluate(objective.as_ref(), &reference.model, &mask)
            .unwrap()
            .value
    };
    // The unpruned model's KL from itself is 0 up to the logits' f32 rounding.
    let dense = score(&[]);
    assert!(dense.abs() < 1e-5, "unpruned KL {dense}");
    let mut largest = 0.0f64;
    for removed in [vec![3, 7], vec![20], vec![1, 14, 27]] {
        let list: Vec<String> = removed.iter().map(|b| b.to_string()).collect();
        let theirs = reference.run(&["kl", &list.join(",")])["kl"]
            .as_f64()
            .unwrap();
        let ours = score(&removed);
        let relative = (ours - theirs).abs() / theirs;
        eprintln!("KL, blocks {removed:?} removed: {ours:.8} (NumPy {theirs:.8}), relative difference {relative:.2e}");
        largest = largest.max(relative);
    }
    assert!(largest < 1e-4, "largest relative difference {largest}");
}
