//! A heatmap of values in 0..=1 with its colour scale: rows and columns labelled, each column
//! label centred under its own column, protected columns hatched.

use std::collections::BTreeSet;

use super::{blue, escape, legend, legend_width, text_width, Anchor, Doc, Key, FONT_SIZE};

const CELL: f64 = 18.0;
const COLUMN_FONT: f64 = 10.0;
const PROTECTED_FILL: &str = "url(#protected)";
const NO_DATA: &str = "#dddddd";

pub struct Heatmap<'a> {
    pub title: &'a str,
    pub row_labels: &'a [String],
    pub column_labels: &'a [String],
    /// rows × columns, each in 0..=1; NaN is drawn grey ("no data").
    pub values: &'a [Vec<f64>],
    /// Print each value in its cell.
    pub annotate: bool,
    /// Columns that hold no value because they cannot be chosen (protected blocks): hatched.
    pub protected: &'a BTreeSet<usize>,
    /// What the colour scale measures, e.g. "share of seeds".
    pub scale_label: &'a str,
}

/// Draws `map`. Column labels are horizontal when they fit a cell, otherwise rotated to read
/// upwards; either way their centre is the column's centre (`tests/plots.rs` checks this with
/// a real font). Cells carry `id="cell-R-C"` and column labels `id="column-label-C"` so that
/// check can find them.
pub fn heatmap(map: &Heatmap) -> String {
    let cell_w = if map.annotate { 2.0 * CELL } else { CELL };
    let (rows, columns) = (map.row_labels.len(), map.column_labels.len());
    let widest = |labels: &[String], size: f64| {
        labels
            .iter()
            .map(|l| text_width(l, size))
            .fold(0.0, f64::max)
    };
    let horizontal = widest(map.column_labels, COLUMN_FONT) <= cell_w - 4.0;
    let label_h = if horizontal {
        COLUMN_FONT + 6.0
    } else {
        widest(map.column_labels, COLUMN_FONT) + 10.0
    };
    let left = 12.0 + widest(map.row_labels, FONT_SIZE);
    let top = 36.0;
    let grid_w = cell_w * columns as f64;
    let grid_bottom = top + CELL * rows as f64;
    let scale_y = grid_bottom + label_h + 14.0;
    let has_nan = map.values.iter().flatten().any(|v| v.is_nan());
    let mut keys = Vec::new();
    if !map.protected.is_empty() {
        keys.push((Key::Swatch(PROTECTED_FILL), "protected (never removable)"));
    }
    if has_nan {
        keys.push((Key::Swatch(NO_DATA), "no data"));
    }
    let scale_caption_w = text_width(map.scale_label, FONT_SIZE) + 8.0;
    let (bar_w, bar_h) = (160.0, 10.0);
    let scale_row_w = 8.0 + scale_caption_w + bar_w + 24.0 + legend_width(&keys);
    let width = (left + grid_w + 20.0)
        .max(scale_row_w + 8.0)
        .max(16.0 + text_width(map.title, 13.0));
    let height = scale_y + bar_h + 2.0 * FONT_SIZE + 8.0;
    let mut doc = Doc::new(width, height, map.title);
    doc.def(
        "<pattern id=\"protected\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f4f4f4\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#9a9a9a\" stroke-width=\"2\"/></pattern>",
    );
    doc.def(&format!(
        "<linearGradient id=\"scale\"><stop offset=\"0\" stop-color=\"{}\"/><stop offset=\"1\" stop-color=\"{}\"/></linearGradient>",
        blue(0.0),
        blue(1.0)
    ));
    for (r, (label, row)) in map.row_labels.iter().zip(map.values).enumerate() {
        let y = top + CELL * r as f64;
        doc.text(left - 6.0, y + CELL * 0.7, label, FONT_SIZE, Anchor::End);
        for (c, &v) in row.iter().enumerate().take(columns) {
            let x = left + cell_w * c as f64;
            let protected = map.protected.contains(&c);
            let (fill, tip) = if protected {
                (PROTECTED_FILL.to_string(), "protected".to_string())
            } else if v.is_nan() {
                (NO_DATA.to_string(), "no data".to_string())
            } else {
                (blue(v), format!("{v:.3}"))
            };
            doc.raw(&format!(
                "<rect id=\"cell-{r}-{c}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell_w:.1}\" height=\"{CELL:.1}\" fill=\"{fill}\" stroke=\"#ffffff\"><title>{}, {}: {tip}</title></rect>",
                escape(label),
                escape(&map.column_labels[c])
            ));
            if map.annotate && !protected && !v.is_nan() {
                let ink = if v > 0.5 { "white" } else { "black" };
                doc.styled_text(
                    x + cell_w / 2.0,
                    y + CELL * 0.68,
                    &format!("{v:.2}"),
                    9.0,
                    Anchor::Middle,
                    &format!(" fill=\"{ink}\""),
                );
            }
        }
    }
    doc.rect(
        left,
        top,
        grid_w,
        CELL * rows as f64,
        " fill=\"none\" stroke=\"#888\"",
    );
    for (c, label) in map.column_labels.iter().enumerate() {
        let centre = left + cell_w * (c as f64 + 0.5);
        let id = format!(" id=\"column-label-{c}\"");
        if horizontal {
            doc.styled_text(
                centre,
                grid_bottom + COLUMN_FONT + 3.0,
                label,
                COLUMN_FONT,
                Anchor::Middle,
                &id,
            );
        } else {
            // Rotated a quarter turn anticlockwise, a line of text's glyphs lie to the left of
            // its baseline: between about 0.72 em (cap height) and 0 em from it. The baseline
            // goes 0.36 em right of the centre so that the glyphs' middle is the centre.
            let x = centre + 0.36 * COLUMN_FONT;
            let y = grid_bottom + 4.0;
            doc.styled_text(
                x,
                y,
                label,
                COLUMN_FONT,
                Anchor::End,
                &format!("{id} transform=\"rotate(-90 {x:.1} {y:.1})\""),
            );
        }
    }
    // The colour scale: caption, gradient bar with ticks, then the swatches.
    let mut x = 8.0;
    doc.text(
        x,
        scale_y + bar_h,
        map.scale_label,
        FONT_SIZE,
        Anchor::Start,
    );
    x += scale_caption_w;
    doc.rect(
        x,
        scale_y,
        bar_w,
        bar_h,
        " fill=\"url(#scale)\" stroke=\"#888\"",
    );
    for (i, t) in ["0", "0.25", "0.5", "0.75", "1"].iter().enumerate() {
        let tx = x + bar_w * i as f64 / 4.0;
        doc.line(
            (tx, scale_y + bar_h),
            (tx, scale_y + bar_h + 3.0),
            "#444",
            "",
        );
        doc.text(
            tx,
            scale_y + bar_h + 3.0 + FONT_SIZE,
            t,
            9.0,
            Anchor::Middle,
        );
    }
    x += bar_w + 24.0;
    legend(&mut doc, x, scale_y + bar_h, &keys);
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map<'a>(
        rows: &'a [String],
        columns: &'a [String],
        values: &'a [Vec<f64>],
        protected: &'a BTreeSet<usize>,
        annotate: bool,
    ) -> Heatmap<'a> {
        Heatmap {
            title: "t <1>",
            row_labels: rows,
            column_labels: columns,
            values,
            annotate,
            protected,
            scale_label: "share",
        }
    }

    #[test]
    fn draws_a_cell_per_value_a_scale_and_escapes_labels() {
        let rows = ["a&b".to_string(), "c".into()];
        let columns = ["0".to_string(), "1".into(), "2".into()];
        let values = [vec![0.0, 0.5, 1.0], vec![f64::NAN, 0.25, 0.75]];
        let protected = BTreeSet::from([2]);
        let svg = heatmap(&map(&rows, &columns, &values, &protected, true));
        assert_eq!(svg.matches("<rect id=\"cell-").count(), 6);
        assert!(svg.contains("t &lt;1&gt;") && svg.contains("a&amp;b"));
        assert!(svg.contains(NO_DATA) && svg.contains("#08306b"));
        assert_eq!(
            svg.matches("fill=\"url(#protected)\"").count(),
            3,
            "2 cells + swatch"
        );
        assert!(svg.contains(">0.50</text>") && !svg.contains(">1.00</text>"));
        assert!(svg.contains("url(#scale)") && svg.contains(">share</text>"));
        assert!(svg.contains("protected (never removable)") && svg.contains("no data"));
    }

    #[test]
    fn short_column_labels_are_centred_on_their_column() {
        let rows = ["r".to_string()];
        let columns: Vec<String> = (0..3).map(|c| c.to_string()).collect();
        let values = [vec![0.0; 3]];
        let none = BTreeSet::new();
        let svg = heatmap(&map(&rows, &columns, &values, &none, false));
        // The cell of column 1 starts at x0 and the label's anchor is its centre.
        let cell_x: f64 = attr(&svg, "id=\"cell-0-1\"", "x");
        let label_x: f64 = attr(&svg, "id=\"column-label-1\"", "x");
        assert!((label_x - (cell_x + CELL / 2.0)).abs() < 0.06);
        assert!(svg.contains("text-anchor=\"middle\" id=\"column-label-1\""));
    }

    /// The value of `name` in the element that holds `marker`.
    fn attr(svg: &str, marker: &str, name: &str) -> f64 {
        let line = svg.lines().find(|l| l.contains(marker)).unwrap();
        let start = line.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        line[start..].split('"').next().unwrap().parse().unwrap()
    }
}
