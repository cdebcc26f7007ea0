//! [`Store`]: evaluations on disk, so no run recomputes what an earlier one finished.
//!
//! One append-only JSONL file per (model, objective): `<dir>/<Model::scores_key>/<objective
//! key>.jsonl`, one record per line, written with a single `write` under an exclusive file
//! lock. A process killed mid-write leaves at most one partial last line: readers skip lines
//! that do not parse, and a writer first terminates such a line, so earlier records are never
//! damaged. Before appending, a writer reads what other processes appended since its last look
//! and skips keys already present, so two processes sharing a store never duplicate a record.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::objective::Evaluation;

/// One stored evaluation: full (`value` and `metrics`), or partial (only `items`, over the
/// workload's first `batches` batches: what the sieve computed for a candidate it screened
/// out). `seconds` is what computing it cost when it was first computed, so a run served from
/// the store can still report what its evaluations cost. `items` are the per-item
/// log-likelihood sums (windows; multiple-choice options) in the workload's batch order, so a
/// partial record is a prefix of the full one and extending it recomputes nothing. Records
/// written before costs or items existed load without them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub removed: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Batches `items` cover in a partial record (`None`: a full record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batches: Option<usize>,
    /// Per-item values as base64 of their little-endian f64 bits: exact, and about half the
    /// bytes of decimal JSON (a paper-scale store holds thousands of records of ~1,000 items).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "items_b64")]
    pub items: Option<Vec<f64>>,
}

impl Record {
    /// A full record.
    pub fn full(removed: &[usize], eval: &Evaluation, seconds: f64, items: Option<&[f64]>) -> Self {
        Self {
            removed: removed.to_vec(),
            value: Some(eval.value),
            metrics: eval.metrics.clone(),
            seconds: Some(seconds),
            batches: None,
            items: items.map(<[f64]>::to_vec),
        }
    }

    /// A partial record: the items of the first `batches` batches.
    pub fn partial(removed: &[usize], batches: usize, items: &[f64], seconds: f64) -> Self {
        Self {
            removed: removed.to_vec(),
            value: None,
            metrics: BTreeMap::new(),
            seconds: Some(seconds),
            batches: Some(batches),
            items: Some(items.to_vec()),
        }
    }

    /// The evaluation of a full record (`None` for a partial one).
    pub fn evaluation(&self) -> Option<Evaluation> {
        self.value.map(|value| Evaluation {
            value,
            metrics: self.metrics.clone(),
        })
    }

    /// How much a record knows, ordered: full before partial, more batches before fewer, with
    /// items before without.
    pub fn completeness(&self) -> (bool, usize, bool) {
        (
            self.value.is_some(),
            self.batches.unwrap_or(usize::MAX),
            self.items.is_some(),
        )
    }

    /// Whether two records of one key agree on everything both know (same bits): a partial
    /// record is consistent with the full one it is a prefix of; their costs may differ.
    pub fn consistent(&self, other: &Record) -> bool {
        let bits = |a: f64, b: f64| a.to_bits() == b.to_bits();
        let values = match (self.value, other.value) {
            (Some(a), Some(b)) => {
                bits(a, b)
                    && self.metrics.len() == other.metrics.len()
                    && self
                        .metrics
                        .iter()
                        .zip(&other.metrics)
                        .all(|((a, x), (b, y))| a == b && bits(*x, *y))
            }
            _ => true,
        };
        let items = match (&self.items, &other.items) {
            (Some(a), Some(b)) => a.iter().zip(b).all(|(x, y)| bits(*x, *y)),
            _ => true,
        };
        self.removed == other.removed && values && items
    }
}

