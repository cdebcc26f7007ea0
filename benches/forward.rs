//! Tokens/s of the full forward pass at 4×128 tokens, for both offline models:
//! - `all_positions`: log-probabilities of the next token at every position (perplexity);
//! - `last_position`: logits at the last position only (prompt processing).
//!
//! `cargo bench --bench forward`. Models are fetched into the cache on first use.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use depthprune::load::open_model;
use depthprune::model::{BlockMask, LoadOptions, Model, Tokenization};
use depthprune::perplexity::{cut_windows, window_workload};

const BATCH: usize = 4;
const SEQ: usize = 128;

fn windows(model: &Model) -> Vec<Vec<u32>> {
    let data = depthprune::data::data_dir(None).expect("the evaluation data");
    let text = std::fs::read_to_string(data.join("wikitext2/wiki.test.raw"))
        .expect("WikiText-2 in the evaluation data");
    let ids = model.tokenizer.encode(&text[..200_000]).unwrap();
    cut_windows(&ids, SEQ, BATCH, model.special.bos).unwrap()
}

fn bench_model(c: &mut Criterion, id: &str) {
    let model = open_model(id, &LoadOptions::default()).unwrap();
    let batch = windows(&model);
    let mask = BlockMask::full(model.n_blocks());
    let tokens = model.token_tensor(&batch).unwrap();
    // All 4 windows form one batch of the workload (BATCH = perplexity::DEFAULT_BATCH).
    let workload = window_workload(&model, &batch).unwrap();
    let last_rows: Vec<u32> = (0..BATCH).map(|b| (b * SEQ + SEQ - 1) as u32).collect();

    let mut group = c.benchmark_group(format!("forward/{id}"));
    group
        .sample_size(10)
        .throughput(Throughput::Elements((BATCH * SEQ) as u64));
    group.bench_function("all_positions", |b| {
        b.iter(|| workload.run(&model, &mask).unwrap())
    });
    group.bench_function("last_position", |b| {
        b.iter(|| {
            let hidden = model.hidden_states(&tokens, &mask).unwrap();
            model.logits(&hidden, &last_rows).unwrap()
        })
    });
    group.finish();
}

fn forward(c: &mut Criterion) {
    bench_model(c, "smollm2-135m");
    bench_model(c, "gemma3-270m");
}

criterion_group!(benches, forward);
criterion_main!(benches);
