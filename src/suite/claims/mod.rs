//! The study's claims as verdicts computed from a suite's runs, per model (the manual:
//! `docs/claims.md`).
//!
//! **Unit of analysis: the calibration resample.** A suite seed draws one calibration sample per
//! objective and seeds the stochastic searchers; every searcher of a (seed, objective) group
//! sees the same sample. So runs of one seed are not independent, and every test here is over
//! per-unit statistics, a unit being a seed or a disjoint pair of seeds (when the statistic
//! needs two samples): exact sign-flip tests (all `2ⁿ` sign assignments of n units), or exact
//! permutations of whole calibration groups. p-values are exact, each with the smallest value
//! its design can give (its floor). The two primary claims (`sample_over_search`, then
//! `objective_over_search`) are decided in a fixed sequence, the secondaries by Holm past that
//! gate, each two-sided where it has two directions (`procedure.rs`). A verdict holds or fails
//! only when its adjusted p is below α; otherwise, or when a statistic is undefined, or when it
//! rests on an objective whose ranking does not reproduce across calibration resamples, it is
//! inconclusive, with the reason.
//!
//! Agreement between two chosen sets is their Jaccard similarity, reported next to its chance
//! level (two independent uniform k-subsets of the removable blocks) and chance-corrected;
//! three kinds of pairs are compared: cross-searcher (same objective and seed), cross-objective
//! (same searcher and seed) and cross-seed (same objective and searcher: the noise ceiling, what
//! a new calibration sample alone changes). The baselines that search nothing (block influence,
//! last k) take part only in `baselines_vs_objectives`.

mod accuracy_share_comparable;
mod angular_run_beats_other_runs;
mod angular_run_lies_deep;
mod calibration_over_search;
mod error_sum_misranks_sets;
mod influence_tracks_one_shot;
mod last_k_at_least_as_good;
mod marginal_gains;
mod objective_beyond_resampling;
mod objective_over_search;
mod objective_shapes_calibration_ppl;
mod objective_shapes_patterns;
mod procedure;
mod rankings_disagree;
mod reliability;
mod reports;
mod sample_over_search;
mod searchers_converge;
mod shares;
pub mod sizing;
mod statement;
mod table;
#[cfg(test)]
mod testing;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::run::RunRecord;
use crate::objective::Direction;
use crate::rng::rng_for;
use procedure::{finish, Pending, Test, Tested, Units};
use reliability::{reliability, Reliability};
pub use statement::calibration_statement;
pub use table::{Key, RunTable};

const ONE_SHOT: &str = "one_shot";
/// The smallest reliability ceiling (geometric mean of the objectives' cross-seed τ) that a
/// ranking comparison is disattenuated by; below it the corrected τ is mostly noise.
const MIN_CEILING: f64 = 0.2;

/// The claims a suite can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
    /// Primary 1: the same objective on a fresh calibration sample of the same size moves the
    /// chosen set more than changing the searcher on one sample.
    SampleOverSearch,
    /// Primary 2: the objectives disagree beyond what their measured unreliability explains,
    /// by more than the searchers do beyond theirs (vanishing-tetrad statistic across two
    /// independent calibration samples).
    ObjectiveOverSearch,
    /// Changing the calibration (the objective together with its sample) with the searcher
    /// fixed moves the chosen set more than changing the searcher with the calibration fixed.
    /// Confounds the sample with the objective (it holds for one objective under two names), so
    /// it is a secondary claim; the study's "calibration matters more than search" is the
    /// conjunction of the two primaries.
    CalibrationOverSearch,
    /// Study statement 1a: no searcher beats one-shot on held-out data by more than
    /// `max_relative_gain`, under either objective (an equivalence statement).
    MarginalGains,
    /// Study statement 1b: the searchers' chosen sets agree, beyond chance, at least
    /// `min_cross_searcher_agreement`.
    SearchersConverge,
    /// Study statement 2, patterns: the objective's share of the variance (ω²) of the chosen
    /// sets exceeds the searcher's by more than `share_margin`.
    ObjectiveShapesPatterns,
    /// Study statement 2, calibration perplexity: likewise for the chosen sets' calibration
    /// log-perplexity (in-sample for the perplexity objective's runs, as the study states it).
    ObjectiveShapesCalibrationPpl,
    /// Study statement 3: for held-out accuracy, the objective's and the searcher's shares are
    /// within `share_margin` of each other.
    AccuracyShareComparable,
    /// One-shot rankings of the objectives agree (disattenuated Kendall τ) below
    /// `max_ranking_tau`.
    RankingsDisagree,
    /// Changing the objective moves the chosen sets more than a new calibration sample alone.
    ObjectiveBeyondResampling,
    /// ShortGPT: block influence ranks the blocks as each objective's single removals do
    /// (Kendall τ above 0).
    InfluenceTracksOneShot,
    /// Reassessing Layer Pruning: the searchers' held-out gain over last k stays below
    /// `max_relative_gain`.
    LastKAtLeastAsGood,
    /// The deeper layers (Gromov et al.): the start of the contiguous run angular distance
    /// picks lies in the deeper half of the possible starts.
    AngularRunLiesDeep,
    /// The deeper layers: angular distance's contiguous run scores better than the median
    /// contiguous run of the same size.
    AngularRunBeatsOtherRuns,
    /// EvoPress: the sum of single-removal errors ranks k-sets unlike their joint error
    /// (Kendall τ below `max_ranking_tau`).
    ErrorSumMisranksSets,
}

