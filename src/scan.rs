//! The one-shot scan: the objective with each single block removed, next to the full model.

use anyhow::Result;
use serde::Serialize;

use crate::evaluator::Evaluator;
use crate::model::BlockMask;
use crate::objective::Evaluation;
use crate::progress::Progress;

#[derive(Debug, Clone, Serialize)]
pub struct ScanRow {
    pub block: usize,
    pub value: f64,
    /// `value - full`.
    pub delta: f64,
    pub metrics: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    pub full: Evaluation,
    pub rows: Vec<ScanRow>,
}

/// Scores the full model, then each block removed alone, in block order (so the prefix cache
/// filled by the full model serves every removal).
pub fn one_shot_scan(evaluator: &mut Evaluator, quiet: bool) -> Result<Scan> {
    let n = evaluator.n_blocks();
    let bar = Progress::new("scan", Some(n as u64 + 1), "evaluations", quiet);
    let full_mask = BlockMask::full(n);
    let singles: Vec<BlockMask> = (0..n)
        .map(|b| BlockMask::with_removed(n, &[b]))
        .collect::<Result<_>>()?;
    // A resumed scan gets the full model from the store; its streams still serve the rest.
    let pending = singles.iter().filter(|m| !evaluator.is_known(m)).count();
    if evaluator.is_known(&full_mask) && pending > 1 {
        evaluator.warm(&full_mask)?;
    }
    let full = evaluator.evaluate(&full_mask)?;
    bar.inc(1);
    let mut rows = Vec::with_capacity(n);
    for (block, mask) in singles.iter().enumerate() {
        let e = evaluator.evaluate(mask)?;
        rows.push(ScanRow {
            block,
            value: e.value,
            delta: e.value - full.value,
            metrics: e.metrics,
        });
        bar.inc(1);
    }
    bar.finish();
    Ok(Scan { full, rows })
}
