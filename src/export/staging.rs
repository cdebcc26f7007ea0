//! An export is written under a temporary name beside its destination and renamed into place
//! only once it is complete and has been read back, so an interrupted export never leaves a
//! file or folder that looks finished, and an existing export is replaced only when asked.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// What the destination will be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Folder,
}

/// A destination being written: [`Staging::path`] until [`Staging::commit`]; dropped
/// uncommitted, the temporary is removed.
pub struct Staging {
    dest: PathBuf,
    tmp: PathBuf,
    kind: Kind,
    committed: bool,
}

impl Staging {
    /// Prepares to write `dest`. An existing `dest` is an error unless `force`; even then only
    /// something that looks like an earlier export (a file for a file, a folder with a
    /// config.json, or an empty one, for a folder) is replaced, so a mistyped `--out` cannot
    /// delete an unrelated folder.
    pub fn new(dest: &Path, kind: Kind, force: bool) -> Result<Self> {
        let name = dest.file_name().ok_or_else(|| {
            anyhow::anyhow!(
                "--out {} does not name a file or folder; give a path such as pruned.gguf",
                dest.display()
            )
        })?;
        if let Ok(meta) = std::fs::symlink_metadata(dest) {
            if !force {
                bail!(
                    "{} already exists; pass --force to replace it",
                    dest.display()
                );
            }
            match kind {
                Kind::File if meta.is_dir() => bail!(
                    "{} is a folder; a GGUF export is one file: choose another --out",
                    dest.display()
                ),
                Kind::Folder if !meta.is_dir() => bail!(
                    "{} is a file; a Hugging Face export is a folder: choose another --out",
                    dest.display()
                ),
                Kind::Folder if !looks_like_checkpoint(dest)? => bail!(
                    "{} is a folder without config.json, not an earlier export; refusing to replace it even with --force: choose another --out",
                    dest.display()
                ),
                _ => {}
            }
        }
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating the folder {}", parent.display()))?;
        let tmp = parent.join(format!(
            ".{}.depthprune-tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        remove(&tmp);
        if kind == Kind::Folder {
            std::fs::create_dir(&tmp)
                .with_context(|| format!("creating the folder {}", tmp.display()))?;
        }
        Ok(Self {
            dest: dest.to_path_buf(),
            tmp,
            kind,
            committed: false,
        })
    }

    /// Where to write until [`Staging::commit`].
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Moves the finished export to its destination, replacing what `new` allowed to replace.
    pub fn commit(mut self) -> Result<()> {
        let rename = |from: &Path, to: &Path| {
            std::fs::rename(from, to)
                .with_context(|| format!("renaming {} to {}", from.display(), to.display()))
        };
        // A file is replaced atomically by the rename; a folder cannot be, so the old one is
        // moved aside first and removed once the new one is in place.
        if self.kind == Kind::Folder && self.dest.exists() {
            let mut old = self.tmp.clone().into_os_string();
            old.push("-old");
            let old = PathBuf::from(old);
            remove(&old);
            rename(&self.dest, &old)?;
            rename(&self.tmp, &self.dest)?;
            remove(&old);
        } else {
            rename(&self.tmp, &self.dest)?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            remove(&self.tmp);
        }
    }
}

fn looks_like_checkpoint(dir: &Path) -> Result<bool> {
    let empty = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .next()
        .is_none();
    Ok(empty || dir.join("config.json").exists())
}

/// Removes a file or folder if it is there; what cannot be removed is left.
fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_overwrite_without_force_and_cleans_up_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.gguf");
        std::fs::write(&dest, b"old").unwrap();
        let err = Staging::new(&dest, Kind::File, false).err().unwrap();
        assert!(err.to_string().contains("pass --force"), "{err}");

        let staged = Staging::new(&dest, Kind::File, true).unwrap();
        std::fs::write(staged.path(), b"new").unwrap();
        let tmp = staged.path().to_path_buf();
        drop(staged);
        assert!(!tmp.exists());
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");

        let staged = Staging::new(&dest, Kind::File, true).unwrap();
        std::fs::write(staged.path(), b"new").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
    }

    #[test]
    fn replaces_only_folders_that_look_like_exports() {
        let dir = tempfile::tempdir().unwrap();
        let unrelated = dir.path().join("photos");
        std::fs::create_dir(&unrelated).unwrap();
        std::fs::write(unrelated.join("cat.jpg"), b"x").unwrap();
        let err = Staging::new(&unrelated, Kind::Folder, true).err().unwrap();
        assert!(err.to_string().contains("without config.json"), "{err}");

        let export = dir.path().join("pruned");
        std::fs::create_dir(&export).unwrap();
        std::fs::write(export.join("config.json"), b"{}").unwrap();
        let staged = Staging::new(&export, Kind::Folder, true).unwrap();
        std::fs::write(staged.path().join("config.json"), b"{\"new\":1}").unwrap();
        staged.commit().unwrap();
        assert_eq!(
            std::fs::read(export.join("config.json")).unwrap(),
            b"{\"new\":1}"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    }
}
