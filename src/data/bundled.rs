//! The evaluation data the binary carries: the repository's `data/` folder (WikiText-2 and the
//! seven tasks, the large files gzip-compressed, each folder with its SOURCE.md, and
//! `SHA256SUMS` of the uncompressed files), compiled in by `build.rs` and unpacked on first use
//! into `$DEPTHPRUNE_CACHE/data/<hash of SHA256SUMS>/`, every file checked against the manifest.
//!
//! Compiled in rather than looked up beside the sources, so an installed binary finds its data
//! from any folder, and a data folder is named by its manifest's hash, so two builds with
//! different data never share one.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};

mod generated {
    include!(concat!(env!("OUT_DIR"), "/bundled_data.rs"));
}

const MANIFEST: &str = "SHA256SUMS";
/// Written last: a folder without it is an unpacking that did not finish.
const COMPLETE: &str = ".complete";

/// The bundled data, unpacked into the cache on first use; the folder's path.
pub fn unpacked() -> Result<PathBuf> {
    let root = crate::fetch::catalog::cache_dir()?.join("data");
    unpacked_under(&root)
}

/// As [`unpacked`], under `root` instead of the cache's `data/`.
pub fn unpacked_under(root: &Path) -> Result<PathBuf> {
    let dir = root.join(&hex(&Sha256::digest(manifest()?))[..16]);
    if dir.join(COMPLETE).is_file() {
        return Ok(dir);
    }
    fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(root)
        .with_context(|| format!("creating a folder in {}", root.display()))?;
    unpack_into(staging.path())?;
    fs::write(staging.path().join(COMPLETE), b"")?;
    let staging = staging.keep();
    if let Err(e) = fs::rename(&staging, &dir) {
        // Another process unpacked the same data first: use its folder.
        let _ = fs::remove_dir_all(&staging);
        if !dir.join(COMPLETE).is_file() {
            return Err(e).with_context(|| {
                format!(
                    "moving the unpacked data to {} (set DEPTHPRUNE_CACHE to a writable folder)",
                    dir.display()
                )
            });
        }
    }
    Ok(dir)
}

fn manifest() -> Result<&'static [u8]> {
    generated::FILES
        .iter()
        .find(|(name, _)| *name == MANIFEST)
        .map(|(_, bytes)| *bytes)
        .ok_or_else(|| {
            anyhow!("this build carries no data/{MANIFEST}: rebuild from a checkout with data/")
        })
}

/// `SHA256SUMS` (`sha256sum`'s format: hash, two spaces, path) as path → hash.
fn expected_hashes(manifest: &[u8]) -> Result<BTreeMap<String, String>> {
    let text = std::str::from_utf8(manifest).context("data/SHA256SUMS is not UTF-8")?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let (hash, path) = line
                .split_once("  ")
                .ok_or_else(|| anyhow!("data/SHA256SUMS:{}: expected `<sha256>  <path>`", i + 1))?;
            Ok((path.to_string(), hash.to_string()))
        })
        .collect()
}

fn unpack_into(dir: &Path) -> Result<()> {
    let mut expected = expected_hashes(manifest()?)?;
    for (name, bytes) in generated::FILES {
        let (target, content) = match name.strip_suffix(".gz") {
            Some(target) => {
                let mut content = Vec::new();
                flate2::read::GzDecoder::new(*bytes)
                    .read_to_end(&mut content)
                    .with_context(|| format!("decompressing the bundled data/{name}"))?;
                (target, content)
            }
            None => (*name, bytes.to_vec()),
        };
        if target != MANIFEST {
            let want = expected.remove(target).ok_or_else(|| {
                anyhow!("the bundled data/{name} is not listed in data/{MANIFEST}: add its sha256 there")
            })?;
            let got = hex(&Sha256::digest(&content));
            if got != want {
                bail!(
                    "the bundled data/{name} has sha256 {got}, data/{MANIFEST} says {want}: \
                     the data folder changed; restore it (git checkout data) or update the manifest"
                );
            }
        }
        let path = dir.join(target);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(missing) = expected.keys().next() {
        bail!("data/{MANIFEST} lists {missing}, which this build does not carry");
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_data_unpacks_once_and_matches_its_manifest() {
        let root = tempfile::tempdir().unwrap();
        let dir = unpacked_under(root.path()).unwrap();
        let expected = expected_hashes(manifest().unwrap()).unwrap();
        assert!(expected.contains_key("wikitext2/wiki.test.raw"));
        assert!(expected.contains_key("arc_easy/test.jsonl"));
        for (path, hash) in &expected {
            let content = fs::read(dir.join(path)).unwrap();
            assert_eq!(&hex(&Sha256::digest(&content)), hash, "{path}");
        }
        // A second call finds the finished folder and unpacks nothing.
        let stamp = fs::metadata(dir.join(COMPLETE))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(unpacked_under(root.path()).unwrap(), dir);
        let again = fs::metadata(dir.join(COMPLETE))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(stamp, again);
    }

    #[test]
    fn a_manifest_line_without_its_two_spaces_is_named() {
        let err = expected_hashes(b"abc  ok.txt\nnot-a-line\n").unwrap_err();
        assert!(err.to_string().contains("SHA256SUMS:2"), "{err}");
    }
}
