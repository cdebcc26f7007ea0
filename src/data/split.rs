//! Calibration and evaluation samples that never overlap.
//!
//! A source's units (articles, or task records) are shuffled once by a fixed partition seed
//! and cut in two pools: the first half calibrates, the second half evaluates. An objective's
//! sample is then drawn from one pool with its own seed. Disjointness holds by construction,
//! whatever the sample seeds, so calibration resamples never leak into evaluation.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::rng::rng_for;

/// Seed of the pool partition. Part of every objective description; changing it changes
/// which units may ever be used for calibration.
pub const DEFAULT_PARTITION_SEED: u64 = 20_240_601;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Calibration,
    Evaluation,
}

/// Indices of the units of `source` (with `n_units` units) in `split`'s pool, in pool order.
pub fn pool(n_units: usize, source: &str, partition_seed: u64, split: Split) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n_units).collect();
    order.shuffle(&mut rng_for(partition_seed, &format!("partition/{source}")));
    let cut = n_units / 2;
    match split {
        Split::Calibration => order[..cut].to_vec(),
        Split::Evaluation => order[cut..].to_vec(),
    }
}

/// `n` indices drawn without replacement from `pool` by `seed` (all of them, shuffled, when
/// `n >= pool.len()`).
pub fn sample(pool: &[usize], n: usize, source: &str, seed: u64) -> Vec<usize> {
    let mut drawn = pool.to_vec();
    drawn.shuffle(&mut rng_for(seed, &format!("sample/{source}")));
    drawn.truncate(n);
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_partition_the_units() {
        for n in [0, 1, 7, 60, 1172] {
            let cal = pool(n, "src", 3, Split::Calibration);
            let eval = pool(n, "src", 3, Split::Evaluation);
            assert_eq!(cal.len() + eval.len(), n);
            let mut all: Vec<usize> = cal.iter().chain(&eval).copied().collect();
            all.sort();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn samples_are_seeded_and_stay_in_their_pool() {
        let cal = pool(100, "src", 3, Split::Calibration);
        let a = sample(&cal, 10, "src", 1);
        assert_eq!(a, sample(&cal, 10, "src", 1));
        assert_ne!(a, sample(&cal, 10, "src", 2));
        assert!(a.iter().all(|i| cal.contains(i)));
    }
}
