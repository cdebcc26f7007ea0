//! The command line on bad inputs (one clear message, non-zero exit, no panic) and on the
//! plausibility checks of a real model.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::QTensor;
use candle_core::{Device, Tensor};
use depthprune::fetch::catalog as registry;

fn depthprune(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_depthprune"));
    cmd.args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("running depthprune")
}

/// Runs a command that must fail; returns its stderr after checking it is one clear message.
fn expect_failure(args: &[&str], envs: &[(&str, &str)], needle: &str) -> String {
    let out = depthprune(args, envs);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "{args:?} succeeded; stderr: {stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: exit code; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(
        stderr.contains(needle),
        "{args:?}: expected '{needle}' in: {stderr}"
    );
    stderr
}

fn dev_text() -> String {
    common::fixtures_dir()
        .join("tokenizer/dev_text.txt")
        .display()
        .to_string()
}

fn smollm2_path() -> std::path::PathBuf {
    registry::ensure_cached(registry::catalog_entry("smollm2-135m").unwrap()).unwrap()
}

fn ppl_args<'a>(model: &'a str, text: &'a str, skip: &'a str) -> Vec<&'a str> {
    vec![
        "ppl",
        "--model",
        model,
        "--text",
        text,
        "--seq-len",
        "16",
        "--max-seqs",
        "1",
        "--skip",
        skip,
    ]
}

#[test]
fn missing_model_file() {
    expect_failure(
        &ppl_args("/nonexistent/model.gguf", &dev_text(), ""),
        &[],
        "neither a known model id",
    );
}

#[test]
fn missing_text_file() {
    expect_failure(
        &ppl_args("smollm2-135m", "/nonexistent/text.txt", ""),
        &[],
        "/nonexistent/text.txt",
    );
}

#[test]
fn truncated_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("truncated.gguf");
    let bytes = std::fs::read(smollm2_path()).unwrap();
    std::fs::write(&truncated, &bytes[..4 << 20]).unwrap();
    expect_failure(
        &ppl_args(truncated.to_str().unwrap(), &dev_text(), ""),
        &[],
        "truncated",
    );
}

#[test]
fn not_a_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.gguf");
    std::fs::write(&bogus, b"this is not a model").unwrap();
    expect_failure(
        &ppl_args(bogus.to_str().unwrap(), &dev_text(), ""),
        &[],
        "not a readable GGUF",
    );
}

