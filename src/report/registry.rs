//! The claims registry (`docs/registry.md`): every claim depthprune tests, where it comes from
//! (`docs/claims-sources.yaml`: the work, the sentence it checks, the statistic), and its
//! verdict on every model in every suite that ships its evidence. Written by `depthprune
//! registry` from replays of those suites; `tests/claims.rs` checks each replayed suite's lines
//! against the page, so it cannot drift from the evidence.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::suite::claims::sizing::{seeds_needed, SizingOptions};
use crate::suite::claims::{Claim, ClaimResult, Verdict};
use crate::suite::Suite;

/// `docs/claims-sources.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    pub claims: BTreeMap<String, Source>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The work and the statement within it.
    pub source: String,
    /// The sentence the claim checks.
    pub checks: String,
    /// What the claim is decided on.
    pub statistic: String,
}

/// Reads the sources file and checks it names every claim the harness decides, and no other.
pub fn load_sources(path: &Path) -> Result<Sources> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the claims' sources {}", path.display()))?;
    let sources: Sources = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("{} is not a claims' sources file", path.display()))?;
    for claim in Claim::ALL {
        if !sources.claims.contains_key(claim.as_str()) {
            bail!(
                "{} has no entry for claim {}: add its source, the sentence it checks and its statistic",
                path.display(),
                claim.as_str()
            );
        }
    }
    if let Some(unknown) = sources
        .claims
        .keys()
        .find(|name| Claim::from_name(name).is_none())
    {
        bail!(
            "{} names claim {unknown}, which depthprune does not decide",
            path.display()
        );
    }
    Ok(sources)
}

/// Whether a suite's verdicts belong in the registry: it ships its evidence and states claims.
pub fn is_registered(suite: &Suite) -> bool {
    suite.evidence.is_some() && suite.claims.is_some()
}

/// For each claim, the registered control suites (`control-*`) that decide it, in name order.
pub fn controls_by_claim(suites: &[&Suite]) -> BTreeMap<Claim, Vec<String>> {
    let mut controls: BTreeMap<Claim, Vec<String>> = BTreeMap::new();
    for suite in suites {
        if !is_registered(suite) || !suite.name.starts_with("control-") {
            continue;
        }
        let Some(settings) = &suite.claims else {
            continue;
        };
        for claim in Claim::ALL.into_iter().filter(|&c| settings.decides(c)) {
            controls.entry(claim).or_default().push(suite.name.clone());
        }
    }
    for names in controls.values_mut() {
        names.sort();
    }
    controls
}

/// The claims table: one row per claim, in the order they are tested, with the control suites
/// that decide it.
pub fn sources_table(sources: &Sources, controls: &BTreeMap<Claim, Vec<String>>) -> Vec<String> {
    let mut lines = vec![
        "| claim | source | the sentence it checks | statistic | controls |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    for claim in Claim::ALL {
        let s = &sources.claims[claim.as_str()];
        let names = controls.get(&claim).map_or(Vec::new(), |names| {
            names.iter().map(|n| format!("`{n}`")).collect()
        });
        lines.push(format!(
            "| `{}` | {} | {} | {} | {} |",
            claim.as_str(),
            cell(&s.source),
            cell(&s.checks),
            cell(&s.statistic),
            match names.is_empty() {
                true => "none ([why](claims.md#controls))".to_string(),
                false => names.join(", "),
            }
        ));
    }
    lines
}

/// One line per (claim, model) the suite decides, in the order they are tested: `| suite |
/// claim | model | verdict | p | floor | seeds for power 0.8 | reason |`, p as the procedure
/// tested it (adjusted).
pub fn verdict_lines(suite: &Suite, verdicts: &[ClaimResult]) -> Vec<String> {
    let alpha = suite.claims.as_ref().map_or(0.05, |c| c.alpha);
    let sized = seeds_needed(verdicts, &SizingOptions::defaults(alpha));
    let mut lines = Vec::new();
    for claim in Claim::ALL {
        for r in verdicts.iter().filter(|r| r.claim == claim.as_str()) {
            if r.verdict == Verdict::Report {
                continue;
            }
            let size = sized
                .iter()
                .find(|s| s.claim == r.claim && s.model == r.model);
            lines.push(format!(
                "| {} | `{}` | {} | **{}** | {} | {} | {} | {} |",
                suite.name,
                r.claim,
                r.model,
                r.verdict.as_str(),
                p_text(r.p_adjusted),
                p_text(r.p_floor),
                seeds_text(
                    suite,
                    r,
                    size.and_then(|s| s.curve.as_ref().map(|c| (s, c)))
                ),
                cell(&r.reason)
            ));
        }
    }
    lines
}

