//! The main job's shipped evidence as a verified cache: `depthprune run` on a suite with
//! `evidence:` audits a sample of that store, refuses it on any difference before serving
//! anything, and otherwise serves it, computing nothing the store holds.

mod common;

use std::path::{Path, PathBuf};

/// A copy of `evidence/controls/store` with every full record's value passed through `change`.
fn copy_of_controls_store(to: &Path, change: impl Fn(f64) -> f64) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("evidence/controls/store");
    let _ = std::fs::remove_dir_all(to);
    for model in std::fs::read_dir(&from).unwrap() {
        let model = model.unwrap().path();
        let dest = to.join(model.file_name().unwrap());
        std::fs::create_dir_all(&dest).unwrap();
        for file in std::fs::read_dir(&model).unwrap() {
            let file = file.unwrap().path();
            let text = std::fs::read_to_string(&file).unwrap();
            let out = match file.extension().is_some_and(|e| e == "jsonl") {
                true => text
                    .lines()
                    .map(|line| {
                        let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
                        if let Some(v) = record.get("value").and_then(|v| v.as_f64()) {
                            record["value"] = change(v).into();
                        }
                        record.to_string() + "\n"
                    })
                    .collect(),
                false => text,
            };
            std::fs::write(dest.join(file.file_name().unwrap()), out).unwrap();
        }
    }
}

/// The contrarian control with its `evidence:` pointing at `evidence`.
fn suite_with_evidence(dir: &Path, evidence: &Path) -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/control-contrarian.yaml");
    let text = std::fs::read_to_string(shipped).unwrap();
    assert!(text.contains("evidence: ../evidence/controls/store"));
    let text = text.replace(
        "evidence: ../evidence/controls/store",
        &format!("evidence: {}", evidence.display()),
    );
    let path = dir.join("control-contrarian.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(suite: &Path, out: &Path, store: &Path) -> (bool, String) {
    let output = common::run_suite(suite, out, store, &["--audit-sample", "3"]);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn lines_under(dir: &Path) -> usize {
    let mut n = 0;
    for model in std::fs::read_dir(dir).unwrap() {
        for file in std::fs::read_dir(model.unwrap().path()).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "jsonl") {
                n += std::fs::read_to_string(file).unwrap().lines().count();
            }
        }
    }
    n
}

#[test]
fn the_shipped_evidence_is_audited_then_served_and_refused_when_doctored() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verified-evidence");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();

    // Every value 1 % off: whichever records the audit draws, it must refuse them all, before
    // a single one reaches the run's store or an output file is written.
    let doctored = tmp.join("doctored");
    copy_of_controls_store(&doctored, |v| v * 1.01);
    let suite = suite_with_evidence(&tmp, &doctored);
    let (ok, stderr) = run(
        &suite,
        &tmp.join("out-doctored"),
        &tmp.join("store-doctored"),
    );
    assert!(!ok, "a doctored evidence store was served: {stderr}");
    assert!(
        stderr.contains("disagrees with this build") && stderr.contains("--from-scratch"),
        "{stderr}"
    );
    assert!(!tmp.join("store-doctored").exists(), "{stderr}");
    assert!(!tmp.join("out-doctored/results.json").exists());

    // The store as shipped: audited, copied into the run's store, and every evaluation the
    // suite needs served from it (the run appends nothing).
    let intact = tmp.join("intact");
    copy_of_controls_store(&intact, |v| v);
    let suite = suite_with_evidence(&tmp, &intact);
    let store = tmp.join("store");
    let (ok, stderr) = run(&suite, &tmp.join("out"), &store);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("[1/3] audit passed"), "{stderr}");
    let seeded = stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("[2/3] ")
                .and_then(|l| l.split(", ").nth(1))
                .and_then(|l| l.split(' ').next())
                .and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or_else(|| panic!("no count of seeded records in: {stderr}"));
    assert!(seeded > 0, "{stderr}");
    assert_eq!(
        lines_under(&store),
        seeded,
        "the run computed evaluations: {stderr}"
    );
    assert!(tmp.join("out/results.json").exists());

    // A run whose --store is the evidence store itself extends it (how a shipped store is
    // computed): no audit of the store against itself, no copy into itself.
    let before = lines_under(&intact);
    let (ok, stderr) = run(&suite, &tmp.join("out-into"), &intact);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("extending it"), "{stderr}");
    assert!(!stderr.contains("[1/3]"), "{stderr}");
    assert_eq!(lines_under(&intact), before, "{stderr}");
}
