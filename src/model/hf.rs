//! Hugging Face checkpoints: a folder with `config.json`, `tokenizer.json` and safetensors
//! weights (one `model.safetensors` or shards listed in `model.safetensors.index.json`), as
//! downloaded into the hub cache or saved by `save_pretrained`.
//!
//! [`HfConfig`] reads the parts of config.json the architectures need; [`SafetensorsWeights`]
//! answers the architectures' GGUF-style tensor names from the Hugging Face ones, converting
//! every tensor to f32 and folding Gemma's `1 + w` into its norm weights, so each architecture
//! has one forward whatever the file format.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Tensor};
use serde::Deserialize;

use super::layers::RopeScaling;
use super::weights::WeightSource;

/// The fields of a Hugging Face `config.json` that the supported architectures read. Unknown
/// fields are ignored: configs carry many that do not affect the forward pass.
#[derive(Debug, Clone, Deserialize)]
pub struct HfConfig {
    pub model_type: String,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default)]
    pub head_dim: Option<usize>,
    pub rms_norm_eps: f64,
    #[serde(default)]
    pub rope_theta: Option<f64>,
    #[serde(default)]
    pub rope_scaling: Option<serde_json::Value>,
    #[serde(default)]
    pub attention_bias: Option<bool>,
    #[serde(default)]
    pub use_sliding_window: Option<bool>,
    #[serde(default)]
    pub sliding_window: Option<usize>,
    #[serde(default)]
    pub sliding_window_pattern: Option<usize>,
    #[serde(default)]
    pub layer_types: Option<Vec<String>>,
    #[serde(default)]
    pub rope_local_base_freq: Option<f64>,
    #[serde(default)]
    pub query_pre_attn_scalar: Option<f64>,
    #[serde(default)]
    pub final_logit_softcapping: Option<f64>,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
}

/// config.json as written: multimodal Gemma 3 nests the language model's config.
#[derive(Debug, Clone, Deserialize)]
struct ConfigFile {
    model_type: String,
    #[serde(default)]
    text_config: Option<serde_json::Value>,
    #[serde(default)]
    bos_token_id: Option<u32>,
}

/// The families a checkpoint can be, by `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Llama,
    Qwen,
    Gemma3,
}