/// The seeds an inconclusive claim would need for power 0.8 at the effect its units showed
/// (`depthprune power`'s simulation), where a larger run could decide it: a tested claim of a
/// main suite. Decided claims, claims a gate kept from testing (no p) and controls (whose
/// inconclusive verdict is what they must give) show a dash.
fn seeds_text(
    suite: &Suite,
    r: &ClaimResult,
    sized: Option<(
        &crate::suite::claims::sizing::SeedsNeeded,
        &crate::power::PowerCurve,
    )>,
) -> String {
    let tested = r.verdict == Verdict::Inconclusive && r.p_adjusted.is_some();
    match sized {
        Some((s, curve)) if tested && !suite.name.starts_with("control-") => match s.seeds_needed {
            Some(n) => format!("{n} (d_z {:.2})", curve.effect_size),
            None => format!(
                "> {} (d_z {:.2})",
                SizingOptions::MAX_UNITS * s.seeds_per_unit,
                curve.effect_size
            ),
        },
        _ => "–".to_string(),
    }
}

/// The whole page, from the sources and each registered suite's verdicts (main suites first,
/// then controls, each in name order).
pub fn page(sources: &Sources, suites: &[(Suite, Vec<ClaimResult>)]) -> String {
    let mut out = String::from(
        "# Claims registry\n\n\
         Every claim depthprune tests, where it comes from, and its verdict on each model in every \
         suite that ships its evidence. Written by `depthprune registry` from replays of those \
         suites and from [claims-sources.yaml](claims-sources.yaml); `cargo test --release --test \
         claims` fails when a replay's verdicts differ from this page. How each claim is built: \
         [claims.md](claims.md).\n\n## Claims\n\n",
    );
    let registered: Vec<&Suite> = suites.iter().map(|(s, _)| s).collect();
    for line in sources_table(sources, &controls_by_claim(&registered)) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(
        "\n## Verdicts\n\n\
         p is the claim's p as the procedure tested it (the fixed sequence's for a primary, \
         Holm's for a secondary; \"not reached\" claims show their unadjusted p in the reason); \
         the floor is the smallest p its design can give. For an inconclusive claim of a main \
         suite that was tested, the seeds it would need for power 0.8 at the effect its units \
         showed (d_z; `depthprune power`'s simulation, a planning figure: a larger run must \
         fix its size before it starts). Control suites are built so that a biased claim would \
         hold where it must not ([claims.md](claims.md#controls)).\n\n\
         | suite | claim | model | verdict | p | floor | seeds for power 0.8 | reason |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let mut ordered: Vec<&(Suite, Vec<ClaimResult>)> = suites.iter().collect();
    ordered.sort_by_key(|(s, _)| (s.name.starts_with("control-"), s.name.clone()));
    for (suite, verdicts) in ordered {
        for line in verdict_lines(suite, verdicts) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Checks that `page_text` holds exactly `suite`'s verdict lines: each of them, and no other
/// line of that suite. Returns the problems found.
pub fn check_suite_lines(page_text: &str, suite: &Suite, verdicts: &[ClaimResult]) -> Vec<String> {
    let expected = verdict_lines(suite, verdicts);
    let prefix = format!("| {} | ", suite.name);
    let present: Vec<&str> = page_text
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .collect();
    let mut problems = Vec::new();
    for line in &expected {
        if !present.contains(&line.as_str()) {
            problems.push(format!("missing or different: {line}"));
        }
    }
    for line in &present {
        if !expected.iter().any(|e| e == line) {
            problems.push(format!("not in the replay: {line}"));
        }
    }
    problems
}

fn p_text(p: Option<f64>) -> String {
    match p {
        None => "–".to_string(),
        Some(p) if p.is_nan() => "–".to_string(),
        Some(p) if p >= 0.001 => format!("{p:.3}"),
        Some(p) => format!("{p:.1e}"),
    }
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_sources_name_every_claim() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/claims-sources.yaml");
        let sources = load_sources(&path).unwrap();
        assert_eq!(
            sources_table(&sources, &BTreeMap::new()).len(),
            2 + Claim::ALL.len()
        );
    }

    #[test]
    fn a_suites_lines_are_checked_both_ways() {
        let suite: Suite = serde_yaml_ng::from_str(
            "name: s\ndescription: d\nmodels: [m]\nobjectives: {ppl: {kind: perplexity}}\nsearchers: [{name: one_shot}]\nk: {m: 2}\nseeds: [0, 1]\n",
        )
        .unwrap();
        let result = ClaimResult {
            model: "m".into(),
            claim: "sample_over_search".into(),
            verdict: Verdict::Holds,
            reason: "because".into(),
            p_holds: Some(0.001),
            p_fails: Some(0.999),
            p_adjusted: Some(0.002),
            p_floor: Some(0.000244140625),
            statistics: BTreeMap::new(),
            per_seed: vec![],
            threshold: None,
        };
        let lines = verdict_lines(&suite, std::slice::from_ref(&result));
        assert_eq!(
            lines,
            vec!["| s | `sample_over_search` | m | **holds** | 0.002 | 2.4e-4 | – | because |"]
        );
        let page = format!(
            "x\n{}\n| s | `marginal_gains` | m | **fails** | 0.5 | 0.1 | r |\n",
            lines[0]
        );
        let problems = check_suite_lines(&page, &suite, std::slice::from_ref(&result));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("not in the replay"));
        assert_eq!(check_suite_lines("", &suite, &[result]).len(), 1);
    }
}
