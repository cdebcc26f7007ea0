//! The objectives' one-shot rankings disagree, after correcting for their unreliability.

use std::collections::BTreeMap;

use super::procedure::{put_spread, Test, Tested, Units};
use super::reliability::Reliability;
use super::table::{pairs, positions, tau_between, RunTable};
use super::{ClaimSettings, MIN_CEILING, ONE_SHOT};
use crate::stats::{mean, sign_flip_greater, spearman};

/// The objectives' one-shot rankings disagree: the disattenuated Kendall τ below the threshold.
pub(super) fn rankings_disagree(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
    reliability: &Reliability,
) -> Tested {
    let taus: Vec<f64> = table
        .seeds
        .iter()
        .map(|&t| {
            let ts: Vec<f64> = pairs(&table.objectives)
                .into_iter()
                .filter_map(|(a, b)| {
                    Some(tau_between(
                        table.get(a, ONE_SHOT, t)?,
                        table.get(b, ONE_SHOT, t)?,
                    ))
                })
                .collect();
            mean(&ts)
        })
        .collect();
    let rhos: Vec<f64> = table
        .seeds
        .iter()
        .filter_map(|&t| {
            let (a, b) = (table.objectives[0], *table.objectives.get(1)?);
            let (x, y) = (table.get(a, ONE_SHOT, t)?, table.get(b, ONE_SHOT, t)?);
            let mut blocks = x.ranking.clone();
            blocks.sort_unstable();
            Some(spearman(
                &positions(&x.ranking, &blocks),
                &positions(&y.ranking, &blocks),
            ))
        })
        .collect();
    // Spearman's correction for attenuation: agreement between two noisy rankings is
    // bounded by the geometric mean of their reliabilities.
    let ceiling = table
        .objectives
        .iter()
        .map(|o| reliability.tau[*o])
        .product::<f64>()
        .powf(1.0 / table.objectives.len() as f64);
    stats.insert("reliability_ceiling".into(), ceiling);
    if ceiling.is_nan() || ceiling < MIN_CEILING {
        return Err(format!(
            "the objectives' rankings reproduce too weakly across seeds to correct for \
                 it (ceiling {ceiling:.3} < {MIN_CEILING})"
        ));
    }
    let disattenuated: Vec<f64> = taus.iter().map(|t| t / ceiling).collect();
    put_spread(stats, "kendall_tau", &taus, s.alpha);
    put_spread(stats, "kendall_tau_disattenuated", &disattenuated, s.alpha);
    if !rhos.is_empty() {
        stats.insert("spearman_rho/mean".into(), mean(&rhos));
    }
    stats.insert("threshold".into(), s.max_ranking_tau);
    // "Disagree" must hold even after correcting for unreliability (the ceiling is
    // estimated from the same seeds); "agree" is shown on the raw τ, which unreliability
    // can only lower.
    let below: Vec<f64> = disattenuated
        .iter()
        .map(|t| s.max_ranking_tau - t)
        .collect();
    let above: Vec<f64> = taus.iter().map(|t| t - s.max_ranking_tau).collect();
    let (holds, fails) = (
        sign_flip_greater(&below).ok_or("a ranking correlation is undefined")?,
        sign_flip_greater(&above).ok_or("a ranking correlation is undefined")?,
    );
    // The units drawn and sized: the disattenuated τ, which "disagree" is tested on.
    let units = Units::per_seed(&table.seeds, &disattenuated, s.max_ranking_tau);
    Ok((Test::simple(holds.p, fails.p, holds.floor), units))
}

#[cfg(test)]
mod tests {
    use crate::suite::claims::testing::{objective_decides, search_decides, settings, verdicts};
    use crate::suite::claims::Verdict;

    /// The objectives' one-shot rankings start with {1,2,3} and {9,8,7}: they disagree.
    #[test]
    fn holds_when_the_objectives_rank_differently() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["rankings_disagree"];
        assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
    }

    /// Identical rankings under both objectives: they agree.
    #[test]
    fn fails_when_the_objectives_rank_alike() {
        let v = verdicts(&search_decides(), &settings());
        let c = &v["rankings_disagree"];
        assert_eq!(c.verdict, Verdict::Fails, "{c:?}");
    }
}
