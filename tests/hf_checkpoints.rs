//! The Hugging Face path (config.json + tokenizer.json + safetensors) for every family, offline:
//! each test writes a tiny random checkpoint into a hub-cache layout, loads it through
//! `hf:<org>/<name>` exactly as a downloaded model would load, and compares the masked forward
//! with candle-transformers' own implementation of the architecture on the same weights:
//! (a) it loads, (b) with nothing removed the logits agree to 1e-4, (c) with a block removed they
//! agree with the reference run on a checkpoint that has that layer deleted.

mod common;

use depthprune::load::open_model;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::tiny_hf::*;
use depthprune::model::{BlockMask, LayerTypeRule, LoadOptions, Model, Precision, Tokenization};
use serde_json::json;

const TOKENS: [u32; 9] = [1, 17, 5, 42, 9, 33, 2, 60, 11];

/// The hub cache all tests of this binary write into (`HF_HUB_CACHE`, set once).
fn hub_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        std::env::set_var("HF_HUB_CACHE", &dir);
        std::env::set_var("HF_HUB_OFFLINE", "1");
        dir
    })
}

/// The same weights with layer `removed` deleted and the later layers renumbered.
fn without_layer(weights: &[(String, Tensor)], removed: usize) -> Vec<(String, Tensor)> {
    weights
        .iter()
        .filter_map(|(name, t)| {
            let Some(rest) = name.strip_prefix("model.layers.") else {
                return Some((name.clone(), t.clone()));
            };
            let (index, tail) = rest.split_once('.').unwrap();
            let index: usize = index.parse().unwrap();
            match index.cmp(&removed) {
                std::cmp::Ordering::Less => Some((name.clone(), t.clone())),
                std::cmp::Ordering::Equal => None,
                std::cmp::Ordering::Greater => {
                    Some((format!("model.layers.{}.{tail}", index - 1), t.clone()))
                }
            }
        })
        .collect()
}

/// Writes the checkpoint as the hub cache lays out a download of `hf:test/<name>`.
fn publish(name: &str, config: &serde_json::Value, weights: &[(String, Tensor)]) -> String {
    let repo = hub_root().join(format!("models--test--{name}"));
    let commit = "0123456789abcdef0123456789abcdef01234567";
    write_checkpoint(&repo.join("snapshots").join(commit), config, weights);
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    format!("hf:test/{name}")
}

/// candle-transformers' last-position logits for `tokens[..len]` on a checkpoint folder.
fn reference_logits(arch: Arch, dir: &Path, len: usize) -> Vec<f32> {
    let config_text = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let files = [dir.join("model.safetensors")];
    let vb =
        unsafe { VarBuilder::from_mmaped_safetensors(&files, DType::F32, &Device::Cpu) }.unwrap();
    let input = Tensor::new(&TOKENS[..len], &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    use candle_transformers::models as m;
    let logits = match arch {
        Arch::Llama | Arch::Llama3 => {
            let cfg: m::llama::LlamaConfig = serde_json::from_str(&config_text).unwrap();
            let cfg = cfg.into_config(false);
            let model = m::llama::Llama::load(vb, &cfg).unwrap();
            let mut cache = m::llama::Cache::new(false, DType::F32, &cfg, &Device::Cpu).unwrap();
            model.forward(&input, 0, &mut cache).unwrap()
        }
        Arch::Qwen2 => {
            let cfg: m::qwen2::Config = serde_json::from_str(&config_text).unwrap();
            let mut model = m::qwen2::ModelForCausalLM::new(&cfg, vb).unwrap();
            model.forward(&input, 0).unwrap()
        }
        Arch::Qwen3 => {
            let cfg: m::qwen3::Config = serde_json::from_str(&config_text).unwrap();
            let mut model = m::qwen3::ModelForCausalLM::new(&cfg, vb).unwrap();
            model.forward(&input, 0).unwrap()
        }
        Arch::Gemma3 => {
            // candle-transformers 0.11's Gemma 3 cannot take a prompt on the CPU (its KV cache
            // rejects the non-contiguous value states), so the reference decodes token by
            // token through its KV caches; the rotating cache of a local layer then keeps
            // exactly the last `sliding_window` keys, the Hugging Face window.
            let cfg: m::gemma3::Config = serde_json::from_str(&config_text).unwrap();
            let mut model = m::gemma3::Model::new(false, &cfg, vb).unwrap();
            let mut last = None;
            for t in 0..len {
                last = Some(model.forward(&input.narrow(1, t, 1).unwrap(), t).unwrap());
            }
            last.unwrap()
        }
    };
    logits.flatten_all().unwrap().to_vec1().unwrap()
}

/// Our last-position logits for `tokens[..len]` with `removed` blocks skipped.
fn our_logits(model: &Model, len: usize, removed: &[usize]) -> Vec<f32> {
    let tokens = model.token_tensor(&[TOKENS[..len].to_vec()]).unwrap();
    let mask = BlockMask::with_removed(model.n_blocks(), removed).unwrap();
    let hidden = model.hidden_states(&tokens, &mask).unwrap();
    model
        .logits(&hidden, &[len as u32 - 1])
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Largest difference relative to the largest reference logit.
fn relative_gap(ours: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(ours.len(), reference.len());
    let scale = reference.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-6);
    ours.iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max)
        / scale
}