impl Claim {
    /// In the order they are tested: the primary claims first (a fixed sequence), then the
    /// secondary ones (Holm, once every primary is decided).
    pub const ALL: [Claim; 15] = [
        Claim::SampleOverSearch,
        Claim::ObjectiveOverSearch,
        Claim::CalibrationOverSearch,
        Claim::MarginalGains,
        Claim::SearchersConverge,
        Claim::ObjectiveShapesPatterns,
        Claim::ObjectiveShapesCalibrationPpl,
        Claim::AccuracyShareComparable,
        Claim::RankingsDisagree,
        Claim::ObjectiveBeyondResampling,
        Claim::InfluenceTracksOneShot,
        Claim::LastKAtLeastAsGood,
        Claim::AngularRunLiesDeep,
        Claim::AngularRunBeatsOtherRuns,
        Claim::ErrorSumMisranksSets,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Claim::SampleOverSearch => "sample_over_search",
            Claim::CalibrationOverSearch => "calibration_over_search",
            Claim::ObjectiveOverSearch => "objective_over_search",
            Claim::MarginalGains => "marginal_gains",
            Claim::SearchersConverge => "searchers_converge",
            Claim::ObjectiveShapesPatterns => "objective_shapes_patterns",
            Claim::ObjectiveShapesCalibrationPpl => "objective_shapes_calibration_ppl",
            Claim::AccuracyShareComparable => "accuracy_share_comparable",
            Claim::RankingsDisagree => "rankings_disagree",
            Claim::ObjectiveBeyondResampling => "objective_beyond_resampling",
            Claim::InfluenceTracksOneShot => "influence_tracks_one_shot",
            Claim::LastKAtLeastAsGood => "last_k_at_least_as_good",
            Claim::AngularRunLiesDeep => "angular_run_lies_deep",
            Claim::AngularRunBeatsOtherRuns => "angular_run_beats_other_runs",
            Claim::ErrorSumMisranksSets => "error_sum_misranks_sets",
        }
    }

    /// The claim named `name` (as in claims.json), if any.
    pub fn from_name(name: &str) -> Option<Claim> {
        Claim::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The study's own claims: what a suite decides when its `test:` names none. The field's
    /// claims (from other papers) are decided only where a suite names them.
    pub fn is_study(self) -> bool {
        !matches!(
            self,
            Claim::InfluenceTracksOneShot
                | Claim::LastKAtLeastAsGood
                | Claim::AngularRunLiesDeep
                | Claim::AngularRunBeatsOtherRuns
                | Claim::ErrorSumMisranksSets
        )
    }

    /// The primary claims are decided first, each at the full α in a fixed sequence.
    pub fn is_primary(self) -> bool {
        matches!(self, Claim::SampleOverSearch | Claim::ObjectiveOverSearch)
    }

    /// The claim reads one-shot's runs (its ranking, or gains over it). The ones that compare
    /// chosen sets only, and the field claims that read their own references, do not, so a
    /// suite deciding only such claims needs no one-shot searcher.
    pub fn needs_one_shot(self) -> bool {
        !matches!(
            self,
            Claim::SampleOverSearch
                | Claim::ObjectiveOverSearch
                | Claim::CalibrationOverSearch
                | Claim::AngularRunLiesDeep
                | Claim::AngularRunBeatsOtherRuns
                | Claim::ErrorSumMisranksSets
        )
    }

    /// Seeds (calibration resamples) in one unit of the claim's test.
    pub fn seeds_per_unit(self) -> usize {
        match self {
            Claim::SampleOverSearch | Claim::ObjectiveOverSearch => 2,
            _ => 1,
        }
    }
}

