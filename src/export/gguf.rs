//! GGUF → GGUF without some blocks.
//!
//! The header is read by this module rather than through candle: candle's reader forgets the
//! order of the metadata and tensors, decodes every value into its own types, and refuses
//! tensor types it cannot compute with, while an export only has to carry them across. So each
//! metadata value is kept as the bytes it was stored as, and only what counts or indexes layers
//! is rewritten:
//! - `<arch>.block_count`, in the integer type it had;
//! - every `<arch>.*` array with one entry per block (per-layer head counts, feed-forward
//!   sizes, ...): the removed blocks' entries are dropped;
//! - tensors `blk.<i>.*` of removed blocks are left out, the others renamed to their new index.
//!
//! Tensor data is copied byte for byte (a quantised model stays quantised), each tensor at an
//! offset aligned to `general.alignment` (default 32), as the format requires.
//!
//! Gemma 3's local/global layer types are not in a GGUF: readers derive them from the layer
//! index (every 6th global). An export therefore computes [`LayerTypeRule::Renumbered`]; `own`
//! is written only when every remaining block's type is the one its new index gets, and refused
//! otherwise, rather than written as a file that computes something else.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use super::staging::{Kind, Staging};
use super::{rename_tensor, ExportRequest, Exported, Renamed, Renumbering};
use crate::model::gemma3::GLOBAL_EVERY;
use crate::model::LayerTypeRule;
use crate::progress::Progress;

const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// Metadata value types, as numbered by the GGUF specification.
const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;
/// Arrays of arrays are legal; deeper nesting than this is taken for a corrupt file.
const MAX_NESTING: usize = 4;

/// A metadata value, kept as the bytes it was stored as so that it is written back unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar or a string: its type and its encoding (for a string, length and bytes).
    Plain { ty: u32, bytes: Vec<u8> },
    /// An array: the type of its items and each item's encoding.
    Array { item_ty: u32, items: Vec<Vec<u8>> },
}

impl Value {
    /// The value as an unsigned integer, for any integer type.
    pub fn as_u64(&self) -> Option<u64> {
        let Value::Plain { ty, bytes } = self else {
            return None;
        };
        let b = bytes.as_slice();
        Some(match (*ty, b.len()) {
            (0, 1) => b[0] as u64,
            (1, 1) => u64::try_from(b[0] as i8).ok()?,
            (2, 2) => u16::from_le_bytes(b.try_into().ok()?) as u64,
            (3, 2) => u64::try_from(i16::from_le_bytes(b.try_into().ok()?)).ok()?,
            (4, 4) => u32::from_le_bytes(b.try_into().ok()?) as u64,
            (5, 4) => u64::try_from(i32::from_le_bytes(b.try_into().ok()?)).ok()?,
            (10, 8) => u64::from_le_bytes(b.try_into().ok()?),
            (11, 8) => u64::try_from(i64::from_le_bytes(b.try_into().ok()?)).ok()?,
            _ => return None,
        })
    }

    /// `n` encoded in this value's integer type.
    fn with_u64(&self, n: u64) -> Result<Value> {
        let Value::Plain { ty, .. } = self else {
            bail!("not an integer");
        };
        let bytes = match ty {
            0 => vec![u8::try_from(n)?],
            1 => i8::try_from(n)?.to_le_bytes().to_vec(),
            2 => u16::try_from(n)?.to_le_bytes().to_vec(),
            3 => i16::try_from(n)?.to_le_bytes().to_vec(),
            4 => u32::try_from(n)?.to_le_bytes().to_vec(),
            5 => i32::try_from(n)?.to_le_bytes().to_vec(),
            10 => n.to_le_bytes().to_vec(),
            11 => i64::try_from(n)?.to_le_bytes().to_vec(),
            other => bail!("value type {other} is not an integer"),
        };
        Ok(Value::Plain { ty: *ty, bytes })
    }

    /// The value as text, for a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Plain {
                ty: TYPE_STRING,
                bytes,
            } => std::str::from_utf8(bytes.get(8..)?).ok(),
            _ => None,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Value::Plain { ty, bytes } => {
                out.extend(ty.to_le_bytes());
                out.extend(bytes);
            }
            Value::Array { item_ty, items } => {
                out.extend(TYPE_ARRAY.to_le_bytes());
                out.extend(item_ty.to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for item in items {
                    out.extend(item);
                }
            }
        }
    }
}

