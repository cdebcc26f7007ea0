//! The objectives' one-shot rankings disagree, after correcting for their unreliability.

use std::collections::BTreeMap;

use super::procedure::{put_spread, Test, Tested, Units};
use super::reliability::Reliability;
use super::table::{pairs, positions, tau_between, RunTable};
use super::{ClaimSettings, MIN_CEILING, ONE_SHOT};
use crate::stats::{mean, sign_flip_greater, spearman};

/// The objectives' one-shot rankings disagree: Kendall τ below the threshold times the
/// reliability ceiling (the disattenuated τ below the threshold, in a form that stays bounded).
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
    // The per-seed τ over the ceiling is unbounded where the ceiling is small (it reached 1.8
    // and −1.2): the test runs instead on the difference form τ − threshold · ceiling, which
    // has the same sign at every seed and, the ceiling being one constant for all seeds, the
    // same sign-flip p (a test of a mean is unchanged by a positive scale), and stays within
    // [−2, 2]. The disattenuated mean is reported clamped to [−1, 1].
    let scaled_threshold = s.max_ranking_tau * ceiling;
    let disattenuated = (mean(&taus) / ceiling).clamp(-1.0, 1.0);
    put_spread(stats, "kendall_tau", &taus, s.alpha);
    stats.insert("kendall_tau_disattenuated/mean".into(), disattenuated);
    if !rhos.is_empty() {
        stats.insert("spearman_rho/mean".into(), mean(&rhos));
    }
    stats.insert("threshold".into(), s.max_ranking_tau);
    stats.insert("threshold_times_ceiling".into(), scaled_threshold);
    // "Disagree" must hold even after correcting for unreliability (the ceiling is
    // estimated from the same seeds); "agree" is shown on the raw τ, which unreliability
    // can only lower.
    let below: Vec<f64> = taus.iter().map(|t| scaled_threshold - t).collect();
    let above: Vec<f64> = taus.iter().map(|t| t - s.max_ranking_tau).collect();
    let (holds, fails) = (
        sign_flip_greater(&below).ok_or("a ranking correlation is undefined")?,
        sign_flip_greater(&above).ok_or("a ranking correlation is undefined")?,
    );
    // The units drawn and sized: the raw τ per seed against the threshold scaled by the
    // ceiling, which "disagree" is tested on (bounded, unlike τ / ceiling).
    let units = Units::per_seed(&table.seeds, &taus, scaled_threshold);
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

    /// The per-seed units stay within [−1, 1] however small the ceiling (a ratio over it does
    /// not), and the scaled threshold is the threshold times the ceiling.
    #[test]
    fn its_units_are_bounded() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["rankings_disagree"];
        assert!(c.per_seed.iter().all(|(_, t)| t.abs() <= 1.0), "{c:?}");
        let scaled = c.statistics["threshold_times_ceiling"];
        assert_eq!(c.threshold, Some(scaled));
        assert!(
            (scaled - 0.5 * c.statistics["reliability_ceiling"]).abs() < 1e-12,
            "{c:?}"
        );
        assert!(c.statistics["kendall_tau_disattenuated/mean"].abs() <= 1.0);
    }

    /// Identical rankings under both objectives: they agree.
    #[test]
    fn fails_when_the_objectives_rank_alike() {
        let v = verdicts(&search_decides(), &settings());
        let c = &v["rankings_disagree"];
        assert_eq!(c.verdict, Verdict::Fails, "{c:?}");
    }
}