/// Thresholds and test settings, from the suite's `claims:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSettings {
    /// Family-wise significance level (the fixed sequence of primaries, then Holm over the
    /// secondaries × models).
    pub alpha: f64,
    /// Random permutations for tests with too many to enumerate.
    pub permutations: usize,
    /// searchers-converge: minimum chance-corrected agreement among searchers.
    pub min_cross_searcher_agreement: f64,
    /// rankings-disagree: maximum (disattenuated) Kendall τ between objectives' rankings.
    pub max_ranking_tau: f64,
    /// marginal-gains: maximum relative held-out gain of a searcher over one-shot.
    pub max_relative_gain: f64,
    /// Difference of variance shares (ω²) that counts as "substantially larger"; shares within
    /// it are "comparable".
    pub share_margin: f64,
    /// The cross-seed Kendall τ of one-shot rankings every objective must reach before a
    /// claim that compares objectives (`objective_over_search`, the ω² shares,
    /// `rankings_disagree`, `objective_beyond_resampling`) is decided on a model; below it
    /// they are inconclusive, saying which objective fell short. An unreliable objective
    /// inflates both its disagreement with another and the objective's share of the
    /// variance. Absent: only "beyond chance" is asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_objective_reliability: Option<f64>,
    /// With it, the claims that compare objectives are also inconclusive on a model where the
    /// objectives' cross-seed τ differ by more than this: the two-reliabilities controls show
    /// the objective tetrad leaning toward "holds" for one target at very unequal
    /// reliabilities. Absent: not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reliability_gap: Option<f64>,
    /// Which claims to decide (default: the study's, [`Claim::is_study`]). Fewer claims, fewer
    /// tests to correct for.
    #[serde(default)]
    pub test: Option<Vec<Claim>>,
    /// What the study predicts, stated before any run of the suite and never rewritten from
    /// one.
    #[serde(default)]
    pub predicted: BTreeMap<Claim, Verdict>,
    /// Regression pins: the verdicts a run of this suite recorded, per model.
    #[serde(default)]
    pub expected: BTreeMap<String, BTreeMap<Claim, Verdict>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Holds,
    Fails,
    /// The design cannot decide, the data do not, or a statistic is undefined (see `reason`).
    Inconclusive,
    /// No verdict: the entry only reports numbers.
    Report,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Fails => "fails",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Report => "report",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    pub model: String,
    pub claim: String,
    pub verdict: Verdict,
    /// Why the verdict is what it is, in a sentence.
    pub reason: String,
    /// One-sided exact p-values for "the claim holds" and for "the claim fails", and the
    /// claim's p as the procedure tested it (two-sided where it has two directions) after its
    /// adjustment: the running maximum of the fixed sequence for a primary, Holm's for a
    /// secondary.
    pub p_holds: Option<f64>,
    pub p_fails: Option<f64>,
    pub p_adjusted: Option<f64>,
    /// The smallest p-value the design can give the claim's test as the procedure runs it
    /// (two-sided where it has two directions).
    pub p_floor: Option<f64>,
    /// The numbers the verdict rests on.
    #[serde(deserialize_with = "nan_for_null_values")]
    pub statistics: BTreeMap<String, f64>,
    /// The per-seed statistic the claim's test runs over: (seed, value).
    #[serde(default, deserialize_with = "nan_for_null_pairs")]
    pub per_seed: Vec<(u64, f64)>,
    /// What the per-seed statistic is compared with (the claim's threshold or margin; 0 for a plain difference).
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// serde_json writes a non-finite number (an infinite d_z, an undefined mean) as `null`; it
/// reads back as NaN, so every claims.json the harness writes loads again (`depthprune power`).
fn nan_for_null_values<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, f64>, D::Error> {
    let values: BTreeMap<String, Option<f64>> = BTreeMap::deserialize(d)?;
    Ok(values
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

/// [`nan_for_null_values`] for (seed, value) pairs.
fn nan_for_null_pairs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(u64, f64)>, D::Error> {
    let pairs: Vec<(u64, Option<f64>)> = Vec::deserialize(d)?;
    Ok(pairs
        .into_iter()
        .map(|(s, v)| (s, v.unwrap_or(f64::NAN)))
        .collect())
}

impl ClaimSettings {
    /// The verdict the suite pins for `claim` on `model`, if it states one.
    pub fn expected_verdict(&self, model: &str, claim: &str) -> Option<Verdict> {
        self.expected
            .get(model)?
            .iter()
            .find(|(c, _)| c.as_str() == claim)
            .map(|(_, v)| *v)
    }

    pub fn predicted_verdict(&self, claim: &str) -> Option<Verdict> {
        self.predicted
            .iter()
            .find(|(c, _)| c.as_str() == claim)
            .map(|(_, v)| *v)
    }

    /// Whether the suite decides `claim`: those `test` names, else the study's.
    pub fn decides(&self, claim: Claim) -> bool {
        match &self.test {
            Some(t) => t.contains(&claim),
            None => claim.is_study(),
        }
    }
}

/// Every claim and report for every model of `records`.
///
/// `heldout` gives each held-out outcome's direction (perplexity minimises, accuracy
/// maximises), from the suite.
pub fn evaluate_claims(
    records: &[RunRecord],
    heldout: &BTreeMap<String, Direction>,
    settings: &ClaimSettings,
    seed: u64,
) -> Vec<ClaimResult> {
    let models: BTreeSet<&str> = records.iter().map(|r| r.model.as_str()).collect();
    let mut pending = Vec::new();
    let mut reports = Vec::new();
    for model in models {
        let runs: Vec<&RunRecord> = records.iter().filter(|r| r.model == model).collect();
        let table = RunTable::new(&runs, heldout);
        let mut rng = rng_for(seed, &format!("claims/{model}"));
        let reliability = reliability(&table, settings, &mut rng);
        for claim in Claim::ALL.into_iter().filter(|c| settings.decides(*c)) {
            let (test, statistics, units) = decide(claim, &table, settings, &reliability);
            pending.push(Pending {
                model: model.to_string(),
                claim,
                test,
                statistics,
                units,
            });
        }
        reports.extend(reports::model_reports(
            model,
            &table,
            &runs,
            &reliability,
            settings,
            &mut rng,
        ));
    }
    let mut results = finish(pending, settings);
    results.extend(reports);
    results
}

type Decision = (Result<Test, String>, BTreeMap<String, f64>, Units);

fn decide(
    claim: Claim,
    table: &RunTable,
    s: &ClaimSettings,
    reliability: &Reliability,
) -> Decision {
    let mut stats = BTreeMap::new();
    if table.seeds.len() < 2 {
        return (
            Err("needs at least two seeds (calibration resamples)".into()),
            stats,
            Units::default(),
        );
    }
    if !table.complete() {
        return (
            Err("the runs do not cover every objective × searcher × seed".into()),
            stats,
            Units::default(),
        );
    }
    let reliable = match s.min_objective_reliability {
        Some(min) => reliability.reaches(table, min),
        None => Ok(()),
    }
    .and_then(|()| match s.max_reliability_gap {
        Some(gap) => reliability.matched(table, gap),
        None => Ok(()),
    });
    let gate = reliability.gate(table, s.alpha).and(reliable.clone());
    // sample_over_search compares one objective with itself on two samples, so no objective's
    // reliability can bias it. Every claim that compares objectives is gated: an unreliable
    // objective inflates their disagreement (objective_over_search on the suite's
    // `min_objective_reliability` and `max_reliability_gap` only, since its tetrad is
    // calibrated against each objective's own noise; the secondaries on beyond-chance
    // reproduction too).
    let tested: Tested = match claim {
        Claim::SampleOverSearch => sample_over_search::sample_over_search(table, s, &mut stats),
        Claim::CalibrationOverSearch => gate
            .and_then(|()| calibration_over_search::calibration_over_search(table, s, &mut stats)),
        // Computed whatever the reliabilities, so the report shows its statistics beside
        // the reason it is not decided, and `power` can size a suite from its units.
        Claim::ObjectiveOverSearch => {
            let tested = objective_over_search::objective_over_search(table, s, &mut stats);
            if let (Err(reason), Ok((_, units))) = (&reliable, &tested) {
                return (Err(reason.clone()), stats, units.clone());
            }
            tested
        }
        Claim::SearchersConverge => searchers_converge::searchers_converge(table, s, &mut stats),
        Claim::MarginalGains => marginal_gains::marginal_gains(table, s, &mut stats),
        Claim::ObjectiveShapesPatterns => gate.and_then(|()| {
            objective_shapes_patterns::objective_shapes_patterns(table, s, &mut stats)
        }),
        Claim::ObjectiveShapesCalibrationPpl => gate.and_then(|()| {
            objective_shapes_calibration_ppl::objective_shapes_calibration_ppl(table, s, &mut stats)
        }),
        Claim::AccuracyShareComparable => gate.and_then(|()| {
            accuracy_share_comparable::accuracy_share_comparable(table, s, &mut stats)
        }),
        Claim::RankingsDisagree => gate
            .and_then(|()| rankings_disagree::rankings_disagree(table, s, &mut stats, reliability)),
        Claim::ObjectiveBeyondResampling => gate.and_then(|()| {
            objective_beyond_resampling::objective_beyond_resampling(
                table,
                s,
                &mut stats,
                reliability,
            )
        }),
        // Against each objective's own single removals: an unreliable objective pulls τ
        // toward 0, which can hide the effect but not fake it.
        Claim::InfluenceTracksOneShot => {
            influence_tracks_one_shot::influence_tracks_one_shot(table, s.alpha, &mut stats)
        }
        Claim::LastKAtLeastAsGood => {
            last_k_at_least_as_good::last_k_at_least_as_good(table, s, &mut stats)
        }
        Claim::AngularRunLiesDeep => {
            angular_run_lies_deep::angular_run_lies_deep(table, s.alpha, &mut stats)
        }
        Claim::AngularRunBeatsOtherRuns => {
            angular_run_beats_other_runs::angular_run_beats_other_runs(table, s.alpha, &mut stats)
        }
        Claim::ErrorSumMisranksSets => {
            error_sum_misranks_sets::error_sum_misranks_sets(table, s, &mut stats)
        }
    };
    match tested {
        Ok((test, units)) => (Ok(test), stats, units),
        Err(reason) => (Err(reason), stats, Units::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::{ClaimResult, Verdict};

    /// A claim with an infinite effect size and an undefined per-seed value is written with
    /// `null` in their place and reads back, non-finite, instead of failing to load.
    #[test]
    fn non_finite_statistics_round_trip_through_json() {
        let result = ClaimResult {
            model: "m".into(),
            claim: "sample_over_search".into(),
            verdict: Verdict::Holds,
            reason: String::new(),
            p_holds: Some(0.001),
            p_fails: Some(1.0),
            p_adjusted: Some(0.002),
            p_floor: Some(0.0005),
            statistics: [("effect_size_dz".to_string(), f64::INFINITY)].into(),
            per_seed: vec![(0, 0.25), (2, f64::NAN)],
            threshold: Some(0.0),
        };
        let json = serde_json::to_string(&result).unwrap();
        assert!(json.contains("null"), "{json}");
        let back: ClaimResult = serde_json::from_str(&json).unwrap();
        assert!(back.statistics["effect_size_dz"].is_nan());
        assert_eq!(back.per_seed[0], (0, 0.25));
        assert!(back.per_seed[1].1.is_nan());
    }
}
