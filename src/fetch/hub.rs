//! `hf:<org>/<name>[@<revision>]`: a checkpoint from the Hugging Face Hub, through the hub's own
//! cache (`$HF_HOME/hub`, default `~/.cache/huggingface/hub`), so files downloaded by any tool
//! that uses that cache are found, and files downloaded here are shared with them.
//!
//! A checkpoint already complete in the cache is used without touching the network. Otherwise
//! the Hub is probed with a short deadline before anything is downloaded: on a machine without
//! network (or with `HF_HUB_OFFLINE=1`) the answer is an error within seconds that names the
//! cache folder to pre-populate, never a hang.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

/// How long the reachability probe may take, DNS included.
const PROBE_DEADLINE: Duration = Duration::from_secs(4);

/// A parsed `hf:` model id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubId {
    pub repo: String,
    pub revision: String,
}

impl HubId {
    /// `hf:Org/Name` or `hf:Org/Name@rev`; `None` when `spec` does not start with `hf:`.
    pub fn parse(spec: &str) -> Option<Result<Self>> {
        let rest = spec.strip_prefix("hf:")?;
        let (repo, revision) = match rest.split_once('@') {
            Some((r, rev)) => (r, rev),
            None => (rest, "main"),
        };
        let valid = repo.split('/').count() == 2
            && repo.split('/').all(|p| !p.is_empty())
            && !revision.is_empty();
        Some(if valid {
            Ok(Self {
                repo: repo.to_string(),
                revision: revision.to_string(),
            })
        } else {
            Err(anyhow!(
                "'{spec}' is not a Hub model id: write hf:<org>/<name> or hf:<org>/<name>@<revision>"
            ))
        })
    }

    /// `models--Org--Name`, the repository's folder in the hub cache.
    pub fn cache_folder(&self) -> String {
        format!("models--{}", self.repo.replace('/', "--"))
    }
}

/// The hub cache root: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
pub fn cache_root() -> PathBuf {
    if let Some(p) = std::env::var_os("HF_HUB_CACHE") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("HF_HOME") {
        return PathBuf::from(p).join("hub");
    }
    dirs::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".cache/huggingface/hub")
}

/// The snapshot folder of `id` in the cache under `root`, if its revision is known there
/// (`refs/<revision>` names a commit, or the revision is itself a snapshot's commit).
pub fn cached_snapshot(root: &Path, id: &HubId) -> Option<PathBuf> {
    let repo = root.join(id.cache_folder());
    let direct = repo.join("snapshots").join(&id.revision);
    if direct.is_dir() {
        return Some(direct);
    }
    let commit = std::fs::read_to_string(repo.join("refs").join(&id.revision)).ok()?;
    let dir = repo.join("snapshots").join(commit.trim());
    dir.is_dir().then_some(dir)
}

/// Whether a snapshot holds a complete checkpoint: config, tokenizer and every weight file.
fn complete(dir: &Path) -> bool {
    dir.join("config.json").exists()
        && dir.join("tokenizer.json").exists()
        && crate::checkpoint::weight_files(dir).is_ok()
}

/// The local folder of `id`'s checkpoint, downloading what is missing when the Hub is reachable.
pub fn resolve(id: &HubId) -> Result<PathBuf> {
    let root = cache_root();
    if let Some(dir) = cached_snapshot(&root, id) {
        if complete(&dir) {
            return Ok(dir);
        }
    }
    let unreachable = |why: String| {
        anyhow!(
            "hf:{}@{} is not in the Hugging Face cache and cannot be downloaded: {why}.\n\
             Pre-populate the cache at {} (for example run `huggingface-cli download {} --revision {}` \
             on a machine with network and copy {} here, or set HF_HOME to where it is), \
             or name a local checkpoint folder (config.json, tokenizer.json, *.safetensors) as the model instead",
            id.repo,
            id.revision,
            root.join(id.cache_folder()).display(),
            id.repo,
            id.revision,
            id.cache_folder()
        )
    };
    if std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true")) {
        return Err(unreachable("HF_HUB_OFFLINE is set".into()));
    }
    let endpoint =
        std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".to_string());
    probe(&endpoint).map_err(|e| unreachable(format!("{endpoint} is unreachable ({e})")))?;
    download(id, &root).with_context(|| format!("downloading hf:{}@{}", id.repo, id.revision))
}