/// One tensor's entry in the header.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions as stored: innermost first.
    pub dims: Vec<u64>,
    /// ggml type id.
    pub ty: u32,
    /// Offset from the start of the tensor data.
    pub offset: u64,
    /// Size of the data, from the type's block size.
    pub bytes: u64,
}

/// A GGUF header: metadata and tensor entries in file order.
#[derive(Debug, Clone)]
pub struct Header {
    pub version: u32,
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Where the tensor data starts in the file.
    pub data_start: u64,
}

impl Header {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Reads the header of `path` and checks every tensor lies within the file.
    pub fn read(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let len = file.metadata()?.len();
        let mut input = Input {
            r: BufReader::with_capacity(1 << 20, file),
            pos: 0,
            len,
        };
        Self::parse(&mut input).with_context(|| {
            format!(
                "{} is not a readable GGUF file; re-download it or point --model at a valid .gguf",
                path.display()
            )
        })
    }

    fn parse<R: Read>(input: &mut Input<R>) -> Result<Self> {
        if &input.array::<4>()? != MAGIC {
            bail!("it does not start with the GGUF magic");
        }
        let version = input.u32()?;
        if !(2..=3).contains(&version) {
            bail!("GGUF version {version} is not supported (2 and 3 are)");
        }
        let n_tensors = input.u64()?;
        let n_kv = input.u64()?;
        let mut metadata = Vec::new();
        for _ in 0..n_kv {
            let key = input.string()?;
            let ty = input.u32()?;
            let value = if ty == TYPE_ARRAY {
                let item_ty = input.u32()?;
                let count = input.count()?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    let mut item = Vec::new();
                    input.value(item_ty, &mut item, 1)?;
                    items.push(item);
                }
                Value::Array { item_ty, items }
            } else {
                let mut bytes = Vec::new();
                input.value(ty, &mut bytes, 0)?;
                Value::Plain { ty, bytes }
            };
            metadata.push((key, value));
        }
        let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
            Some((_, v)) => v
                .as_u64()
                .filter(|&a| a > 0)
                .ok_or_else(|| anyhow!("general.alignment is not a positive integer"))?,
            None => DEFAULT_ALIGNMENT,
        };
        let mut tensors = Vec::new();
        for _ in 0..n_tensors {
            let name = input.string()?;
            let n_dims = input.u32()?;
            if n_dims > 8 {
                bail!("tensor '{name}' has {n_dims} dimensions");
            }
            let dims = (0..n_dims)
                .map(|_| input.u64())
                .collect::<Result<Vec<_>>>()?;
            let ty = input.u32()?;
            let offset = input.u64()?;
            let bytes = tensor_bytes(&dims, ty).with_context(|| format!("tensor '{name}'"))?;
            tensors.push(TensorInfo {
                name,
                dims,
                ty,
                offset,
                bytes,
            });
        }
        let data_start = input.pos.next_multiple_of(alignment);
        for t in &tensors {
            let end = data_start
                .checked_add(t.offset)
                .and_then(|s| s.checked_add(t.bytes));
            if end.is_none_or(|end| end > input.len) {
                bail!(
                    "it is truncated: tensor '{}' ends past the end of the file ({} bytes)",
                    t.name,
                    input.len
                );
            }
        }
        Ok(Self {
            version,
            metadata,
            tensors,
            alignment,
            data_start,
        })
    }

    /// The header's encoding, without the padding that follows it.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(MAGIC);
        out.extend(self.version.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.metadata.len() as u64).to_le_bytes());
        let string = |out: &mut Vec<u8>, s: &str| {
            out.extend((s.len() as u64).to_le_bytes());
            out.extend(s.as_bytes());
        };
        for (key, value) in &self.metadata {
            string(&mut out, key);
            value.write(&mut out);
        }
        for t in &self.tensors {
            string(&mut out, &t.name);
            out.extend((t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend(d.to_le_bytes());
            }
            out.extend(t.ty.to_le_bytes());
            out.extend(t.offset.to_le_bytes());
        }
        out
    }
}

