//! Records the git commit the binary was built from, and whether the working tree had changes,
//! for the manifest every result carries (`study::manifest`). Outside a git checkout (a
//! source tarball) both are `unknown`.

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
    for path in ["src", "tasks", "tests", "Cargo.toml", "build.rs"] {
        println!("cargo:rerun-if-changed={path}");
    }
}
