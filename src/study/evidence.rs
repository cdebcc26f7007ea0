//! A shipped store as a verified cache: the evaluations a suite's `evidence:` folder holds
//! (kept in the repository) are audited — a sample recomputed from scratch, seeded by the
//! store's own content so nobody chooses it — and only then copied into the store a run uses,
//! which serves them and computes whatever they lack.
//!
//! Seeding copies records instead of layering two stores under the evaluator: the run's store
//! stays the one place a run reads and appends, so resuming, sharding and merging see one store
//! as before, and a record the run's store already holds is kept (`Store::put_records`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::evaluator::store::{read_records, Store};

/// What seeding copied.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    /// Store files (model × objective) read.
    pub files: usize,
    /// Records they hold.
    pub records: usize,
    /// Records the run's store did not know as completely, now appended to it.
    pub added: usize,
}

/// The `.jsonl` files of a store (`<model key>/<objective key>.jsonl`), sorted.
fn store_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let models = std::fs::read_dir(dir)
        .with_context(|| format!("reading the evidence store {}", dir.display()))?;
    for model in models {
        let model = model?.path();
        if !model.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&model)? {
            let file = file?.path();
            if file.extension().is_some_and(|e| e == "jsonl") {
                files.push(file);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// sha256 of a store's content: each file's path relative to the store, its length and its
/// bytes, in sorted order. A store that changes by one record gets another hash.
pub fn content_hash(dir: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    for file in store_files(dir)? {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let relative = file.strip_prefix(dir).unwrap_or(&file);
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The audit's seed from a content hash (its first 16 hex digits): fixed by the store, so the
/// records it recomputes cannot be known before the store is final.
pub fn audit_seed(content_hash: &str) -> u64 {
    u64::from_str_radix(&content_hash[..16.min(content_hash.len())], 16).unwrap_or(0)
}

/// Copies every record of the evidence store into the store under `store`, file by file.
pub fn seed_store(evidence: &Path, store: &Path) -> Result<Seeded> {
    let files = store_files(evidence)?;
    if files.is_empty() {
        bail!(
            "the evidence store {} holds no store file (<model>/<objective>.jsonl): is the \
             suite's `evidence:` the folder a run wrote with --store?",
            evidence.display()
        );
    }
    let mut seeded = Seeded::default();
    for file in files {
        let model_key = file
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .context("a store file's model folder")?;
        let objective_key = file
            .file_stem()
            .and_then(|n| n.to_str())
            .context("a store file's name")?;
        let spec_path = file.with_file_name(format!("{objective_key}.objective.json"));
        let spec = std::fs::read_to_string(&spec_path).unwrap_or_else(|_| "{}".into());
        let (records, _) = read_records(&file)?;
        seeded.files += 1;
        seeded.records += records.len();
        let mut target = Store::open(store, model_key, objective_key, &spec)?;
        seeded.added += target
            .put_records(records)
            .with_context(|| format!("seeding {} from {}", store.display(), file.display()))?;
    }
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::store::Record;
    use crate::objective::Evaluation;

    fn eval(v: f64) -> Evaluation {
        Evaluation {
            value: v,
            metrics: Default::default(),
        }
    }

    #[test]
    fn seeding_copies_what_the_store_lacks_and_the_hash_follows_the_content() {
        let evidence = tempfile::tempdir().unwrap();
        let mut shipped = Store::open(evidence.path(), "weights", "obj", "{\"k\":1}").unwrap();
        shipped.put(&[1], &eval(1.0), 0.5, Some(&[1.0])).unwrap();
        shipped.put(&[2], &eval(2.0), 0.5, Some(&[2.0])).unwrap();
        let before = content_hash(evidence.path()).unwrap();

        let run = tempfile::tempdir().unwrap();
        let mut own = Store::open(run.path(), "weights", "obj", "{\"k\":1}").unwrap();
        own.put(&[2], &eval(2.0), 0.1, Some(&[2.0])).unwrap();
        let seeded = seed_store(evidence.path(), run.path()).unwrap();
        assert_eq!((seeded.files, seeded.records, seeded.added), (1, 2, 1));
        let again = seed_store(evidence.path(), run.path()).unwrap();
        assert_eq!(again.added, 0);
        let served = Store::open(run.path(), "weights", "obj", "{}").unwrap();
        assert_eq!(served.get(&[1]).unwrap().value, 1.0);

        // Seeding reads the evidence and leaves it as it was; one more record changes its hash.
        assert_eq!(content_hash(evidence.path()).unwrap(), before);
        shipped
            .put_records([Record::full(&[3], &eval(3.0), 0.5, None)])
            .unwrap();
        let after = content_hash(evidence.path()).unwrap();
        assert_ne!(after, before);
        assert_ne!(audit_seed(&after), audit_seed(&before));
    }

    #[test]
    fn an_empty_evidence_folder_is_refused_with_what_to_check() {
        let evidence = tempfile::tempdir().unwrap();
        let run = tempfile::tempdir().unwrap();
        let err = seed_store(evidence.path(), run.path()).unwrap_err();
        assert!(err.to_string().contains("evidence:"), "{err}");
    }
}