fn check_family(arch: Arch, name: &str) {
    let weights = weights(arch, 7 + arch as u64);
    let id = publish(name, &config(arch, LAYERS), &weights);
    let scratch = tempfile::tempdir().unwrap();
    let reference_dir = scratch.path().join("full");
    write_checkpoint(&reference_dir, &config(arch, LAYERS), &weights);

    // (a) Loads through the hub cache, as a download would, offline.
    let options = LoadOptions {
        // What deleting a layer from a Hugging Face model computes (see (c)).
        layer_types: LayerTypeRule::Renumbered,
        ..Default::default()
    };
    let model = open_model(&id, &options).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(model.n_blocks(), LAYERS);
    assert_eq!(model.tokenizer.encode("t3 t17 t5").unwrap(), vec![3, 17, 5]);
    let expect_bos = arch != Arch::Qwen2 && arch != Arch::Qwen3;
    assert_eq!(model.special.bos.is_some(), expect_bos, "BOS for {arch:?}");

    // (b) Nothing removed: every prefix length, so every position's attention is checked.
    for len in 1..=TOKENS.len() {
        let gap = relative_gap(
            &our_logits(&model, len, &[]),
            &reference_logits(arch, &reference_dir, len),
        );
        assert!(gap < 1e-4, "{arch:?}, {len} tokens: relative gap {gap}");
    }

    // (c) Each block removed equals the reference with that layer deleted.
    for removed in 0..LAYERS {
        let dir = scratch.path().join(format!("without-{removed}"));
        write_checkpoint(
            &dir,
            &config(arch, LAYERS - 1),
            &without_layer(&weights, removed),
        );
        let len = TOKENS.len();
        let ours = our_logits(&model, len, &[removed]);
        let gap = relative_gap(&ours, &reference_logits(arch, &dir, len));
        assert!(
            gap < 1e-4,
            "{arch:?} without block {removed}: relative gap {gap}"
        );
        let full = our_logits(&model, len, &[]);
        assert!(
            relative_gap(&ours, &full) > 1e-3,
            "removing block {removed} changed nothing"
        );
    }
}

#[test]
fn llama_checkpoint_matches_candle_transformers() {
    check_family(Arch::Llama, "tiny-llama");
}

#[test]
fn llama3_rope_scaling_matches_candle_transformers() {
    check_family(Arch::Llama3, "tiny-llama3");
}

#[test]
fn qwen2_checkpoint_matches_candle_transformers() {
    check_family(Arch::Qwen2, "tiny-qwen2");
}

#[test]
fn qwen3_checkpoint_matches_candle_transformers() {
    check_family(Arch::Qwen3, "tiny-qwen3");
}

#[test]
fn gemma3_checkpoint_matches_candle_transformers() {
    check_family(Arch::Gemma3, "tiny-gemma3");
}

/// Gemma 3 with each block keeping its own type differs from the renumbered reference once a
/// removal shifts a global block, and equals it when nothing shifts.
#[test]
fn gemma3_layer_type_rules_differ_after_an_early_removal() {
    let weights = weights(Arch::Gemma3, 99);
    let id = publish("tiny-gemma3-rules", &config(Arch::Gemma3, LAYERS), &weights);
    let own = open_model(&id, &LoadOptions::default()).unwrap();
    let renumbered = open_model(
        &id,
        &LoadOptions {
            layer_types: LayerTypeRule::Renumbered,
            ..Default::default()
        },
    )
    .unwrap();
    let len = TOKENS.len();
    assert!(
        relative_gap(
            &our_logits(&own, len, &[0]),
            &our_logits(&renumbered, len, &[0])
        ) > 1e-4
    );
    assert_eq!(
        our_logits(&own, len, &[3]),
        our_logits(&renumbered, len, &[3])
    );
}

