//! The study's claims as verdicts computed from a suite's runs, per model.
//!
//! **Unit of analysis: the calibration resample.** A suite seed draws one calibration sample per
//! objective and seeds the stochastic searchers; every searcher of a (seed, objective) group
//! sees the same sample. So runs of one seed are not independent, and every test here is over
//! per-seed statistics: exact sign-flip tests (all `2ⁿ` sign assignments of n seeds), or exact
//! permutations of whole calibration groups. p-values are exact, each with the smallest value
//! its design can give (its floor), and Holm-adjusted over every test of the suite's decided
//! claims × models. A verdict holds or fails only when its Holm-adjusted p is below α;
//! otherwise, or when a statistic is undefined, or when it rests on an objective whose ranking
//! does not reproduce across calibration resamples, it is inconclusive, with the reason.
//!
//! Agreement between two chosen sets is their Jaccard similarity, reported next to its chance
//! level (two independent uniform k-subsets of the removable blocks) and chance-corrected;
//! three kinds of pairs are compared: cross-searcher (same objective and seed), cross-objective
//! (same searcher and seed) and cross-seed (same objective and searcher: the noise ceiling, what
//! a new calibration sample alone changes). The block influence proxy is objective-free, so it
//! takes part only in `proxy_vs_objectives`.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::run::RunRecord;
use crate::objective::Direction;
use crate::rng::rng_for;
use crate::stats::{
    chance_corrected, expected_jaccard, holm, jaccard, kendall_tau_b, mean, permanova,
    permutation_test, permutations_of, sign_flip_greater, spearman, spread, Design, Restriction,
    Spread,
};

const PROXY: &str = "block_influence";
const ONE_SHOT: &str = "one_shot";
/// The smallest reliability ceiling (geometric mean of the objectives' cross-seed τ) that a
/// ranking comparison is disattenuated by; below it the corrected τ is mostly noise.
const MIN_CEILING: f64 = 0.2;

/// The claims a suite can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Claim {
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
}

impl Claim {
    pub const ALL: [Claim; 7] = [
        Claim::MarginalGains,
        Claim::SearchersConverge,
        Claim::ObjectiveShapesPatterns,
        Claim::ObjectiveShapesCalibrationPpl,
        Claim::AccuracyShareComparable,
        Claim::RankingsDisagree,
        Claim::ObjectiveBeyondResampling,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Claim::MarginalGains => "marginal_gains",
            Claim::SearchersConverge => "searchers_converge",
            Claim::ObjectiveShapesPatterns => "objective_shapes_patterns",
            Claim::ObjectiveShapesCalibrationPpl => "objective_shapes_calibration_ppl",
            Claim::AccuracyShareComparable => "accuracy_share_comparable",
            Claim::RankingsDisagree => "rankings_disagree",
            Claim::ObjectiveBeyondResampling => "objective_beyond_resampling",
        }
    }
}

/// Thresholds and test settings, from the suite's `claims:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSettings {
    /// Family-wise significance level (Holm over every test of the decided claims × models).
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
    /// Which claims to decide (default: all). Fewer claims, fewer tests to correct for.
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
    /// smaller of the two after Holm's correction over the suite's claims × models.
    pub p_holds: Option<f64>,
    pub p_fails: Option<f64>,
    pub p_adjusted: Option<f64>,
    /// The smallest p-value the design can give one test.
    pub p_floor: Option<f64>,
    /// The numbers the verdict rests on.
    pub statistics: BTreeMap<String, f64>,
    /// The per-seed statistic the claim's test runs over: (seed, value).
    #[serde(default)]
    pub per_seed: Vec<(u64, f64)>,
    /// What the per-seed statistic is compared with (the claim's threshold or margin; 0 for a plain difference).
    #[serde(default)]
    pub threshold: Option<f64>,
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

    fn decides(&self, claim: Claim) -> bool {
        self.test.as_ref().is_none_or(|t| t.contains(&claim))
    }
}

/// A run's place in the design: (objective, searcher, seed).
/// A run by (objective, searcher, seed).
pub type Key<'k> = (&'k str, &'k str, u64);

/// The runs of one model, indexed by (objective, searcher, seed).
/// One model's runs indexed by (objective, searcher, seed), with what the claims and the
/// report's agreement plots need to know about them.
pub struct RunTable<'a> {
    runs: BTreeMap<(&'a str, &'a str, u64), &'a RunRecord>,
    objectives: Vec<&'a str>,
    /// The seven (or fewer) searchers, the proxy excluded.
    searchers: Vec<&'a str>,
    seeds: Vec<u64>,
    /// Jaccard of two independent uniform k-subsets of the removable blocks.
    chance: f64,
    /// Each objective's direction: the perplexity objective minimises.
    directions: BTreeMap<&'a str, Direction>,
    /// Each held-out outcome's direction.
    heldout: &'a BTreeMap<String, Direction>,
}

impl<'a> RunTable<'a> {
    pub fn new(runs: &[&'a RunRecord], heldout: &'a BTreeMap<String, Direction>) -> Self {
        let objectives: BTreeSet<&str> = runs.iter().map(|r| r.objective.as_str()).collect();
        let seeds: BTreeSet<u64> = runs.iter().map(|r| r.seed).collect();
        let mut searchers: Vec<&str> = Vec::new();
        for r in runs.iter().filter(|r| r.searcher != PROXY) {
            if !searchers.contains(&r.searcher.as_str()) {
                searchers.push(&r.searcher);
            }
        }
        let chance = runs
            .first()
            .map_or(f64::NAN, |r| expected_jaccard(r.ranking.len(), r.k));
        RunTable {
            runs: runs
                .iter()
                .map(|r| ((r.objective.as_str(), r.searcher.as_str(), r.seed), *r))
                .collect(),
            objectives: objectives.into_iter().collect(),
            searchers,
            seeds: seeds.into_iter().collect(),
            chance,
            directions: runs
                .iter()
                .map(|r| (r.objective.as_str(), r.direction))
                .collect(),
            heldout,
        }
    }

    /// The first objective that minimises (perplexity).
    fn perplexity_objective(&self) -> Option<&'a str> {
        self.objectives
            .iter()
            .copied()
            .find(|o| self.directions[o] == Direction::Minimize)
    }

