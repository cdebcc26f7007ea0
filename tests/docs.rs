//! The documentation cannot drift silently: every `depthprune ...` and `cargo run --release --
//! ...` command line shown in a fenced code block of README.md or docs/*.md names a subcommand
//! and flags the built binary has (read from its `--help`), and every relative link or image in
//! those pages (docs/plots/*.png among them) points at a file that exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A command line found in a fenced code block: where it is, and its words from the subcommand on.
#[derive(Debug)]
struct Shown {
    line: usize,
    words: Vec<String>,
}

/// The `depthprune` invocations in the fenced code blocks of `doc` (a Markdown text): lines
/// joined across trailing backslashes, split at ` && `, ` || `, ` | ` and ` ; `, a `$ ` prompt
/// and a trailing `# comment` dropped. An invocation is `depthprune`, any path ending in
/// `/depthprune`, or `cargo run --release --`; its words start at the subcommand.
fn shown_commands(doc: &str) -> Vec<Shown> {
    let mut shown = Vec::new();
    let mut fenced = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in doc.lines().enumerate() {
        let trimmed = raw.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            pending = None;
            continue;
        }
        if !fenced {
            continue;
        }
        let (start, mut text) = match pending.take() {
            Some((start, text)) => (start, text + " " + trimmed),
            None => (i + 1, trimmed.to_string()),
        };
        if text.ends_with('\\') {
            text.pop();
            pending = Some((start, text));
            continue;
        }
        let text = match text.find(" #") {
            Some(at) => text[..at].to_string(),
            None => text,
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        for part in words.split(|w| matches!(*w, "|" | "||" | "&&" | ";")) {
            let part = part.strip_prefix(&["$"][..]).unwrap_or(part);
            if let Some(at) = invocation(part) {
                shown.push(Shown {
                    line: start,
                    words: part[at..].iter().map(|w| w.to_string()).collect(),
                });
            }
        }
    }
    shown
}

/// Where the subcommand starts in `words`, if they invoke depthprune: after any `VAR=value`
/// words and `time`, `depthprune` (or a path ending in `/depthprune`) or `cargo run --release --`.
fn invocation(words: &[&str]) -> Option<usize> {
    let i = words
        .iter()
        .position(|w| !(w.contains('=') || *w == "time"))?;
    if words[i] == "depthprune" || words[i].ends_with("/depthprune") {
        return Some(i + 1);
    }
    words[i..]
        .starts_with(&["cargo", "run", "--release", "--"])
        .then_some(i + 4)
}

/// The `--flags` in `words` (brackets, `=value` and punctuation around them dropped).
fn flags(words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for word in words {
        let mut rest = word.as_str();
        while let Some(at) = rest.find("--") {
            let tail = &rest[at + 2..];
            let len = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(tail.len());
            if len > 0 && tail.as_bytes()[0].is_ascii_alphabetic() {
                out.push(format!("--{}", &tail[..len]));
            }
            rest = &tail[len..];
        }
    }
    out
}

/// Whether `help` lists `flag` as a whole word (`--seq-len` does not list `--seq`).
fn lists(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        let after = help[at + flag.len()..].chars().next();
        !matches!(after, Some(c) if c.is_ascii_alphanumeric() || c == '-')
    })
}

/// What is wrong with the commands `doc` shows: an unknown subcommand, or a flag its help does
/// not list. `help(subcommand)` is that subcommand's `--help` text, or `None` when it does not
/// exist.
fn command_problems(
    name: &str,
    doc: &str,
    help: &mut dyn FnMut(&str) -> Option<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for shown in shown_commands(doc) {
        let Some(sub) = shown.words.first() else {
            problems.push(format!(
                "{name}:{}: depthprune without a subcommand",
                shown.line
            ));
            continue;
        };
        let Some(text) = help(sub) else {
            problems.push(format!(
                "{name}:{}: `depthprune {sub}`: no such subcommand",
                shown.line
            ));
            continue;
        };
        for flag in flags(&shown.words[1..]) {
            if !lists(&text, &flag) {
                problems.push(format!(
                    "{name}:{}: `depthprune {sub}` has no flag {flag}",
                    shown.line
                ));
            }
        }
    }
    problems
}

/// A relative link or image of a Markdown page: its line, the path (empty for the page
/// itself) and the `#fragment`, if any.
#[derive(Debug, PartialEq)]
struct Link {
    line: usize,
    path: String,
    fragment: Option<String>,
}

/// The relative link and image targets of a Markdown text, `](target)`, outside code blocks.
fn relative_links(doc: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut fenced = false;
    for (i, line) in doc.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            let Some(end) = tail.find(')') else { break };
            let target = tail[..end].split_whitespace().next().unwrap_or("");
            if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
                let (path, fragment) = match target.split_once('#') {
                    Some((path, fragment)) => (path, Some(fragment.to_string())),
                    None => (target, None),
                };
                links.push(Link {
                    line: i + 1,
                    path: path.to_string(),
                    fragment,
                });
            }
            rest = &tail[end..];
        }
    }
    links
}

