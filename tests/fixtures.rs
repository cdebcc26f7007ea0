//! The models against the reference fixtures: token ids from the reference GGUF runtime must
//! match exactly, perplexities from the independent f32 implementation to within 0.5%.

mod common;

use depthprune::model::{BlockMask, LayerTypeRule};
use depthprune::perplexity::{cut_windows, perplexity};
use serde::Deserialize;

fn fixture_ids(name: &str) -> Vec<u32> {
    let path = common::fixtures_dir().join("tokenizer").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn dev_text() -> String {
    std::fs::read_to_string(common::fixtures_dir().join("tokenizer/dev_text.txt")).unwrap()
}

fn check_tokenizer(model_id: &str, fixture: &str) {
    let model = common::model(model_id, LayerTypeRule::Own);
    let ids = model.tokenizer.encode(&dev_text()).unwrap();
    let expected = fixture_ids(fixture);
    if let Some(i) = ids.iter().zip(&expected).position(|(a, b)| a != b) {
        panic!(
            "{model_id}: first difference at token {i}: got {:?}, expected {:?}",
            &ids[i.saturating_sub(2)..(i + 5).min(ids.len())],
            &expected[i.saturating_sub(2)..(i + 5).min(expected.len())]
        );
    }
    assert_eq!(ids.len(), expected.len(), "{model_id}: token count");
}

#[test]
fn smollm2_tokenizer_matches_reference_ids() {
    check_tokenizer("smollm2-135m", "smollm2_ids.json");
}

#[test]
fn gemma3_tokenizer_matches_reference_ids() {
    check_tokenizer("gemma3-270m", "gemma3_ids.json");
}

#[derive(Deserialize)]
struct PplFixture {
    windows: usize,
    seq_len: usize,
    bos: Option<u32>,
    results: Vec<PplResult>,
}

#[derive(Deserialize)]
struct PplResult {
    skip: Option<usize>,
    tokens_scored: usize,
    ppl: f64,
}

fn load_ppl_fixture(name: &str) -> PplFixture {
    let path = common::fixtures_dir().join("perplexity").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Reproduces the fixture's perplexities for the given skips (None = all of them).
fn check_perplexity(
    model_id: &str,
    fixture: &str,
    rule: LayerTypeRule,
    only: Option<&[Option<usize>]>,
) {
    let fx = load_ppl_fixture(fixture);
    let model = common::model(model_id, rule);
    assert_eq!(model.special.bos, fx.bos, "{model_id}: BOS rule");
    // The fixture windows are cut from the reference ids, which the tokenizer test pins.
    let ids = model.tokenizer.encode(&dev_text()).unwrap();
    let windows = cut_windows(&ids, fx.seq_len, fx.windows, model.special.bos).unwrap();
    let mut checked = 0;
    for r in &fx.results {
        if only.is_some_and(|o| !o.contains(&r.skip)) {
            continue;
        }
        let removed: Vec<usize> = r.skip.into_iter().collect();
        let mask = BlockMask::with_removed(model.n_blocks(), &removed).unwrap();
        let got = perplexity(&model, &windows, &mask).unwrap();
        assert_eq!(got.tokens_scored, r.tokens_scored);
        let rel = (got.ppl - r.ppl).abs() / r.ppl;
        eprintln!(
            "{model_id} {rule:?} skip {:?}: ppl {:.4} vs reference {:.4} ({:.4}%)",
            r.skip,
            got.ppl,
            r.ppl,
            rel * 100.0
        );
        assert!(
            rel < 0.005,
            "{model_id} skip {:?}: ppl {} vs reference {} ({:.3}% off)",
            r.skip,
            got.ppl,
            r.ppl,
            rel * 100.0
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn smollm2_perplexity_matches_reference() {
    check_perplexity(
        "smollm2-135m",
        "smollm2_dev_text.json",
        LayerTypeRule::Own,
        None,
    );
}

/// The Gemma fixture was produced by deleting layers from a Hugging Face model, which gives the
/// remaining layers the local/global types of their new positions; with that rule every value
/// is reproduced.
#[test]
fn gemma3_perplexity_matches_reference_with_renumbered_layer_types() {
    check_perplexity(
        "gemma3-270m",
        "gemma3_dev_text.json",
        LayerTypeRule::Renumbered,
        None,
    );
}

/// Where the two rules coincide (nothing removed; the last block removed) the default rule,
/// each block keeping its own type, reproduces the fixture too.
#[test]
fn gemma3_perplexity_matches_reference_where_layer_rules_agree() {
    check_perplexity(
        "gemma3-270m",
        "gemma3_dev_text.json",
        LayerTypeRule::Own,
        Some(&[None, Some(17)]),
    );
}

/// And where they differ the default rule gives a different number: the rule is not a no-op.
#[test]
fn gemma3_layer_type_rules_differ_after_an_early_removal() {
    let fx = load_ppl_fixture("gemma3_dev_text.json");
    let own = common::model("gemma3-270m", LayerTypeRule::Own);
    let ids = own.tokenizer.encode(&dev_text()).unwrap();
    let windows = cut_windows(&ids, fx.seq_len, 2, own.special.bos).unwrap();
    let mask = BlockMask::with_removed(own.n_blocks(), &[0]).unwrap();
    let a = perplexity(&own, &windows, &mask).unwrap().ppl;
    let renumbered = common::model("gemma3-270m", LayerTypeRule::Renumbered);
    let b = perplexity(&renumbered, &windows, &mask).unwrap().ppl;
    assert!((a - b).abs() / b > 0.01, "own {a} vs renumbered {b}");
}