    /// The first held-out outcome with `direction` (perplexity: minimise; accuracy: maximise).
    fn heldout_of(&self, direction: Direction) -> Option<&'a String> {
        self.heldout
            .iter()
            .find(|(_, d)| **d == direction)
            .map(|(n, _)| n)
    }

    fn get(&self, objective: &str, searcher: &str, seed: u64) -> Option<&'a RunRecord> {
        self.runs.get(&(objective, searcher, seed)).copied()
    }

    fn j(&self, a: Key, b: Key) -> Option<f64> {
        Some(jaccard(
            &self.get(a.0, a.1, a.2)?.removed,
            &self.get(b.0, b.1, b.2)?.removed,
        ))
    }

    /// Mean Jaccard over the pairs of runs named by `keys` (pairs with a missing run skipped).
    pub fn mean_jaccard<'k>(&self, keys: impl Iterator<Item = (Key<'k>, Key<'k>)>) -> Option<f64> {
        let js: Vec<f64> = keys.filter_map(|(a, b)| self.j(a, b)).collect();
        (!js.is_empty()).then(|| mean(&js))
    }

    /// Mean Jaccard among searchers at `seed` (pairs within each objective).
    fn cross_searcher(&self, seed: u64) -> Option<f64> {
        self.mean_jaccard(self.objectives.iter().flat_map(|&o| {
            pairs(&self.searchers)
                .into_iter()
                .map(move |(a, b)| ((o, a, seed), (o, b, seed)))
        }))
    }

    /// Mean Jaccard between objectives at `seed` (pairs within each searcher).
    fn cross_objective(&self, seed: u64) -> Option<f64> {
        self.mean_jaccard(self.searchers.iter().flat_map(|&s| {
            pairs(&self.objectives)
                .into_iter()
                .map(move |(a, b)| ((a, s, seed), (b, s, seed)))
        }))
    }

    /// Mean Jaccard of the same objective and searcher across different seeds.
    fn cross_seed(&self, objectives: &[&str]) -> Option<f64> {
        self.mean_jaccard(
            objectives
                .iter()
                .flat_map(|&o| self.searchers.iter().map(move |&s| (o, s)))
                .flat_map(|(o, s)| {
                    pairs(&self.seeds)
                        .into_iter()
                        .map(move |(t, u)| ((o, s, t), (o, s, u)))
                }),
        )
    }

    /// The runs of `seed` (every objective × searcher), for a within-seed decomposition.
    fn seed_runs(&self, seed: u64) -> Vec<&'a RunRecord> {
        self.objectives
            .iter()
            .flat_map(|&o| self.searchers.iter().map(move |&s| (o, s)))
            .filter_map(|(o, s)| self.get(o, s, seed))
            .collect()
    }

    /// Every run but the proxy's, ordered objective, seed, searcher.
    fn all_runs(&self) -> Vec<&'a RunRecord> {
        self.objectives
            .iter()
            .flat_map(|&o| self.seeds.iter().map(move |&t| (o, t)))
            .flat_map(|(o, t)| self.searchers.iter().map(move |&s| (o, s, t)))
            .filter_map(|(o, s, t)| self.get(o, s, t))
            .collect()
    }

    fn complete(&self) -> bool {
        self.runs.keys().filter(|(_, s, _)| *s != PROXY).count()
            == self.objectives.len() * self.searchers.len() * self.seeds.len()
    }
}

/// Every unordered pair of distinct items, each once.
fn pairs<T: Copy>(items: &[T]) -> Vec<(T, T)> {
    items
        .iter()
        .enumerate()
        .flat_map(|(i, a)| items[i + 1..].iter().map(move |b| (*a, *b)))
        .collect()
}

/// Positions of `blocks` in `ranking` (0 = removed first).
fn positions(ranking: &[usize], blocks: &[usize]) -> Vec<f64> {
    blocks
        .iter()
        .map(|b| {
            ranking
                .iter()
                .position(|x| x == b)
                .map_or(f64::NAN, |p| p as f64)
        })
        .collect()
}

fn tau_between(x: &RunRecord, y: &RunRecord) -> f64 {
    let mut blocks = x.ranking.clone();
    blocks.sort_unstable();
    kendall_tau_b(
        &positions(&x.ranking, &blocks),
        &positions(&y.ranking, &blocks),
    )
}

/// A claim's two one-sided tests: p-values and the smallest value each can take.
#[derive(Debug, Clone, Copy)]
struct Test {
    holds: f64,
    fails: Option<f64>,
    floor_holds: f64,
    floor_fails: f64,
}

impl Test {
    /// Two single sign-flip tests with one floor.
    fn simple(holds: f64, fails: f64, floor: f64) -> Self {
        Test {
            holds,
            fails: Some(fails),
            floor_holds: floor,
            floor_fails: floor,
        }
    }
}

