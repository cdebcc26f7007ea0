//! Block influence (ShortGPT): `1 − mean cosine(input, output)` of each block on a workload's
//! inputs, every block running. The `block_influence` searcher ranks blocks by it.

use anyhow::Result;
use candle_core::{DType, D};

use crate::model::{BlockMask, Model};
use crate::workload::Workload;

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
