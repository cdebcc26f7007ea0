//! Study statement 3: for held-out accuracy, the objective's and the searcher's shares are
//! comparable.

use std::collections::BTreeMap;

use super::procedure::{put_spread, Test, Tested, Units};
use super::shares::share_differences;
use super::table::RunTable;
use super::ClaimSettings;
use crate::objective::Direction;
use crate::stats::sign_flip_greater;

/// Statement 3: the objective's and the searcher's shares of held-out accuracy's variance
/// within the margin of each other (TOST), per seed.
pub(super) fn accuracy_share_comparable(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    let acc = table
        .heldout_of(Direction::Maximize)
        .ok_or("needs a held-out accuracy outcome (`heldout:` in the suite)")?;
    let d = share_differences(table, |a, b| {
        Some((a.heldout.get(acc)? - b.heldout.get(acc)?).abs())
    })?;
    put_spread(
        stats,
        "heldout_accuracy/omega2_objective_minus_searcher",
        &d,
        s.alpha,
    );
    stats.insert("margin".into(), s.share_margin);
    let m = s.share_margin;
    let below =
        sign_flip_greater(&d.iter().map(|x| m - x).collect::<Vec<_>>()).ok_or("undefined")?;
    let above =
        sign_flip_greater(&d.iter().map(|x| x + m).collect::<Vec<_>>()).ok_or("undefined")?;
    let over =
        sign_flip_greater(&d.iter().map(|x| x - m).collect::<Vec<_>>()).ok_or("undefined")?;
    let under =
        sign_flip_greater(&d.iter().map(|x| -m - x).collect::<Vec<_>>()).ok_or("undefined")?;
    // Holds: both one-sided tests of the equivalence reject (the larger p); fails: either
    // tail does (Bonferroni over the two).
    let test = Test {
        holds: below.p.max(above.p),
        fails: Some((2.0 * over.p.min(under.p)).min(1.0)),
        floor_holds: below.floor,
        floor_fails: (2.0 * below.floor).min(1.0),
    };
    // The units are compared with the nearer bound of the equivalence interval: the binding
    // one of its two one-sided tests, and the one `power` sizes.
    let nearer = if crate::stats::mean(&d) >= 0.0 { m } else { -m };
    Ok((test, Units::per_seed(&table.seeds, &d, nearer)))
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use crate::rng::rng_for;
    use crate::suite::claims::testing::{objective_decides, settings, verdicts, SEARCHERS};
    use crate::suite::claims::Verdict;

    /// Held-out accuracy moves with the objective only: its share is far beyond the searcher's.
    #[test]
    fn fails_when_accuracy_follows_the_objective_only() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["accuracy_share_comparable"];
        assert_eq!(c.verdict, Verdict::Fails, "{c:?}");
    }

    /// Held-out accuracy is ±0.05 by objective plus ±0.05 by searcher (alternating over the
    /// four searchers), with a little noise: the two factors' sums of squares are equal, so
    /// their ω² are within the margin of each other at every seed.
    #[test]
    fn holds_when_objective_and_searcher_move_accuracy_alike() {
        let mut rng = rng_for(5, "test/accuracy-comparable");
        let mut records = objective_decides(12);
        for r in &mut records {
            let by_objective = if r.objective == "ppl" { 0.05 } else { -0.05 };
            let i = SEARCHERS.iter().position(|s| *s == r.searcher).unwrap();
            let by_searcher = if i % 2 == 0 { 0.05 } else { -0.05 };
            let noise = rng.random_range(-0.002..0.002);
            r.heldout
                .insert("acc".into(), 0.5 + by_objective + by_searcher + noise);
        }
        let v = verdicts(&records, &settings());
        let c = &v["accuracy_share_comparable"];
        assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
    }
}
