//! Study statement 2 on the chosen sets: the objective's share of their variance exceeds the
//! searcher's by more than the margin.

use std::collections::BTreeMap;

use super::procedure::Tested;
use super::shares::{pattern_distance, share_beyond_margin};
use super::table::RunTable;
use super::ClaimSettings;

/// Per seed, ω²(objective) − ω²(searcher) of the chosen sets (distance 1 − Jaccard) beyond the
/// margin.
pub(super) fn objective_shapes_patterns(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Tested {
    share_beyond_margin(table, s, stats, "patterns", pattern_distance)
}

#[cfg(test)]
mod tests {
    use crate::suite::claims::testing::{objective_decides, search_decides, settings, verdicts};
    use crate::suite::claims::Verdict;

    #[test]
    fn holds_when_the_objective_picks_the_set() {
        let v = verdicts(&objective_decides(12), &settings());
        let c = &v["objective_shapes_patterns"];
        assert_eq!(c.verdict, Verdict::Holds, "{c:?}");
    }

    #[test]
    fn fails_when_the_searcher_picks_the_set() {
        let v = verdicts(&search_decides(), &settings());
        let c = &v["objective_shapes_patterns"];
        assert_eq!(c.verdict, Verdict::Fails, "{c:?}");
    }
}
