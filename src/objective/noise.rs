//! [`NoiseObjective`]: a control objective that scores every set of removed blocks with a
//! seeded uniform draw, whatever the model does without them.
//!
//! With `additive: true` the draws are per block and a set scores the sum of its blocks'
//! draws: the limit of an objective whose errors add, where ranking blocks by their single
//! removals orders every set exactly. EvoPress's claim that error monotonicity fails must fail
//! there (`suites/control-additive-objective.yaml`).
//!
//! It is the limit of an unreliable objective: its one-shot ranking on one calibration seed
//! says nothing about the next seed's, and nothing about any real objective's. A claim that
//! reads disagreement between two objectives as "they aim at different blocks" must not hold
//! when one of them is this (`suites/control-noise-objective.yaml`): the disagreement is
//! unreliability, not function. It runs no model, so such a control costs what its other
//! objective costs.
//!
//! With `text:` (perplexity windows, drawn with the noise's own seed) the objective-free
//! baselines, block influence and angular distance, measure the model on real text while
//! every score stays noise: their rankings then meet objectives that aim at no block, and a
//! claim that they track the objective must not hold
//! (`suites/control-noise-measures.yaml`).

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{Evaluation, Objective, ObjectiveSpec, PerplexityObjective, PerplexitySpec, Workload};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseSpec {
    /// Which draws: one seed is one "calibration sample" of noise.
    #[serde(default)]
    pub seed: u64,
    /// One draw per block, a set scoring the sum of its blocks' draws (instead of one draw per
    /// set). Left out of the spec when false, so plain noise keeps its key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub additive: bool,
    /// Text the objective-free baselines measure the model on; scores never read it. Its
    /// windows are drawn with `seed` (a `seed` written here is ignored), so a calibration seed
    /// resamples them with the draws. Left out of the spec when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<PerplexitySpec>,
}

impl NoiseSpec {
    /// The windows `text` names at this noise's seed.
    pub fn text_at_seed(&self) -> Option<PerplexitySpec> {
        self.text.clone().map(|t| PerplexitySpec {
            seed: self.seed,
            ..t
        })
    }
}

pub struct NoiseObjective {
    spec: ObjectiveSpec,
    /// No items: a single fidelity level, nothing for the model to run.
    workload: Workload,
    /// The windows of `text`, empty without it.
    measured_on: Workload,
}

impl NoiseObjective {
    pub fn new(spec: NoiseSpec) -> Self {
        Self {
            spec: ObjectiveSpec::Noise(spec),
            workload: Workload {
                batches: Vec::new(),
                n_items: 0,
                first_rung: 1,
                groups: Vec::new(),
            },
            measured_on: Workload::empty(),
        }
    }

    /// Draws the windows of the spec's `text` for `model`'s tokenization.
    pub fn measuring(
        mut self,
        model: &dyn crate::model::Tokenization,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Self> {
        if let Some(text) = self.noise_spec().text_at_seed() {
            self.measured_on = PerplexityObjective::new(text, model, data_dir)?.into_workload();
        }
        Ok(self)
    }

    fn noise_spec(&self) -> &NoiseSpec {
        match &self.spec {
            ObjectiveSpec::Noise(n) => n,
            _ => unreachable!("a noise objective's spec is a noise spec"),
        }
    }
}

impl Objective for NoiseObjective {
    fn spec(&self) -> &ObjectiveSpec {
        &self.spec
    }

    fn workload(&self) -> &Workload {
        &self.workload
    }

    fn measured_on(&self) -> &Workload {
        &self.measured_on
    }

    /// A uniform draw on [0, 1) from the seed and the removed set alone (sorted, as masks
    /// list them), so the same set scores the same on any machine and in any order of asking;
    /// additive: the sum of such draws, one per removed block.
    fn finish(&self, removed: &[usize], _item_log_probs: &[f64]) -> Evaluation {
        let &NoiseSpec { seed, additive, .. } = self.noise_spec();
        let draw = |label: String| -> f64 { crate::rng::rng_for(seed, &label).random() };
        let value = match additive {
            false => draw(format!("noise-objective/{removed:?}")),
            true => removed
                .iter()
                .map(|b| draw(format!("additive-objective/{b}")))
                .sum(),
        };
        Evaluation {
            value,
            metrics: BTreeMap::from([("noise".to_string(), value)]),
        }
    }

    /// It has no items, hence a single fidelity level: the sieve never compares its
    /// candidates on part of them, and this is never asked below the full score.
    fn partial(&self, _item_log_probs: &[f64], _batches: usize) -> f64 {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_scores_the_same_every_time_and_seeds_differ() {
        let a = NoiseObjective::new(NoiseSpec {
            seed: 1,
            additive: false,
            text: None,
        });
        let b = NoiseObjective::new(NoiseSpec {
            seed: 2,
            additive: false,
            text: None,
        });
        let x = a.finish(&[3, 7], &[]).value;
        assert_eq!(x, a.finish(&[3, 7], &[]).value);
        assert!((0.0..1.0).contains(&x));
        assert_ne!(x, a.finish(&[3, 8], &[]).value);
        assert_ne!(x, b.finish(&[3, 7], &[]).value);
    }

    /// `text` is drawn at the noise's seed whatever seed it names, and leaves the scores alone.
    #[test]
    fn text_follows_the_noise_seed_and_scores_ignore_it() {
        let text = PerplexitySpec {
            seed: 99,
            ..serde_json::from_str("{}").unwrap()
        };
        let spec = NoiseSpec {
            seed: 3,
            additive: false,
            text: Some(text),
        };
        assert_eq!(spec.text_at_seed().unwrap().seed, 3);
        let plain = NoiseSpec {
            text: None,
            ..spec.clone()
        };
        let mut reseeded = spec.clone();
        reseeded.text.as_mut().unwrap().seed = 5;
        assert_eq!(
            ObjectiveSpec::Noise(reseeded).key(),
            ObjectiveSpec::Noise(spec.clone()).key(),
            "a seed written in `text` is ignored, so it is not part of the key"
        );
        let (a, b) = (NoiseObjective::new(spec), NoiseObjective::new(plain));
        assert_eq!(a.finish(&[1, 4], &[]).value, b.finish(&[1, 4], &[]).value);
        assert_ne!(
            ObjectiveSpec::Noise(NoiseSpec::default()).key(),
            a.spec().key()
        );
    }

    /// Over many sets the draws look uniform: mean near 1/2, no two equal.
    #[test]
    fn draws_spread_over_the_unit_interval() {
        let o = NoiseObjective::new(NoiseSpec::default());
        let values: Vec<f64> = (0..30)
            .flat_map(|a| (a + 1..30).map(move |b| (a, b)))
            .map(|(a, b)| o.finish(&[a, b], &[]).value)
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        assert_eq!(sorted.len(), values.len());
    }

    /// Additive: a set scores exactly the sum of its blocks' single scores, and seeds differ;
    /// plain noise keeps the key it had before the field existed.
    #[test]
    fn additive_draws_sum_over_the_blocks() {
        let o = NoiseObjective::new(NoiseSpec {
            seed: 4,
            additive: true,
            text: None,
        });
        let single = |b: usize| o.finish(&[b], &[]).value;
        let joint = o.finish(&[2, 9, 17], &[]).value;
        assert_eq!(joint, single(2) + single(9) + single(17));
        let other = NoiseObjective::new(NoiseSpec {
            seed: 5,
            additive: true,
            text: None,
        });
        assert_ne!(single(2), other.finish(&[2], &[]).value);
        let plain = ObjectiveSpec::Noise(NoiseSpec::default());
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"kind":"noise","seed":0}"#
        );
    }
}