/// A reader that knows how far it is and how much is left, so that no length read from the
/// file can make it allocate more than the file holds.
struct Input<R> {
    r: R,
    pos: u64,
    len: u64,
}

impl<R: Read> Input<R> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .map_err(|_| anyhow!("it ends inside its header"))?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A length or count, which cannot exceed the bytes left.
    fn count(&mut self) -> Result<usize> {
        let n = self.u64()?;
        if n > self.len.saturating_sub(self.pos) {
            bail!("a length of {n} exceeds what is left of the file");
        }
        Ok(n as usize)
    }

    fn bytes(&mut self, n: usize, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.resize(start + n, 0);
        self.r
            .read_exact(&mut out[start..])
            .map_err(|_| anyhow!("it ends inside its header"))?;
        self.pos += n as u64;
        Ok(())
    }

    fn string(&mut self) -> Result<String> {
        let n = self.count()?;
        let mut b = Vec::new();
        self.bytes(n, &mut b)?;
        String::from_utf8(b).map_err(|_| anyhow!("a key or tensor name is not UTF-8"))
    }

    /// Appends the encoding of one value of type `ty` to `out`.
    fn value(&mut self, ty: u32, out: &mut Vec<u8>, depth: usize) -> Result<()> {
        let fixed = match ty {
            0 | 1 | 7 => 1,
            2 | 3 => 2,
            4..=6 => 4,
            10..=12 => 8,
            TYPE_STRING => {
                let n = self.count()?;
                out.extend((n as u64).to_le_bytes());
                return self.bytes(n, out);
            }
            TYPE_ARRAY if depth < MAX_NESTING => {
                let item_ty = self.u32()?;
                let n = self.count()?;
                out.extend(item_ty.to_le_bytes());
                out.extend((n as u64).to_le_bytes());
                for _ in 0..n {
                    self.value(item_ty, out, depth + 1)?;
                }
                return Ok(());
            }
            TYPE_ARRAY => bail!("arrays nested deeper than {MAX_NESTING}"),
            other => bail!("unknown metadata value type {other}"),
        };
        self.bytes(fixed, out)
    }
}

/// (elements per block, bytes per block) of each ggml type, as gguf-py's `GGML_QUANT_SIZES`.
fn block_layout(ty: u32) -> Option<(u64, u64)> {
    Some(match ty {
        0 => (1, 4),      // F32
        1 => (1, 2),      // F16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        9 => (32, 40),    // Q8_1
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        15 => (256, 292), // Q8_K
        16 => (256, 66),  // IQ2_XXS
        17 => (256, 74),  // IQ2_XS
        18 => (256, 98),  // IQ3_XXS
        19 => (256, 50),  // IQ1_S
        20 => (32, 18),   // IQ4_NL
        21 => (256, 110), // IQ3_S
        22 => (256, 82),  // IQ2_S
        23 => (256, 136), // IQ4_XS
        24 => (1, 1),     // I8
        25 => (1, 2),     // I16
        26 => (1, 4),     // I32
        27 => (1, 8),     // I64
        28 => (1, 8),     // F64
        29 => (256, 56),  // IQ1_M
        30 => (1, 2),     // BF16
        34 => (256, 54),  // TQ1_0
        35 => (256, 66),  // TQ2_0
        39 => (32, 17),   // MXFP4
        _ => return None,
    })
}

/// Bytes of a tensor of `dims` elements of ggml type `ty`.
fn tensor_bytes(dims: &[u64], ty: u32) -> Result<u64> {
    let (block, size) = block_layout(ty).ok_or_else(|| {
        anyhow!("ggml type {ty} is unknown to this version; its size cannot be computed")
    })?;
    let elems = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| anyhow!("dimensions {dims:?} overflow"))?;
    if dims.first().is_some_and(|d| d % block != 0) {
        bail!("innermost dimension {dims:?} is not a multiple of the type's block of {block}");
    }
    (elems / block)
        .checked_mul(size)
        .ok_or_else(|| anyhow!("dimensions {dims:?} overflow"))
}

