//! [`Store`]: evaluations on disk, so no run recomputes what an earlier one finished.
//!
//! One append-only JSONL file per (model, objective): `<dir>/<Model::scores_key>/<objective
//! key>.jsonl`, one record per line, written with a single `write` under an exclusive file
//! lock. A process killed mid-write leaves at most one partial last line: readers skip lines
//! that do not parse, and a writer first terminates such a line, so earlier records are never
//! damaged. Before appending, a writer reads what other processes appended since its last look
//! and skips keys already present, so two processes sharing a store never duplicate a record.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::objective::Evaluation;

/// One stored evaluation. `seconds` is what computing it cost when it was first computed, so a
/// run served from the store can still report what its evaluations cost; records written
/// before it existed load without it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub removed: Vec<usize>,
    pub value: f64,
    pub metrics: std::collections::BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
}

impl Record {
    pub fn evaluation(&self) -> Evaluation {
        Evaluation {
            value: self.value,
            metrics: self.metrics.clone(),
        }
    }

    /// Whether two records give the same answer (their costs may differ).
    pub fn same_score(&self, other: &Record) -> bool {
        self.removed == other.removed
            && self.value.to_bits() == other.value.to_bits()
            && self.metrics.len() == other.metrics.len()
            && self
                .metrics
                .iter()
                .zip(&other.metrics)
                .all(|((a, x), (b, y))| a == b && x.to_bits() == y.to_bits())
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
    known: HashMap<Vec<usize>, (Evaluation, Option<f64>)>,
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

    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    pub fn get(&self, removed: &[usize]) -> Option<&Evaluation> {
        self.known.get(removed).map(|(e, _)| e)
    }

    /// What computing `removed` cost when it was stored (`None` for records older than the
    /// cost field).
    pub fn cost(&self, removed: &[usize]) -> Option<f64> {
        self.known.get(removed).and_then(|(_, c)| *c)
    }

    fn open_file(&self) -> Result<File> {
        OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening evaluation store {}", self.path.display()))
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
                Ok(r) => {
                    let eval = r.evaluation();
                    self.known.entry(r.removed).or_insert((eval, r.seconds));
                }
                Err(_) => self.skipped_lines += 1,
            }
        }
        self.read_to += complete as u64;
        Ok(())
    }

    /// Appends an evaluation, with what computing it cost, unless this or another process
    /// already stored it.
    pub fn put(&mut self, removed: &[usize], eval: &Evaluation, seconds: f64) -> Result<()> {
        let mut file = self.open_file()?;
        file.lock()
            .with_context(|| format!("locking {}", self.path.display()))?;
        let result = self.put_locked(&mut file, removed, eval, seconds);
        let _ = file.unlock();
        result
    }

    fn put_locked(
        &mut self,
        file: &mut File,
        removed: &[usize],
        eval: &Evaluation,
        seconds: f64,
    ) -> Result<()> {
        self.catch_up(file)?;
        if self.known.contains_key(removed) {
            return Ok(());
        }
        let len = file.metadata()?.len();
        let mut line = Vec::new();
        if len > self.read_to {
            // A writer died mid-line: end that line so this record starts clean.
            line.push(b'\n');
        }
        let record = Record {
            removed: removed.to_vec(),
            value: eval.value,
            metrics: eval.metrics.clone(),
            seconds: Some(seconds),
        };
        serde_json::to_writer(&mut line, &record)?;
        line.push(b'\n');
        file.write_all(&line)
            .with_context(|| format!("appending to {}", self.path.display()))?;
        self.read_to = len + line.len() as u64;
        self.known
            .insert(removed.to_vec(), (eval.clone(), Some(seconds)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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
        a.put(&[1], &eval(1.0), 0.5).unwrap();
        // Simulate a writer killed mid-record.
        let mut f = OpenOptions::new().append(true).open(a.path()).unwrap();
        f.write_all(br#"{"removed":[2],"val"#).unwrap();
        drop(f);
        let mut b = Store::open(dir.path(), "sha", "key", "{}").unwrap();
        assert_eq!(b.len(), 1);
        b.put(&[3], &eval(3.0), 0.25).unwrap();
        b.put(&[1], &eval(9.0), 7.0).unwrap(); // already there: not appended
                                               // A second process that had an older view sees the new record and does not duplicate.
        a.put(&[3], &eval(3.0), 9.0).unwrap();
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

    /// Store files written before evaluations carried their cost still load, without one.
    #[test]
    fn records_without_a_cost_still_load() {
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
        s.put(&[5], &eval(1.0), 3.0).unwrap();
        let (records, skipped) = read_records(s.path()).unwrap();
        assert_eq!((records.len(), skipped), (2, 0));
        assert_eq!(records[1].seconds, Some(3.0));
        assert!(records[0].same_score(&records[0].clone()));
        assert!(!records[0].same_score(&records[1]));
    }
}
