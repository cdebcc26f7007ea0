//! Tiny random Hugging Face checkpoints of every supported family, written to a folder:
//! config.json, a word-level tokenizer.json over tokens `t0 .. t63` and the weights, in one
//! `model.safetensors` or in shards with their index. Used by `tests/hf_checkpoints.rs` (against
//! candle-transformers) and `tests/export.rs` (exports of them).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

pub const VOCAB: usize = 64;
pub const HIDDEN: usize = 32;
pub const HEADS: usize = 4;
pub const KV_HEADS: usize = 2;
pub const HEAD_DIM: usize = 8;
pub const INTERMEDIATE: usize = 48;
pub const LAYERS: usize = 4;
/// Gemma 3's local window in the checkpoint: shorter than the test sequence, so it matters.
pub const WINDOW: usize = 4;

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Arch {
    Llama,
    /// Llama with Llama 3.1's RoPE scaling, sized so all three frequency bands occur.
    Llama3,
    Qwen2,
    Qwen3,
    Gemma3,
}

/// config.json for `arch` with `layers` layers.
pub fn config(arch: Arch, layers: usize) -> serde_json::Value {
    let mut c = json!({
        "vocab_size": VOCAB,
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": layers,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "max_position_embeddings": 64,
        "rms_norm_eps": 1e-6,
        "bos_token_id": 1,
    });
    let extra = match arch {
        Arch::Llama => json!({
            "model_type": "llama", "rope_theta": 10000.0, "tie_word_embeddings": false,
        }),
        Arch::Llama3 => json!({
            "model_type": "llama", "rope_theta": 10000.0, "tie_word_embeddings": false,
            "rope_scaling": {
                "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 16,
            },
        }),
        Arch::Qwen2 => json!({
            "model_type": "qwen2", "rope_theta": 1000000.0, "tie_word_embeddings": true,
            "sliding_window": 64, "max_window_layers": layers, "use_sliding_window": false,
            "hidden_act": "silu",
        }),
        Arch::Qwen3 => json!({
            "model_type": "qwen3", "rope_theta": 1000000.0, "tie_word_embeddings": false,
            "head_dim": HEAD_DIM, "attention_bias": false, "sliding_window": null,
            "max_window_layers": layers, "use_sliding_window": false, "hidden_act": "silu",
        }),
        Arch::Gemma3 => json!({
            "model_type": "gemma3_text", "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
            "head_dim": HEAD_DIM, "attention_bias": false, "hidden_activation": "gelu_pytorch_tanh",
            "final_logit_softcapping": null, "attn_logit_softcapping": null,
            "query_pre_attn_scalar": HEAD_DIM, "sliding_window": WINDOW,
            "sliding_window_pattern": 2,
        }),
    };
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// Random weights in the Hugging Face naming, seeded.
pub fn weights(arch: Arch, seed: u64) -> Vec<(String, Tensor)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut add = |name: String, shape: &[usize], centre: f32, spread: f32| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| centre + rng.random_range(-spread..spread))
            .collect();
        out.push((name, Tensor::from_vec(v, shape, &Device::Cpu).unwrap()));
    };
    // Gemma's norms multiply by (1 + w): weights near 0 there, near 1 elsewhere.
    let norm_centre = if arch == Arch::Gemma3 { 0.0 } else { 1.0 };
    add(
        "model.embed_tokens.weight".into(),
        &[VOCAB, HIDDEN],
        0.0,
        1.0,
    );
    add("model.norm.weight".into(), &[HIDDEN], norm_centre, 0.2);
    if matches!(arch, Arch::Llama | Arch::Llama3 | Arch::Qwen3) {
        add("lm_head.weight".into(), &[VOCAB, HIDDEN], 0.0, 0.3);
    }
    let (q, kv) = (HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM);
    for i in 0..LAYERS {
        let p = format!("model.layers.{i}");
        add(
            format!("{p}.input_layernorm.weight"),
            &[HIDDEN],
            norm_centre,
            0.2,
        );
        add(
            format!("{p}.self_attn.q_proj.weight"),
            &[q, HIDDEN],
            0.0,
            0.3,
        );
        add(
            format!("{p}.self_attn.k_proj.weight"),
            &[kv, HIDDEN],
            0.0,
            0.3,
        );
        add(
            format!("{p}.self_attn.v_proj.weight"),
            &[kv, HIDDEN],
            0.0,
            0.3,
        );
        add(
            format!("{p}.self_attn.o_proj.weight"),
            &[HIDDEN, q],
            0.0,
            0.3,
        );
        add(
            format!("{p}.mlp.gate_proj.weight"),
            &[INTERMEDIATE, HIDDEN],
            0.0,
            0.3,
        );
        add(
            format!("{p}.mlp.up_proj.weight"),
            &[INTERMEDIATE, HIDDEN],
            0.0,
            0.3,
        );
        add(
            format!("{p}.mlp.down_proj.weight"),
            &[HIDDEN, INTERMEDIATE],
            0.0,
            0.3,
        );
        add(
            format!("{p}.post_attention_layernorm.weight"),
            &[HIDDEN],
            norm_centre,
            0.2,
        );
        if arch == Arch::Qwen2 {
            for (proj, n) in [("q", q), ("k", kv), ("v", kv)] {
                add(format!("{p}.self_attn.{proj}_proj.bias"), &[n], 0.0, 0.3);
            }
        }
        if matches!(arch, Arch::Qwen3 | Arch::Gemma3) {
            add(
                format!("{p}.self_attn.q_norm.weight"),
                &[HEAD_DIM],
                norm_centre,
                0.2,
            );
            add(
                format!("{p}.self_attn.k_norm.weight"),
                &[HEAD_DIM],
                norm_centre,
                0.2,
            );
        }
        if arch == Arch::Gemma3 {
            add(
                format!("{p}.pre_feedforward_layernorm.weight"),
                &[HIDDEN],
                0.0,
                0.2,
            );
            add(
                format!("{p}.post_feedforward_layernorm.weight"),
                &[HIDDEN],
                0.0,
                0.2,
            );
        }
    }
    out
}

/// A word-level tokenizer.json over tokens `t0 .. t63`.
pub fn tokenizer_json() -> serde_json::Value {
    let vocab: serde_json::Map<String, serde_json::Value> =
        (0..VOCAB).map(|i| (format!("t{i}"), json!(i))).collect();
    json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
        "decoder": null, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "t0"}
    })
}

pub fn write_checkpoint(dir: &Path, config: &serde_json::Value, weights: &[(String, Tensor)]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json().to_string()).unwrap();
    let map: HashMap<String, Tensor> = weights.iter().cloned().collect();
    candle_core::safetensors::save(&map, dir.join("model.safetensors")).unwrap();
}

/// Writes the checkpoint with its weights in `n` shards and `model.safetensors.index.json`, as
/// large models ship.
pub fn write_sharded(
    dir: &Path,
    config: &serde_json::Value,
    weights: &[(String, Tensor)],
    n: usize,
) {
    write_checkpoint(dir, config, weights);
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let mut weight_map = serde_json::Map::new();
    let per_shard = weights.len().div_ceil(n);
    for (i, part) in weights.chunks(per_shard).enumerate() {
        let file = format!("model-{:05}-of-{n:05}.safetensors", i + 1);
        let map: HashMap<String, Tensor> = part.iter().cloned().collect();
        candle_core::safetensors::save(&map, dir.join(&file)).unwrap();
        for (name, _) in part {
            weight_map.insert(name.clone(), json!(file));
        }
    }
    let index = json!({"metadata": {"format": "pt"}, "weight_map": weight_map});
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
}
