//! Where a model's tensors live and in which float type: the one place that knows about
//! devices. Everything else follows the tensors it is given (`x.device()`, `x.dtype()`).
//!
//! The CPU runs f32 (fastest there, and what the reference fixtures are matched in). With the
//! `cuda` cargo feature, `cuda` or `cuda:N` selects a GPU, where bf16 or f16 halve the memory of
//! 8B-class models. Scores are always accumulated in f32/f64 whatever the weights' type.

use anyhow::{bail, Result};
use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use super::weights::WeightSource;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceSpec {
    #[default]
    Cpu,
    Cuda(usize),
}

impl std::str::FromStr for DeviceSpec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda(0)),
            _ => match s.strip_prefix("cuda:").map(str::parse) {
                Some(Ok(n)) => Ok(Self::Cuda(n)),
                _ => bail!("unknown device '{s}': use cpu, cuda or cuda:N"),
            },
        }
    }
}

impl TryFrom<String> for DeviceSpec {
    type Error = anyhow::Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<DeviceSpec> for String {
    fn from(d: DeviceSpec) -> String {
        match d {
            DeviceSpec::Cpu => "cpu".into(),
            DeviceSpec::Cuda(n) => format!("cuda:{n}"),
        }
    }
}

impl DeviceSpec {
    pub fn device(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::Cpu),
            #[cfg(feature = "cuda")]
            DeviceSpec::Cuda(n) => Ok(Device::new_cuda(n)?),
            #[cfg(not(feature = "cuda"))]
            DeviceSpec::Cuda(_) => bail!(
                "this depthprune was built without CUDA: rebuild with `cargo build --release --features cuda` on a machine with the CUDA toolkit"
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
    F16,
}

impl Precision {
    pub fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::Bf16 => DType::BF16,
            Precision::F16 => DType::F16,
        }
    }
}

/// Hands out another source's tensors on `device` in `dtype`.
pub struct Placed<'a> {
    pub inner: &'a mut dyn WeightSource,
    pub device: Device,
    pub dtype: DType,
}

impl WeightSource for Placed<'_> {
    fn tensor(&mut self, name: &str) -> Result<Tensor> {
        Ok(self
            .inner
            .tensor(name)?
            .to_dtype(self.dtype)?
            .to_device(&self.device)?)
    }

    fn has_tensor(&self, name: &str) -> bool {
        self.inner.has_tensor(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_cuda_needs_the_feature() {
        assert_eq!("cpu".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!("cuda".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        assert_eq!("cuda:3".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(3));
        assert!("gpu".parse::<DeviceSpec>().is_err());
        assert!("cuda:x".parse::<DeviceSpec>().is_err());
        assert!(DeviceSpec::Cpu.device().unwrap().is_cpu());
        #[cfg(not(feature = "cuda"))]
        assert!(
            format!("{}", DeviceSpec::Cuda(0).device().unwrap_err()).contains("--features cuda")
        );
    }
}
