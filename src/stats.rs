//! Agreement statistics between the block sets and rankings that objectives and searchers
//! choose, and the tests the claims rest on: Jaccard similarity and its chance level, Kendall
//! τ-b, Spearman ρ, exact sign-flip tests over calibration resamples, Holm's correction, and a
//! PERMANOVA partition of distances over crossed factors with ω² and restricted permutations.

use std::collections::BTreeSet;

use rand::Rng;

/// |A ∩ B| / |A ∪ B|; two empty sets are identical (1).
pub fn jaccard(a: &[usize], b: &[usize]) -> f64 {
    // As sets: a block listed twice is one block (otherwise the ratio can exceed 1).
    let (a, b): (BTreeSet<usize>, BTreeSet<usize>) =
        (a.iter().copied().collect(), b.iter().copied().collect());
    let inter = a.intersection(&b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// Kendall's τ-b, which corrects for ties in either variable. `NaN` when either variable is
/// constant, the samples differ in length or hold a `NaN`.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() || x.iter().chain(y).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let n = x.len();
    let (mut concordant, mut discordant, mut ties_x, mut ties_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            // partial_cmp, not total_cmp: −0.0 and 0.0 are a tie, as average_ranks has them
            // (NaN was refused above).
            let (dx, dy) = (
                x[i].partial_cmp(&x[j]).expect("no NaN"),
                y[i].partial_cmp(&y[j]).expect("no NaN"),
            );
            use std::cmp::Ordering::Equal;
            match (dx, dy) {
                (Equal, Equal) => {
                    ties_x += 1;
                    ties_y += 1;
                }
                (Equal, _) => ties_x += 1,
                (_, Equal) => ties_y += 1,
                _ if dx == dy => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let pairs = (n * n.saturating_sub(1) / 2) as i64;
    let denom = (((pairs - ties_x) * (pairs - ties_y)) as f64).sqrt();
    (concordant - discordant) as f64 / denom
}

/// Ranks 1..=n, ties getting the average of the ranks they span.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

/// Spearman's ρ: Pearson correlation of average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// The expected Jaccard similarity of two independent, uniformly random `k`-subsets of `n`
/// items: the chance level of agreement between two chosen sets. The overlap is
/// hypergeometric, `P(|A ∩ B| = i) = C(k, i) C(n - k, k - i) / C(n, k)`, and a pair that shares
/// `i` items has Jaccard `i / (2k - i)`. `NaN` when no such subsets exist (`k > n`).
pub fn expected_jaccard(n: usize, k: usize) -> f64 {
    if k > n {
        return f64::NAN;
    }
    if k == 0 {
        return 1.0;
    }
    let total = ln_choose(n, k);
    (k.saturating_sub(n - k)..=k)
        .map(|i| {
            let p = (ln_choose(k, i) + ln_choose(n - k, k - i) - total).exp();
            p * i as f64 / (2 * k - i) as f64
        })
        .sum()
}

fn ln_choose(n: usize, k: usize) -> f64 {
    (1..=k)
        .map(|i| ((n - k + i) as f64).ln() - (i as f64).ln())
        .sum()
}

/// Agreement beyond chance, `(j - chance) / (1 - chance)`: 0 at the chance level, 1 for
/// identical sets. `NaN` when chance is 1 (every pair of sets is identical).
pub fn chance_corrected(j: f64, chance: f64) -> f64 {
    if chance >= 1.0 {
        f64::NAN
    } else {
        (j - chance) / (1.0 - chance)
    }
}

pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The sample standard deviation (n − 1 in the denominator); NaN below two values.
pub fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::NAN;
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

/// A one-sided sign-flip test over calibration resamples: exact up to
/// [`EXACT_SIGN_FLIP_MAX`] resamples, Monte Carlo beyond.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExactTest {
    /// The mean of the per-resample statistics.
    pub mean: f64,
    pub p: f64,
    /// The smallest p-value the design can give: `2⁻ⁿ` for n resamples when exact,
    /// `1 / (draws + 1)` when Monte Carlo.
    pub floor: f64,
    pub n: usize,
    /// `Some(draws)` when the p-value is a Monte Carlo estimate from that many random sign
    /// assignments (`None`: exact, every assignment enumerated).
    pub draws: Option<usize>,
}

/// Up to this many resamples every one of the `2ⁿ` sign assignments is enumerated (16 M at 24).
pub const EXACT_SIGN_FLIP_MAX: usize = 24;

/// Random sign assignments drawn beyond [`EXACT_SIGN_FLIP_MAX`] resamples: the Monte Carlo
/// p-value `(1 + hits) / (draws + 1)` is itself a valid p-value (never below the true one's
/// distribution allows), and its resolution, the floor, is 1e-5; its standard error at p = 0.05
/// is 7e-4.
pub const MONTE_CARLO_SIGN_FLIPS: usize = 99_999;

/// Paired sign-flip test of "the per-resample differences `d` are centred above 0": the share
/// of the sign assignments whose mean is at least the observed one. Assumes only that under the
/// null each difference is symmetric about 0 and the resamples are independent. Exact (all `2ⁿ`
/// assignments) for up to [`EXACT_SIGN_FLIP_MAX`] resamples; beyond, a Monte Carlo estimate
/// from [`MONTE_CARLO_SIGN_FLIPS`] assignments drawn from a fixed seed (so the same data give
/// the same p). `None` when `d` is empty or holds a non-finite value.
pub fn sign_flip_greater(d: &[f64]) -> Option<ExactTest> {
    let n = d.len();
    if n == 0 || d.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let observed: f64 = d.iter().sum();
    let tolerance = 1e-12 * d.iter().map(|x| x.abs()).sum::<f64>().max(1e-300);
    let flipped_sum = |signs: &dyn Fn(usize) -> bool| -> f64 {
        d.iter()
            .enumerate()
            .map(|(i, x)| if signs(i) { -x } else { *x })
            .sum()
    };
    if n > EXACT_SIGN_FLIP_MAX {
        use rand::Rng;
        let mut rng = crate::rng::rng_for(n as u64, "sign_flip_monte_carlo");
        let mut hits = 0usize;
        let mut signs = vec![false; n];
        for _ in 0..MONTE_CARLO_SIGN_FLIPS {
            signs.iter_mut().for_each(|s| *s = rng.random::<bool>());
            hits += (flipped_sum(&|i| signs[i]) >= observed - tolerance) as usize;
        }
        let total = (MONTE_CARLO_SIGN_FLIPS + 1) as f64;
        return Some(ExactTest {
            mean: observed / n as f64,
            p: (hits + 1) as f64 / total,
            floor: 1.0 / total,
            n,
            draws: Some(MONTE_CARLO_SIGN_FLIPS),
        });
    }
    // Meet in the middle: every assignment is a left half's sum plus a right half's, so the
    // count of sums at least the observed one needs the 2^(n/2) sums of each half and a binary
    // search, not 2ⁿ sums (24 resamples: 8 k sums instead of 16 M, for every claim's test).
    let total = 1u64 << n;
    let (left, right) = d.split_at(n / 2);
    let mut right_sums = half_sums(right);
    right_sums.sort_by(f64::total_cmp);
    let at_least: usize = half_sums(left)
        .iter()
        .map(|a| {
            let needed = observed - tolerance - a;
            right_sums.len() - right_sums.partition_point(|b| *b < needed)
        })
        .sum();
    Some(ExactTest {
        mean: observed / n as f64,
        p: at_least as f64 / total as f64,
        floor: 1.0 / total as f64,
        n,
        draws: None,
    })
}

/// The sums of `half` under every sign assignment.
fn half_sums(half: &[f64]) -> Vec<f64> {
    (0..1u64 << half.len())
        .map(|signs| {
            half.iter()
                .enumerate()
                .map(|(i, x)| if signs >> i & 1 == 1 { -x } else { *x })
                .sum()
        })
        .collect()
}

/// Holm's step-down adjustment: family-wise error control over all `ps` together. Returned
/// in the input order; `NaN` inputs stay `NaN` and do not count towards the family.
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..ps.len()).filter(|&i| !ps[i].is_nan()).collect();
    order.sort_by(|&a, &b| ps[a].total_cmp(&ps[b]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; ps.len()];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * ps[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// How a statistic varies over calibration resamples: a t-interval when there are enough
/// resamples to support one, otherwise only the observed range (which is no confidence
/// interval: over 3 resamples it covers the mean ~75 % of the time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spread {
    Interval { low: f64, high: f64, level: f64 },
    Range { min: f64, max: f64 },
}

/// Resamples needed before [`spread`] gives an interval.
pub const MIN_RESAMPLES_FOR_INTERVAL: usize = 10;

pub fn spread(xs: &[f64], alpha: f64) -> Option<Spread> {
    if xs.is_empty() || xs.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let n = xs.len();
    if n < MIN_RESAMPLES_FOR_INTERVAL {
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        return Some(Spread::Range { min, max });
    }
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let m = mean(xs);
    let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .expect("n - 1 >= 9 degrees of freedom")
        .inverse_cdf(1.0 - alpha / 2.0);
    let half = t * sd / (n as f64).sqrt();
    Some(Spread::Interval {
        low: m - half,
        high: m + half,
        level: 1.0 - alpha,
    })
}

/// A crossed design: each run's level of each factor (levels numbered from 0).
#[derive(Debug, Clone)]
pub struct Design {
    pub factors: Vec<Vec<usize>>,
}

/// One term of a PERMANOVA model: a main effect (one factor) or an interaction (several).
#[derive(Debug, Clone, PartialEq)]
pub struct TermShare {
    pub factors: Vec<usize>,
    pub ss: f64,
    pub df: usize,
    pub pseudo_f: f64,
    /// ω² (Olejnik & Algina): the term's share of the variance, corrected for its degrees of
    /// freedom, so a 7-level factor does not look larger than a 2-level one by chance.
    pub omega2: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub terms: Vec<TermShare>,
    pub ss_total: f64,
    pub ss_residual: f64,
    pub df_residual: usize,
}

fn levels(labels: &[usize]) -> usize {
    labels
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Sum of squares between the cells that `factors` jointly define (Anderson 2001): the total
/// minus the within-cell sums of squared distances, each cell's divided by its size.
fn ss_between(d2: &[Vec<f64>], cells: &[usize], ss_total: f64) -> f64 {
    let n = cells.len();
    let mut size = std::collections::HashMap::new();
    for &c in cells {
        *size.entry(c).or_insert(0usize) += 1;
    }
    let mut within = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            if cells[i] == cells[j] {
                within += d2[i][j] / size[&cells[i]] as f64;
            }
        }
    }
    ss_total - within
}

fn cell_labels(design: &Design, factors: &[usize]) -> Vec<usize> {
    let n = design.factors[0].len();
    let mut ids: std::collections::HashMap<Vec<usize>, usize> = std::collections::HashMap::new();
    (0..n)
        .map(|i| {
            let key: Vec<usize> = factors.iter().map(|&f| design.factors[f][i]).collect();
            let next = ids.len();
            *ids.entry(key).or_insert(next)
        })
        .collect()
}

/// Partitions the variation of a distance matrix over `terms` (each a list of factor indices:
/// `[0]` a main effect, `[0, 2]` an interaction) of a complete, balanced crossed design; the
/// rest is the residual. With `d[i][j] = |y_i - y_j|` this is the ordinary ANOVA of `y`.
/// Interactions must come after the main effects they contain. `None` when the design leaves
/// no residual degrees of freedom or no variation.
pub fn permanova(
    distances: &[Vec<f64>],
    design: &Design,
    terms: &[Vec<usize>],
) -> Option<Partition> {
    let n = distances.len();
    let d2: Vec<Vec<f64>> = distances
        .iter()
        .map(|row| row.iter().map(|d| d * d).collect())
        .collect();
    let ss_total = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| d2[i][j])
        .sum::<f64>()
        / n as f64;
    // Between-cell SS of every set of factors a term needs, by inclusion-exclusion: a term's
    // own SS is its cells' SS minus that of every term it contains.
    let mut own: std::collections::BTreeMap<Vec<usize>, f64> = std::collections::BTreeMap::new();
    let mut shares = Vec::new();
    for term in terms {
        let mut sorted = term.clone();
        sorted.sort_unstable();
        let cells = ss_between(&d2, &cell_labels(design, &sorted), ss_total);
        let contained: f64 = own
            .iter()
            .filter(|(t, _)| t.len() < sorted.len() && t.iter().all(|f| sorted.contains(f)))
            .map(|(_, ss)| ss)
            .sum();
        let ss = cells - contained;
        own.insert(sorted.clone(), ss);
        let df = sorted
            .iter()
            .map(|&f| levels(&design.factors[f]) - 1)
            .product();
        shares.push((sorted, ss, df));
    }
    let df_model: usize = shares.iter().map(|(_, _, df)| df).sum();
    let df_residual = (n - 1).checked_sub(df_model).filter(|&df| df > 0)?;
    let ss_residual = ss_total - shares.iter().map(|(_, ss, _)| ss).sum::<f64>();
    if ss_total.is_nan() || ss_total <= 0.0 {
        return None;
    }
    let ms_residual = ss_residual.max(0.0) / df_residual as f64;
    let terms = shares
        .into_iter()
        .map(|(factors, ss, df)| TermShare {
            factors,
            ss,
            df,
            pseudo_f: (ss / df as f64) / ms_residual,
            omega2: (ss - df as f64 * ms_residual) / (ss_total + ms_residual),
        })
        .collect();
    Some(Partition {
        terms,
        ss_total,
        ss_residual,
        df_residual,
    })
}

