//! Combining the output folders of a sharded suite run (`depthprune merge SUITE DIR...`).
//!
//! Runs are put back in declaration order (model, seed, objective, searcher), the same order an
//! unsharded run reports them in, and every output file of `run` is written from them, so
//! results.json, runs.csv, runs.jsonl, single_removals.json, claims.json, the plots and the
//! goldens are byte-identical to an unsharded run's (`tests/shard.rs`). The shards' evaluation
//! stores are merged into `<out>/store` (sorted by key): the same evaluation in two stores with
//! the same score is kept once, with different scores it is an error naming both files. Groups
//! no shard ran are named, and refused unless `partial`; a partial merge writes no verdicts and
//! says so on the first line of report.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::shard::{suite_key, ShardManifest};
use crate::evaluator::store::{read_records, Record};
use crate::progress::Progress;
use crate::suite::claims::ClaimResult;
use crate::suite::run::{all_groups, GroupKey, RunRecord, SingleRemovals, SuiteRuns, Timing};
use crate::suite::Suite;

pub struct MergeOptions {
    pub out_dir: PathBuf,
    /// The data the shards read (for the manifest's task and item hashes).
    pub data_dir: PathBuf,
    /// Merge what is there when groups are missing (no verdicts; report.md says so).
    pub partial: bool,
    /// No progress on stderr.
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShardSummary {
    pub dir: PathBuf,
    pub shard: String,
    pub groups: usize,
    pub finished: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MergeOutcome {
    pub shards: Vec<ShardSummary>,
    pub runs: SuiteRuns,
    pub verdicts: Option<Vec<ClaimResult>>,
    /// Groups no finished shard ran (empty unless `partial`).
    pub missing: Vec<GroupKey>,
    /// Distinct evaluations in the merged store, and those found in more than one shard.
    pub evaluations: usize,
    pub duplicates: usize,
}

/// Merges shard folders `dirs` of `suite` into `options.out_dir`.
pub fn merge(suite: &Suite, dirs: &[PathBuf], options: &MergeOptions) -> Result<MergeOutcome> {
    if dirs.is_empty() {
        bail!("name at least one shard output folder");
    }
    let key = suite_key(suite);
    // Reading the shards, merging their stores, the claims, the output files.
    let progress = Progress::new("merge", Some(4), "steps", options.quiet);
    progress.set_message("reading the shards' manifests and runs");
    let mut manifests = Vec::new();
    for dir in dirs {
        let m = ShardManifest::read(dir)?;
        if m.suite_key != key {
            bail!(
                "{} was written by a run of suite '{}' that differs from this suite '{}' (edited since, another file, or other --device/--dtype): merge with the suite file and the --device/--dtype the shards ran with",
                dir.join(super::shard::MANIFEST).display(),
                m.suite,
                suite.name
            );
        }
        manifests.push(m);
    }
    // Check every store before anything is written.
    progress.set_message("checking and merging the stores");
    let (stores, duplicates) = merged_stores(dirs, &manifests)?;
    progress.inc(1);

    let order: BTreeMap<GroupKey, usize> = all_groups(suite)
        .into_iter()
        .enumerate()
        .map(|(i, g)| (g, i))
        .collect();
    let searcher_at = |name: &str| suite.searchers.iter().position(|s| s.name.name() == name);
    let mut owner: BTreeMap<GroupKey, &Path> = BTreeMap::new();
    let mut runs: Vec<(usize, usize, RunRecord)> = Vec::new();
    let mut singles: Vec<(usize, SingleRemovals)> = Vec::new();
    let mut logged: Vec<(usize, usize, String)> = Vec::new();
    let mut timings: Vec<Timing> = Vec::new();
    let mut shards = Vec::new();
    for (dir, m) in dirs.iter().zip(&manifests) {
        shards.push(ShardSummary {
            dir: dir.clone(),
            shard: m.shard.to_string(),
            groups: m.groups.len(),
            finished: m.finished,
        });
        if !m.finished {
            continue;
        }
        for g in &m.groups {
            if let Some(other) = owner.insert(g.clone(), dir) {
                bail!(
                    "group {g} was run by two shards, {} and {}: merge the folders of one sharded run (one --shard I/N each, the same N)",
                    other.display(),
                    dir.display()
                );
            }
        }
        let place = |r: &RunRecord, file: &Path| -> Result<(usize, usize)> {
            let g = GroupKey {
                model: r.model.clone(),
                seed: r.seed,
                objective: r.objective.clone(),
            };
            match (order.get(&g), searcher_at(&r.searcher)) {
                (Some(&gi), Some(si)) if m.groups.contains(&g) => Ok((gi, si)),
                _ => bail!(
                    "{}: run {g} / {} is not one of this shard's groups in this suite",
                    file.display(),
                    r.searcher
                ),
            }
        };
        let file = dir.join("results.json");
        let records: Vec<RunRecord> = read_json(&file)?;
        for r in records {
            let (gi, si) = place(&r, &file)?;
            runs.push((gi, si, r));
        }
        let file = dir.join("single_removals.json");
        let curves: Vec<SingleRemovals> = read_json(&file)?;
        for s in curves {
            let g = GroupKey {
                model: s.model.clone(),
                seed: s.seed,
                objective: s.objective.clone(),
            };
            let gi = *order
                .get(&g)
                .with_context(|| format!("{}: group {g} is not in this suite", file.display()))?;
            singles.push((gi, s));
        }
        let file = dir.join("runs.jsonl");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        for line in text.lines().filter(|l| !l.is_empty()) {
            let r: RunRecord = serde_json::from_str(line)
                .with_context(|| format!("parsing a line of {}", file.display()))?;
            let (gi, si) = place(&r, &file)?;
            logged.push((gi, si, line.to_string()));
        }
        let file = dir.join("timings.csv");
        let mut reader =
            csv::Reader::from_path(&file).with_context(|| format!("reading {}", file.display()))?;
        for row in reader.deserialize() {
            timings.push(row.with_context(|| format!("parsing {}", file.display()))?);
        }
    }
    let mut missing: Vec<GroupKey> = order
        .keys()
        .filter(|g| !owner.contains_key(*g))
        .cloned()
        .collect();
    missing.sort_by_key(|g| order[g]);
    if !missing.is_empty() && !options.partial {
        let unfinished: Vec<String> = shards
            .iter()
            .filter(|s| !s.finished)
            .map(|s| format!("{} ({} did not finish)", s.dir.display(), s.shard))
            .collect();
        bail!(
            "{} of {} groups are missing: {}{}. Pass the folders of every shard (each finished: a rerun of an unfinished shard resumes from its store), or --partial for a report without verdicts",
            missing.len(),
            order.len(),
            group_list(&missing),
            if unfinished.is_empty() {
                String::new()
            } else {
                format!(" (unfinished: {})", unfinished.join(", "))
            }
        );
    }
    runs.sort_by_key(|(gi, si, _)| (*gi, *si));
    singles.sort_by_key(|(gi, _)| *gi);
    logged.sort_by_key(|(gi, si, _)| (*gi, *si));
    let mut runs: Vec<RunRecord> = runs.into_iter().map(|(_, _, r)| r).collect();
    for r in &mut runs {
        if let Some(t) = timings.iter().find(|t| {
            t.phase == "search"
                && t.model == r.model
                && t.objective == r.objective
                && t.searcher == r.searcher
                && t.seed == Some(r.seed)
        }) {
            r.seconds = t.seconds;
        }
    }
    let runs = SuiteRuns {
        runs,
        single_removals: singles.into_iter().map(|(_, s)| s).collect(),
        timings,
    };

    let out = &options.out_dir;
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating output folder {}", out.display()))?;
    progress.inc(1);
    progress.set_message("the claims");
    let verdicts = match (&suite.claims, missing.is_empty()) {
        (Some(settings), true) => Some(crate::suite::claims::evaluate_claims(
            &runs.runs,
            &suite.heldout_directions(),
            settings,
            0,
        )),
        _ => None,
    };
    progress.inc(1);
    progress.set_message("writing the output files");
    let manifest = crate::suite::manifest::Manifest::build(suite, &options.data_dir)?;
    crate::report::files::write_suite_outputs(out, suite, &runs, verdicts.as_deref(), &manifest)?;
    progress.inc(1);
    let mut jsonl = String::new();
    for (_, _, line) in &logged {
        jsonl.push_str(line);
        jsonl.push('\n');
    }
    write(&out.join("runs.jsonl"), jsonl.as_bytes())?;
    if !missing.is_empty() {
        let report = out.join("report.md");
        let text = std::fs::read_to_string(&report)
            .with_context(|| format!("reading {}", report.display()))?;
        let banner = format!(
            "**PARTIAL: {} of {} groups missing ({}); no verdicts.**\n\n",
            missing.len(),
            order.len(),
            group_list(&missing)
        );
        write(&report, format!("{banner}{text}").as_bytes())?;
    }
    let evaluations = write_store(&out.join("store"), &stores)?;
    Ok(MergeOutcome {
        shards,
        runs,
        verdicts,
        missing,
        evaluations,
        duplicates,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {}: the shard wrote it when it finished; rerun the shard",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A store file's records by key, each with the file it came from.
type StoreFile = BTreeMap<Vec<usize>, (Record, PathBuf)>;

/// Every shard's store, merged per (model key, objective key) file; the `.objective.json`
/// description beside each. Returns the merged stores and how many records were duplicates.
#[allow(clippy::type_complexity)]
fn merged_stores(
    dirs: &[PathBuf],
    manifests: &[ShardManifest],
) -> Result<(BTreeMap<PathBuf, (StoreFile, Option<PathBuf>)>, usize)> {
    let mut merged: BTreeMap<PathBuf, (StoreFile, Option<PathBuf>)> = BTreeMap::new();
    let mut duplicates = 0;
    for (dir, m) in dirs.iter().zip(manifests) {
        let root = m.store_dir(dir);
        if !root.exists() {
            continue;
        }
        for model_dir in sorted_entries(&root)? {
            if !model_dir.is_dir() {
                continue;
            }
            for file in sorted_entries(&model_dir)? {
                let name = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                let rel = file.strip_prefix(&root).expect("under root").to_path_buf();
                if name.ends_with(".objective.json") {
                    let rel_store = rel.with_file_name(name.replace(".objective.json", ".jsonl"));
                    merged.entry(rel_store).or_default().1.get_or_insert(file);
                    continue;
                }
                if !name.ends_with(".jsonl") {
                    continue;
                }
                let (records, _) = read_records(&file)?;
                let (known, _) = merged.entry(rel).or_default();
                for r in records {
                    match known.get(&r.removed) {
                        None => {
                            known.insert(r.removed.clone(), (r, file.clone()));
                        }
                        Some((first, first_file)) if first.consistent(&r) => {
                            // The same file repeating a key is a resumed writer (or a partial
                            // record the sieve finished later); across files, two shards that
                            // evaluated one set. The most complete record is kept.
                            if first_file != &file {
                                duplicates += 1;
                            }
                            if r.completeness() > first.completeness() {
                                known.insert(r.removed.clone(), (r, file.clone()));
                            }
                        }
                        Some((first, first_file)) => bail!(
                            "evaluation store conflict for removed blocks {:?}: {} in {} but {} in {}. The same evaluation scored differently (another build, device or data?): delete the wrong file and rerun its shard",
                            r.removed,
                            describe(first),
                            first_file.display(),
                            describe(&r),
                            file.display()
                        ),
                    }
                }
            }
        }
    }
    Ok((merged, duplicates))
}

/// A record's score for a message: its value, or what a partial one holds.
fn describe(r: &Record) -> String {
    match r.value {
        Some(v) => v.to_string(),
        None => format!("per-item values of {} batches", r.batches.unwrap_or(0)),
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    v.sort();
    Ok(v)
}

/// Writes the merged stores under `root` (records sorted by key); returns how many records.
fn write_store(
    root: &Path,
    stores: &BTreeMap<PathBuf, (StoreFile, Option<PathBuf>)>,
) -> Result<usize> {
    let mut n = 0;
    let mut folders = BTreeSet::new();
    for (rel, (records, spec)) in stores {
        let path = root.join(rel);
        let folder = path.parent().expect("a file in a folder").to_path_buf();
        if folders.insert(folder.clone()) {
            std::fs::create_dir_all(&folder)
                .with_context(|| format!("creating {}", folder.display()))?;
        }
        if let Some(spec) = spec {
            let to = path.with_file_name(spec.file_name().expect("a file name"));
            std::fs::copy(spec, &to).with_context(|| format!("copying {}", spec.display()))?;
        }
        let mut text = Vec::new();
        for (r, _) in records.values() {
            serde_json::to_writer(&mut text, r)?;
            text.push(b'\n');
        }
        write(&path, &text)?;
        n += records.len();
    }
    Ok(n)
}

/// `model/seed/objective; ...`, for messages that name groups.
fn group_list(groups: &[GroupKey]) -> String {
    groups
        .iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