/// Writes `source` without the blocks of `request`.
pub fn export(source: &Path, request: &ExportRequest) -> Result<Exported> {
    let header = Header::read(source)?;
    let arch = header
        .get("general.architecture")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("{}: general.architecture is missing", source.display()))?
        .to_string();
    let count_key = format!("{arch}.block_count");
    let count_value = header
        .get(&count_key)
        .ok_or_else(|| anyhow!("{}: {count_key} is missing", source.display()))?;
    let n_blocks = count_value
        .as_u64()
        .ok_or_else(|| anyhow!("{}: {count_key} is not an integer", source.display()))?
        as usize;
    let map = Renumbering::new(n_blocks, &request.removed)?;
    let mut notes = Vec::new();
    let layer_types = if arch == "gemma3" {
        Some(gemma3_layer_types(&header, &map, request.layer_types)?)
    } else {
        None
    };

    let per_layer_prefix = format!("{arch}.");
    let kept = map.kept();
    let mut metadata = Vec::with_capacity(header.metadata.len());
    for (key, value) in &header.metadata {
        let value = match value {
            _ if *key == count_key => value
                .with_u64(map.n_after() as u64)
                .with_context(|| format!("{}: rewriting {count_key}", source.display()))?,
            Value::Array { item_ty, items }
                if key.starts_with(&per_layer_prefix) && items.len() == n_blocks =>
            {
                notes.push(format!(
                    "{key}: one entry per block, removed blocks' dropped"
                ));
                Value::Array {
                    item_ty: *item_ty,
                    items: kept.iter().map(|&i| items[i].clone()).collect(),
                }
            }
            _ => value.clone(),
        };
        metadata.push((key.clone(), value));
    }

    // (new entry, offset in the source data)
    let mut plan: Vec<(TensorInfo, u64)> = Vec::new();
    let mut offset = 0u64;
    for t in &header.tensors {
        let name = match rename_tensor(&t.name, "blk.", &map)
            .with_context(|| source.display().to_string())?
        {
            Renamed::Dropped => continue,
            Renamed::Same => t.name.clone(),
            Renamed::To(name) => name,
        };
        offset = offset.next_multiple_of(header.alignment);
        plan.push((
            TensorInfo {
                name,
                offset,
                ..t.clone()
            },
            t.offset,
        ));
        offset += t.bytes;
    }
    let out_header = Header {
        version: header.version,
        metadata,
        tensors: plan.iter().map(|(t, _)| t.clone()).collect(),
        alignment: header.alignment,
        data_start: 0,
    };

    let staged = Staging::new(&request.out, Kind::File, request.force)?;
    write(
        source,
        &header,
        &out_header,
        &plan,
        staged.path(),
        request.quiet,
    )
    .with_context(|| format!("writing {}", staged.path().display()))?;
    check_written(staged.path(), &out_header, &count_key, map.n_after())?;
    staged.commit()?;
    Ok(Exported {
        format: "gguf",
        source: source.to_path_buf(),
        out: request.out.clone(),
        removed: map.removed(),
        blocks_before: n_blocks,
        blocks_after: map.n_after(),
        tensors_before: header.tensors.len(),
        tensors_after: plan.len(),
        tensor_bytes: plan.iter().map(|(t, _)| t.bytes).sum(),
        files: vec![request
            .out
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())],
        layer_types,
        notes,
    })
}

/// The layer-type rule a Gemma 3 GGUF export computes: `renumbered` always; `own` only when no
/// remaining block changes type by moving to its new index.
fn gemma3_layer_types(
    header: &Header,
    map: &Renumbering,
    rule: LayerTypeRule,
) -> Result<LayerTypeRule> {
    let key = "gemma3.attention.sliding_window_pattern";
    if header.get(key).is_some() {
        bail!(
            "this Gemma 3 GGUF states its layer types in '{key}', which depthprune's GGUF reader does not read; export from the Hugging Face checkpoint instead"
        );
    }
    if rule == LayerTypeRule::Renumbered {
        return Ok(rule);
    }
    let is_global = |i: usize| (i + 1).is_multiple_of(GLOBAL_EVERY);
    let kind = |g: bool| if g { "global" } else { "local" };
    let moved: Vec<String> = map
        .kept()
        .into_iter()
        .enumerate()
        .filter(|&(new, old)| is_global(old) != is_global(new))
        .map(|(new, old)| {
            format!(
                "block {old} ({}) would become block {new} ({})",
                kind(is_global(old)),
                kind(is_global(new))
            )
        })
        .collect();
    if moved.is_empty() {
        return Ok(rule);
    }
    let removed: Vec<String> = map.removed().iter().map(|b| b.to_string()).collect();
    bail!(
        "--layer-types own cannot be expressed in a Gemma 3 GGUF with blocks {} removed: GGUF readers \
         (llama.cpp, and depthprune) derive each layer's local/global type from its index (every \
         {GLOBAL_EVERY}th global), and {}. Export with --layer-types renumbered (the exported file \
         then scores as the source does with --skip {} --layer-types renumbered), or export a \
         Hugging Face checkpoint, whose config.json can state each layer's type",
        removed.join(","),
        moved.join(", "),
        removed.join(",")
    )
}

