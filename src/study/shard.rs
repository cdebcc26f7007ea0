//! Sharded suite runs: the suite's (model, seed, objective) groups split over N independent
//! processes (`depthprune run SUITE --shard I/N`, one Slurm array task each), later combined by
//! [`super::merge`].
//!
//! The assignment is a function of the suite and N only: groups are weighed by the plan's work
//! estimate ([`crate::suite::plan::group_work`]: evaluations × tokens × blocks, all read from the suite,
//! the models' block counts and their tokenizers, never from a timing), then dealt largest first
//! to the least-loaded shard, ties to the earlier group and the lower shard. So every machine
//! computes the same shards, and no shard needs to talk to another.
//!
//! A shard writes only under its own output folder: its runs (`results.json`,
//! `single_removals.json`, `runs.jsonl`, `timings.csv`), its evaluation store (`store/`, unless
//! `--store` names another folder of its own) and `shard.json`, which [`super::merge`] reads.
//! Nothing two shards write can collide, so the folders may sit on a shared filesystem without
//! locks that span machines; a requeued shard resumes from its own store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::suite::run::{all_groups, run_groups, GroupKey, RunOptions, SuiteRuns};
use crate::suite::Suite;

/// `I/N`: shard I (0-based, as Slurm's `--array=0-(N-1)` numbers tasks) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    pub index: usize,
    pub count: usize,
}

impl FromStr for ShardSpec {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        let (i, n) = text
            .split_once('/')
            .with_context(|| format!("--shard '{text}': expected I/N, e.g. 0/3"))?;
        let index: usize = i
            .trim()
            .parse()
            .with_context(|| format!("--shard '{text}': I must be a number"))?;
        let count: usize = n
            .trim()
            .parse()
            .with_context(|| format!("--shard '{text}': N must be a number"))?;
        if count == 0 || index >= count {
            bail!("--shard '{text}': shards are numbered 0 to N-1 (N ≥ 1), e.g. 0/3, 1/3, 2/3");
        }
        Ok(Self { index, count })
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a shard's `shard.json` records: which suite, which shard, which groups, where its store
/// is, and whether it finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardManifest {
    pub suite: String,
    /// [`suite_key`] of the suite the shard ran: merging shards of different suites is refused.
    pub suite_key: String,
    pub shard: ShardSpec,
    pub groups: Vec<GroupKey>,
    /// The evaluation store this shard wrote (absolute, or relative to the shard's folder).
    pub store: PathBuf,
    pub finished: bool,
}

pub const MANIFEST: &str = "shard.json";

impl ShardManifest {
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST);
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {}: is {} the output folder of `depthprune run --shard I/N`?",
                path.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The store folder, resolved against the shard's folder.
    pub fn store_dir(&self, shard_dir: &Path) -> PathBuf {
        if self.store.is_absolute() {
            self.store.clone()
        } else {
            shard_dir.join(&self.store)
        }
    }
}

/// A suite's identity for merging: the sha256 of its canonical JSON (device and dtype
/// included, since they change scores).
pub fn suite_key(suite: &Suite) -> String {
    let json = serde_json::to_string(suite).expect("suites serialise");
    crate::fetch::checksum::sha256_bytes(json.as_bytes())
}

/// The groups of shard `spec`, given each group's work (in [`all_groups`] order).
pub fn shard_groups(suite: &Suite, work: &[f64], spec: ShardSpec) -> Vec<GroupKey> {
    let groups = all_groups(suite);
    let bins = crate::suite::plan::assign(work, spec.count);
    groups
        .into_iter()
        .zip(bins)
        .filter(|(_, bin)| *bin == spec.index)
        .map(|(g, _)| g)
        .collect()
}

/// The file names a shard leaves in its folder besides the store.
pub const SHARD_FILES: [&str; 4] = [
    "results.json",
    "single_removals.json",
    "timings.csv",
    MANIFEST,
];

