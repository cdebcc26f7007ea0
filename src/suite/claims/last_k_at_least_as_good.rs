//! "Reassessing Layer Pruning in LLMs" (ICLR 2026): removing the last k blocks (before the
//! final one) is at least as good as the sets complex metrics choose. Per seed, the searchers'
//! mean held-out outcome against last k's, as a gain relative to last k's (positive: the
//! searchers did better), averaged over the objectives, each on the held-out outcome of its own
//! kind; holds when the gain is below the margin (`max_relative_gain`: searching buys no more
//! than that), fails when above, two-sided exact sign flips. The paper gives no margin; the
//! study's own for "marginal gains" is used.

use std::collections::BTreeMap;

use super::marginal_gains::relative_gain;
use super::procedure::{below_threshold, put_spread, Tested};
use super::table::RunTable;
use super::ClaimSettings;
use crate::stats::mean;

const LAST_K: &str = "last_k";

pub(super) fn last_k_at_least_as_good(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    if table.searchers.is_empty() {
        return Err("needs searchers beside last_k".into());
    }
    let mut gains = Vec::with_capacity(table.seeds.len());
    for &t in &table.seeds {
        let mut per_objective = Vec::new();
        for &o in &table.objectives {
            let direction = table.directions[o];
            let outcome = table.heldout_of(direction).ok_or_else(|| {
                format!(
                    "needs a held-out outcome of objective '{o}''s kind (`heldout:` in the suite)"
                )
            })?;
            let value = |searcher: &str| {
                table
                    .get(o, searcher, t)
                    .and_then(|r| r.heldout.get(outcome).copied())
                    .ok_or_else(|| format!("held-out '{outcome}' missing for {searcher}, seed {t}"))
            };
            let base = value(LAST_K)?;
            let searched = table
                .searchers
                .iter()
                .map(|sr| value(sr))
                .collect::<Result<Vec<_>, _>>()?;
            per_objective.push(relative_gain(mean(&searched), base, direction).ok_or_else(
                || format!("last_k's held-out '{outcome}' is {base} on seed {t}: a gain relative to it is undefined"),
            )?);
        }
        gains.push(mean(&per_objective));
    }
    let margin = s.max_relative_gain;
    put_spread(stats, "search_gain_over_last_k", &gains, s.alpha);
    stats.insert("margin".into(), margin);
    below_threshold(&table.seeds, &gains, margin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::claims::testing::{heldout_kinds, record, settings};
    use crate::suite::run::RunRecord;

    /// Searchers at held-out perplexity 20 on every seed, last k at `last_k` (plus a little
    /// seed-to-seed spread): equal does as well, 30 % worse does not.
    #[test]
    fn last_k_as_good_holds_and_much_worse_fails() {
        let heldout = heldout_kinds();
        let run = |searcher: &str, seed: u64, ppl: f64| {
            record(
                "ppl",
                searcher,
                seed,
                &[1, 2],
                vec![1, 2, 3, 4],
                0.0,
                ppl,
                0.5,
            )
        };
        for (last_k, expect_holds) in [(20.0, true), (26.0, false)] {
            let runs: Vec<RunRecord> = (0..8)
                .flat_map(|s| {
                    [
                        run("one_shot", s, 20.0),
                        run("greedy", s, 20.0 + 0.01 * s as f64),
                        run(LAST_K, s, last_k),
                    ]
                })
                .collect();
            let refs: Vec<&RunRecord> = runs.iter().collect();
            let table = RunTable::new(&refs, &heldout);
            let mut stats = BTreeMap::new();
            let (test, units) = last_k_at_least_as_good(&table, &settings(), &mut stats).unwrap();
            assert_eq!(units.points.len(), 8);
            let (holds, fails) = (test.holds, test.fails.unwrap());
            assert_eq!(holds < fails, expect_holds, "{stats:?}");
            assert!(holds.min(fails) <= 1.0 / 256.0 + 1e-12, "{stats:?}");
        }
    }
}
