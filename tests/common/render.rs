//! The plots rendered with a real SVG renderer (resvg) and a font shipped in a crate (Ubuntu
//! Light, from epaint_default_fonts), never the system's fonts: the checks and the PNGs are the
//! same on a machine with no fonts installed. Shared by tests/plots.rs and
//! examples/render_plots.rs.

#![allow(dead_code)]

use resvg::tiny_skia;
use resvg::usvg::{self, roxmltree, Node, Rect};

/// Parsing options with the bundled font as the only one, standing for `sans-serif`.
pub fn options() -> usvg::Options<'static> {
    let mut options = usvg::Options::default();
    let db = options.fontdb_mut();
    db.load_font_data(epaint_default_fonts::UBUNTU_LIGHT.to_vec());
    let family = db
        .faces()
        .next()
        .and_then(|f| f.families.first())
        .map(|(name, _)| name.clone())
        .expect("the bundled font loads");
    db.set_sans_serif_family(family.clone());
    options.font_family = family;
    options
}

pub fn parse(svg: &str) -> Result<usvg::Tree, String> {
    usvg::Tree::from_str(svg, &options()).map_err(|e| format!("does not parse: {e}"))
}

/// The picture at its own size.
pub fn render(tree: &usvg::Tree) -> tiny_skia::Pixmap {
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).expect("non-empty");
    resvg::render(tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
}

/// A text element as drawn: its id, its characters and the tight box of its glyphs.
pub struct DrawnText {
    pub id: String,
    pub text: String,
    pub bbox: Option<Rect>,
}

pub fn texts(tree: &usvg::Tree) -> Vec<DrawnText> {
    fn walk(group: &usvg::Group, out: &mut Vec<DrawnText>) {
        for node in group.children() {
            match node {
                Node::Group(g) => walk(g, out),
                Node::Text(t) => {
                    let flat = t.flattened();
                    out.push(DrawnText {
                        id: t.id().to_string(),
                        text: t.chunks().iter().map(|c| c.text()).collect(),
                        bbox: flat.has_children().then(|| flat.abs_bounding_box()),
                    });
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(tree.root(), &mut out);
    out
}

fn overlap(a: &Rect, b: &Rect) -> f32 {
    let w = a.right().min(b.right()) - a.left().max(b.left());
    let h = a.bottom().min(b.bottom()) - a.top().max(b.top());
    if w > 0.0 && h > 0.0 {
        w * h
    } else {
        0.0
    }
}

/// Everything tests/plots.rs asks of a plot: it parses; it is at most `page_width` wide and
/// draws nothing outside its canvas; every text element is drawn (the font loaded) and no two
/// overlap; it is not blank; and every heatmap column label (`id="column-label-C"`) lies
/// within its column (the cells `id="cell-R-C"`), its centre included.
pub fn check_plot(svg: &str, page_width: f64) -> Result<(), String> {
    let tree = parse(svg)?;
    let size = tree.size();
    let (w, h) = (size.width(), size.height());
    if w as f64 > page_width {
        return Err(format!("{w} px wide, more than a page ({page_width} px)"));
    }
    let drawn = texts(&tree);
    let written = svg.matches("<text ").count();
    if drawn.len() != written {
        return Err(format!(
            "{written} text elements written, {} drawn",
            drawn.len()
        ));
    }
    for t in &drawn {
        let Some(b) = t.bbox else {
            if t.text.trim().is_empty() {
                continue;
            }
            return Err(format!("text {:?} has no glyphs (no font?)", t.text));
        };
        if b.left() < -0.5 || b.top() < -0.5 || b.right() > w + 0.5 || b.bottom() > h + 0.5 {
            return Err(format!(
                "text {:?} at {b:?} leaves the {w} × {h} canvas",
                t.text
            ));
        }
    }
    let boxed: Vec<(&DrawnText, Rect)> = drawn.iter().filter_map(|t| Some((t, t.bbox?))).collect();
    for (i, (a, ra)) in boxed.iter().enumerate() {
        for (b, rb) in &boxed[i + 1..] {
            if overlap(ra, rb) > 1.0 {
                return Err(format!("texts {:?} and {:?} overlap", a.text, b.text));
            }
        }
    }
    let whole = tree.root().abs_stroke_bounding_box();
    if whole.right() > w + 0.5 || whole.bottom() > h + 0.5 {
        return Err(format!(
            "drawing reaches {whole:?}, beyond the {w} × {h} canvas"
        ));
    }
    let pixmap = render(&tree);
    let inked = pixmap
        .pixels()
        .iter()
        .filter(|p| p.red() < 240 || p.green() < 240 || p.blue() < 240)
        .count();
    if inked < 500 {
        return Err(format!("blank: {inked} pixels inked"));
    }
    check_column_labels(svg, &drawn)
}

/// Each column's x-range from its cells, then each column label's glyphs against it.
fn check_column_labels(svg: &str, drawn: &[DrawnText]) -> Result<(), String> {
    let doc = roxmltree::Document::parse(svg).map_err(|e| e.to_string())?;
    let mut columns: std::collections::BTreeMap<usize, (f32, f32)> = Default::default();
    for node in doc.descendants().filter(|n| n.has_tag_name("rect")) {
        let Some(id) = node.attribute("id").and_then(|i| i.strip_prefix("cell-")) else {
            continue;
        };
        let c: usize = id
            .split('-')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or(id)?;
        let num = |a: &str| -> f32 {
            node.attribute(a)
                .and_then(|v| v.parse().ok())
                .unwrap_or(f32::NAN)
        };
        let (x, width) = (num("x"), num("width"));
        let extent = columns.entry(c).or_insert((x, x + width));
        if (extent.0 - x).abs() > 0.01 || (extent.1 - x - width).abs() > 0.01 {
            return Err(format!("the cells of column {c} do not line up"));
        }
    }
    for t in drawn {
        let Some(c) = t.id.strip_prefix("column-label-") else {
            continue;
        };
        let c: usize = c.parse().map_err(|_| t.id.clone())?;
        let (lo, hi) = *columns
            .get(&c)
            .ok_or_else(|| format!("column label {:?} has no column {c}", t.text))?;
        let b = t
            .bbox
            .ok_or_else(|| format!("column label {:?} not drawn", t.text))?;
        let centre = (b.left() + b.right()) / 2.0;
        if !(lo..=hi).contains(&centre) || b.left() < lo - 0.5 || b.right() > hi + 0.5 {
            return Err(format!(
                "column label {:?} spans x {:.1}..{:.1} (centre {centre:.1}), outside its column {c} at {lo:.1}..{hi:.1}",
                t.text,
                b.left(),
                b.right()
            ));
        }
    }
    Ok(())
}
