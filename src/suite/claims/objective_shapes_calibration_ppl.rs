//! Study statement 2 on calibration perplexity: the objective shapes it more than the searcher.

use std::collections::BTreeMap;

use super::procedure::Tested;
use super::shares::share_beyond_margin;
use super::table::RunTable;
use super::ClaimSettings;

/// Statement 2 on calibration perplexity: the objective's share of its variance beyond the
/// searcher's, per seed.
pub(super) fn objective_shapes_calibration_ppl(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    let ppl = table
        .perplexity_objective()
        .ok_or("needs a perplexity objective (calibration perplexity is its score)")?;
    share_beyond_margin(table, s, stats, "calibration_ppl", |a, b| {
        Some((a.calibration.get(ppl)?.ln() - b.calibration.get(ppl)?.ln()).abs())
    })
}

#[cfg(test)]
mod tests {
    use crate::suite::claims::testing::{objective_decides, search_decides, settings, verdicts};
    use crate::suite::claims::Verdict;

    /// Calibration perplexity is 20 under the perplexity objective's sets and 60 under
    /// accuracy's, whatever the searcher.
    #[test]
    fn holds_when_calibration_perplexity_follows_the_objective() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["objective_shapes_calibration_ppl"];
        assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
    }

    /// Calibration perplexity is 20 × (1 + the searcher's index), whatever the objective.
    #[test]
    fn fails_when_calibration_perplexity_follows_the_searcher() {
        let v = verdicts(&search_decides(), &settings());
        let c = &v["objective_shapes_calibration_ppl"];
        assert_eq!(c.verdict, Verdict::Fails, "{c:?}");
    }
}
