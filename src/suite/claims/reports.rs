//! Reports without verdicts, per model: agreement three ways, reliabilities, variance shares and
//! the proxy's agreement with the objectives.

use std::collections::BTreeMap;

use rand::Rng;

use super::reliability::Reliability;
use super::shares::{distance_matrix, pattern_distance, Distance};
use super::table::{pairs, tau_between, RunTable};
use super::{ClaimResult, ClaimSettings, Verdict, ONE_SHOT};
use crate::objective::Direction;
use crate::search::SearcherKind;
use crate::stats::{
    chance_corrected, jaccard, mean, permanova, permutation_test, Design, Restriction,
};
use crate::suite::run::RunRecord;

/// Reports without verdicts: agreements with their chance level, reliabilities, the variance
/// decompositions over objective, seed and searcher, and the proxy's agreement.
pub(super) fn model_reports(
    model: &str,
    table: &RunTable,
    runs: &[&RunRecord],
    reliability: &Reliability,
    s: &ClaimSettings,
    rng: &mut impl Rng,
) -> Vec<ClaimResult> {
    let report = |claim: &str, statistics: BTreeMap<String, f64>| ClaimResult {
        model: model.to_string(),
        claim: claim.to_string(),
        verdict: Verdict::Report,
        reason: String::new(),
        p_holds: None,
        p_fails: None,
        p_adjusted: None,
        p_floor: None,
        statistics,
        per_seed: Vec::new(),
        threshold: None,
    };
    let mut out = Vec::new();

    // Agreement, three ways, raw and chance-corrected.
    let mut stats = BTreeMap::from([("chance_jaccard".to_string(), table.chance)]);
    let mut put = |name: &str, j: Option<f64>| {
        if let Some(j) = j {
            stats.insert(format!("{name}/jaccard"), j);
            stats.insert(
                format!("{name}/chance_corrected"),
                chance_corrected(j, table.chance),
            );
        }
    };
    let per_seed = |f: &dyn Fn(u64) -> Option<f64>| {
        let v: Vec<f64> = table.seeds.iter().filter_map(|&t| f(t)).collect();
        (!v.is_empty()).then(|| mean(&v))
    };
    put("cross_searcher", per_seed(&|t| table.cross_searcher(t)));
    put("cross_objective", per_seed(&|t| table.cross_objective(t)));
    put("cross_seed", table.cross_seed(&table.objectives));
    for o in &table.objectives {
        put(&format!("cross_seed/{o}"), table.cross_seed(&[o]));
    }
    out.push(report("agreement", stats));

    // Reliability of each objective.
    let mut stats = BTreeMap::new();
    for o in &table.objectives {
        if let (Some(tau), Some(p)) = (reliability.tau.get(*o), reliability.p.get(*o)) {
            stats.insert(format!("{o}/cross_seed_kendall_tau"), *tau);
            stats.insert(format!("{o}/cross_seed_kendall_tau_p"), *p);
        }
        let one_shot: Vec<&RunRecord> = table
            .seeds
            .iter()
            .filter_map(|&t| table.get(o, ONE_SHOT, t))
            .collect();
        let js: Vec<f64> = pairs(&one_shot)
            .into_iter()
            .map(|(a, b)| jaccard(&a.removed, &b.removed))
            .collect();
        if !js.is_empty() {
            stats.insert(format!("{o}/cross_seed_top_k_jaccard"), mean(&js));
        }
    }
    stats.insert("chance_jaccard".into(), table.chance);
    stats.insert("permutations".into(), s.permutations as f64);
    out.push(report("reliability", stats));

    // Variance shares over objective, seed and searcher (and objective × searcher).
    if table.complete() && table.seeds.len() >= 2 && table.objectives.len() >= 2 {
        let members = table.all_runs();
        let index = |names: &[&str], x: &str| names.iter().position(|n| *n == x).expect("indexed");
        let design = Design {
            factors: vec![
                members
                    .iter()
                    .map(|r| index(&table.objectives, &r.objective))
                    .collect(),
                members
                    .iter()
                    .map(|r| table.seeds.iter().position(|t| *t == r.seed).expect("seed"))
                    .collect(),
                members
                    .iter()
                    .map(|r| index(&table.searchers, &r.searcher))
                    .collect(),
            ],
        };
        let terms = [vec![0], vec![1], vec![2], vec![0, 2]];
        // (term, factor permuted, strata): objective labels of whole calibration groups within
        // a seed; seed labels within objective × searcher; searcher labels within a calibration
        // group (also for the interaction: a test of the searcher including its interaction).
        let plan: [(&str, usize, usize, Vec<usize>); 4] = [
            ("objective", 0, 0, vec![1]),
            ("seed", 1, 1, vec![0, 2]),
            ("searcher", 2, 2, vec![0, 1]),
            // Its p tests the searcher's effect including the interaction.
            ("objective_x_searcher", 3, 2, vec![0, 1]),
        ];
        let first_ppl = table.perplexity_objective();
        let mut outcomes: Vec<(String, Distance)> =
            vec![("patterns".into(), Box::new(pattern_distance))];
        if let Some(o) = first_ppl {
            let o = o.to_string();
            outcomes.push((
                "calibration_log_ppl".into(),
                Box::new(move |a: &RunRecord, b: &RunRecord| {
                    Some((a.calibration.get(&o)?.ln() - b.calibration.get(&o)?.ln()).abs())
                }),
            ));
        }
        for (h, direction) in table.heldout.clone() {
            let log = direction == Direction::Minimize;
            let name = if log {
                format!("heldout_log_{h}")
            } else {
                format!("heldout_{h}")
            };
            outcomes.push((
                name,
                Box::new(move |a: &RunRecord, b: &RunRecord| {
                    let (x, y) = (*a.heldout.get(&h)?, *b.heldout.get(&h)?);
                    Some(if log {
                        (x.ln() - y.ln()).abs()
                    } else {
                        (x - y).abs()
                    })
                }),
            ));
        }
        let mut stats = BTreeMap::new();
        for (outcome, distance) in &outcomes {
            let Some(d) = distance_matrix(&members, distance) else {
                continue;
            };
            let Some(partition) = permanova(&d, &design, &terms) else {
                continue;
            };
            for (name, term, permuted, strata) in &plan {
                let t = &partition.terms[*term];
                stats.insert(format!("{outcome}/{name}/omega2"), t.omega2);
                stats.insert(format!("{outcome}/{name}/pseudo_f"), t.pseudo_f);
                let restriction = Restriction {
                    term: *term,
                    permuted: *permuted,
                    strata: strata.clone(),
                };
                if let Some(test) =
                    permutation_test(&d, &design, &terms, &restriction, s.permutations, rng)
                {
                    stats.insert(format!("{outcome}/{name}/p"), test.p);
                    stats.insert(format!("{outcome}/{name}/p_floor"), test.floor);
                }
            }
        }
        out.push(report("variance_shares", stats));
    }

    // The baselines that search nothing vs each objective's one-shot ranking.
    let mut stats = BTreeMap::new();
    for baseline in SearcherKind::BASELINES.map(SearcherKind::name) {
        for o in &table.objectives {
            let taus: Vec<f64> = table
                .seeds
                .iter()
                .filter_map(|&t| {
                    let b = runs
                        .iter()
                        .find(|r| r.objective == *o && r.searcher == baseline && r.seed == t)?;
                    Some(tau_between(b, table.get(o, ONE_SHOT, t)?))
                })
                .collect();
            if !taus.is_empty() {
                stats.insert(format!("{baseline}/kendall_tau_vs_{o}"), mean(&taus));
            }
        }
    }
    if !stats.is_empty() {
        out.push(report("baselines_vs_objectives", stats));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::stats::expected_jaccard;
    use crate::suite::claims::testing::{objective_decides, settings, verdicts, N_BLOCKS};

    /// Agreement three ways and the variance shares where the objective alone picks the set.
    #[test]
    fn agreement_and_shares_where_the_objective_decides() {
        let v = verdicts(&objective_decides(12), &settings());
        let agreement = &v["agreement"].statistics;
        assert_eq!(agreement["cross_objective/jaccard"], 0.0);
        // Even seeds: all 6 searcher pairs agree; odd seeds: 3 pairs at 1, 3 at 1/2.
        assert!((agreement["cross_searcher/jaccard"] - 0.875).abs() < 1e-12);
        // The sample moves the third block: a third of seed pairs share it (J 1 for three
        // searchers), the rest do not (J 1/2).
        assert!(agreement["cross_seed/jaccard"] > 0.5, "{agreement:?}");
        assert!(agreement["cross_seed/jaccard"] < 0.8, "{agreement:?}");
        assert!((agreement["chance_jaccard"] - expected_jaccard(N_BLOCKS, 3)).abs() < 1e-12);
        let shares = &v["variance_shares"].statistics;
        // The objective decides two blocks of three, the sample the third.
        assert!(shares["patterns/objective/omega2"] > 0.5, "{shares:?}");
        assert!(shares["patterns/searcher/omega2"] < 0.05, "{shares:?}");
        // 2^12 relabellings are more than the 199 drawn: sampled, floor 1/200.
        assert_eq!(shares["patterns/objective/p_floor"], 1.0 / 200.0);
        assert_eq!(shares["patterns/objective/p"], 1.0 / 200.0);
    }
}