impl HfConfig {
    /// Reads `config.json`; for a multimodal Gemma 3 the language model's `text_config`, and the
    /// prefix its weights carry (`language_model.`).
    pub fn load(path: &Path) -> Result<(Self, String)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let outer: ConfigFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a model config.json", path.display()))?;
        let (parsed, prefix) = match (outer.model_type.as_str(), outer.text_config) {
            ("gemma3", Some(mut inner)) => {
                // The nested config often omits model_type; it is the text model's.
                if let Some(o) = inner.as_object_mut() {
                    o.entry("model_type")
                        .or_insert_with(|| "gemma3_text".into());
                }
                (serde_json::from_value::<HfConfig>(inner), "language_model.")
            }
            _ => (serde_json::from_str::<HfConfig>(&text), ""),
        };
        let mut config = parsed.map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if config.bos_token_id.is_none() {
            config.bos_token_id = outer.bos_token_id;
        }
        config
            .family()
            .with_context(|| path.display().to_string())?;
        Ok((config, prefix.to_string()))
    }

    pub fn family(&self) -> Result<Family> {
        match self.model_type.as_str() {
            "llama" => Ok(Family::Llama),
            "qwen2" | "qwen3" => {
                if self.use_sliding_window == Some(true) {
                    bail!("Qwen sliding-window attention (use_sliding_window: true) is not supported");
                }
                Ok(Family::Qwen)
            }
            "gemma3_text" | "gemma3" => Ok(Family::Gemma3),
            other => bail!(
                "model_type '{other}' is not supported (supported: llama, qwen2, qwen3, gemma3_text)"
            ),
        }
    }

    pub fn n_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads)
    }

    /// The RoPE scaling config.json asks for; kinds not implemented are refused rather than
    /// ignored, since they change every score.
    pub fn rope_scaling(&self) -> Result<RopeScaling> {
        let Some(scaling) = self.rope_scaling.as_ref().filter(|v| !v.is_null()) else {
            return Ok(RopeScaling::None);
        };
        let kind = scaling
            .get("rope_type")
            .or_else(|| scaling.get("type"))
            .and_then(|v| v.as_str())
            .unwrap_or("?");
        let number = |key: &str| {
            scaling
                .get(key)
                .and_then(|f| f.as_f64())
                .map(|f| f as f32)
                .ok_or_else(|| anyhow!("rope_scaling of type '{kind}' without '{key}'"))
        };
        match kind {
            "default" => Ok(RopeScaling::None),
            "linear" => Ok(RopeScaling::Linear(number("factor")?)),
            "llama3" => Ok(RopeScaling::Llama3 {
                factor: number("factor")?,
                low_freq_factor: number("low_freq_factor")?,
                high_freq_factor: number("high_freq_factor")?,
                original_max_position: number("original_max_position_embeddings")?,
            }),
            other => bail!("rope_scaling of type '{other}' is not supported yet"),
        }
    }

    /// Gemma 3's `layer_types`, when config.json states them: for each layer whether it attends
    /// globally. Transformers reads this list (not `sliding_window_pattern`) when it is there,
    /// so a pruned checkpoint whose layers keep their own types says so here.
    pub fn global_layers(&self) -> Result<Option<Vec<bool>>> {
        let Some(types) = &self.layer_types else {
            return Ok(None);
        };
        if types.len() != self.num_hidden_layers {
            bail!(
                "layer_types has {} entries but num_hidden_layers is {}; make them agree",
                types.len(),
                self.num_hidden_layers
            );
        }
        types
            .iter()
            .enumerate()
            .map(|(i, t)| match t.as_str() {
                "full_attention" => Ok(true),
                "sliding_attention" => Ok(false),
                other => bail!(
                    "layer_types[{i}] = '{other}': only 'sliding_attention' and 'full_attention' are supported"
                ),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Checks what the architectures assume but do not read.
    pub fn check_supported(&self) -> Result<()> {
        match (self.family()?, self.rope_scaling()?) {
            (_, RopeScaling::None)
            | (Family::Llama, RopeScaling::Llama3 { .. })
            | (Family::Gemma3, RopeScaling::Linear(_)) => {}
            (family, scaling) => bail!("{scaling:?} RoPE scaling is not supported for {family:?}"),
        }
        self.global_layers()?;
        Ok(())
    }
}

/// Tensors of a checkpoint by their GGUF names.
pub struct SafetensorsWeights {
    tensors: MmapedSafetensors,
    family: Family,
    nesting: Nesting,
}

/// Where a multimodal checkpoint keeps its language model's tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nesting {
    /// A text-only checkpoint: `model.layers.0...`.
    None,
    /// `language_model.model.layers.0...` (Gemma 3 as first published).
    LanguageModelFirst,
    /// `model.language_model.layers.0...` (as newer transformers versions save it).
    ModelFirst,
}

impl SafetensorsWeights {
    pub fn open(files: &[PathBuf], family: Family, prefix: &str) -> Result<Self> {
        // SAFETY: the files are memory-mapped read-only; the harness never writes them, and a
        // checkpoint changed underneath a run is outside what any loader can defend against.
        let tensors = unsafe { MmapedSafetensors::multi(files) }.with_context(|| {
            format!(
                "cannot read safetensors {}",
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let nesting = if prefix.is_empty() {
            Nesting::None
        } else if tensors
            .get("model.language_model.embed_tokens.weight")
            .is_ok()
        {
            Nesting::ModelFirst
        } else {
            Nesting::LanguageModelFirst
        };
        Ok(Self {
            tensors,
            family,
            nesting,
        })
    }

    /// The Hugging Face name of a GGUF tensor name, for this family.
    pub fn hf_name(&self, gguf: &str) -> Option<String> {
        let name = match gguf {
            "token_embd.weight" => "model.embed_tokens.weight".to_string(),
            "output_norm.weight" => "model.norm.weight".to_string(),
            "output.weight" => "lm_head.weight".to_string(),
            _ => {
                let rest = gguf.strip_prefix("blk.")?;
                let (index, rest) = rest.split_once('.')?;
                let (part, kind) = rest.rsplit_once('.')?;
                let part = match (part, self.family) {
                    ("attn_norm", _) => "input_layernorm",
                    ("attn_q", _) => "self_attn.q_proj",
                    ("attn_k", _) => "self_attn.k_proj",
                    ("attn_v", _) => "self_attn.v_proj",
                    ("attn_output", _) => "self_attn.o_proj",
                    ("attn_q_norm", _) => "self_attn.q_norm",
                    ("attn_k_norm", _) => "self_attn.k_norm",
                    ("ffn_gate", _) => "mlp.gate_proj",
                    ("ffn_up", _) => "mlp.up_proj",
                    ("ffn_down", _) => "mlp.down_proj",
                    ("ffn_norm", Family::Gemma3) => "pre_feedforward_layernorm",
                    ("ffn_norm", _) => "post_attention_layernorm",
                    ("post_attention_norm", Family::Gemma3) => "post_attention_layernorm",
                    ("post_ffw_norm", Family::Gemma3) => "post_feedforward_layernorm",
                    _ => return None,
                };
                format!("model.layers.{index}.{part}.{kind}")
            }
        };
        Some(match self.nesting {
            Nesting::None => name,
            Nesting::LanguageModelFirst => format!("language_model.{name}"),
            Nesting::ModelFirst => match name.strip_prefix("model.") {
                Some(rest) => format!("model.language_model.{rest}"),
                None => name,
            },
        })
    }
}

impl WeightSource for SafetensorsWeights {
    fn tensor(&mut self, name: &str) -> Result<Tensor> {
        let hf = self
            .hf_name(name)
            .ok_or_else(|| anyhow!("no Hugging Face name for tensor '{name}'"))?;
        let t = self
            .tensors
            .load(&hf, &Device::Cpu)
            .with_context(|| format!("the checkpoint has no tensor '{hf}'"))?
            .to_dtype(DType::F32)?;
        // Gemma's RMSNorm multiplies by (1 + w); the GGUF converter stores 1 + w, and so do we.
        if self.family == Family::Gemma3 && name.contains("norm") {
            return Ok((t + 1.0)?);
        }
        Ok(t)
    }

    fn has_tensor(&self, name: &str) -> bool {
        self.hf_name(name)
            .is_some_and(|hf| self.tensors.get(&hf).is_ok())
    }
}

/// What a checkpoint folder holds, checked before anything heavy is read.
pub struct Checkpoint {
    pub dir: PathBuf,
    pub config: HfConfig,
    /// `language_model.` when config.json nests the language model's config (multimodal
    /// Gemma 3); its weights are then looked for under either nesting.
    pub prefix: String,
    pub weight_files: Vec<PathBuf>,
    pub tokenizer: PathBuf,
    /// `add_bos_token` from tokenizer_config.json, when it says.
    pub add_bos: Option<bool>,
    /// The BOS token's text from tokenizer_config.json, when config.json has no id.
    pub bos_token: Option<String>,
}

impl Checkpoint {
    pub fn open(dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        if !config_path.exists() {
            bail!(
                "{} has no config.json: point --model at a Hugging Face checkpoint folder (config.json, tokenizer.json, *.safetensors) or a .gguf file",
                dir.display()
            );
        }
        let (config, prefix) = HfConfig::load(&config_path)?;
        config
            .check_supported()
            .with_context(|| config_path.display().to_string())?;
        let tokenizer = dir.join("tokenizer.json");
        if !tokenizer.exists() {
            bail!(
                "{} has no tokenizer.json (the tokenizer is read from it); copy it from the model's repository",
                dir.display()
            );
        }
        let (mut add_bos, mut bos_token) = (None, None);
        let tc = dir.join("tokenizer_config.json");
        if tc.exists() {
            let text = std::fs::read_to_string(&tc)
                .with_context(|| format!("cannot read {}", tc.display()))?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", tc.display()))?;
            add_bos = json.get("add_bos_token").and_then(|v| v.as_bool());
            bos_token = match json.get("bos_token") {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(v) => v.get("content").and_then(|c| c.as_str()).map(String::from),
                None => None,
            };
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            weight_files: crate::checkpoint::weight_files(dir)?,
            config,
            prefix,
            tokenizer,
            add_bos,
            bos_token,
        })
    }

    /// Whether inputs start with BOS: as tokenizer_config.json says, else as the family does
    /// (Llama and Gemma prepend one, Qwen does not).
    pub fn wants_bos(&self) -> Result<bool> {
        Ok(match self.add_bos {
            Some(b) => b,
            None => self.config.family()? != Family::Qwen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Weights holding one tensor named `key` (only the name mapping is exercised).
    fn names(family: Family, prefix: &str, key: &str) -> SafetensorsWeights {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let t = Tensor::zeros(2, DType::F32, &Device::Cpu).unwrap();
        candle_core::safetensors::save(&std::collections::HashMap::from([(key, t)]), &path)
            .unwrap();
        SafetensorsWeights::open(&[path], family, prefix).unwrap()
    }

    #[test]
    fn gguf_names_map_to_hugging_face_names() {
        let llama = names(Family::Llama, "", "x");
        assert_eq!(
            llama.hf_name("blk.3.attn_q.weight").unwrap(),
            "model.layers.3.self_attn.q_proj.weight"
        );
        assert_eq!(
            llama.hf_name("blk.0.ffn_norm.weight").unwrap(),
            "model.layers.0.post_attention_layernorm.weight"
        );
        assert_eq!(
            llama.hf_name("blk.1.attn_k.bias").unwrap(),
            "model.layers.1.self_attn.k_proj.bias"
        );
        assert_eq!(llama.hf_name("blk.1.post_ffw_norm.weight"), None);
        let gemma = names(Family::Gemma3, "language_model.", "x");
        assert_eq!(
            gemma.hf_name("blk.2.ffn_norm.weight").unwrap(),
            "language_model.model.layers.2.pre_feedforward_layernorm.weight"
        );
        assert_eq!(
            gemma.hf_name("blk.2.post_attention_norm.weight").unwrap(),
            "language_model.model.layers.2.post_attention_layernorm.weight"
        );
        assert_eq!(
            gemma.hf_name("token_embd.weight").unwrap(),
            "language_model.model.embed_tokens.weight"
        );
        let newer = names(
            Family::Gemma3,
            "language_model.",
            "model.language_model.embed_tokens.weight",
        );
        assert_eq!(
            newer.hf_name("blk.2.attn_q.weight").unwrap(),
            "model.language_model.layers.2.self_attn.q_proj.weight"
        );
        assert_eq!(newer.hf_name("output.weight").unwrap(), "lm_head.weight");
    }
}
