//! The model measurements the objective-free baselines rank blocks by, taken on a calibration
//! workload with every block running: block influence ([`crate::influence`]) and angular
//! distance ([`crate::angular`]).

use anyhow::Result;

use crate::model::Model;
use crate::search::{Measure, Measured};
use crate::workload::Workload;

pub fn measure(what: Measure, model: &Model, workload: &Workload) -> Result<Measured> {
    Ok(match what {
        Measure::BlockInfluence => {
            Measured::BlockInfluence(crate::influence::block_influence(model, workload)?)
        }
        Measure::AngularDistance => {
            Measured::AngularDistance(crate::angular::angular_distances(model, workload)?.distance)
        }
    })
}
