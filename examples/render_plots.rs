//! Renders every SVG plot of a results folder to PNG with resvg and the font the tests use
//! (bundled, so the pictures are the same on any machine):
//!
//! ```sh
//! cargo run --release --example render_plots -- results/claims [OUT_DIR]
//! ```
//!
//! Writes `<name>.png` beside each `<name>.svg`, or into OUT_DIR.

#[path = "../tests/common/render.rs"]
mod render;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let Some(dir) = args.first() else {
        bail!("usage: render_plots RESULTS_DIR [OUT_DIR] (e.g. results/claims)");
    };
    let out = args.get(1).unwrap_or(dir);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| {
            format!(
                "reading {} (a folder `depthprune run` wrote?)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .collect();
    names.sort();
    if names.is_empty() {
        bail!(
            "no .svg files in {}: run a suite into it first",
            dir.display()
        );
    }
    for svg in names {
        let text =
            std::fs::read_to_string(&svg).with_context(|| format!("reading {}", svg.display()))?;
        let tree = render::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", svg.display()))?;
        let png = out.join(svg.with_extension("png").file_name().expect("a file name"));
        render::render(&tree)
            .save_png(&png)
            .with_context(|| format!("writing {}", png.display()))?;
        println!("{}", png.display());
    }
    Ok(())
}