/// The anchors GitHub gives a page's headings: lower case, punctuation but `-` and `_`
/// dropped, spaces as `-`.
fn heading_anchors(doc: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut fenced = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim().to_lowercase();
        let anchor: String = title
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        anchors.insert(anchor);
    }
    anchors
}

/// What is wrong with the links of `doc`, the page at `path`: a file that does not exist, or
/// an anchor that no heading of the Markdown page it names (`doc` itself for `#anchor`) gives.
fn link_problems(path: &Path, doc: &str) -> Vec<String> {
    let dir = path.parent().unwrap();
    let mut problems = Vec::new();
    for link in relative_links(doc) {
        let shown = format!("{}:{}: {}", path.display(), link.line, link.path);
        let text = if link.path.is_empty() {
            doc.to_string()
        } else {
            let target = dir.join(&link.path);
            if !target.exists() {
                problems.push(format!("{shown} does not exist"));
                continue;
            }
            if target.extension().is_none_or(|e| e != "md") {
                continue;
            }
            std::fs::read_to_string(&target).unwrap()
        };
        if let Some(fragment) = link.fragment {
            if !heading_anchors(&text).contains(&fragment) {
                problems.push(format!("{shown}#{fragment}: no such heading"));
            }
        }
    }
    problems
}

/// README.md and every docs/*.md, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// `depthprune <subcommand> --help` from the built binary, once per subcommand.
fn binary_help() -> impl FnMut(&str) -> Option<String> {
    let mut cache: BTreeMap<String, Option<String>> = BTreeMap::new();
    move |sub: &str| {
        cache
            .entry(sub.to_string())
            .or_insert_with(|| {
                if sub.starts_with('-') || sub == "help" {
                    return None;
                }
                let out = Command::new(env!("CARGO_BIN_EXE_depthprune"))
                    .args([sub, "--help"])
                    .output()
                    .unwrap();
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            })
            .clone()
    }
}

#[test]
fn every_command_the_docs_show_exists() {
    let mut help = binary_help();
    let mut problems = Vec::new();
    let mut count = 0;
    for (path, text) in pages() {
        let name = path.file_name().unwrap().to_string_lossy();
        let name = match path.parent().and_then(|p| p.file_name()) {
            Some(dir) if dir == "docs" => format!("docs/{name}"),
            _ => name.into_owned(),
        };
        count += shown_commands(&text).len();
        problems.extend(command_problems(&name, &text, &mut help));
    }
    assert!(count >= 20, "only {count} commands found in the docs");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_link_and_image_the_docs_show_exists() {
    let mut problems = Vec::new();
    let mut figures = 0;
    for (path, text) in pages() {
        figures += relative_links(&text)
            .iter()
            .filter(|l| l.path.ends_with(".png"))
            .count();
        problems.extend(link_problems(&path, &text));
    }
    assert!(figures >= 1, "README and docs/ show no figure");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check can fail: a misspelt flag, an unknown subcommand, a missing figure and a wrong
/// anchor in a synthetic page are each named; the correct lines pass.
#[test]
fn a_misspelt_flag_a_wrong_subcommand_and_a_missing_figure_are_found() {
    let doc = "# A page\n\
               Some text `depthprune ppl --modle x` (not fenced: not checked).\n\
               ```sh\n\
               depthprune ppl --model smollm2-135m --text t.txt \\\n    --seq-lenn 64   # a typo\n\
               cargo run --release -- scan --model m --objective ppl --json\n\
               cargo run --release -- scna --model m\n\
               $ ./target/release/depthprune run suites/smoke.yaml [--out DIR] --chek\n\
               ```\n\
               ![a figure](plots/no-such-figure.png), [a page](README.md#no-such-heading),\n\
               [here](#a-page), [there](#nowhere)\n";
    let mut help = binary_help();
    let problems = command_problems("synthetic.md", doc, &mut help);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("synthetic.md:4: `depthprune ppl` has no flag --seq-lenn"));
    assert!(problems[1].contains("synthetic.md:7: `depthprune scna`: no such subcommand"));
    assert!(problems[2].contains("`depthprune run` has no flag --chek"));

    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/synthetic.md");
    let problems = link_problems(&page, doc);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].ends_with("synthetic.md:10: plots/no-such-figure.png does not exist"));
    assert!(problems[1].ends_with("synthetic.md:10: README.md#no-such-heading: no such heading"));
    assert!(problems[2].ends_with("synthetic.md:11: #nowhere: no such heading"));

    assert!(lists("  --seq-len <SEQ_LEN>\n", "--seq-len"));
    assert!(!lists("  --seq-len <SEQ_LEN>\n", "--seq"));
    assert!(heading_anchors("## Objective keys (suites)\n").contains("objective-keys-suites"));
}