/// A permutation test of one PERMANOVA term.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PermutationTest {
    pub p: f64,
    /// The smallest p-value these permutations can give.
    pub floor: f64,
    /// Whether every permutation was enumerated (otherwise `permutations` were drawn).
    pub exact: bool,
    pub permutations: usize,
}

/// Which term a permutation test is of, and how its permutations are restricted.
#[derive(Debug, Clone)]
pub struct Restriction {
    /// Index into the terms of the model.
    pub term: usize,
    /// The factor whose levels are relabelled.
    pub permuted: usize,
    /// Factors whose joint levels define the strata relabelled independently.
    pub strata: Vec<usize>,
}

/// Tests term `term` of `terms` by permuting the levels of factor `permuted` within the strata
/// that `strata` (factor indices) define: inside each stratum a random relabelling of the
/// permuted factor's levels is applied to all of the stratum's runs. Exchangeability is thus
/// asserted only where the null hypothesis gives it (e.g. searcher labels within one
/// calibration sample and objective; objective labels of whole calibration groups within one
/// seed). Enumerates every relabelling when there are at most `max_draws` of them, otherwise
/// draws `max_draws`.
pub fn permutation_test(
    distances: &[Vec<f64>],
    design: &Design,
    terms: &[Vec<usize>],
    restriction: &Restriction,
    max_draws: usize,
    rng: &mut impl Rng,
) -> Option<PermutationTest> {
    let Restriction {
        term,
        permuted,
        ref strata,
    } = *restriction;
    let f_of = |design: &Design| -> Option<f64> {
        Some(permanova(distances, design, terms)?.terms[term].pseudo_f)
    };
    let observed = f_of(design)?;
    if !observed.is_finite() {
        return None;
    }
    let stratum = cell_labels(design, strata);
    let n_strata = levels(&stratum);
    let n_levels = design.factors[permuted].iter().max().map_or(0, |m| m + 1);
    let per_stratum: f64 = (1..=n_levels).map(|i| i as f64).product();
    let total = per_stratum.powi(n_strata as i32);
    // `relabelling[s]` maps stratum s's old levels to new ones.
    let relabel = |relabelling: &[Vec<usize>]| -> Design {
        let mut d = design.clone();
        d.factors[permuted] = design.factors[permuted]
            .iter()
            .zip(&stratum)
            .map(|(&level, &s)| relabelling[s][level])
            .collect();
        d
    };
    let tolerance = 1e-9 * observed.abs().max(1e-12);
    let at_least = |relabelling: &[Vec<usize>]| -> Option<bool> {
        Some(f_of(&relabel(relabelling))? >= observed - tolerance)
    };
    if total <= max_draws as f64 {
        let all = permutations_of(n_levels);
        let observed_cells = canonical(&cell_labels(design, &terms[term]));
        let (mut hits, mut same_partition, mut draws) = (0usize, 0usize, 0usize);
        let mut choice = vec![0usize; n_strata];
        loop {
            let relabelling: Vec<Vec<usize>> = choice.iter().map(|&c| all[c].clone()).collect();
            draws += 1;
            hits += at_least(&relabelling)? as usize;
            same_partition += (canonical(&cell_labels(&relabel(&relabelling), &terms[term]))
                == observed_cells) as usize;
            // Next relabelling, odometer style.
            let mut i = 0;
            while i < n_strata {
                choice[i] += 1;
                if choice[i] < all.len() {
                    break;
                }
                choice[i] = 0;
                i += 1;
            }
            if i == n_strata {
                break;
            }
        }
        Some(PermutationTest {
            p: hits as f64 / draws as f64,
            floor: same_partition as f64 / draws as f64,
            exact: true,
            permutations: draws,
        })
    } else {
        use rand::seq::SliceRandom;
        let mut hits = 1;
        for _ in 0..max_draws {
            let relabelling: Vec<Vec<usize>> = (0..n_strata)
                .map(|_| {
                    let mut p: Vec<usize> = (0..n_levels).collect();
                    p.shuffle(rng);
                    p
                })
                .collect();
            hits += at_least(&relabelling)? as usize;
        }
        Some(PermutationTest {
            p: hits as f64 / (max_draws + 1) as f64,
            floor: 1.0 / (max_draws + 1) as f64,
            exact: false,
            permutations: max_draws,
        })
    }
}

