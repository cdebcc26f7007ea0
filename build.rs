//! Records the git commit the binary was built from, and whether the working tree had changes,
//! for the manifest every result carries (`study::manifest`). Outside a git checkout (a
//! source tarball) both are `unknown`.
//!
//! Also lists the files of `data/` for `include_bytes!` (`data::bundled`), so the binary carries
//! its evaluation data wherever it is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) => (!s.is_empty()).to_string(),
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=DEPTHPRUNE_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=DEPTHPRUNE_GIT_DIRTY={dirty}");
    // A new commit moves HEAD (or the branch it names); an edit to a tracked file changes the
    // sources cargo watches here.
    for path in ["HEAD", "index"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(p) = git(&["rev-parse", "--symbolic-full-name", "HEAD"]) {
        if let Some(ref_path) = git(&["rev-parse", "--git-path", &p]) {
            println!("cargo:rerun-if-changed={ref_path}");
        }
    }
    for path in ["src", "tasks", "tests", "data", "Cargo.toml", "build.rs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    bundle_data();
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// `$OUT_DIR/bundled_data.rs`: every file of `data/` as (path relative to `data/`, bytes), in
/// sorted order.
fn bundle_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut files = Vec::new();
    files_under(&root, &mut files);
    let mut code = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under data/");
        let relative = relative.to_str().expect("data/ file names are UTF-8");
        code.push_str(&format!(
            "    ({relative:?}, include_bytes!({:?})),\n",
            file.to_str().expect("a UTF-8 path")
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("bundled_data.rs"), code).expect("writing bundled_data.rs");
}
