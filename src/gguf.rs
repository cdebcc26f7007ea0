//! Reading a GGUF file: typed metadata look-ups and weights dequantised to f32.
//!
//! Every weight is dequantised at load time: on a 2-core CPU candle's quantised matmul prefills
//! ~30x slower than its f32 matmul, and prefill is all this harness does.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{Device, Tensor};

/// An open GGUF file: its parsed header and a reader for the tensor data.
pub struct GgufFile {
    path: PathBuf,
    content: Content,
    reader: BufReader<File>,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path)
            .with_context(|| format!("cannot open model file {}", path.display()))?;
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader).map_err(|e| {
            anyhow!(
                "{} is not a readable GGUF file ({e}); re-download it or point --model at a valid .gguf",
                path.display()
            )
        })?;
        let this = Self {
            path: path.to_path_buf(),
            content,
            reader,
        };
        this.check_complete()?;
        Ok(this)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A truncated download parses (the header is at the front) and then fails deep inside a
    /// tensor read; checking every tensor's extent up front turns that into one clear message.
    fn check_complete(&self) -> Result<()> {
        let file_len = std::fs::metadata(&self.path)?.len();
        let needed = self
            .content
            .tensor_infos
            .values()
            .map(|info| {
                let elems = info.shape.elem_count();
                let bytes = elems / info.ggml_dtype.block_size() * info.ggml_dtype.type_size();
                self.content.tensor_data_offset + info.offset + bytes as u64
            })
            .max()
            .unwrap_or(0);
        if needed > file_len {
            bail!(
                "{} is truncated: its tensors need {needed} bytes but the file has {file_len}; \
                 delete it and fetch the model again",
                self.path.display()
            );
        }
        Ok(())
    }

    pub fn architecture(&self) -> Result<String> {
        Ok(self.string("general.architecture")?.to_string())
    }

    fn value(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    fn required(&self, key: &str) -> Result<&Value> {
        self.value(key).ok_or_else(|| {
            anyhow!(
                "{}: GGUF metadata key '{key}' is missing",
                self.path.display()
            )
        })
    }

    pub fn has(&self, key: &str) -> bool {
        self.value(key).is_some()
    }

    pub fn u32(&self, key: &str) -> Result<u32> {
        let v = self.required(key)?;
        // Writers differ in the integer width they use for counts.
        v.to_u32()
            .or_else(|_| v.to_u64().map(|x| x as u32))
            .or_else(|_| v.to_i32().map(|x| x as u32))
            .map_err(|e| anyhow!("{}: metadata '{key}': {e}", self.path.display()))
    }

    pub fn f32(&self, key: &str) -> Result<f32> {
        let v = self.required(key)?;
        v.to_f32()
            .or_else(|_| v.to_f64().map(|x| x as f32))
            .map_err(|e| anyhow!("{}: metadata '{key}': {e}", self.path.display()))
    }

    pub fn opt_f32(&self, key: &str) -> Result<Option<f32>> {
        if self.has(key) {
            self.f32(key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        if self.has(key) {
            self.u32(key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.value(key) {
            None => Ok(default),
            Some(v) => v
                .to_bool()
                .map_err(|e| anyhow!("{}: metadata '{key}': {e}", self.path.display())),
        }
    }

    pub fn string(&self, key: &str) -> Result<&str> {
        self.required(key)?
            .to_string()
            .map(|s| s.as_str())
            .map_err(|e| anyhow!("{}: metadata '{key}': {e}", self.path.display()))
    }

    pub fn opt_string(&self, key: &str) -> Option<&str> {
        self.value(key)
            .and_then(|v| v.to_string().ok())
            .map(|s| s.as_str())
    }

    fn array(&self, key: &str) -> Result<&Vec<Value>> {
        self.required(key)?
            .to_vec()
            .map_err(|e| anyhow!("{}: metadata '{key}': {e}", self.path.display()))
    }

    pub fn string_array(&self, key: &str) -> Result<Vec<String>> {
        self.array(key)?
            .iter()
            .map(|v| v.to_string().cloned())
            .collect::<candle_core::Result<_>>()
            .map_err(|e| anyhow!("{}: metadata '{key}': {e}", self.path.display()))
    }

    pub fn f32_array(&self, key: &str) -> Result<Vec<f32>> {
        self.array(key)?
            .iter()
            .map(|v| v.to_f32())
            .collect::<candle_core::Result<_>>()
            .map_err(|e| anyhow!("{}: metadata '{key}': {e}", self.path.display()))
    }

    pub fn i32_array(&self, key: &str) -> Result<Vec<i32>> {
        self.array(key)?
            .iter()
            .map(|v| v.to_i32().or_else(|_| v.to_u32().map(|x| x as i32)))
            .collect::<candle_core::Result<_>>()
            .map_err(|e| anyhow!("{}: metadata '{key}': {e}", self.path.display()))
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// Reads one weight and dequantises it to f32. Shapes follow candle: `[out, in]` for matrices.
    pub fn tensor(&mut self, name: &str) -> Result<Tensor> {
        if !self.has_tensor(name) {
            bail!(
                "{}: tensor '{name}' is missing from the GGUF",
                self.path.display()
            );
        }
        let q = self
            .content
            .tensor(&mut self.reader, name, &Device::Cpu)
            .with_context(|| format!("{}: reading tensor '{name}'", self.path.display()))?;
        q.dequantize(&Device::Cpu)
            .with_context(|| format!("{}: dequantising tensor '{name}'", self.path.display()))
    }
}
