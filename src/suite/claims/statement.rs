//! The study's statement "calibration matters more than search", read off the two primary
//! claims: it is their conjunction, a fresh calibration sample moving the chosen set more than
//! the searcher does (`sample_over_search`) **and** the objectives disagreeing beyond their
//! noise more than the searchers do (`objective_over_search`). `calibration_over_search`
//! measures the two together and cannot say which part carries the statement, so it is not
//! read here.

use super::{Claim, ClaimResult, Verdict};

/// Per model: the conjunction's verdict and a sentence saying which part carries it.
pub fn calibration_statement(verdicts: &[ClaimResult]) -> Vec<(String, Verdict, String)> {
    let mut models: Vec<&str> = verdicts
        .iter()
        .filter(|v| v.claim == Claim::SampleOverSearch.as_str())
        .map(|v| v.model.as_str())
        .collect();
    models.dedup();
    models
        .into_iter()
        .filter_map(|model| {
            let of = |claim: Claim| {
                verdicts
                    .iter()
                    .find(|v| v.model == model && v.claim == claim.as_str())
                    .map(|v| v.verdict)
            };
            let (sample, objective) = (
                of(Claim::SampleOverSearch)?,
                of(Claim::ObjectiveOverSearch)?,
            );
            let verdict = match (sample, objective) {
                (Verdict::Holds, Verdict::Holds) => Verdict::Holds,
                (Verdict::Fails, _) | (_, Verdict::Fails) => Verdict::Fails,
                _ => Verdict::Inconclusive,
            };
            let reason = match (sample, objective) {
                (Verdict::Holds, Verdict::Holds) => "both parts hold: a fresh sample moves the \
                    chosen set more than the searcher does, and the objectives disagree beyond \
                    their noise more than the searchers do"
                    .to_string(),
                (Verdict::Holds, o) => format!(
                    "carried by the sample alone: a fresh sample moves the chosen set more than \
                     the searcher does, but the objective part is {}: the objectives are not \
                     shown to disagree beyond what their unreliability explains",
                    o.as_str()
                ),
                (s, Verdict::Holds) => format!(
                    "carried by the objective alone: the objectives disagree beyond their noise, \
                     but the sample part is {}",
                    s.as_str()
                ),
                (s, o) => format!(
                    "neither part holds (sample: {}, objective: {})",
                    s.as_str(),
                    o.as_str()
                ),
            };
            Some((model.to_string(), verdict, reason))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::calibration_statement;
    use crate::suite::claims::testing::{
        objective_decides, search_decides, settings, simulated_suite, verdicts, Simulated,
    };
    use crate::suite::claims::{ClaimResult, Verdict};

    fn statement(v: std::collections::BTreeMap<String, ClaimResult>) -> (Verdict, String) {
        let all: Vec<ClaimResult> = v.into_values().collect();
        let s = calibration_statement(&all);
        assert_eq!(s.len(), 1);
        (s[0].1, s[0].2.clone())
    }

    #[test]
    fn holds_when_both_parts_hold_and_fails_when_the_search_decides() {
        let (v, why) = statement(verdicts(&objective_decides(12), &settings()));
        assert_eq!(v, Verdict::Holds, "{why}");
        let (v, why) = statement(verdicts(&search_decides(), &settings()));
        assert_eq!(v, Verdict::Fails, "{why}");
    }

    /// One objective under two names: the sample part holds, the objective part does not, so
    /// the statement is not confirmed and the reason names the sample as what carries it.
    #[test]
    fn one_objective_under_two_names_is_carried_by_the_sample_alone() {
        let sim = Simulated {
            tau: [0.56, 0.56],
            same_target: true,
            ..Simulated::default()
        };
        let (v, why) = statement(verdicts(&simulated_suite(&sim, 11), &settings()));
        assert_ne!(v, Verdict::Holds, "{why}");
        assert!(why.contains("sample alone"), "{why}");
    }
}