/// The memo and the store key scores by everything that changes them: weights, layer-type rule
/// and dtype (a bf16 run must not reuse f32 scores).
#[test]
fn scores_are_keyed_by_weights_rule_and_precision() {
    let id = publish(
        "tiny-keys",
        &config(Arch::Gemma3, LAYERS),
        &weights(Arch::Gemma3, 5),
    );
    let open = |options: LoadOptions| open_model(&id, &options).unwrap();
    let plain = open(LoadOptions::default());
    assert_eq!(plain.scores_key(), plain.info.sha256);
    let renumbered = open(LoadOptions {
        layer_types: LayerTypeRule::Renumbered,
        ..Default::default()
    });
    let bf16 = open(LoadOptions {
        dtype: Precision::Bf16,
        ..Default::default()
    });
    let keys = [
        plain.scores_key(),
        renumbered.scores_key(),
        bf16.scores_key(),
    ];
    assert!(
        keys[1].ends_with("-renumbered") && keys[2].ends_with("-bf16"),
        "{keys:?}"
    );
    let other = publish(
        "tiny-keys-2",
        &config(Arch::Gemma3, LAYERS),
        &weights(Arch::Gemma3, 6),
    );
    assert_ne!(
        open_model(&other, &LoadOptions::default())
            .unwrap()
            .scores_key(),
        keys[0]
    );
}

/// A sharded checkpoint (model.safetensors.index.json + shards, as 8B models ship) loads to the
/// same model as the single file.
#[test]
fn sharded_checkpoints_load_like_single_files() {
    let weights = weights(Arch::Qwen2, 21);
    let scratch = tempfile::tempdir().unwrap();
    let single = scratch.path().join("single");
    write_checkpoint(&single, &config(Arch::Qwen2, LAYERS), &weights);
    let sharded = scratch.path().join("sharded");
    write_sharded(&sharded, &config(Arch::Qwen2, LAYERS), &weights, 2);

    let load = |dir: &Path| open_model(dir.to_str().unwrap(), &LoadOptions::default()).unwrap();
    let (a, b) = (load(&single), load(&sharded));
    let len = TOKENS.len();
    assert_eq!(our_logits(&a, len, &[1]), our_logits(&b, len, &[1]));

    std::fs::remove_file(sharded.join("model-00002-of-00002.safetensors")).unwrap();
    let err = format!(
        "{:#}",
        open_model(sharded.to_str().unwrap(), &LoadOptions::default())
            .err()
            .unwrap()
    );
    assert!(
        err.contains("model-00002-of-00002.safetensors") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn missing_pieces_are_named() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("ckpt");
    write_checkpoint(&dir, &config(Arch::Qwen3, LAYERS), &weights(Arch::Qwen3, 1));
    let path = dir.to_str().unwrap().to_string();
    // A local folder loads directly.
    open_model(&path, &LoadOptions::default()).unwrap();

    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    let err = format!(
        "{:#}",
        open_model(&path, &LoadOptions::default()).err().unwrap()
    );
    assert!(err.contains("no tokenizer.json"), "{err}");

    std::fs::write(dir.join("tokenizer.json"), tokenizer_json().to_string()).unwrap();
    let mut c = config(Arch::Qwen3, LAYERS);
    c["model_type"] = json!("mamba");
    std::fs::write(dir.join("config.json"), c.to_string()).unwrap();
    let err = format!(
        "{:#}",
        open_model(&path, &LoadOptions::default()).err().unwrap()
    );
    assert!(err.contains("model_type 'mamba' is not supported"), "{err}");

    std::fs::write(
        dir.join("config.json"),
        config(Arch::Qwen3, LAYERS).to_string(),
    )
    .unwrap();
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let err = format!(
        "{:#}",
        open_model(&path, &LoadOptions::default()).err().unwrap()
    );
    assert!(err.contains("has no model.safetensors"), "{err}");
}

/// Offline, a Hub id missing from the cache fails at once and names the folder to fill.
#[test]
fn uncached_hub_model_fails_fast_offline() {
    let root = hub_root();
    let started = std::time::Instant::now();
    let err = format!(
        "{:#}",
        open_model("hf:Qwen/Qwen3-0.6B", &LoadOptions::default())
            .err()
            .unwrap()
    );
    assert!(started.elapsed().as_secs_f64() < 5.0);
    assert!(err.contains("HF_HUB_OFFLINE"), "{err}");
    assert!(
        err.contains(&root.join("models--Qwen--Qwen3-0.6B").display().to_string()),
        "{err}"
    );
}