/// Writes the new header and copies each kept tensor's bytes from the source.
fn write(
    source: &Path,
    header: &Header,
    out_header: &Header,
    plan: &[(TensorInfo, u64)],
    path: &Path,
    quiet: bool,
) -> Result<()> {
    let mut src =
        File::open(source).with_context(|| format!("cannot open {}", source.display()))?;
    let file = File::create(path)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let encoded = out_header.encode();
    out.write_all(&encoded)?;
    let data_start = (encoded.len() as u64).next_multiple_of(out_header.alignment);
    let mut pos = encoded.len() as u64;
    let total: u64 = plan.iter().map(|(t, _)| t.bytes).sum();
    let progress = Progress::new("export", Some(total >> 20), "MiB", quiet);
    for (t, source_offset) in plan {
        let at = data_start + t.offset;
        pad(&mut out, at - pos)?;
        src.seek(SeekFrom::Start(header.data_start + source_offset))?;
        let copied = std::io::copy(&mut (&mut src).take(t.bytes), &mut out)?;
        if copied != t.bytes {
            bail!(
                "{} ended while copying tensor '{}'",
                source.display(),
                t.name
            );
        }
        pos = at + t.bytes;
        progress.inc(t.bytes >> 20);
    }
    // Readers map the data section in multiples of the alignment.
    pad(&mut out, pos.next_multiple_of(out_header.alignment) - pos)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

fn pad(out: &mut impl Write, n: u64) -> Result<()> {
    std::io::copy(&mut std::io::repeat(0).take(n), out)?;
    Ok(())
}

/// Reads the written file back: the header it was meant to have, every tensor within the file.
fn check_written(path: &Path, expected: &Header, count_key: &str, n_blocks: usize) -> Result<()> {
    let written = Header::read(path)?;
    let count = written.get(count_key).and_then(Value::as_u64);
    if written.tensors != expected.tensors
        || written.metadata != expected.metadata
        || count != Some(n_blocks as u64)
    {
        bail!(
            "{} does not read back as written (a bug in the exporter; please report it)",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> Value {
        let mut bytes = (s.len() as u64).to_le_bytes().to_vec();
        bytes.extend(s.as_bytes());
        Value::Plain {
            ty: TYPE_STRING,
            bytes,
        }
    }

    fn u32v(n: u32) -> Value {
        Value::Plain {
            ty: 4,
            bytes: n.to_le_bytes().to_vec(),
        }
    }

    /// A small GGUF: `blocks` blocks of one F32 tensor of `width` values each, block `i` filled
    /// with `i`, plus a per-layer array and a non-layer array.
    fn tiny(path: &Path, arch: &str, blocks: u32, width: u64) {
        let per_layer = Value::Array {
            item_ty: 4,
            items: (0..blocks)
                .map(|i| (100 + i).to_le_bytes().to_vec())
                .collect(),
        };
        let other = Value::Array {
            item_ty: 4,
            items: vec![7u32.to_le_bytes().to_vec()],
        };
        let mut tensors = vec![];
        let mut data = vec![];
        for i in 0..blocks {
            tensors.push(TensorInfo {
                name: format!("blk.{i}.ffn_up.weight"),
                dims: vec![width],
                ty: 0,
                offset: data.len() as u64,
                bytes: width * 4,
            });
            for _ in 0..width {
                data.extend((i as f32).to_le_bytes());
            }
            data.resize(data.len().next_multiple_of(32), 0);
        }
        let header = Header {
            version: 3,
            metadata: vec![
                ("general.architecture".into(), string(arch)),
                (format!("{arch}.block_count"), u32v(blocks)),
                (format!("{arch}.feed_forward_length"), per_layer),
                ("tokenizer.ggml.tokens".into(), other),
            ],
            tensors,
            alignment: 32,
            data_start: 0,
        };
        let mut bytes = header.encode();
        bytes.resize(bytes.len().next_multiple_of(32), 0);
        bytes.extend(data);
        std::fs::write(path, bytes).unwrap();
    }

    fn request(out: &Path, removed: &[usize], layer_types: LayerTypeRule) -> ExportRequest {
        ExportRequest {
            model: String::new(),
            removed: removed.to_vec(),
            layer_types,
            out: out.to_path_buf(),
            force: false,
            quiet: true,
        }
    }

    #[test]
    fn removed_blocks_leave_the_tensors_the_count_and_the_per_layer_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let (src, out) = (dir.path().join("in.gguf"), dir.path().join("out.gguf"));
        tiny(&src, "llama", 5, 40);
        let done = export(&src, &request(&out, &[1, 3], LayerTypeRule::Own)).unwrap();
        assert_eq!((done.blocks_after, done.tensors_after), (3, 3));
        let h = Header::read(&out).unwrap();
        assert_eq!(h.get("llama.block_count"), Some(&u32v(3)));
        let Some(Value::Array { items, .. }) = h.get("llama.feed_forward_length") else {
            panic!("per-layer array missing");
        };
        let values: Vec<u32> = items
            .iter()
            .map(|b| u32::from_le_bytes(b.as_slice().try_into().unwrap()))
            .collect();
        assert_eq!(values, vec![100, 102, 104]);
        assert!(
            matches!(h.get("tokenizer.ggml.tokens"), Some(Value::Array { items, .. }) if items.len() == 1)
        );
        // Block 2 of the source is block 1 now, its bytes unchanged.
        let names: Vec<&str> = h.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "blk.0.ffn_up.weight",
                "blk.1.ffn_up.weight",
                "blk.2.ffn_up.weight"
            ]
        );
        let bytes = std::fs::read(&out).unwrap();
        let t = &h.tensors[1];
        let start = (h.data_start + t.offset) as usize;
        assert!(t.offset.is_multiple_of(32));
        assert_eq!(&bytes[start..start + 4], &2f32.to_le_bytes());
    }

    #[test]
    fn gemma3_own_types_are_refused_when_an_index_rule_cannot_express_them() {
        let dir = tempfile::tempdir().unwrap();
        let (src, out) = (dir.path().join("in.gguf"), dir.path().join("out.gguf"));
        tiny(&src, "gemma3", 18, 32);
        let err = format!(
            "{:#}",
            export(&src, &request(&out, &[3, 7], LayerTypeRule::Own)).unwrap_err()
        );
        assert!(
            err.contains("cannot be expressed") && err.contains("--layer-types renumbered"),
            "{err}"
        );
        assert!(!out.exists());
        // Removing the last block, or six in a row, moves no block to another type.
        for removed in [vec![17], vec![6, 7, 8, 9, 10, 11]] {
            let done = export(&src, &request(&out, &removed, LayerTypeRule::Own)).unwrap();
            assert_eq!(done.layer_types, Some(LayerTypeRule::Own));
            std::fs::remove_file(&out).unwrap();
        }
        let done = export(&src, &request(&out, &[3, 7], LayerTypeRule::Renumbered)).unwrap();
        assert_eq!(done.layer_types, Some(LayerTypeRule::Renumbered));
    }

    #[test]
    fn corrupt_headers_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.gguf");
        tiny(&path, "llama", 2, 32);
        let good = std::fs::read(&path).unwrap();
        for cut in [3, 10, 30, 60, 120, good.len() - 5] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(Header::read(&path).is_err(), "cut at {cut}");
        }
        let mut huge = good.clone();
        // The first key's length: claims more bytes than the file has.
        huge[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&path, &huge).unwrap();
        let err = format!("{:#}", Header::read(&path).unwrap_err());
        assert!(err.contains("exceeds what is left"), "{err}");
    }
}