/// `Option<Vec<f64>>` as base64 of the values' little-endian bytes.
mod items_b64 {
    use base64::Engine;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    pub fn serialize<S: Serializer>(items: &Option<Vec<f64>>, s: S) -> Result<S::Ok, S::Error> {
        match items {
            Some(v) => {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                s.serialize_str(&B64.encode(bytes))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f64>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let bytes = B64.decode(text).map_err(D::Error::custom)?;
        if bytes.len() % 8 != 0 {
            return Err(D::Error::custom("items are not a whole number of f64"));
        }
        Ok(Some(
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ))
    }
}

/// Every complete record of a store file, in file order (a partial last line is skipped,
/// unparsable lines counted).
pub fn read_records(path: &Path) -> Result<(Vec<Record>, usize)> {
    let bytes =
        fs::read(path).with_context(|| format!("reading evaluation store {}", path.display()))?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut records = Vec::new();
    let mut skipped = 0;
    for line in bytes[..complete]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        match serde_json::from_slice::<Record>(line) {
            Ok(r) => records.push(r),
            Err(_) => skipped += 1,
        }
    }
    Ok((records, skipped))
}

pub struct Store {
    path: PathBuf,
    /// The most complete record of each key.
    known: HashMap<Vec<usize>, Record>,
    /// Bytes of the file already read into `known`.
    read_to: u64,
    pub skipped_lines: usize,
}

impl Store {
    /// Opens (creating if needed) the store for one model and objective under `dir`; `spec_json`
    /// is written beside it once, for people browsing the cache.
    pub fn open(dir: &Path, model_key: &str, objective_key: &str, spec_json: &str) -> Result<Self> {
        let folder = dir.join(model_key);
        fs::create_dir_all(&folder)
            .with_context(|| format!("creating evaluation store {}", folder.display()))?;
        let spec_path = folder.join(format!("{objective_key}.objective.json"));
        if !spec_path.exists() {
            fs::write(&spec_path, spec_json)
                .with_context(|| format!("writing {}", spec_path.display()))?;
        }
        let path = folder.join(format!("{objective_key}.jsonl"));
        let mut store = Self {
            path,
            known: HashMap::new(),
            read_to: 0,
            skipped_lines: 0,
        };
        let mut file = store.open_file()?;
        store.catch_up(&mut file)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keys with a full evaluation.
    pub fn len(&self) -> usize {
        self.known.values().filter(|r| r.value.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The full evaluation of `removed`, if stored.
    pub fn get(&self, removed: &[usize]) -> Option<Evaluation> {
        self.known.get(removed).and_then(Record::evaluation)
    }

    /// The most complete record of `removed` (full or partial).
    pub fn record(&self, removed: &[usize]) -> Option<&Record> {
        self.known.get(removed)
    }

    /// What computing `removed` cost when it was stored (`None` for records older than the
    /// cost field).
    pub fn cost(&self, removed: &[usize]) -> Option<f64> {
        self.known.get(removed).and_then(|r| r.seconds)
    }

    fn open_file(&self) -> Result<File> {
        OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening evaluation store {}", self.path.display()))
    }

    /// Keeps `r` if it knows more than what is known of its key.
    fn learn(&mut self, r: Record) {
        match self.known.get(&r.removed) {
            Some(k) if k.completeness() >= r.completeness() => {}
            _ => {
                self.known.insert(r.removed.clone(), r);
            }
        }
    }

    /// Reads complete lines appended since the last look.
    fn catch_up(&mut self, file: &mut File) -> Result<()> {
        file.seek(SeekFrom::Start(self.read_to))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        // Only up to the last newline: a trailing partial line may still be being written.
        let complete = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in buf[..complete].split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Record>(line) {
                Ok(r) => self.learn(r),
                Err(_) => self.skipped_lines += 1,
            }
        }
        self.read_to += complete as u64;
        Ok(())
    }

    /// Appends a full evaluation, with what computing it cost and its per-item values, unless
    /// this or another process already stored one at least as complete.
    pub fn put(
        &mut self,
        removed: &[usize],
        eval: &Evaluation,
        seconds: f64,
        items: Option<&[f64]>,
    ) -> Result<()> {
        self.put_record(Record::full(removed, eval, seconds, items))
    }

    /// Appends the per-item values of the first `batches` batches of an evaluation the sieve
    /// stopped, unless something at least as complete is stored.
    pub fn put_partial(
        &mut self,
        removed: &[usize],
        batches: usize,
        items: &[f64],
        seconds: f64,
    ) -> Result<()> {
        self.put_record(Record::partial(removed, batches, items, seconds))
    }

    /// Appends every record that knows more than what is stored of its key, under one lock;
    /// returns how many were appended. How a shipped store seeds a run's store.
    pub fn put_records(&mut self, records: impl IntoIterator<Item = Record>) -> Result<usize> {
        let mut file = self.open_file()?;
        file.lock()
            .with_context(|| format!("locking {}", self.path.display()))?;
        let result = (|| {
            self.catch_up(&mut file)?;
            let mut lines = Vec::new();
            let mut added = 0;
            for record in records {
                if let Some(k) = self.known.get(&record.removed) {
                    if k.completeness() >= record.completeness() {
                        continue;
                    }
                }
                serde_json::to_writer(&mut lines, &record)?;
                lines.push(b'\n');
                self.learn(record);
                added += 1;
            }
            let len = file.metadata()?.len();
            if len > self.read_to {
                // A writer died mid-line: end that line so these records start clean.
                lines.insert(0, b'\n');
            }
            file.write_all(&lines)
                .with_context(|| format!("appending to {}", self.path.display()))?;
            self.read_to = len + lines.len() as u64;
            Ok(added)
        })();
        let _ = file.unlock();
        result
    }

    fn put_record(&mut self, record: Record) -> Result<()> {
        let mut file = self.open_file()?;
        file.lock()
            .with_context(|| format!("locking {}", self.path.display()))?;
        let result = self.put_locked(&mut file, record);
        let _ = file.unlock();
        result
    }

    fn put_locked(&mut self, file: &mut File, record: Record) -> Result<()> {
        self.catch_up(file)?;
        if let Some(k) = self.known.get(&record.removed) {
            if k.completeness() >= record.completeness() {
                return Ok(());
            }
        }
        let len = file.metadata()?.len();
        let mut line = Vec::new();
        if len > self.read_to {
            // A writer died mid-line: end that line so this record starts clean.
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, &record)?;
        line.push(b'\n');
        file.write_all(&line)
            .with_context(|| format!("appending to {}", self.path.display()))?;
        self.read_to = len + line.len() as u64;
        self.learn(record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_records_appends_only_what_knows_more() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path(), "sha", "key", "{}").unwrap();
        s.put(&[1], &eval(1.0), 0.5, Some(&[0.25])).unwrap();
        let added = s
            .put_records([
                Record::full(&[1], &eval(9.0), 0.1, Some(&[9.0])),
                Record::partial(&[2], 1, &[0.5], 0.1),
                Record::full(&[3], &eval(3.0), 0.1, None),
            ])
            .unwrap();
        assert_eq!(added, 2);
        let again = Store::open(dir.path(), "sha", "key", "{}").unwrap();
        assert_eq!(again.get(&[1]).unwrap().value, 1.0);
        assert_eq!(again.record(&[2]).unwrap().batches, Some(1));
        assert_eq!(again.get(&[3]).unwrap().value, 3.0);
        assert_eq!(again.skipped_lines, 0);
    }

    fn eval(v: f64) -> Evaluation {
        Evaluation {
            value: v,
            metrics: BTreeMap::from([("ppl".to_string(), v)]),
        }
    }

    #[test]
    fn survives_a_partial_line_and_never_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Store::open(dir.path(), "sha", "key", "{}").unwrap();
        a.put(&[1], &eval(1.0), 0.5, None).unwrap();
        // Simulate a writer killed mid-record.
        let mut f = OpenOptions::new().append(true).open(a.path()).unwrap();
        f.write_all(br#"{"removed":[2],"val"#).unwrap();
        drop(f);
        let mut b = Store::open(dir.path(), "sha", "key", "{}").unwrap();
        assert_eq!(b.len(), 1);
        b.put(&[3], &eval(3.0), 0.25, None).unwrap();
        b.put(&[1], &eval(9.0), 7.0, None).unwrap(); // already there: not appended
                                                     // A second process that had an older view sees the new record and does not duplicate.
        a.put(&[3], &eval(3.0), 9.0, None).unwrap();
        let c = Store::open(dir.path(), "sha", "key", "{}").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&[1]).unwrap().value, 1.0);
        assert_eq!(c.get(&[3]).unwrap().value, 3.0);
        assert_eq!(c.skipped_lines, 1);
        // The first computation's cost is what is kept.
        assert_eq!((c.cost(&[1]), c.cost(&[3])), (Some(0.5), Some(0.25)));
        let text = fs::read_to_string(c.path()).unwrap();
        assert_eq!(
            text.lines()
                .filter(|l| l.contains(r#""removed":[3]"#))
                .count(),
            1
        );
    }

    /// Store files written before evaluations carried their cost or items still load, without
    /// them.
    #[test]
    fn records_without_a_cost_or_items_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("sha");
        fs::create_dir_all(&folder).unwrap();
        fs::write(
            folder.join("key.jsonl"),
            "{\"removed\":[4],\"value\":2.5,\"metrics\":{\"ppl\":2.5}}\n",
        )
        .unwrap();
        let mut s = Store::open(dir.path(), "sha", "key", "{}").unwrap();
        assert_eq!(s.get(&[4]).unwrap().value, 2.5);
        assert_eq!(s.cost(&[4]), None);
        assert_eq!(s.record(&[4]).unwrap().items, None);
        s.put(&[5], &eval(1.0), 3.0, None).unwrap();
        let (records, skipped) = read_records(s.path()).unwrap();
        assert_eq!((records.len(), skipped), (2, 0));
        assert_eq!(records[1].seconds, Some(3.0));
        assert!(records[0].consistent(&records[0].clone()));
        assert!(!records[0].consistent(&records[1]));
    }

    /// A partial record is superseded by the full one, both stay in the file (append-only),
    /// items round-trip bit for bit, and a partial never replaces what is more complete.
    #[test]
    fn partial_records_are_prefixes_of_the_full_one() {
        let dir = tempfile::tempdir().unwrap();
        let items = [-1.0 / 3.0, -123.456789, -1e-300, -0.0];
        let mut s = Store::open(dir.path(), "sha", "key", "{}").unwrap();
        s.put_partial(&[2, 7], 1, &items[..2], 0.1).unwrap();
        assert!(s.get(&[2, 7]).is_none());
        assert_eq!(s.len(), 0);
        s.put_partial(&[2, 7], 1, &items[..2], 0.5).unwrap(); // known: not appended
        s.put(&[2, 7], &eval(4.0), 0.3, Some(&items)).unwrap();
        s.put_partial(&[2, 7], 1, &items[..2], 0.5).unwrap(); // less complete: not appended
        let t = Store::open(dir.path(), "sha", "key", "{}").unwrap();
        let r = t.record(&[2, 7]).unwrap();
        assert_eq!(r.value, Some(4.0));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(r.items.as_deref().unwrap()), bits(&items));
        let (records, _) = read_records(t.path()).unwrap();
        assert_eq!(records.len(), 2);
        assert!(records[0].consistent(&records[1]));
        assert!(records[1].completeness() > records[0].completeness());
        let mut other = records[0].clone();
        let last_bit = f64::from_bits(items[1].to_bits() + 1);
        other.items.as_mut().unwrap()[1] = last_bit;
        assert!(!other.consistent(&records[1]));
    }
}
