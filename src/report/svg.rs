//! The suite's plots as self-contained SVG: heatmaps (removed blocks, agreement) and line plots
//! (single-removal curves). Written by hand, without a plotting crate, so that the output is a
//! pure function of the numbers: the same results give byte-identical files.

use std::fmt::Write;

const FONT: &str = "font-family=\"sans-serif\" font-size=\"11\"";
const CELL: f64 = 18.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The opening tag, a white background and the title.
fn open_svg(width: f64, height: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" {FONT}>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"8\" y=\"20\" font-size=\"13\">{}</text>\n",
        escape(title)
    )
}

/// White (0) to dark blue (1).
fn blue(value: f64) -> String {
    let v = value.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * v).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(255.0, 8.0),
        mix(255.0, 48.0),
        mix(255.0, 107.0)
    )
}

/// A heatmap of `values` (rows × columns, each in 0..=1; NaN draws grey), with labels, a title
/// and, when `annotate`, the value printed in each cell.
pub fn heatmap(
    title: &str,
    row_labels: &[String],
    column_labels: &[String],
    values: &[Vec<f64>],
    annotate: bool,
) -> String {
    let cell_w = if annotate { 2.0 * CELL } else { CELL };
    let left = 8.0 + 7.0 * row_labels.iter().map(|l| l.len()).max().unwrap_or(0) as f64;
    let top = 40.0;
    let label_h = 6.0 * column_labels.iter().map(|l| l.len()).max().unwrap_or(0) as f64 + 8.0;
    let width = left + cell_w * column_labels.len() as f64 + 20.0;
    let height = top + CELL * row_labels.len() as f64 + label_h + 10.0;
    let mut svg = open_svg(width, height, title);
    for (r, (label, row)) in row_labels.iter().zip(values).enumerate() {
        let y = top + CELL * r as f64;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 4.0,
            y + CELL * 0.7,
            escape(label)
        );
        for (c, &v) in row.iter().enumerate() {
            let x = left + cell_w * c as f64;
            let fill = if v.is_nan() {
                "#dddddd".to_string()
            } else {
                blue(v)
            };
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell_w:.1}\" height=\"{CELL:.1}\" fill=\"{fill}\" stroke=\"#ffffff\"><title>{}, {}: {v:.3}</title></rect>",
                escape(label),
                escape(&column_labels[c])
            );
            if annotate && !v.is_nan() {
                let ink = if v > 0.5 { "white" } else { "black" };
                let _ = writeln!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"9\" fill=\"{ink}\">{v:.2}</text>",
                    x + cell_w / 2.0,
                    y + CELL * 0.68
                );
            }
        }
    }
    let base = top + CELL * row_labels.len() as f64 + 4.0;
    for (c, label) in column_labels.iter().enumerate() {
        let x = left + cell_w * c as f64 + cell_w / 2.0 + 3.0;
        let _ = writeln!(
            svg,
            "<text x=\"{x:.1}\" y=\"{base:.1}\" transform=\"rotate(90 {x:.1} {base:.1})\">{}</text>",
            escape(label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// One panel of a line plot: thin lines for each series, a thick one for their mean, and a
/// dashed reference level.
pub struct Panel {
    pub title: String,
    pub y_label: String,
    pub log_y: bool,
    pub series: Vec<Vec<f64>>,
    pub reference: Option<f64>,
}

/// Panels stacked vertically over a shared x axis (`x`, e.g. block indices).
pub fn line_panels(title: &str, x_label: &str, x: &[usize], panels: &[Panel]) -> String {
    let (left, right, panel_h, gap) = (70.0, 20.0, 170.0, 50.0);
    let plot_w = (16.0 * x.len() as f64).max(520.0);
    let width = left + plot_w + right;
    let height = 40.0 + (panel_h + gap) * panels.len() as f64 + 10.0;
    let (x_min, x_max) = (
        *x.iter().min().unwrap_or(&0) as f64,
        *x.iter().max().unwrap_or(&1) as f64,
    );
    let x_pos = |v: f64| left + plot_w * (v - x_min) / (x_max - x_min).max(1.0);
    let mut svg = open_svg(width, height, title);
    for (p, panel) in panels.iter().enumerate() {
        let top = 40.0 + (panel_h + gap) * p as f64;
        let tf = |v: f64| {
            if panel.log_y {
                v.max(1e-300).log10()
            } else {
                v
            }
        };
        let all: Vec<f64> = panel
            .series
            .iter()
            .flatten()
            .chain(panel.reference.iter())
            .map(|&v| tf(v))
            .filter(|v| v.is_finite())
            .collect();
        let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (lo - 1.0, lo + 1.0)
        };
        let y_pos = |v: f64| top + panel_h - panel_h * (tf(v) - lo) / (hi - lo);
        let _ = writeln!(
            svg,
            "<rect x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{panel_h}\" fill=\"none\" stroke=\"#888\"/>\n<text x=\"{left}\" y=\"{:.1}\">{}</text>",
            top - 6.0,
            escape(&panel.title)
        );
        for (v, anchor) in [(lo, top + panel_h), (hi, top + 8.0)] {
            let shown = if panel.log_y { 10f64.powf(v) } else { v };
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{anchor:.1}\" text-anchor=\"end\">{}</text>",
                left - 4.0,
                format_tick(shown)
            );
        }
        let mid = top + panel_h / 2.0;
        let _ = writeln!(
            svg,
            "<text x=\"12\" y=\"{mid:.1}\" transform=\"rotate(-90 12 {mid:.1})\" text-anchor=\"middle\">{}</text>",
            escape(&panel.y_label)
        );
        if let Some(r) = panel.reference {
            let y = y_pos(r);
            let _ = writeln!(
                svg,
                "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#c00\" stroke-dasharray=\"4 3\"><title>full model: {r:.4}</title></line>",
                left + plot_w
            );
        }
        let polyline = |values: &[f64], stroke: &str, w: f64| {
            let points: Vec<String> = x
                .iter()
                .zip(values)
                .map(|(&b, &v)| format!("{:.1},{:.1}", x_pos(b as f64), y_pos(v)))
                .collect();
            format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{w}\"/>\n",
                points.join(" ")
            )
        };
        for s in &panel.series {
            svg.push_str(&polyline(s, "#9ecae1", 1.0));
        }
        if !panel.series.is_empty() {
            let mean: Vec<f64> = (0..x.len())
                .map(|i| panel.series.iter().map(|s| s[i]).sum::<f64>() / panel.series.len() as f64)
                .collect();
            svg.push_str(&polyline(&mean, "#08306b", 2.0));
        }
        let axis = top + panel_h + 14.0;
        for &b in x {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{axis:.1}\" text-anchor=\"middle\" font-size=\"9\">{b}</text>",
                x_pos(b as f64)
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            left + plot_w / 2.0,
            axis + 16.0,
            escape(x_label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn format_tick(v: f64) -> String {
    if v.abs() >= 1e4 || (v != 0.0 && v.abs() < 1e-2) {
        format!("{v:.2e}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_draws_a_cell_per_value_and_escapes_labels() {
        let svg = heatmap(
            "t <1>",
            &["a&b".into(), "c".into()],
            &["0".into(), "1".into(), "2".into()],
            &[vec![0.0, 0.5, 1.0], vec![f64::NAN, 0.25, 0.75]],
            true,
        );
        assert_eq!(svg.matches("<rect x=").count(), 6);
        assert!(svg.contains("t &lt;1&gt;") && svg.contains("a&amp;b"));
        assert!(svg.contains("#ffffff") && svg.contains("#08306b") && svg.contains("#dddddd"));
        assert!(svg.contains(">0.50</text>"));
    }

    #[test]
    fn line_panels_draw_each_series_and_the_mean() {
        let panel = Panel {
            title: "ppl".into(),
            y_label: "perplexity".into(),
            log_y: true,
            series: vec![vec![10.0, 100.0, 1000.0], vec![20.0, 200.0, 2000.0]],
            reference: Some(5.0),
        };
        let svg = line_panels("curves", "block", &[1, 2, 3], &[panel]);
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("stroke-dasharray"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}