/// A claim before Holm's correction: its one-sided p-values (or why it has none).
struct Pending {
    model: String,
    claim: Claim,
    /// `Err(reason)`: undefined or not decidable, whatever the correction.
    test: Result<Test, String>,
    statistics: BTreeMap<String, f64>,
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
            let (test, statistics) = decide(claim, &table, settings, &reliability);
            pending.push(Pending {
                model: model.to_string(),
                claim,
                test,
                statistics,
            });
        }
        reports.extend(model_reports(
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

/// Holm's correction over the decided claims × models, then verdicts.
///
/// Each claim has two complementary one-sided tests ("holds", "fails"); away from the threshold
/// itself at most one of their null hypotheses is true, so a claim enters the family once,
/// with the smaller of its two p-values (Shaffer's logical restriction of Holm's method).
fn finish(pending: Vec<Pending>, settings: &ClaimSettings) -> Vec<ClaimResult> {
    // A claim that could not be tested still counts in the family (p = 1), so the correction
    // does not shrink when the data make claims undecidable.
    let ps: Vec<f64> = pending
        .iter()
        .map(|p| match &p.test {
            Ok(t) => t.holds.min(t.fails.unwrap_or(1.0)),
            Err(_) => 1.0,
        })
        .collect();
    let m = ps.len();
    let adjusted = holm(&ps);
    let alpha = settings.alpha;
    let family_floor = pending
        .iter()
        .filter_map(|p| p.test.as_ref().ok())
        .map(|t| match t.fails {
            Some(_) => t.floor_holds.min(t.floor_fails),
            None => t.floor_holds,
        })
        .fold(1.0, f64::min);
    pending
        .into_iter()
        .zip(adjusted)
        .map(|(p, adjusted)| {
            let mut result = ClaimResult {
                model: p.model,
                claim: p.claim.as_str().to_string(),
                verdict: Verdict::Inconclusive,
                reason: String::new(),
                p_holds: None,
                p_fails: None,
                p_adjusted: None,
                p_floor: None,
                statistics: p.statistics,
                per_seed: Vec::new(),
                threshold: None,
            };
            match p.test {
                Err(reason) => result.reason = reason,
                Ok(t) => {
                    result.p_holds = Some(t.holds);
                    result.p_fails = t.fails;
                    result.p_adjusted = Some(adjusted);
                    let floor = match t.fails {
                        Some(_) => t.floor_holds.min(t.floor_fails),
                        None => t.floor_holds,
                    };
                    result.p_floor = Some(floor);
                    // No Holm-adjusted p goes below m × the family's smallest p (its first
                    // step), nor below the test's own p: the bound uses both floors.
                    let smallest = floor.max(m as f64 * family_floor).min(1.0);
                    let towards_holds = t.fails.is_none_or(|f| t.holds <= f);
                    if adjusted < alpha && towards_holds {
                        result.verdict = Verdict::Holds;
                        result.reason = format!("holds at α = {alpha} after Holm over {m} claims");
                    } else if adjusted < alpha {
                        result.verdict = Verdict::Fails;
                        result.reason = format!("fails at α = {alpha} after Holm over {m} claims");
                    } else if smallest >= alpha {
                        result.reason = format!(
                            "the design cannot reach α = {alpha}: a test's smallest p-value is \
                             {floor:.4}, at least {smallest:.3} after Holm over {m} claims; more seeds \
                             (calibration resamples) or fewer decided claims are needed"
                        );
                    } else {
                        result.reason = format!(
                            "neither direction is significant at α = {alpha} after Holm over {m} claims"
                        );
                    }
                    if t.fails.is_none() && result.verdict == Verdict::Inconclusive {
                        result.reason.push_str(" (this test can show the effect, not its absence)");
                    }
                }
            }
            result
        })
        .collect()
}

/// Per objective: how well its one-shot ranking reproduces across calibration resamples.
struct Reliability {
    /// Mean Kendall τ between one-shot rankings of two different seeds.
    tau: BTreeMap<String, f64>,
    /// Permutation p of that τ against rankings unrelated across seeds.
    p: BTreeMap<String, f64>,
}

impl Reliability {
    /// `Err(reason)` unless every objective's ranking reproduces beyond chance (p < α).
    fn gate(&self, table: &RunTable, alpha: f64) -> Result<(), String> {
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
}

fn reliability(table: &RunTable, settings: &ClaimSettings, rng: &mut impl Rng) -> Reliability {
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

type Decision = (Result<Test, String>, BTreeMap<String, f64>);

/// The exact one-sided p-values of "d > 0" and "d < 0" over seeds, and the floor.
fn two_sided(d: &[f64]) -> Option<(f64, f64, f64)> {
    let up = sign_flip_greater(d)?;
    let down = sign_flip_greater(&d.iter().map(|x| -x).collect::<Vec<_>>())?;
    Some((up.p, down.p, up.floor))
}

fn put_spread(stats: &mut BTreeMap<String, f64>, name: &str, xs: &[f64], alpha: f64) {
    stats.insert(format!("{name}/mean"), mean(xs));
    match spread(xs, alpha) {
        Some(Spread::Range { min, max }) => {
            stats.insert(format!("{name}/min"), min);
            stats.insert(format!("{name}/max"), max);
        }
        Some(Spread::Interval { low, high, .. }) => {
            stats.insert(format!("{name}/ci_low"), low);
            stats.insert(format!("{name}/ci_high"), high);
        }
        None => {}
    }
}

/// Per seed: ω² of the objective minus ω² of the searcher, from a two-way decomposition of the
/// seed's runs (objective × searcher, one run each) under `distance`.
fn share_differences(
    table: &RunTable,
    distance: impl Fn(&RunRecord, &RunRecord) -> Option<f64>,
) -> Result<Vec<f64>, String> {
    let index = |names: &[&str], x: &str| names.iter().position(|n| *n == x).expect("indexed");
    table
        .seeds
        .iter()
        .map(|&t| {
            let runs = table.seed_runs(t);
            if runs.len() != table.objectives.len() * table.searchers.len() {
                return Err(format!("seed {t} lacks runs of some objective × searcher"));
            }
            let d = distance_matrix(&runs, &distance)
                .ok_or_else(|| format!("seed {t}: an outcome is missing or not finite"))?;
            let design = Design {
                factors: vec![
                    runs.iter()
                        .map(|r| index(&table.objectives, &r.objective))
                        .collect(),
                    runs.iter()
                        .map(|r| index(&table.searchers, &r.searcher))
                        .collect(),
                ],
            };
            let p = permanova(&d, &design, &[vec![0], vec![1]]).ok_or_else(|| {
                format!("seed {t}: no variation to share out (every run is alike) or no residual")
            })?;
            Ok(p.terms[0].omega2 - p.terms[1].omega2)
        })
        .collect()
}

fn distance_matrix(
    runs: &[&RunRecord],
    distance: &impl Fn(&RunRecord, &RunRecord) -> Option<f64>,
) -> Option<Vec<Vec<f64>>> {
    runs.iter()
        .map(|a| {
            runs.iter()
                .map(|b| distance(a, b).filter(|d| d.is_finite()))
                .collect()
        })
        .collect()
}

fn pattern_distance(a: &RunRecord, b: &RunRecord) -> Option<f64> {
    Some(1.0 - jaccard(&a.removed, &b.removed))
}

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
        );
    }
    if !table.complete() {
        return (
            Err("the runs do not cover every objective × searcher × seed".into()),
            stats,
        );
    }
    let gate = reliability.gate(table, s.alpha);
    let test = match claim {
        Claim::SearchersConverge => searchers_converge(table, s, &mut stats),
        Claim::MarginalGains => marginal_gains(table, s, &mut stats),
        Claim::ObjectiveShapesPatterns => gate
            .and_then(|()| share_beyond_margin(table, s, &mut stats, "patterns", pattern_distance)),
        Claim::ObjectiveShapesCalibrationPpl => {
            gate.and_then(|()| objective_shapes_calibration_ppl(table, s, &mut stats))
        }
        Claim::AccuracyShareComparable => {
            gate.and_then(|()| accuracy_share_comparable(table, s, &mut stats))
        }
        Claim::RankingsDisagree => {
            gate.and_then(|()| rankings_disagree(table, s, &mut stats, reliability))
        }
        Claim::ObjectiveBeyondResampling => {
            gate.and_then(|()| objective_beyond_resampling(table, s, &mut stats))
        }
    };
    (test, stats)
}

/// Statement 1: per seed, the chance-corrected agreement among searchers against the threshold.
fn searchers_converge(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Result<Test, String> {
    let kappas: Option<Vec<f64>> = table
        .seeds
        .iter()
        .map(|&t| Some(chance_corrected(table.cross_searcher(t)?, table.chance)))
        .collect();
    match kappas {
        Some(k) if table.searchers.len() >= 2 => {
            put_spread(stats, "cross_searcher_agreement", &k, s.alpha);
            stats.insert("chance_jaccard".into(), table.chance);
            if let Some(j) = table.cross_seed(&table.objectives) {
                stats.insert(
                    "cross_seed_agreement".into(),
                    chance_corrected(j, table.chance),
                );
            }
            stats.insert("threshold".into(), s.min_cross_searcher_agreement);
            let d: Vec<f64> = k
                .iter()
                .map(|x| x - s.min_cross_searcher_agreement)
                .collect();
            two_sided(&d)
                .ok_or_else(|| "agreement is undefined".to_string())
                .map(|(h, f, floor)| Test::simple(h, f, floor))
        }
        _ => Err("needs at least two searchers".into()),
    }
}

/// Statement 2 on calibration perplexity: the objective's share of its variance beyond the
/// searcher's, per seed.
fn objective_shapes_calibration_ppl(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Result<Test, String> {
    let ppl = table
        .perplexity_objective()
        .ok_or("needs a perplexity objective (calibration perplexity is its score)")?;
    share_beyond_margin(table, s, stats, "calibration_ppl", |a, b| {
        Some((a.calibration.get(ppl)?.ln() - b.calibration.get(ppl)?.ln()).abs())
    })
}

/// Statement 3: the objective's and the searcher's shares of held-out accuracy's variance
/// within the margin of each other (TOST), per seed.
fn accuracy_share_comparable(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Result<Test, String> {
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
    Ok(Test {
        holds: below.p.max(above.p),
        fails: Some((2.0 * over.p.min(under.p)).min(1.0)),
        floor_holds: below.floor,
        floor_fails: (2.0 * below.floor).min(1.0),
    })
}

/// The objectives' one-shot rankings disagree: the disattenuated Kendall τ below the threshold.
fn rankings_disagree(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
    reliability: &Reliability,
) -> Result<Test, String> {
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
    Ok(Test::simple(holds.p, fails.p, holds.floor))
}

/// Statement 2 for one outcome: per seed, ω²(objective) − ω²(searcher) of `distance` beyond
/// `share_margin`.
fn share_beyond_margin(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
    outcome: &str,
    distance: impl Fn(&RunRecord, &RunRecord) -> Option<f64>,
) -> Result<Test, String> {
    let d = share_differences(table, distance)?;
    put_spread(
        stats,
        &format!("{outcome}/omega2_objective_minus_searcher"),
        &d,
        s.alpha,
    );
    stats.insert("margin".into(), s.share_margin);
    let shifted: Vec<f64> = d.iter().map(|x| x - s.share_margin).collect();
    let (h, f, floor) = two_sided(&shifted).ok_or("undefined")?;
    Ok(Test::simple(h, f, floor))
}

/// `x`'s gain over `base`, relative to `base`: positive when better (perplexity falls, accuracy
/// rises). `None` where `base` is zero (an accuracy of 0 on a tiny held-out sample), where a
/// ratio means nothing, rather than dividing by a guard that turns it into 10¹¹.
fn relative_gain(x: f64, base: f64, direction: Direction) -> Option<f64> {
    let sign = match direction {
        Direction::Minimize => -1.0,
        Direction::Maximize => 1.0,
    };
    (base != 0.0 && base.is_finite() && x.is_finite()).then(|| sign * (x - base) / base.abs())
}

/// Held-out gain of every searcher over one-shot, per objective, on the held-out outcome of
/// the objective's own kind (perplexity for the perplexity objective, accuracy for accuracy).
fn marginal_gains(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Result<Test, String> {
    let mut holds = Vec::new();
    let mut fails = Vec::new();
    let mut floor = f64::NAN;
    for &o in &table.objectives {
        let direction = table.directions[o];
        let outcome = table.heldout_of(direction).ok_or_else(|| {
            format!("needs a held-out outcome of objective '{o}''s kind (`heldout:` in the suite)")
        })?;
        for &sr in table.searchers.iter().filter(|sr| **sr != ONE_SHOT) {
            let mut gains = Vec::with_capacity(table.seeds.len());
            for &t in &table.seeds {
                let (x, base) = table
                    .get(o, sr, t)
                    .and_then(|r| r.heldout.get(outcome))
                    .zip(
                        table
                            .get(o, ONE_SHOT, t)
                            .and_then(|r| r.heldout.get(outcome)),
                    )
                    .ok_or_else(|| format!("held-out '{outcome}' missing for {sr}"))?;
                gains.push(relative_gain(*x, *base, direction).ok_or_else(|| {
                    format!(
                        "one-shot's held-out '{outcome}' is {base} on seed {t} (objective '{o}'): a \
                         gain relative to it is undefined; the held-out sample is too small"
                    )
                })?);
            }
            put_spread(stats, &format!("heldout_gain/{o}/{sr}"), &gains, s.alpha);
            let below = sign_flip_greater(
                &gains
                    .iter()
                    .map(|g| s.max_relative_gain - g)
                    .collect::<Vec<_>>(),
            )
            .ok_or("a held-out gain is not finite")?;
            let above = sign_flip_greater(
                &gains
                    .iter()
                    .map(|g| g - s.max_relative_gain)
                    .collect::<Vec<_>>(),
            )
            .ok_or("a held-out gain is not finite")?;
            floor = below.floor;
            holds.push(below.p);
            fails.push(above.p);
        }
    }
    if holds.is_empty() {
        return Err("needs a searcher besides one_shot".into());
    }
    stats.insert("threshold".into(), s.max_relative_gain);
    // Holds when every searcher's gain is marginal under every objective (the largest p);
    // fails when any is not (Bonferroni over the searcher × objective tests).
    let p_holds = holds.iter().copied().fold(0.0, f64::max);
    let p_fails = (fails.iter().copied().fold(1.0, f64::min) * fails.len() as f64).min(1.0);
    Ok(Test {
        holds: p_holds,
        fails: Some(p_fails),
        floor_holds: floor,
        floor_fails: (floor * fails.len() as f64).min(1.0),
    })
}

/// Same objective across seeds vs different objectives across seeds: the difference of mean
/// Jaccard, tested by swapping the objective labels of whole calibration groups within seeds.
fn objective_beyond_resampling(
    table: &RunTable,
    s: &ClaimSettings,
    stats: &mut BTreeMap<String, f64>,
) -> Result<Test, String> {
    if table.objectives.len() < 2 {
        return Err("needs two objectives".into());
    }
    let n_obj = table.objectives.len();
    // label[seed index][objective index] = the objective label it carries.
    let statistic = |label: &[Vec<usize>]| -> Option<f64> {
        let (mut same, mut different) = (Vec::new(), Vec::new());
        for (ti, tj) in pairs(&(0..table.seeds.len()).collect::<Vec<_>>()) {
            for (oa, &a) in table.objectives.iter().enumerate() {
                for (ob, &b) in table.objectives.iter().enumerate() {
                    for &sr in &table.searchers {
                        let j = table.j((a, sr, table.seeds[ti]), (b, sr, table.seeds[tj]))?;
                        if label[ti][oa] == label[tj][ob] {
                            same.push(j);
                        } else {
                            different.push(j);
                        }
                    }
                }
            }
        }
        Some(mean(&same) - mean(&different))
    };
    let identity: Vec<Vec<usize>> = vec![(0..n_obj).collect(); table.seeds.len()];
    let observed = statistic(&identity).ok_or("a run is missing")?;
    let relabellings = permutations_of(n_obj);
    let total = relabellings
        .len()
        .checked_pow(table.seeds.len() as u32)
        .filter(|t| *t <= 1 << 20)
        .ok_or("too many seeds × objectives to enumerate the relabellings")?;
    let mut at_least = 0;
    for code in 0..total {
        let mut c = code;
        let label: Vec<Vec<usize>> = (0..table.seeds.len())
            .map(|_| {
                let l = relabellings[c % relabellings.len()].clone();
                c /= relabellings.len();
                l
            })
            .collect();
        at_least += (statistic(&label).ok_or("a run is missing")? >= observed - 1e-12) as usize;
    }
    stats.insert(
        "cross_seed_jaccard_same_objective_minus_other_objective".into(),
        observed,
    );
    if let Some(j) = table.cross_seed(&table.objectives) {
        stats.insert("cross_seed_jaccard".into(), j);
    }
    let co: Vec<f64> = table
        .seeds
        .iter()
        .filter_map(|&t| table.cross_objective(t))
        .collect();
    if !co.is_empty() {
        stats.insert("cross_objective_jaccard".into(), mean(&co));
    }
    stats.insert("chance_jaccard".into(), table.chance);
    let _ = s;
    // A global relabelling of the objectives leaves the statistic unchanged, so the floor is
    // (number of global relabellings) / total. This test can show the effect, not its absence.
    Ok(Test {
        holds: at_least as f64 / total as f64,
        fails: None,
        floor_holds: relabellings.len() as f64 / total as f64,
        floor_fails: 1.0,
    })
}

/// The distance between two runs' outcomes (`None` when either lacks it).
type Distance = Box<dyn Fn(&RunRecord, &RunRecord) -> Option<f64>>;

/// Reports without verdicts: agreements with their chance level, reliabilities, the variance
/// decompositions over objective, seed and searcher, and the proxy's agreement.
fn model_reports(
    model: &str,
    table: &RunTable,
    runs: &[&RunRecord],
    reliability: &Reliability,
    s: &ClaimSettings,
    rng: &mut impl Rng,
) -> Vec<ClaimResult> {
    let report = |claim: &str, statistics: BTreeMap<String, f64>| ClaimResult {
        model: model.to_string(),
        claim: claim.to_string(),
        verdict: Verdict::Report,
        reason: String::new(),
        p_holds: None,
        p_fails: None,
        p_adjusted: None,
        p_floor: None,
        statistics,
        per_seed: Vec::new(),
        threshold: None,
    };
    let mut out = Vec::new();

    // Agreement, three ways, raw and chance-corrected.
    let mut stats = BTreeMap::from([("chance_jaccard".to_string(), table.chance)]);
    let mut put = |name: &str, j: Option<f64>| {
        if let Some(j) = j {
            stats.insert(format!("{name}/jaccard"), j);
            stats.insert(
                format!("{name}/chance_corrected"),
                chance_corrected(j, table.chance),
            );
        }
    };
    let per_seed = |f: &dyn Fn(u64) -> Option<f64>| {
        let v: Vec<f64> = table.seeds.iter().filter_map(|&t| f(t)).collect();
        (!v.is_empty()).then(|| mean(&v))
    };
    put("cross_searcher", per_seed(&|t| table.cross_searcher(t)));
    put("cross_objective", per_seed(&|t| table.cross_objective(t)));
    put("cross_seed", table.cross_seed(&table.objectives));
    for o in &table.objectives {
        put(&format!("cross_seed/{o}"), table.cross_seed(&[o]));
    }
    out.push(report("agreement", stats));

    // Reliability of each objective.
    let mut stats = BTreeMap::new();
    for o in &table.objectives {
        if let (Some(tau), Some(p)) = (reliability.tau.get(*o), reliability.p.get(*o)) {
            stats.insert(format!("{o}/cross_seed_kendall_tau"), *tau);
            stats.insert(format!("{o}/cross_seed_kendall_tau_p"), *p);
        }
        let one_shot: Vec<&RunRecord> = table
            .seeds
            .iter()
            .filter_map(|&t| table.get(o, ONE_SHOT, t))
            .collect();
        let js: Vec<f64> = pairs(&one_shot)
            .into_iter()
            .map(|(a, b)| jaccard(&a.removed, &b.removed))
            .collect();
        if !js.is_empty() {
            stats.insert(format!("{o}/cross_seed_top_k_jaccard"), mean(&js));
        }
    }
    stats.insert("chance_jaccard".into(), table.chance);
    stats.insert("permutations".into(), s.permutations as f64);
    out.push(report("reliability", stats));

    // Variance shares over objective, seed and searcher (and objective × searcher).
    if table.complete() && table.seeds.len() >= 2 && table.objectives.len() >= 2 {
        let members = table.all_runs();
        let index = |names: &[&str], x: &str| names.iter().position(|n| *n == x).expect("indexed");
        let design = Design {
            factors: vec![
                members
                    .iter()
                    .map(|r| index(&table.objectives, &r.objective))
                    .collect(),
                members
                    .iter()
                    .map(|r| table.seeds.iter().position(|t| *t == r.seed).expect("seed"))
                    .collect(),
                members
                    .iter()
                    .map(|r| index(&table.searchers, &r.searcher))
                    .collect(),
            ],
        };
        let terms = [vec![0], vec![1], vec![2], vec![0, 2]];
        // (term, factor permuted, strata): objective labels of whole calibration groups within
        // a seed; seed labels within objective × searcher; searcher labels within a calibration
        // group (also for the interaction: a test of the searcher including its interaction).
        let plan: [(&str, usize, usize, Vec<usize>); 4] = [
            ("objective", 0, 0, vec![1]),
            ("seed", 1, 1, vec![0, 2]),
            ("searcher", 2, 2, vec![0, 1]),
            // Its p tests the searcher's effect including the interaction.
            ("objective_x_searcher", 3, 2, vec![0, 1]),
        ];
        let first_ppl = table.perplexity_objective();
        let mut outcomes: Vec<(String, Distance)> =
            vec![("patterns".into(), Box::new(pattern_distance))];
        if let Some(o) = first_ppl {
            let o = o.to_string();
            outcomes.push((
                "calibration_log_ppl".into(),
                Box::new(move |a: &RunRecord, b: &RunRecord| {
                    Some((a.calibration.get(&o)?.ln() - b.calibration.get(&o)?.ln()).abs())
                }),
            ));
        }
        for (h, direction) in table.heldout.clone() {
            let log = direction == Direction::Minimize;
            let name = if log {
                format!("heldout_log_{h}")
            } else {
                format!("heldout_{h}")
            };
            outcomes.push((
                name,
                Box::new(move |a: &RunRecord, b: &RunRecord| {
                    let (x, y) = (*a.heldout.get(&h)?, *b.heldout.get(&h)?);
                    Some(if log {
                        (x.ln() - y.ln()).abs()
                    } else {
                        (x - y).abs()
                    })
                }),
            ));
        }
        let mut stats = BTreeMap::new();
        for (outcome, distance) in &outcomes {
            let Some(d) = distance_matrix(&members, distance) else {
                continue;
            };
            let Some(partition) = permanova(&d, &design, &terms) else {
                continue;
            };
            for (name, term, permuted, strata) in &plan {
                let t = &partition.terms[*term];
                stats.insert(format!("{outcome}/{name}/omega2"), t.omega2);
                stats.insert(format!("{outcome}/{name}/pseudo_f"), t.pseudo_f);
                let restriction = Restriction {
                    term: *term,
                    permuted: *permuted,
                    strata: strata.clone(),
                };
                if let Some(test) =
                    permutation_test(&d, &design, &terms, &restriction, s.permutations, rng)
                {
                    stats.insert(format!("{outcome}/{name}/p"), test.p);
                    stats.insert(format!("{outcome}/{name}/p_floor"), test.floor);
                }
            }
        }
        out.push(report("variance_shares", stats));
    }

    // Proxy vs objectives.
    let mut stats = BTreeMap::new();
    for o in &table.objectives {
        let taus: Vec<f64> = table
            .seeds
            .iter()
            .filter_map(|&t| {
                let p = runs
                    .iter()
                    .find(|r| r.objective == *o && r.searcher == PROXY && r.seed == t)?;
                Some(tau_between(p, table.get(o, ONE_SHOT, t)?))
            })
            .collect();
        if !taus.is_empty() {
            stats.insert(format!("kendall_tau_vs_{o}"), mean(&taus));
        }
    }
    if !stats.is_empty() {
        out.push(report("proxy_vs_objectives", stats));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;

    const SEARCHERS: [&str; 4] = ["one_shot", "greedy", "random", "local"];
    const N_BLOCKS: usize = 12;

    fn settings() -> ClaimSettings {
        ClaimSettings {
            alpha: 0.05,
            permutations: 199,
            min_cross_searcher_agreement: 0.5,
            max_ranking_tau: 0.5,
            max_relative_gain: 0.05,
            share_margin: 0.1,
            test: None,
            predicted: BTreeMap::new(),
            expected: BTreeMap::new(),
        }
    }

    fn heldout_kinds() -> BTreeMap<String, Direction> {
        BTreeMap::from([
            ("ppl".to_string(), Direction::Minimize),
            ("acc".to_string(), Direction::Maximize),
        ])
    }

    /// A ranking that starts with `first` and goes on with a seeded shuffle of the rest (or, with
    /// `noise` = false, the rest ascending).
    fn ranking(first: &[usize], rng: &mut impl Rng, noise: bool) -> Vec<usize> {
        let mut rest: Vec<usize> = (0..N_BLOCKS).filter(|b| !first.contains(b)).collect();
        if noise {
            rest.shuffle(rng);
        }
        first.iter().copied().chain(rest).collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        objective: &str,
        searcher: &str,
        seed: u64,
        removed: &[usize],
        ranking: Vec<usize>,
        calibration_ppl: f64,
        heldout_ppl: f64,
        heldout_acc: f64,
    ) -> RunRecord {
        let mut removed = removed.to_vec();
        removed.sort_unstable();
        RunRecord {
            model: "m".into(),
            objective: objective.into(),
            objective_key: objective.into(),
            direction: if objective.starts_with("ppl") {
                Direction::Minimize
            } else {
                Direction::Maximize
            },
            searcher: searcher.into(),
            seed,
            k: removed.len(),
            removed,
            ranking,
            score: 0.0,
            evaluations: 1,
            seconds: 0.0,
            starts_from_one_shot: false,
            best_so_far: vec![],
            calibration: BTreeMap::from([("ppl".to_string(), calibration_ppl)]),
            heldout: BTreeMap::from([
                ("ppl".to_string(), heldout_ppl),
                ("acc".to_string(), heldout_acc),
            ]),
        }
    }

    fn verdicts(records: &[RunRecord], s: &ClaimSettings) -> BTreeMap<String, ClaimResult> {
        evaluate_claims(records, &heldout_kinds(), s, 0)
            .into_iter()
            .map(|c| (c.claim.clone(), c))
            .collect()
    }

    /// Every searcher picks {1,2,3} under perplexity and {7,8,9} under accuracy, whatever the
    /// seed; the rest of each ranking is noise. The held-out outcomes follow the objective.
    fn objective_decides(seeds: u64) -> Vec<RunRecord> {
        let mut rng = rng_for(1, "test/objective-decides");
        let mut records = Vec::new();
        for seed in 0..seeds {
            let jitter = |rng: &mut rand_chacha::ChaCha8Rng| rng.random_range(-0.01..0.01);
            for searcher in SEARCHERS {
                // Random search misses one block at odd seeds, so not everything is identical.
                let off = searcher == "random" && seed % 2 == 1;
                let (ppl_set, acc_set) = if off {
                    ([1, 2, 4], [7, 8, 10])
                } else {
                    ([1, 2, 3], [7, 8, 9])
                };
                let r = ranking(&[1, 2, 3], &mut rng, false);
                let (p, h, a) = (20.0 + jitter(&mut rng), 30.0 + jitter(&mut rng), 0.4);
                records.push(record(
                    "ppl",
                    searcher,
                    seed,
                    &ppl_set,
                    r,
                    p,
                    h,
                    a + jitter(&mut rng),
                ));
                let r = ranking(&[9, 8, 7], &mut rng, false);
                let (p, h, a) = (60.0 + jitter(&mut rng), 80.0 + jitter(&mut rng), 0.5);
                records.push(record(
                    "acc",
                    searcher,
                    seed,
                    &acc_set,
                    r,
                    p,
                    h,
                    a + jitter(&mut rng),
                ));
            }
        }
        records
    }

    #[test]
    fn the_objective_decides() {
        let v = verdicts(&objective_decides(12), &settings());
        let verdict = |c: &str| (v[c].verdict, v[c].reason.clone());
        assert_eq!(
            verdict("objective_shapes_calibration_ppl").0,
            Verdict::Holds,
            "{:?}",
            v["objective_shapes_calibration_ppl"]
        );
        assert_eq!(
            verdict("objective_shapes_patterns").0,
            Verdict::Holds,
            "{:?}",
            v["objective_shapes_patterns"]
        );
        assert_eq!(
            verdict("searchers_converge").0,
            Verdict::Holds,
            "{:?}",
            v["searchers_converge"]
        );
        assert_eq!(
            verdict("marginal_gains").0,
            Verdict::Holds,
            "{:?}",
            v["marginal_gains"]
        );
        assert_eq!(
            verdict("rankings_disagree").0,
            Verdict::Holds,
            "{:?}",
            v["rankings_disagree"]
        );
        assert_eq!(
            verdict("objective_beyond_resampling").0,
            Verdict::Holds,
            "{:?}",
            v["objective_beyond_resampling"]
        );
        // Held-out accuracy moves with the objective only: not comparable shares.
        assert_eq!(
            verdict("accuracy_share_comparable").0,
            Verdict::Fails,
            "{:?}",
            v["accuracy_share_comparable"]
        );
        // p-values are exact: every seed agrees, so the one-sided p is 2^-12.
        assert_eq!(v["searchers_converge"].p_holds, Some(1.0 / 4096.0));
        assert_eq!(v["searchers_converge"].p_floor, Some(1.0 / 4096.0));
        let agreement = &v["agreement"].statistics;
        assert_eq!(agreement["cross_objective/jaccard"], 0.0);
        // Even seeds: all 6 searcher pairs agree; odd seeds: 3 pairs at 1, 3 at 1/2.
        assert!((agreement["cross_searcher/jaccard"] - 0.875).abs() < 1e-12);
        assert!(agreement["cross_seed/jaccard"] > 0.9);
        assert!((agreement["chance_jaccard"] - expected_jaccard(N_BLOCKS, 3)).abs() < 1e-12);
        let shares = &v["variance_shares"].statistics;
        assert!(shares["patterns/objective/omega2"] > 0.85, "{shares:?}");
        assert!(shares["patterns/searcher/omega2"] < 0.05, "{shares:?}");
        // 2^12 relabellings are more than the 199 drawn: sampled, floor 1/200.
        assert_eq!(shares["patterns/objective/p_floor"], 1.0 / 200.0);
        assert_eq!(shares["patterns/objective/p"], 1.0 / 200.0);
    }

    /// Each searcher picks its own set whatever the objective, and greedy gains 10 % held-out.
    #[test]
    fn the_search_decides() {
        let mut rng = rng_for(2, "test/search-decides");
        let mut records = Vec::new();
        for seed in 0..12 {
            for (i, searcher) in SEARCHERS.iter().enumerate() {
                let set = [3 * i, 3 * i + 1, 3 * i + 2];
                let gain = if *searcher == "greedy" { 0.9 } else { 1.0 };
                for objective in ["ppl", "acc"] {
                    let j = rng.random_range(-0.01..0.01);
                    let r = ranking(&set, &mut rng, false);
                    records.push(record(
                        objective,
                        searcher,
                        seed,
                        &set,
                        r,
                        20.0 * (1.0 + i as f64) + j,
                        30.0 * gain + j,
                        0.4 / gain + j,
                    ));
                }
            }
        }
        let v = verdicts(&records, &settings());
        assert_eq!(
            v["objective_shapes_patterns"].verdict,
            Verdict::Fails,
            "{:?}",
            v["objective_shapes_patterns"]
        );
        assert_eq!(
            v["searchers_converge"].verdict,
            Verdict::Fails,
            "{:?}",
            v["searchers_converge"]
        );
        assert_eq!(
            v["marginal_gains"].verdict,
            Verdict::Fails,
            "{:?}",
            v["marginal_gains"]
        );
        assert!(
            (v["marginal_gains"].statistics["heldout_gain/ppl/greedy/mean"] - 0.1).abs() < 0.01
        );
        // Identical rankings under both objectives: they agree.
        assert_eq!(
            v["rankings_disagree"].verdict,
            Verdict::Fails,
            "{:?}",
            v["rankings_disagree"]
        );
        assert_eq!(
            v["objective_beyond_resampling"].verdict,
            Verdict::Inconclusive
        );
    }

    /// Five seeds and six claims: no Holm-adjusted p can fall below α, and the reason says so.
    #[test]
    fn a_design_that_cannot_reach_alpha_is_inconclusive() {
        let v = verdicts(&objective_decides(5), &settings());
        let c = &v["searchers_converge"];
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_eq!(c.p_holds, Some(1.0 / 32.0));
        assert!(c.reason.contains("cannot reach"), "{}", c.reason);
        // Deciding one claim alone, five seeds suffice.
        let one = ClaimSettings {
            test: Some(vec![Claim::SearchersConverge]),
            ..settings()
        };
        let v = verdicts(&objective_decides(5), &one);
        assert_eq!(v["searchers_converge"].verdict, Verdict::Holds);
        assert!(!v.contains_key("objective_shapes_patterns"));
    }

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

    /// Every run chose the same set with the same outcomes: the shares are undefined.
    #[test]
    fn undefined_statistics_give_inconclusive_with_a_reason() {
        let mut rng = rng_for(4, "test/undefined");
        let mut records = Vec::new();
        for seed in 0..12 {
            for searcher in SEARCHERS {
                for objective in ["ppl", "acc"] {
                    let r = ranking(&[1, 2, 3], &mut rng, false);
                    records.push(record(
                        objective,
                        searcher,
                        seed,
                        &[1, 2, 3],
                        r,
                        20.0,
                        30.0,
                        0.4,
                    ));
                }
            }
        }
        let v = verdicts(&records, &settings());
        let c = &v["objective_shapes_patterns"];
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert!(c.reason.contains("no variation"), "{}", c.reason);
        // A NaN outcome is named, not a panic.
        records[0].heldout.insert("acc".into(), f64::NAN);
        let v = verdicts(&records, &settings());
        assert_eq!(
            v["accuracy_share_comparable"].verdict,
            Verdict::Inconclusive
        );
    }

    /// A held-out accuracy of 0 for one-shot makes the relative gain undefined (it was divided
    /// by 1e-12, giving gains of 10¹¹): the claim says so instead.
    #[test]
    fn a_gain_over_a_zero_baseline_is_undefined_not_huge() {
        assert_eq!(relative_gain(0.5, 0.0, Direction::Maximize), None);
        let close = |g: Option<f64>| g.is_some_and(|g| (g - 0.25).abs() < 1e-12);
        assert!(close(relative_gain(0.5, 0.4, Direction::Maximize)));
        assert!(close(relative_gain(30.0, 40.0, Direction::Minimize)));
        let mut records = objective_decides(12);
        for r in records
            .iter_mut()
            .filter(|r| r.searcher == ONE_SHOT && r.seed == 3)
        {
            r.heldout.insert("acc".into(), 0.0);
        }
        let v = verdicts(&records, &settings());
        let c = &v["marginal_gains"];
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert!(
            c.reason.contains("undefined") && c.reason.contains("seed 3"),
            "{}",
            c.reason
        );
        assert!(
            c.statistics.values().all(|x| x.abs() < 1e6),
            "{:?}",
            c.statistics
        );
    }

    /// "Cannot reach α" bounds the adjusted p by the family's smallest floor as well as the
    /// claim's own: with 5 seeds a sign-flip floor of 1/32 and 7 claims, a claim whose own
    /// floor is larger still reads the bound it really has.
    #[test]
    fn the_unreachable_bound_uses_the_familys_smallest_floor() {
        let v = verdicts(&objective_decides(5), &settings());
        let unreachable: Vec<_> = v
            .values()
            .filter(|c| c.reason.contains("cannot reach"))
            .collect();
        assert!(unreachable.len() >= 2, "{v:?}");
        for c in unreachable {
            let floor = c.p_floor.unwrap();
            let bound = floor.clamp(7.0 / 32.0, 1.0);
            assert!(
                c.reason.contains(&format!("at least {bound:.3}")),
                "{}: {}",
                c.claim,
                c.reason
            );
        }
    }
}
