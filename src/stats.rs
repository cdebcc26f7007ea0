//! Agreement statistics between the block sets and rankings that objectives and searchers
//! choose: Jaccard similarity, Kendall τ-b, Spearman ρ, percentile bootstrap intervals,
//! permutation p-values, and a PERMANOVA-style partition of distances by factor.

use rand::Rng;

/// |A ∩ B| / |A ∪ B|; two empty sets are identical (1).
pub fn jaccard(a: &[usize], b: &[usize]) -> f64 {
    let inter = a.iter().filter(|x| b.contains(x)).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// Kendall's τ-b, which corrects for ties in either variable. `NaN` when either variable is
/// constant.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "kendall_tau_b needs paired samples");
    let n = x.len();
    let (mut concordant, mut discordant, mut ties_x, mut ties_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[i].partial_cmp(&x[j]).expect("no NaN");
            let dy = y[i].partial_cmp(&y[j]).expect("no NaN");
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
    order.sort_by(|&a, &b| x[a].partial_cmp(&x[b]).expect("no NaN"));
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

/// Percentile bootstrap interval at level `1 - alpha` of `statistic` over `samples`.
pub fn bootstrap_ci<T: Clone>(
    samples: &[T],
    statistic: impl Fn(&[T]) -> f64,
    resamples: usize,
    alpha: f64,
    rng: &mut impl Rng,
) -> (f64, f64) {
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| {
            let draw: Vec<T> = (0..samples.len())
                .map(|_| samples[rng.random_range(0..samples.len())].clone())
                .collect();
            statistic(&draw)
        })
        .collect();
    stats.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    (
        quantile(&stats, alpha / 2.0),
        quantile(&stats, 1.0 - alpha / 2.0),
    )
}

/// Linear-interpolated quantile of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// One-sided permutation p-value: the chance, with group labels shuffled, of a statistic at
/// least as large as the observed one. `statistic(labels)` is computed for the observed
/// labels and for `permutations` shuffles of them; the +1s count the observed labelling.
pub fn permutation_p_value(
    labels: &[usize],
    statistic: impl Fn(&[usize]) -> f64,
    permutations: usize,
    rng: &mut impl Rng,
) -> (f64, f64) {
    use rand::seq::SliceRandom;
    let observed = statistic(labels);
    let mut shuffled = labels.to_vec();
    let mut at_least = 0;
    for _ in 0..permutations {
        shuffled.shuffle(rng);
        if statistic(&shuffled) >= observed - 1e-12 {
            at_least += 1;
        }
    }
    (observed, (at_least + 1) as f64 / (permutations + 1) as f64)
}

/// One factor's share of a distance matrix (PERMANOVA, Anderson 2001): `(R², pseudo-F)`,
/// with `R² = SS_between / SS_total` from squared distances.
pub fn permanova(distances: &[Vec<f64>], groups: &[usize]) -> (f64, f64) {
    let n = groups.len();
    let n_groups = {
        let mut g = groups.to_vec();
        g.sort_unstable();
        g.dedup();
        g.len()
    };
    let mut total = 0.0;
    let mut within = 0.0;
    let mut size = std::collections::HashMap::new();
    for &g in groups {
        *size.entry(g).or_insert(0usize) += 1;
    }
    for i in 0..n {
        for j in i + 1..n {
            let d2 = distances[i][j].powi(2);
            total += d2;
            if groups[i] == groups[j] {
                within += d2 / size[&groups[i]] as f64;
            }
        }
    }
    let total = total / n as f64;
    let between = total - within;
    let f = (between / (n_groups - 1) as f64) / (within / (n - n_groups) as f64);
    (between / total, f)
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn bootstrap_interval_covers_the_mean_about_as_often_as_promised() {
        let mut rng = rng_for(1, "test/bootstrap");
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        let mut covered = 0;
        let trials = 200;
        for _ in 0..trials {
            // Uniform(0, 1) samples, true mean 0.5.
            let sample: Vec<f64> = (0..60).map(|_| rng.random::<f64>()).collect();
            let (lo, hi) = bootstrap_ci(&sample, mean, 400, 0.10, &mut rng);
            covered += (lo <= 0.5 && 0.5 <= hi) as usize;
        }
        let rate = covered as f64 / trials as f64;
        // Nominal 90%; the percentile bootstrap runs slightly narrow at n = 60.
        assert!((0.82..=0.96).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn permutation_p_value_of_a_separated_case() {
        let values = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0];
        let labels = [0, 0, 0, 1, 1, 1];
        let diff = |l: &[usize]| {
            let m = |g| {
                let v: Vec<f64> = values
                    .iter()
                    .zip(l)
                    .filter(|(_, &x)| x == g)
                    .map(|(v, _)| *v)
                    .collect();
                v.iter().sum::<f64>() / v.len() as f64
            };
            m(1) - m(0)
        };
        let mut rng = rng_for(2, "test/permutation");
        let (observed, p) = permutation_p_value(&labels, diff, 20_000, &mut rng);
        assert_eq!(observed, 9.0);
        // Exactly 1 of the C(6,3) = 20 labellings is this extreme: p = 0.05.
        assert!((p - 0.05).abs() < 0.006, "p = {p}");
        let (_, p_null) = permutation_p_value(&[0, 1, 0, 1, 0, 1], diff, 2_000, &mut rng);
        assert!(p_null > 0.2, "p = {p_null}");
    }

    #[test]
    fn permanova_on_a_toy_matrix() {
        // Points 0, 1 (group 0) and 10, 11 (group 1) on a line: SS_T = 404 / 4 = 101,
        // SS_W = 1/2 + 1/2 = 1, R² = 100 / 101, F = (100 / 1) / (1 / 2) = 200.
        let x = [0.0f64, 1.0, 10.0, 11.0];
        let d: Vec<Vec<f64>> = x
            .iter()
            .map(|a| x.iter().map(|b| (a - b).abs()).collect())
            .collect();
        let (r2, f) = permanova(&d, &[0, 0, 1, 1]);
        assert!((r2 - 100.0 / 101.0).abs() < 1e-12);
        assert!((f - 200.0).abs() < 1e-9);
    }
}