/// Writes a shard's runs: `results.json`, `single_removals.json` and `timings.csv` (its
/// `runs.jsonl` was written as searches finished).
pub fn write_shard_outputs(dir: &Path, runs: &SuiteRuns) -> Result<()> {
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    write("results.json", serde_json::to_vec_pretty(&runs.runs)?)?;
    write(
        "single_removals.json",
        serde_json::to_vec_pretty(&runs.single_removals)?,
    )?;
    write(
        "timings.csv",
        crate::report::files::timings_csv(&runs.timings)?,
    )?;
    Ok(())
}

/// A shard's store when `--store` is not given: inside its own output folder.
pub fn default_store(out_dir: &Path) -> PathBuf {
    out_dir.join("store")
}

/// What [`run_shard`] returns.
#[derive(Debug, Clone, Serialize)]
pub struct ShardRun {
    pub manifest: ShardManifest,
    pub runs: SuiteRuns,
}

/// Runs shard `spec` of `suite`: deals the groups (opening each model to weigh them), records
/// the shard in `shard.json` before starting (unfinished), runs its groups through
/// `options.store_dir`, writes its runs and marks it finished. Rerun after an interruption, it
/// resumes from its store.
pub fn run_shard(suite: &Suite, options: &RunOptions, spec: ShardSpec) -> Result<ShardRun> {
    std::fs::create_dir_all(&options.out_dir)
        .with_context(|| format!("creating output folder {}", options.out_dir.display()))?;
    let work = crate::suite::plan::suite_work(suite, &options.data_dir)?;
    let groups = shard_groups(suite, &work, spec);
    let store = if options.store_dir == default_store(&options.out_dir) {
        PathBuf::from("store")
    } else {
        std::path::absolute(&options.store_dir)
            .with_context(|| format!("resolving {}", options.store_dir.display()))?
    };
    let mut manifest = ShardManifest {
        suite: suite.name.clone(),
        suite_key: suite_key(suite),
        shard: spec,
        groups: groups.clone(),
        store,
        finished: false,
    };
    manifest.write(&options.out_dir)?;
    let only: BTreeSet<GroupKey> = groups.into_iter().collect();
    let runs = run_groups(suite, options, Some(&only))?;
    write_shard_outputs(&options.out_dir, &runs)?;
    manifest.finished = true;
    manifest.write(&options.out_dir)?;
    Ok(ShardRun { manifest, runs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_refuse_nonsense() {
        assert_eq!(
            "1/3".parse::<ShardSpec>().unwrap(),
            ShardSpec { index: 1, count: 3 }
        );
        for bad in ["3/3", "1", "a/3", "0/0", "-1/2"] {
            let err = format!("{:#}", bad.parse::<ShardSpec>().unwrap_err());
            assert!(err.contains("--shard"), "{bad}: {err}");
        }
    }

    #[test]
    fn assignment_is_balanced_and_deterministic() {
        // Largest first to the lightest bin: 8 | 7 | 6, then 5 → 6's bin, 4 → 7's, 1 → 8's.
        let w = [5.0, 8.0, 4.0, 7.0, 6.0, 1.0];
        let bins = crate::suite::plan::assign(&w, 3);
        assert_eq!(bins, crate::suite::plan::assign(&w, 3));
        let mut load = [0.0; 3];
        for (x, b) in w.iter().zip(&bins) {
            load[*b] += x;
        }
        assert_eq!(load, [9.0, 11.0, 11.0]);
        // Equal weights are dealt round-robin in declaration order.
        assert_eq!(
            crate::suite::plan::assign(&[1.0; 5], 2),
            vec![0, 1, 0, 1, 0]
        );
        // More shards than items: the extra shards stay empty.
        assert_eq!(crate::suite::plan::assign(&[2.0, 1.0], 5), vec![0, 1]);
        assert!(crate::suite::plan::assign(&[], 3).is_empty());
    }
}
