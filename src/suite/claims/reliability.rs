//! Whether each objective's one-shot ranking reproduces across calibration resamples: the gate
//! every claim about objectives passes first.

use std::collections::BTreeMap;

use rand::Rng;

use super::table::{pairs, positions, RunTable};
use super::{ClaimSettings, ONE_SHOT};
use crate::stats::{kendall_tau_b, mean};

/// An objective's name and its cross-seed τ.
pub(super) type Rated<'t> = (&'t str, f64);

/// Per objective: how well its one-shot ranking reproduces across calibration resamples.
pub(super) struct Reliability {
    /// Mean Kendall τ between one-shot rankings of two different seeds.
    pub(super) tau: BTreeMap<String, f64>,
    /// Permutation p of that τ against rankings unrelated across seeds.
    pub(super) p: BTreeMap<String, f64>,
}

impl Reliability {
    /// `Err(reason)` unless every objective's ranking reproduces beyond chance (p < α).
    pub(super) fn gate(&self, table: &RunTable, alpha: f64) -> Result<(), String> {
        for o in &table.objectives {
            match (self.tau.get(*o), self.p.get(*o)) {
                (Some(tau), Some(p)) if *p < alpha && *tau > 0.0 => {}
                (Some(tau), Some(p)) => {
                    return Err(format!(
                        "rests on objective '{o}', whose one-shot ranking does not reproduce \
                         across calibration resamples beyond chance (cross-seed τ {tau:.3}, \
                         p {p:.4}); measure its reliability and enlarge it"
                    ))
                }
                _ => {
                    return Err(format!(
                        "the reliability of objective '{o}' is unknown (it needs one-shot runs on \
                         at least two seeds)"
                    ))
                }
            }
        }
        Ok(())
    }
    /// `Err(reason)` unless every objective's cross-seed τ reaches `min`; the reason names
    /// every objective that does not.
    pub(super) fn reaches(&self, table: &RunTable, min: f64) -> Result<(), String> {
        let mut short = Vec::new();
        for o in &table.objectives {
            match self.tau.get(*o) {
                Some(tau) if *tau >= min => {}
                Some(tau) => short.push(format!("'{o}' at cross-seed τ {tau:.3}")),
                None => short.push(format!("'{o}' of unknown reliability (no one-shot runs)")),
            }
        }
        match short.is_empty() {
            true => Ok(()),
            false => Err(format!(
                "objective {} below the {min} asked on this model: a disagreement between \
                 objectives cannot be told from their own noise; enlarge them until each \
                 reaches {min}",
                short.join(" and ")
            )),
        }
    }

    /// The least and the most reliable objective of the table with their cross-seed τ, when
    /// any is known.
    pub(super) fn extremes<'t>(&self, table: &RunTable<'t>) -> Option<(Rated<'t>, Rated<'t>)> {
        let known: Vec<(&str, f64)> = table
            .objectives
            .iter()
            .filter_map(|o| self.tau.get(*o).map(|&t| (*o, t)))
            .collect();
        let by_tau = |a: &&(&str, f64), b: &&(&str, f64)| a.1.total_cmp(&b.1);
        Some((*known.iter().min_by(by_tau)?, *known.iter().max_by(by_tau)?))
    }

    /// `Err` naming the most and least reliable objectives when their cross-seed τ differ by
    /// more than `gap`.
    pub(super) fn matched(&self, table: &RunTable, gap: f64) -> Result<(), String> {
        let Some((low, high)) = self.extremes(table) else {
            return Ok(());
        };
        match high.1 - low.1 > gap {
            false => Ok(()),
            true => Err(format!(
                "objectives '{}' (cross-seed τ {:.3}) and '{}' ({:.3}) differ in reliability by \
                 more than the {gap} asked: at very unequal reliabilities the objective tetrad \
                 leans toward holding for a single target (the two-reliabilities controls); \
                 size them to match",
                high.0, high.1, low.0, low.1
            )),
        }
    }
}

pub(super) fn reliability(
    table: &RunTable,
    settings: &ClaimSettings,
    rng: &mut impl Rng,
) -> Reliability {
    let mut out = Reliability {
        tau: BTreeMap::new(),
        p: BTreeMap::new(),
    };
    for o in &table.objectives {
        let rankings: Vec<Vec<f64>> = table
            .seeds
            .iter()
            .filter_map(|&t| table.get(o, ONE_SHOT, t))
            .map(|r| {
                let mut blocks = r.ranking.clone();
                blocks.sort_unstable();
                positions(&r.ranking, &blocks)
            })
            .collect();
        if rankings.len() < 2 {
            continue;
        }
        let mean_tau = |rs: &[Vec<f64>]| {
            let taus: Vec<f64> = pairs(&(0..rs.len()).collect::<Vec<_>>())
                .into_iter()
                .map(|(a, b)| kendall_tau_b(&rs[a], &rs[b]))
                .collect();
            mean(&taus)
        };
        let observed = mean_tau(&rankings);
        // Null: each seed's ranking an independent uniform permutation.
        let mut at_least = 1;
        for _ in 0..settings.permutations {
            let shuffled: Vec<Vec<f64>> = rankings
                .iter()
                .map(|r| {
                    use rand::seq::SliceRandom;
                    let mut r = r.clone();
                    r.shuffle(rng);
                    r
                })
                .collect();
            at_least += (mean_tau(&shuffled) >= observed - 1e-12) as usize;
        }
        out.tau.insert(o.to_string(), observed);
        out.p.insert(
            o.to_string(),
            at_least as f64 / (settings.permutations + 1) as f64,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::seq::SliceRandom;

    use crate::rng::rng_for;
    use crate::suite::claims::testing::{ranking, record, settings, verdicts, N_BLOCKS, SEARCHERS};
    use crate::suite::claims::Verdict;

    /// An accuracy objective whose ranking is noise at every seed cannot support a claim about
    /// objectives.
    #[test]
    fn an_unreliable_objective_makes_objective_claims_inconclusive() {
        let mut rng = rng_for(3, "test/unreliable");
        let mut records = Vec::new();
        for seed in 0..12 {
            for searcher in SEARCHERS {
                let r = ranking(&[1, 2, 3], &mut rng, false);
                records.push(record(
                    "ppl",
                    searcher,
                    seed,
                    &[1, 2, 3],
                    r,
                    20.0,
                    30.0,
                    0.4,
                ));
                let mut r: Vec<usize> = (0..N_BLOCKS).collect();
                r.shuffle(&mut rng);
                let set = r[..3].to_vec();
                records.push(record("acc", searcher, seed, &set, r, 60.0, 80.0, 0.5));
            }
        }
        let v = verdicts(&records, &settings());
        for claim in [
            "objective_shapes_patterns",
            "rankings_disagree",
            "objective_beyond_resampling",
        ] {
            assert_eq!(v[claim].verdict, Verdict::Inconclusive, "{claim}");
            assert!(
                v[claim].reason.contains("does not reproduce"),
                "{}",
                v[claim].reason
            );
        }
    }
}
