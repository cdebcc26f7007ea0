//! The model measurements the objective-free baselines rank blocks by, taken on a calibration
//! workload with every block running: block influence ([`crate::influence`]) and angular
//! distance ([`crate::angular`]).

use anyhow::{bail, Result};

use crate::model::Model;
use crate::search::{Measure, Measured};
use crate::workload::Workload;

pub fn measure(what: Measure, model: &Model, workload: &Workload) -> Result<Measured> {
    if workload.batches.is_empty() {
        let name = match what {
            Measure::BlockInfluence => "block influence",
            Measure::AngularDistance => "angular distance",
        };
        bail!(
            "{name} measures the model on the objective's text, and this objective has none \
             (a noise objective names its text with `text: {{n_seqs: 2, seq_len: 128}}`)"
        );
    }
    Ok(match what {
        Measure::BlockInfluence => {
            Measured::BlockInfluence(crate::influence::block_influence(model, workload)?)
        }
        Measure::AngularDistance => {
            Measured::AngularDistance(crate::angular::angular_distances(model, workload)?.distance)
        }
    })
}
