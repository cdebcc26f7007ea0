//! Every plot a suite writes, rendered with a real renderer (resvg, with a font shipped in a
//! crate so it passes on a machine without fonts): it parses, is not blank, fits a page, its
//! texts are drawn without overlapping, and every heatmap column label lies within its own
//! column. The plots are the smoke suite's (a real run on SmolLM2) plus the verdict and
//! reliability figures drawn from hand-made results (the smoke suite decides no claims).
//! Controls: a label moved half a cell, a blank plot and one wider than a page all fail.

mod common;
#[path = "common/render.rs"]
mod render;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use depthprune::reliability::ReliabilityPoint;
use depthprune::report::files::{reliability_figure, verdict_figure};
use depthprune::report::svg::PAGE_WIDTH;
use depthprune::suite::claims::{ClaimResult, Verdict};

/// The smoke suite's output folder, run once per test binary (served from the shared store
/// after the first run anywhere on the machine).
fn smoke_outputs() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_depthprune"))
            .arg("run")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/suites/smoke.yaml"))
            .arg("--out")
            .arg(dir.path())
            .arg("--data-dir")
            .arg(common::data_dir())
            .arg("--quiet")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(smoke_outputs().join(name)).unwrap()
}

fn claim(model: &str, claim: &str, verdict: Verdict, per_seed: Vec<(u64, f64)>) -> ClaimResult {
    ClaimResult {
        model: model.into(),
        claim: claim.into(),
        verdict,
        reason: "the per-seed differences are all positive".into(),
        p_holds: Some(0.03125),
        p_fails: Some(1.0),
        p_adjusted: Some(0.4375),
        p_floor: Some(0.03125),
        statistics: BTreeMap::new(),
        per_seed,
        threshold: Some(0.0),
    }
}

fn synthetic_verdicts() -> String {
    let mut no_test = claim(
        "gemma3-270m",
        "rankings_disagree",
        Verdict::Inconclusive,
        vec![],
    );
    no_test.p_floor = None;
    no_test.reason = "no test: every seed ties".into();
    verdict_figure(
        "claims",
        &[
            claim(
                "smollm2-135m",
                "marginal_gains",
                Verdict::Holds,
                vec![(0, 0.12), (1, 0.08), (2, 0.31), (3, 0.08), (4, 0.2)],
            ),
            claim(
                "smollm2-135m",
                "searchers_converge",
                Verdict::Fails,
                vec![(0, -0.4), (1, -0.1), (2, -0.25), (3, -0.3), (4, 0.02)],
            ),
            no_test,
        ],
    )
}

fn synthetic_reliability() -> String {
    let point = |size, tau| ReliabilityPoint {
        score: "perplexity".into(),
        size,
        tokens: 64 * size,
        cross_seed_tau: tau,
        top_k_jaccard: 0.3,
        chance_jaccard: 0.1,
        top_k_agreement: 0.2,
        seconds: 1.0,
    };
    reliability_figure(
        "smollm2-135m: reliability",
        "windows",
        &[
            (
                "ppl".into(),
                vec![
                    point(1, 0.42),
                    point(2, 0.55),
                    point(4, 0.71),
                    point(8, 0.8),
                ],
            ),
            (
                "acc".into(),
                vec![point(1, -0.05), point(2, 0.1), point(4, 0.2)],
            ),
        ],
    )
}

#[test]
fn every_plot_the_smoke_suite_writes_renders_and_reads() {
    let mut names: Vec<String> = std::fs::read_dir(smoke_outputs())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "agreement-smollm2-135m.svg",
            "budget-smollm2-135m.svg",
            "removed-smollm2-135m.svg",
            "single-removal-smollm2-135m.svg"
        ]
    );
    for name in &names {
        render::check_plot(&read(name), PAGE_WIDTH).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // Both kinds of column label are exercised: horizontal (blocks) and rotated (cells).
    assert!(read("removed-smollm2-135m.svg").contains("id=\"column-label-29\""));
    assert!(read("agreement-smollm2-135m.svg").contains("rotate(-90"));
    // SmolLM2's ends are protected: block 0 and 29 are hatched, not white.
    assert!(
        read("removed-smollm2-135m.svg").contains("id=\"cell-0-29\" x=\"")
            && read("removed-smollm2-135m.svg").contains("fill=\"url(#protected)\"")
    );
}

#[test]
fn the_verdict_and_reliability_figures_render_and_read() {
    for (name, svg) in [
        ("verdicts", synthetic_verdicts()),
        ("reliability", synthetic_reliability()),
    ] {
        render::check_plot(&svg, PAGE_WIDTH).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// `svg` with the text element `id` moved `dx` px to the right.
fn moved(svg: &str, id: &str, dx: f64) -> String {
    let start = svg.find(&format!("<text id=\"{id}\"")).or_else(|| {
        let at = svg.find(&format!(" id=\"{id}\""))?;
        svg[..at].rfind("<text")
    });
    let start = start.unwrap_or_else(|| panic!("no {id}"));
    let end = start + svg[start..].find("</text>").unwrap() + "</text>".len();
    format!(
        "{}<g transform=\"translate({dx} 0)\">{}</g>{}",
        &svg[..start],
        &svg[start..end],
        &svg[end..]
    )
}

#[test]
fn a_label_moved_half_a_cell_fails_the_check() {
    // Horizontal block labels in 18 px cells, rotated labels in 36 px cells.
    for (name, id, half_cell) in [
        ("removed-smollm2-135m.svg", "column-label-7", 9.0),
        ("agreement-smollm2-135m.svg", "column-label-1", 18.0),
    ] {
        let svg = read(name);
        render::check_plot(&svg, PAGE_WIDTH).unwrap();
        let err = render::check_plot(&moved(&svg, id, half_cell), PAGE_WIDTH)
            .expect_err("a label half a cell off must fail");
        assert!(err.contains("outside its column"), "{name}: {err}");
        // Moved back by as much, the label is in its column again: the control is the shift.
        render::check_plot(
            &moved(&moved(&svg, id, half_cell), id, -half_cell),
            PAGE_WIDTH,
        )
        .unwrap();
    }
}

#[test]
fn blank_wide_and_overlapping_plots_fail_the_check() {
    let blank = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"300\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/></svg>";
    assert!(render::check_plot(blank, PAGE_WIDTH)
        .unwrap_err()
        .contains("blank"));
    let verdicts = synthetic_verdicts();
    assert!(render::check_plot(&verdicts, 700.0)
        .unwrap_err()
        .contains("more than a page"));
    let crowded = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"300\" font-family=\"sans-serif\"><rect width=\"100%\" height=\"100%\" fill=\"#357\"/><text x=\"10\" y=\"20\">first label</text><text x=\"30\" y=\"22\">second</text></svg>";
    assert!(render::check_plot(crowded, PAGE_WIDTH)
        .unwrap_err()
        .contains("overlap"));
    assert!(render::check_plot("<svg", PAGE_WIDTH)
        .unwrap_err()
        .contains("does not parse"));
}
