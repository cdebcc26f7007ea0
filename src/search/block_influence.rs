//! Block influence (ShortGPT): `1 − mean cosine(input, output)` of each block on the
//! calibration inputs, with every block running. Objective-free: a block that barely changes
//! its input looks redundant. As a searcher it removes the k least influential blocks and
//! scores that set once.

use anyhow::Result;
use candle_core::{DType, D};

use super::{complete_ranking, Found, Oracle, Problem, Searcher};
use crate::model::{BlockMask, Model};
use crate::objective::Workload;

/// Influence of every block, averaged over all token positions of the workload.
pub fn block_influence(model: &Model, workload: &Workload) -> Result<Vec<f64>> {
    let n = model.n_blocks();
    let mut sums = vec![0.0f64; n];
    let mut count = 0usize;
    let full = BlockMask::full(n);
    for batch in &workload.batches {
        let mut x = model.embed(&batch.tokens)?;
        for (slot, i) in full.kept().enumerate() {
            let y = model.run_block(i, slot, &x, &batch.layout)?;
            let cos = (&x * &y)?.sum(D::Minus1)?
                / (x.sqr()?.sum(D::Minus1)?.sqrt()? * y.sqr()?.sum(D::Minus1)?.sqrt()?)?;
            let cos: Vec<f32> = cos?.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
            sums[i] += cos.iter().map(|&c| 1.0 - c as f64).sum::<f64>();
            if i == 0 {
                count += cos.len();
            }
            x = y;
        }
    }
    Ok(sums.into_iter().map(|s| s / count as f64).collect())
}

/// Removes the k blocks of lowest influence.
pub struct BlockInfluence {
    pub influence: Vec<f64>,
}

impl Searcher for BlockInfluence {
    fn name(&self) -> &'static str {
        "block_influence"
    }

    fn default_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn min_budget(&self, _problem: &Problem) -> usize {
        1
    }

    fn run(&self, problem: &Problem, oracle: &mut Oracle, _seed: u64) -> Result<Found> {
        // Least influential first, whatever the objective's direction.
        let as_min = Problem {
            direction: crate::objective::Direction::Minimize,
            ..problem.clone()
        };
        let ranking = complete_ranking(&as_min, &[], |b| self.influence[b]);
        let removed = ranking[..problem.k].to_vec();
        let score = oracle.score(&removed)?;
        Ok(Found {
            removed,
            score,
            ranking,
        })
    }
}