/// Connects to the endpoint's host within [`PROBE_DEADLINE`]; DNS runs on a thread so a
/// resolver that hangs cannot hold the caller.
fn probe(endpoint: &str) -> Result<()> {
    let without_scheme = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let host_port = without_scheme.split('/').next().unwrap_or(without_scheme);
    let target = if host_port.contains(':') {
        host_port.to_string()
    } else if endpoint.starts_with("http://") {
        format!("{host_port}:80")
    } else {
        format!("{host_port}:443")
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = (|| -> Result<()> {
            let addr = target
                .to_socket_addrs()
                .map_err(|e| anyhow!("cannot resolve {target}: {e}"))?
                .next()
                .ok_or_else(|| anyhow!("{target} resolves to no address"))?;
            TcpStream::connect_timeout(&addr, PROBE_DEADLINE)
                .map_err(|e| anyhow!("cannot connect to {addr}: {e}"))?;
            Ok(())
        })();
        let _ = tx.send(result);
    });
    rx.recv_timeout(PROBE_DEADLINE)
        .map_err(|_| anyhow!("no answer within {} s", PROBE_DEADLINE.as_secs()))?
}

fn download(id: &HubId, root: &Path) -> Result<PathBuf> {
    use hf_hub::api::sync::ApiBuilder;
    use hf_hub::{Cache, Repo, RepoType};
    let mut builder = ApiBuilder::from_cache(Cache::new(root.to_path_buf())).with_progress(true);
    // Gated models (Llama) need a token; HF_TOKEN overrides the cache's stored token.
    if let Ok(token) = std::env::var("HF_TOKEN") {
        builder = builder.with_token(Some(token));
    }
    if let Ok(endpoint) = std::env::var("HF_ENDPOINT") {
        builder = builder.with_endpoint(endpoint);
    }
    let api = builder.build()?;
    let repo = api.repo(Repo::with_revision(
        id.repo.clone(),
        RepoType::Model,
        id.revision.clone(),
    ));
    let config = repo.get("config.json")?;
    repo.get("tokenizer.json")?;
    let _ = repo.get("tokenizer_config.json");
    match repo.get("model.safetensors.index.json") {
        Ok(index) => {
            for f in crate::checkpoint::shard_names(&index)? {
                repo.get(&f)?;
            }
        }
        Err(_) => {
            repo.get("model.safetensors")?;
        }
    }
    let dir = config
        .parent()
        .ok_or_else(|| anyhow!("no folder for {}", config.display()))?
        .to_path_buf();
    if !complete(&dir) {
        bail!("the download of {} is incomplete", dir.display());
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse() {
        assert_eq!(
            HubId::parse("hf:Qwen/Qwen3-8B").unwrap().unwrap(),
            HubId {
                repo: "Qwen/Qwen3-8B".into(),
                revision: "main".into()
            }
        );
        let id = HubId::parse("hf:Qwen/Qwen3-8B@abc123").unwrap().unwrap();
        assert_eq!(id.revision, "abc123");
        assert_eq!(id.cache_folder(), "models--Qwen--Qwen3-8B");
        assert!(HubId::parse("smollm2-135m").is_none());
        for bad in ["hf:Qwen", "hf:Qwen/", "hf:a/b/c", "hf:Qwen/X@"] {
            assert!(HubId::parse(bad).unwrap().is_err(), "{bad}");
        }
    }

    #[test]
    fn snapshots_are_found_by_ref_or_by_commit() {
        let root = tempfile::tempdir().unwrap();
        let id = HubId::parse("hf:Org/Tiny").unwrap().unwrap();
        assert_eq!(cached_snapshot(root.path(), &id), None);
        let repo = root.path().join("models--Org--Tiny");
        std::fs::create_dir_all(repo.join("snapshots/c0ffee")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "c0ffee").unwrap();
        assert_eq!(
            cached_snapshot(root.path(), &id),
            Some(repo.join("snapshots/c0ffee"))
        );
        let by_commit = HubId::parse("hf:Org/Tiny@c0ffee").unwrap().unwrap();
        assert_eq!(
            cached_snapshot(root.path(), &by_commit),
            Some(repo.join("snapshots/c0ffee"))
        );
    }
}
