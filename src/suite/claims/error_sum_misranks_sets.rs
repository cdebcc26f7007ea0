//! EvoPress (Sieberling et al., arXiv 2410.14649): "error monotonicity does not hold": a set of
//! blocks whose single-removal errors sum lower can have the higher joint error, so ranking
//! blocks by their single removals is no reliable guide to which set to remove. Per seed,
//! averaged over the objectives, Kendall τ-b between the sum of a set's single-removal scores
//! and its joint score, over the k-sets the `sampled` reference drew and scored in full on
//! that calibration sample; holds when τ lies below `max_ranking_tau` (the study's threshold
//! for two rankings that disagree), fails when above, two-sided exact sign flips. The paper
//! gives no threshold (any inversion breaks monotonicity in the strict sense; the claim reads
//! it as "no reliable guide"). The share of set pairs the sum puts in the wrong order is
//! reported beside τ. Scores are in the objective's own units (EvoPress's fitness is the KL
//! divergence, `kind: kl`).

use std::collections::BTreeMap;

use super::procedure::{below_threshold, effect_size, put_spread, Tested};
use super::table::RunTable;
use super::ClaimSettings;
use crate::stats::{kendall_tau_b, mean};
use crate::suite::run::RunRecord;

const SAMPLED: &str = "sampled";

/// τ-b between the sets' summed single-removal scores and their joint scores, and the share
/// of the pairs (ties in either left out) whose order the sum inverts.
fn sum_against_joint(run: &RunRecord) -> Result<(f64, f64), String> {
    let singles: BTreeMap<usize, f64> = run
        .scored
        .iter()
        .filter(|s| s.removed.len() == 1)
        .map(|s| (s.removed[0], s.score))
        .collect();
    let (mut summed, mut joint) = (Vec::new(), Vec::new());
    for set in run.scored.iter().filter(|s| s.removed.len() == run.k) {
        let sum: Option<f64> = set.removed.iter().map(|b| singles.get(b)).sum();
        let sum = sum.ok_or_else(|| {
            format!(
                "the sampled run of seed {} has no single removal of a block in {:?}",
                run.seed, set.removed
            )
        })?;
        summed.push(sum);
        joint.push(set.score);
    }
    if joint.len() < 3 {
        return Err(format!(
            "the sampled run of seed {} scored {} k-sets; a rank correlation needs at least 3 (raise its budget)",
            run.seed,
            joint.len()
        ));
    }
    let (mut inverted, mut ordered) = (0usize, 0usize);
    for i in 0..joint.len() {
        for j in i + 1..joint.len() {
            let product = (summed[i] - summed[j]) * (joint[i] - joint[j]);
            if product != 0.0 {
                ordered += 1;
                inverted += usize::from(product < 0.0);
            }
        }
    }
    Ok((
        kendall_tau_b(&summed, &joint),
        inverted as f64 / ordered.max(1) as f64,
    ))
}

pub(super) fn error_sum_misranks_sets(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    let mut taus = Vec::with_capacity(table.seeds.len());
    let mut inverted = Vec::new();
    let mut per_objective: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for &seed in &table.seeds {
        let mut seed_taus = Vec::new();
        for &objective in &table.objectives {
            let run = table.get(objective, SAMPLED, seed).ok_or_else(|| {
                format!(
                    "needs sampled runs of every objective (seed {seed}, objective {objective})"
                )
            })?;
            let (tau, share) = sum_against_joint(run)?;
            seed_taus.push(tau);
            inverted.push(share);
            per_objective.entry(objective).or_default().push(tau);
        }
        taus.push(mean(&seed_taus));
    }
    let threshold = s.max_ranking_tau;
    put_spread(stats, "kendall_tau", &taus, s.alpha);
    stats.insert("inverted_pairs/share".into(), mean(&inverted));
    for (objective, t) in &per_objective {
        stats.insert(format!("kendall_tau/{objective}"), mean(t));
    }
    let below: Vec<f64> = taus.iter().map(|t| threshold - t).collect();
    stats.insert("effect_size_dz".into(), effect_size(&below));
    below_threshold(&table.seeds, &taus, threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::claims::testing::{record, settings};
    use crate::suite::run::ScoredSet;

    /// Singles scored 1..=10; joint scores either the sum (monotone: fails) or unrelated to it
    /// (a seeded shuffle of the sums: holds).
    #[test]
    fn additive_errors_fail_and_unrelated_ones_hold() {
        use rand::seq::SliceRandom;
        let heldout = BTreeMap::new();
        let sets: Vec<Vec<usize>> = (0..8)
            .flat_map(|a| (a + 1..9).map(move |b| vec![a, b, b + 1]))
            .filter(|s| s[1] + 1 < 10 && s[0] < s[1])
            .take(20)
            .collect();
        for (additive, expect_holds) in [(true, false), (false, true)] {
            let runs: Vec<RunRecord> = (0..6u64)
                .map(|seed| {
                    let mut run = record(
                        "ppl",
                        SAMPLED,
                        seed,
                        &[0, 1, 2],
                        (0..10).collect(),
                        0.0,
                        0.0,
                        0.0,
                    );
                    let single = |b: usize| 1.0 + b as f64;
                    let mut joint: Vec<f64> = sets
                        .iter()
                        .map(|s| s.iter().map(|&b| single(b)).sum())
                        .collect();
                    if !additive {
                        joint.shuffle(&mut crate::rng::rng_for(seed, "test"));
                    }
                    run.scored = (0..10)
                        .map(|b| ScoredSet {
                            removed: vec![b],
                            score: single(b),
                        })
                        .chain(sets.iter().zip(&joint).map(|(s, &score)| ScoredSet {
                            removed: s.clone(),
                            score,
                        }))
                        .collect();
                    run
                })
                .collect();
            let refs: Vec<&RunRecord> = runs.iter().collect();
            let table = RunTable::new(&refs, &heldout);
            let mut stats = BTreeMap::new();
            let (test, _) = error_sum_misranks_sets(&table, &settings(), &mut stats).unwrap();
            let (up, down) = (test.holds, test.fails.unwrap());
            assert_eq!(up < down, expect_holds, "{stats:?}");
            if additive {
                assert_eq!(stats["inverted_pairs/share"], 0.0);
            }
        }
    }
}
