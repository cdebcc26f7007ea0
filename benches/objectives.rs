//! Throughput of the two objectives on both models, full model, no caching (criterion):
//! perplexity in tokens/s (8 windows × 128 tokens) and accuracy in questions/s (ARC-Easy,
//! HellaSwag and PIQA, 8 questions each, packed).
//!
//! `cargo bench --bench objectives`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use depthprune::data::{self, Task};
use depthprune::load::open_model;
use depthprune::model::{BlockMask, LoadOptions};
use depthprune::objective::{evaluate, AccuracySpec, ObjectiveSpec, PerplexitySpec};

fn bench_model(c: &mut Criterion, id: &str) {
    let model = open_model(id, &LoadOptions::default()).unwrap();
    let data_dir = data::data_dir(None).unwrap();
    let mask = BlockMask::full(model.n_blocks());
    let mut group = c.benchmark_group(format!("objectives/{id}"));
    group.sample_size(10);

    let ppl = ObjectiveSpec::Perplexity(PerplexitySpec {
        n_seqs: 8,
        seq_len: 128,
        ..PerplexitySpec::default()
    });
    let ppl = ppl.build(&model, &data_dir).unwrap();
    group.throughput(Throughput::Elements(8 * 128));
    group.bench_function("perplexity_tokens", |b| {
        b.iter(|| evaluate(ppl.as_ref(), &model, &mask).unwrap())
    });

    let tasks = vec![
        Task::ArcEasy.into(),
        Task::Hellaswag.into(),
        Task::Piqa.into(),
    ];
    let acc = ObjectiveSpec::Accuracy(AccuracySpec {
        tasks,
        n_per_task: 8,
        ..AccuracySpec::default()
    });
    let acc = acc.build(&model, &data_dir).unwrap();
    group.throughput(Throughput::Elements(24));
    group.bench_function("accuracy_questions", |b| {
        b.iter(|| evaluate(acc.as_ref(), &model, &mask).unwrap())
    });
    group.finish();
}

fn objectives(c: &mut Criterion) {
    bench_model(c, "smollm2-135m");
    bench_model(c, "gemma3-270m");
}

criterion_group!(benches, objectives);
criterion_main!(benches);