/// Labels renumbered by first occurrence, so two labellings of the same partition are equal.
fn canonical(labels: &[usize]) -> Vec<usize> {
    let mut seen = std::collections::HashMap::new();
    labels
        .iter()
        .map(|l| {
            let next = seen.len();
            *seen.entry(*l).or_insert(next)
        })
        .collect()
}

/// Every permutation of `0..n`, as maps from old level to new.
pub fn permutations_of(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for rest in permutations_of(n - 1) {
        for pos in 0..n {
            let mut p = rest.clone();
            p.insert(pos, n - 1);
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kendall_ties_negative_and_positive_zero() {
        // −0.0 and 0.0 tie, as in average_ranks: τ-b of [0, −0, 1] vs [1, 2, 3] is
        // 2 / √(2 · 3) = 0.816, not the 1/3 of treating them as ordered.
        let tau = kendall_tau_b(&[0.0, -0.0, 1.0], &[1.0, 2.0, 3.0]);
        assert!((tau - 2.0 / 6f64.sqrt()).abs() < 1e-12, "{tau}");
        assert_eq!(average_ranks(&[0.0, -0.0, 1.0]), vec![1.5, 1.5, 3.0]);
    }

    #[test]
    fn jaccard_counts_a_repeated_block_once() {
        assert_eq!(jaccard(&[1, 1, 2], &[1]), 0.5);
        assert_eq!(jaccard(&[3, 3], &[3, 3]), 1.0);
        assert!(jaccard(&[1, 1, 1, 2], &[1, 2]) <= 1.0);
    }
    use crate::rng::rng_for;

    #[test]
    fn jaccard_by_hand() {
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(jaccard(&[], &[]), 1.0);
        assert_eq!(jaccard(&[1], &[2]), 0.0);
    }

    #[test]
    fn kendall_tau_b_with_ties() {
        // 5 concordant pairs, none discordant, one tie in x: 5 / sqrt(5 · 6) (scipy: 0.9128709).
        let t = kendall_tau_b(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!((t - 5.0 / 30f64.sqrt()).abs() < 1e-12);
        assert!((kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn spearman_with_ties() {
        // Ranks of y: [1, 2, 3.5, 5, 3.5]; ρ = 8 / sqrt(10 · 9.5) (scipy: 0.8207826816681233).
        let r = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5.0, 6.0, 7.0, 8.0, 7.0]);
        assert!((r - 8.0 / 95f64.sqrt()).abs() < 1e-12);
        assert_eq!(average_ranks(&[10.0, 20.0, 10.0]), vec![1.5, 3.0, 1.5]);
    }

    fn line_distances(y: &[f64]) -> Vec<Vec<f64>> {
        y.iter()
            .map(|a| y.iter().map(|b| (a - b).abs()).collect())
            .collect()
    }

    #[test]
    fn one_factor_permanova_on_a_toy_matrix() {
        // Points 0, 1 (group 0) and 10, 11 (group 1) on a line: SS_T = 404 / 4 = 101,
        // SS_W = 1/2 + 1/2 = 1, SS_A = 100, MS_res = 1 / 2, F = 100 / (1 / 2) = 200,
        // ω² = (100 - 1/2) / (101 + 1/2) = 199 / 203.
        let design = Design {
            factors: vec![vec![0, 0, 1, 1]],
        };
        let p = permanova(
            &line_distances(&[0.0, 1.0, 10.0, 11.0]),
            &design,
            &[vec![0]],
        )
        .unwrap();
        assert!((p.ss_total - 101.0).abs() < 1e-12);
        assert!((p.terms[0].ss - 100.0).abs() < 1e-12);
        assert!((p.terms[0].pseudo_f - 200.0).abs() < 1e-9);
        assert!((p.terms[0].omega2 - 199.0 / 203.0).abs() < 1e-12);
        assert_eq!(p.df_residual, 2);
    }

    /// A 2 x 3 design with 2 replicates: factor A shifts y by 10, factor B does nothing but
    /// noise. Sums of squares by hand: cell means are 10·a + e_b with e = (0, 0.5, -0.5)...
    /// simpler: checked against the textbook two-way ANOVA formulas computed here directly.
    #[test]
    fn two_way_anova_omega_squared_on_a_toy_design() {
        let a = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        let b = [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2];
        let noise = [
            0.3, -0.3, 0.1, -0.2, -0.1, 0.2, 0.2, -0.1, -0.3, 0.3, 0.1, -0.2,
        ];
        let y: Vec<f64> = (0..12).map(|i| 10.0 * a[i] as f64 + noise[i]).collect();
        let design = Design {
            factors: vec![a.to_vec(), b.to_vec()],
        };
        let p = permanova(
            &line_distances(&y),
            &design,
            &[vec![0], vec![1], vec![0, 1]],
        )
        .unwrap();
        // Direct formulas.
        let grand = mean(&y);
        let m = |f: &dyn Fn(usize) -> bool| {
            let v: Vec<f64> = (0..12).filter(|&i| f(i)).map(|i| y[i]).collect();
            mean(&v)
        };
        let ss_a: f64 = (0..2)
            .map(|l| 6.0 * (m(&|i| a[i] == l) - grand).powi(2))
            .sum();
        let ss_b: f64 = (0..3)
            .map(|l| 4.0 * (m(&|i| b[i] == l) - grand).powi(2))
            .sum();
        let ss_cells: f64 = (0..2)
            .flat_map(|x| (0..3).map(move |z| (x, z)))
            .map(|(x, z)| 2.0 * (m(&|i| a[i] == x && b[i] == z) - grand).powi(2))
            .sum();
        let ss_t: f64 = y.iter().map(|v| (v - grand).powi(2)).sum();
        assert!((p.ss_total - ss_t).abs() < 1e-9);
        assert!((p.terms[0].ss - ss_a).abs() < 1e-9);
        assert!((p.terms[1].ss - ss_b).abs() < 1e-9);
        assert!((p.terms[2].ss - (ss_cells - ss_a - ss_b)).abs() < 1e-9);
        assert_eq!(
            (p.terms[0].df, p.terms[1].df, p.terms[2].df, p.df_residual),
            (1, 2, 2, 6)
        );
        let ms_res = (ss_t - ss_cells) / 6.0;
        let omega_a = (ss_a - ms_res) / (ss_t + ms_res);
        assert!((p.terms[0].omega2 - omega_a).abs() < 1e-12);
        assert!(
            p.terms[0].omega2 > 0.95,
            "A dominates: {}",
            p.terms[0].omega2
        );
        assert!(p.terms[1].omega2 < 0.01, "B is null: {}", p.terms[1].omega2);

        let mut rng = rng_for(3, "test/permanova");
        // A: permute A's labels within each level of B (exact: 2^3 relabellings; the global
        // swap gives the same partition, so the floor is 2/8).
        let t = permutation_test(
            &line_distances(&y),
            &design,
            &[vec![0], vec![1], vec![0, 1]],
            &Restriction {
                term: 0,
                permuted: 0,
                strata: vec![1],
            },
            1000,
            &mut rng,
        )
        .unwrap();
        assert!(t.exact);
        assert_eq!((t.permutations, t.floor, t.p), (8, 0.25, 0.25));
        // B: permuting B within A is far from significant.
        let t = permutation_test(
            &line_distances(&y),
            &design,
            &[vec![0], vec![1], vec![0, 1]],
            &Restriction {
                term: 1,
                permuted: 1,
                strata: vec![0],
            },
            1000,
            &mut rng,
        )
        .unwrap();
        assert!(t.exact && t.permutations == 36 && t.p > 0.2, "{t:?}");
    }

    #[test]
    fn expected_jaccard_matches_enumeration() {
        for n in 1..=8usize {
            for k in 0..=n {
                let subsets: Vec<Vec<usize>> = (0u32..1 << n)
                    .filter(|m| m.count_ones() as usize == k)
                    .map(|m| (0..n).filter(|i| m >> i & 1 == 1).collect())
                    .collect();
                let brute = mean(
                    &subsets
                        .iter()
                        .flat_map(|a| subsets.iter().map(move |b| jaccard(a, b)))
                        .collect::<Vec<_>>(),
                );
                assert!(
                    (expected_jaccard(n, k) - brute).abs() < 1e-12,
                    "n {n} k {k}"
                );
            }
        }
        // The figures: k = 2 of 28 and of 16 removable blocks.
        assert!((expected_jaccard(28, 2) - 0.049).abs() < 5e-4);
        assert!((expected_jaccard(16, 2) - 0.086).abs() < 5e-4);
        assert!(expected_jaccard(3, 4).is_nan());
        assert_eq!(chance_corrected(1.0, 0.2), 1.0);
        assert_eq!(chance_corrected(0.2, 0.2), 0.0);
        assert!(chance_corrected(1.0, 1.0).is_nan());
    }

    #[test]
    fn sign_flip_p_by_hand() {
        // d = (3, 1, -2): sums over the 8 sign assignments: 2, -4, 0, 6, -6, 0, 4, -2 (flip
        // bits on 3, 1, -2). Observed 2; at least 2: {2, 6, 4} = 3 of 8.
        let t = sign_flip_greater(&[3.0, 1.0, -2.0]).unwrap();
        assert_eq!((t.p, t.floor, t.n), (3.0 / 8.0, 1.0 / 8.0, 3));
        assert!((t.mean - 2.0 / 3.0).abs() < 1e-12);
        // All five positive: only the identity is as large, p = 1/32.
        assert_eq!(
            sign_flip_greater(&[0.1, 0.2, 0.3, 0.4, 0.5]).unwrap().p,
            1.0 / 32.0
        );
        // All zero: every assignment ties, p = 1.
        assert_eq!(sign_flip_greater(&[0.0, 0.0]).unwrap().p, 1.0);
        assert!(sign_flip_greater(&[]).is_none());
        assert!(sign_flip_greater(&[1.0, f64::NAN]).is_none());
    }

    /// The halves' sums count exactly what enumerating every assignment counts, ties
    /// included (values on a small grid tie often), at odd and even sizes.
    #[test]
    fn sign_flip_meet_in_the_middle_counts_like_enumeration() {
        use rand::Rng;
        let mut rng = crate::rng::rng_for(5, "test/sign-flip");
        for n in 1..=13 {
            for grid in [true, false] {
                let d: Vec<f64> = (0..n)
                    .map(|_| match grid {
                        true => rng.random_range(-3..=3) as f64 * 0.1,
                        false => rng.random_range(-1.0..1.0),
                    })
                    .collect();
                let observed: f64 = d.iter().sum();
                let tolerance = 1e-12 * d.iter().map(|x| x.abs()).sum::<f64>().max(1e-300);
                let enumerated = (0..1u64 << n)
                    .filter(|signs| {
                        let sum: f64 = d
                            .iter()
                            .enumerate()
                            .map(|(i, x)| if signs >> i & 1 == 1 { -x } else { *x })
                            .sum();
                        sum >= observed - tolerance
                    })
                    .count();
                let t = sign_flip_greater(&d).unwrap();
                assert_eq!(t.p, enumerated as f64 / (1u64 << n) as f64, "{d:?}");
            }
        }
    }

    #[test]
    fn sign_flip_beyond_exact_is_monte_carlo_near_the_binomial_p() {
        // 30 resamples of equal magnitude, 20 positive: the sum under random signs is 2X - 30,
        // X ~ Binomial(30, 1/2), so p = P(X >= 20) = 0.04937 exactly.
        let d: Vec<f64> = (0..30).map(|i| if i < 20 { 1.0 } else { -1.0 }).collect();
        let t = sign_flip_greater(&d).unwrap();
        let exact: f64 = (20..=30u64)
            .map(|x| {
                (0..x).fold(1.0, |c: f64, i| c * (30 - i) as f64 / (i + 1) as f64) / 2f64.powi(30)
            })
            .sum();
        assert!((exact - 0.04937).abs() < 1e-4, "{exact}");
        // Five standard errors of a Monte Carlo p at this size.
        assert!((t.p - exact).abs() < 5.0 * 7e-4, "{} vs {exact}", t.p);
        assert_eq!(t.draws, Some(MONTE_CARLO_SIGN_FLIPS));
        assert_eq!(t.floor, 1.0 / (MONTE_CARLO_SIGN_FLIPS + 1) as f64);
        // All positive: no random assignment reaches the identity's sum, so p is the floor.
        let all = sign_flip_greater(&[0.5; 30]).unwrap();
        assert_eq!(all.p, all.floor);
        // The same data give the same p (the draws are seeded).
        assert_eq!(sign_flip_greater(&d).unwrap().p, t.p);
        // At the largest exact size it stays exact.
        assert_eq!(sign_flip_greater(&[1.0; 24]).unwrap().draws, None);
    }

    #[test]
    fn holm_by_hand() {
        // Sorted 0.01, 0.02, 0.04 (m = 3): 0.03, max(0.03, 0.04) = 0.04, max(0.04, 0.04).
        let adj = holm(&[0.04, 0.01, 0.02]);
        assert!((adj[1] - 0.03).abs() < 1e-12);
        assert!((adj[2] - 0.04).abs() < 1e-12);
        assert!((adj[0] - 0.04).abs() < 1e-12);
        let adj = holm(&[0.5, f64::NAN]);
        assert_eq!(adj[0], 0.5);
        assert!(adj[1].is_nan());
    }

    #[test]
    fn spread_is_a_range_below_ten_resamples_and_a_t_interval_from_ten() {
        assert_eq!(
            spread(&[0.3, 0.1, 0.2], 0.05),
            Some(Spread::Range { min: 0.1, max: 0.3 })
        );
        let xs: Vec<f64> = (0..10).map(|i| i as f64).collect();
        // mean 4.5, sd sqrt(110/12) = 3.0277, t(0.975, 9) = 2.2622: half-width 2.1659.
        match spread(&xs, 0.05).unwrap() {
            Spread::Interval { low, high, .. } => {
                assert!((low - (4.5 - 2.16587)).abs() < 1e-4, "{low}");
                assert!((high - (4.5 + 2.16587)).abs() < 1e-4, "{high}");
            }
            other => panic!("{other:?}"),
        }
        assert!(spread(&[1.0, f64::NAN], 0.05).is_none());
    }

    #[test]
    fn undefined_inputs_give_nan_not_a_panic() {
        assert!(kendall_tau_b(&[1.0, f64::NAN], &[1.0, 2.0]).is_nan());
        assert!(kendall_tau_b(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }
}