#[test]
fn wrong_checksum_in_cache() {
    let cache = tempfile::tempdir().unwrap();
    let entry = registry::catalog_entry("smollm2-135m").unwrap();
    let dir = cache.path().join("models").join(entry.id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::File::create(dir.join(entry.file_name))
        .unwrap()
        .write_all(b"corrupt")
        .unwrap();
    let stderr = expect_failure(
        &ppl_args("smollm2-135m", &dev_text(), ""),
        &[("DEPTHPRUNE_CACHE", cache.path().to_str().unwrap())],
        "sha256",
    );
    assert!(stderr.contains("depthprune fetch smollm2-135m"), "{stderr}");
}

#[test]
fn fetch_without_python_says_what_to_do() {
    let cache = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    expect_failure(
        &["fetch", "smollm2-135m"],
        &[
            ("DEPTHPRUNE_CACHE", cache.path().to_str().unwrap()),
            ("PATH", empty_path.path().to_str().unwrap()),
        ],
        "python3",
    );
    // Nothing half-written is left where the model goes.
    let model_dir = cache.path().join("models/smollm2-135m");
    let leftovers: Vec<_> = std::fs::read_dir(&model_dir)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

fn write_gguf(path: &Path, architecture: &str) {
    let t = QTensor::quantize(
        &Tensor::zeros((4, 32), candle_core::DType::F32, &Device::Cpu).unwrap(),
        candle_core::quantized::GgmlDType::F32,
    )
    .unwrap();
    let arch = Value::String(architecture.to_string());
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(
        &mut f,
        &[("general.architecture", &arch)],
        &[("token_embd.weight", &t)],
    )
    .unwrap();
}

#[test]
fn unsupported_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mamba.gguf");
    write_gguf(&path, "mamba");
    let stderr = expect_failure(
        &ppl_args(path.to_str().unwrap(), &dev_text(), ""),
        &[],
        "architecture 'mamba' is not supported",
    );
    assert!(stderr.contains("llama, gemma3"), "{stderr}");
}

#[test]
fn bad_skip_lists() {
    let text = dev_text();
    expect_failure(
        &ppl_args("smollm2-135m", &text, "30"),
        &[],
        "block 30 does not exist",
    );
    expect_failure(&ppl_args("smollm2-135m", &text, "3,3"), &[], "named twice");
    expect_failure(
        &ppl_args("smollm2-135m", &text, "x"),
        &[],
        "not a block index",
    );
    let all: Vec<String> = (0..30).map(|i| i.to_string()).collect();
    expect_failure(
        &ppl_args("smollm2-135m", &text, &all.join(",")),
        &[],
        "cannot remove all 30 blocks",
    );
}

#[test]
fn unknown_model_id_for_fetch() {
    expect_failure(&["fetch", "llama-70b"], &[], "smollm2-135m, gemma3-270m");
}

fn ppl_json(model: &str, skip: &str) -> serde_json::Value {
    let text = common::data_dir()
        .join("wikitext2/wiki.test.raw")
        .display()
        .to_string();
    let out = depthprune(
        &[
            "ppl",
            "--model",
            model,
            "--text",
            &text,
            "--seq-len",
            "128",
            "--max-seqs",
            "4",
            "--skip",
            skip,
            "--json",
        ],
        &[],
    );
    common::json_stdout(&out)
}

/// SmolLM2 on WikiText-2: plausible full-model perplexity, block 0 catastrophic, a middle block
/// a few percent.
#[test]
fn smollm2_perplexity_is_plausible() {
    let full = ppl_json("smollm2-135m", "");
    let ppl = full["ppl"].as_f64().unwrap();
    assert!((10.0..60.0).contains(&ppl), "full model ppl {ppl}");
    assert_eq!(full["tokens_scored"], 4 * 127);
    let first = ppl_json("smollm2-135m", "0")["ppl"].as_f64().unwrap();
    assert!(first > 1000.0, "removing block 0 gave ppl {first}");
    let middle = ppl_json("smollm2-135m", "14")["ppl"].as_f64().unwrap();
    assert!(
        middle > ppl && middle < ppl * 1.3,
        "removing block 14: {middle} vs {ppl}"
    );
}

/// A Hub id that is not cached, on a machine that cannot reach the Hub: one message naming the
/// cache folder to fill, within seconds. The endpoint is a closed local port, so the test does
/// not depend on this machine's DNS.
#[test]
fn uncached_hub_model_fails_fast_without_network() {
    let hub = tempfile::tempdir().unwrap();
    let hub_path = hub.path().display().to_string();
    let text = dev_text();
    let started = std::time::Instant::now();
    let stderr = expect_failure(
        &ppl_args("hf:Qwen/Qwen3-0.6B", &text, "1"),
        &[
            ("HF_HUB_CACHE", &hub_path),
            ("HF_ENDPOINT", "http://127.0.0.1:9"),
        ],
        "is unreachable",
    );
    let seconds = started.elapsed().as_secs_f64();
    assert!(seconds < 6.0, "took {seconds:.1} s");
    assert!(
        stderr.contains(&format!("{hub_path}/models--Qwen--Qwen3-0.6B")),
        "{stderr}"
    );
    assert!(
        stderr.contains("huggingface-cli download Qwen/Qwen3-0.6B"),
        "{stderr}"
    );
}

/// Without the `cuda` feature, asking for a GPU is one message saying how to get one.
#[test]
fn cuda_without_the_feature_says_how_to_build_it() {
    let text = dev_text();
    let mut args = ppl_args("smollm2-135m", &text, "1");
    args.extend(["--device", "cuda"]);
    if cfg!(not(feature = "cuda")) {
        expect_failure(&args, &[], "--features cuda");
    }
    args.truncate(args.len() - 2);
    args.extend(["--device", "tpu"]);
    let out = depthprune(&args, &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad flag value is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("use cpu, cuda or cuda:N"));
}

/// `reliability` refuses an impossible request before loading anything, and on the real model
/// prints a curve whose numbers are in range.
#[test]
fn reliability_curve() {
    let missing = "/nonexistent/model.gguf";
    expect_failure(
        &[
            "reliability",
            "--model",
            missing,
            "--objective",
            "ppl",
            "--sizes",
            "0",
        ],
        &[],
        "--sizes needs one or more positive sizes",
    );
    expect_failure(
        &[
            "reliability",
            "--model",
            missing,
            "--objective",
            "ppl",
            "--sizes",
            "1",
            "--seeds",
            "1",
        ],
        &[],
        "at least 2",
    );
    let store = tempfile::tempdir().unwrap();
    let out = depthprune(
        &[
            "reliability",
            "--model",
            "smollm2-135m",
            "--objective",
            "ppl",
            "--n-seqs",
            "1",
            "--seq-len",
            "32",
            "--sizes",
            "1",
            "--seeds",
            "2",
            "--store",
            store.path().to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let points: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &points[0];
    assert_eq!(p["size"], 1);
    let tau = p["cross_seed_tau"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&tau), "{p}");
    let chance = p["chance_jaccard"].as_f64().unwrap();
    // 28 removable blocks, k = 3: E0[J] = sum_i P(i shared) i / (6 - i) = 0.06670 (hypergeometric).
    assert!((chance - 0.06670).abs() < 1e-4, "{p}");
}

/// A suite with one misspelt word fails at load, naming the file, the line and the allowed
/// values. The model cache is an empty folder, so a suite that got as far as loading a model
/// would fail differently (a fetch): these errors come before any model or data is touched.
#[test]
fn misspelt_suites_fail_at_load_with_the_allowed_values() {
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/control-weak-searcher.yaml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let empty_cache = dir.path().join("cache");
    std::fs::create_dir(&empty_cache).unwrap();
    let cases = [
        (
            "{name: greedy}",
            "{name: gredy}",
            "unknown variant `gredy`, expected one of `one_shot`, `greedy`",
        ),
        (
            "test: [searchers_converge]",
            "test: [searcher_converge]",
            "unknown variant `searcher_converge`, expected one of",
        ),
        (
            "seeds:",
            "protect: edns\nseeds:",
            "'edns' is not a block index",
        ),
    ];
    for (right, wrong, message) in cases {
        assert!(
            good.contains(right),
            "the control suite no longer has {right}"
        );
        let path = dir.path().join("typo.yaml");
        std::fs::write(&path, good.replacen(right, wrong, 1)).unwrap();
        let line = good[..good.find(right).unwrap()].matches('\n').count() + 1;
        let stderr = expect_failure(
            &[
                "run",
                path.to_str().unwrap(),
                "--out",
                dir.path().join("out").to_str().unwrap(),
            ],
            &[("DEPTHPRUNE_CACHE", empty_cache.to_str().unwrap())],
            message,
        );
        assert!(
            stderr.contains(&format!("typo.yaml:{line}:")),
            "{wrong}: the error does not name line {line}: {stderr}"
        );
    }
}

/// With stderr going to a file (not a terminal), a long command leaves plain progress lines
/// there: what, how far, elapsed; `--quiet` leaves none.
#[test]
fn progress_lines_in_a_log_and_none_with_quiet() {
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--model",
            "smollm2-135m",
            "--objective",
            "ppl",
            "--n-seqs",
            "1",
            "--seq-len",
            "16",
            "--no-memo",
        ];
        args.extend_from_slice(extra);
        let out = depthprune(&args, &[("DEPTHPRUNE_PROGRESS_SECONDS", "0.05")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let log = scan(&[]);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("progress: scan: "))
        .collect();
    assert!(lines.len() >= 2, "expected progress lines in: {log}");
    assert!(lines[0].contains("0/31 evaluations"), "{log}");
    assert!(
        lines.last().unwrap().contains("31/31 evaluations (100 %)")
            && lines.last().unwrap().ends_with("done"),
        "{log}"
    );
    let quiet = scan(&["--quiet"]);
    assert!(!quiet.contains("progress:"), "--quiet printed: {quiet}");
}
