//! Line plots as a grid of small panels that fits a page: one row per objective (its panels
//! share the y axis), one column per searcher (or a single column), a thin line per seed, a
//! thick one for their mean, a dashed reference level, and a legend saying which is which.

use super::{
    fitted_x_axis, fitted_y_axis, legend, Anchor, Axis, Doc, Key, FONT_SIZE, MEAN_COLOUR,
    PAGE_WIDTH, REFERENCE_COLOUR, SEED_COLOUR,
};

const TICK_FONT: f64 = 9.0;

/// One panel: a series per seed over the same `x`.
pub struct Panel {
    pub x: Vec<f64>,
    pub series: Vec<Vec<f64>>,
}

/// A row of panels sharing one y axis.
pub struct GridRow {
    /// Drawn above the row, e.g. "ppl: lower is better".
    pub title: String,
    /// The quantity on the y axis, drawn rotated at the left.
    pub y_label: String,
    pub log_y: bool,
    /// A dashed horizontal level in every panel of the row (the full model, one-shot's answer).
    pub reference: Option<f64>,
    /// Values below it are drawn on the panel's bottom edge, so that a few catastrophic
    /// first evaluations do not flatten every curve the row is read for (the title says so).
    pub y_floor: Option<f64>,
    /// One per column; `None` draws an empty frame.
    pub panels: Vec<Option<Panel>>,
}

pub struct Grid<'a> {
    pub title: &'a str,
    /// Above every panel of each column ("" for none).
    pub column_titles: Vec<String>,
    pub x_label: &'a str,
    /// Whole-number x (block indices, evaluations).
    pub integer_x: bool,
    pub rows: Vec<GridRow>,
    /// What the dashed line is, in the legend.
    pub reference_label: &'a str,
    /// A line under the plot (a footnote to the column titles).
    pub note: Option<String>,
}

/// The points of `values` over `x` that can be drawn, in runs without a non-finite value.
fn runs(x: &[f64], values: &[f64]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (&a, &b) in x.iter().zip(values) {
        if b.is_finite() {
            out.last_mut().expect("one run").push((a, b));
        } else if !out.last().expect("one run").is_empty() {
            out.push(Vec::new());
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

/// The mean at each x over the series that have a finite value there.
fn mean(series: &[Vec<f64>], n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let v: Vec<f64> = series
                .iter()
                .filter_map(|s| s.get(i).copied())
                .filter(|v| v.is_finite())
                .collect();
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        })
        .collect()
}

fn row_axis(row: &GridRow, height: f64) -> Axis {
    let values: Vec<f64> = row
        .panels
        .iter()
        .flatten()
        .flat_map(|p| p.series.iter().flatten())
        .chain(row.reference.iter())
        .copied()
        .filter(|v| v.is_finite() && (!row.log_y || *v > 0.0))
        .collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let lo = row.y_floor.map_or(lo, |floor| lo.max(floor));
    fitted_y_axis(lo, hi, height, row.log_y)
}

pub fn line_grid(grid: &Grid) -> String {
    let columns = grid
        .rows
        .iter()
        .map(|r| r.panels.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let panel_h = if columns == 1 { 170.0 } else { 120.0 };
    let axes: Vec<Axis> = grid.rows.iter().map(|r| row_axis(r, panel_h)).collect();
    let tick_w = axes
        .iter()
        .map(|a| a.label_width(TICK_FONT))
        .fold(0.0, f64::max);
    let (left, right, gap) = (22.0 + tick_w + 8.0, 14.0, 14.0);
    let panel_w = (PAGE_WIDTH - left - right - gap * (columns - 1) as f64) / columns as f64;
    let has_titles = grid.column_titles.iter().any(|t| !t.is_empty());
    // Per row: its title, the column titles, the panels, their x tick labels.
    let row_h = 18.0 + if has_titles { 14.0 } else { 0.0 } + panel_h + 16.0;
    let top = 56.0;
    let height =
        top + row_h * grid.rows.len() as f64 + 22.0 + grid.note.as_ref().map_or(0.0, |_| 16.0);
    let mut doc = Doc::new(PAGE_WIDTH, height, grid.title);
    legend(
        &mut doc,
        8.0,
        40.0,
        &[
            (Key::Line(SEED_COLOUR, 1.0, ""), "one seed"),
            (Key::Line(MEAN_COLOUR, 2.0, ""), "mean of the seeds"),
            (
                Key::Line(REFERENCE_COLOUR, 1.0, "4 3"),
                grid.reference_label,
            ),
        ],
    );
    for (r, (row, axis)) in grid.rows.iter().zip(&axes).enumerate() {
        let row_top = top + row_h * r as f64;
        doc.text(left, row_top + 12.0, &row.title, FONT_SIZE, Anchor::Start);
        let panel_top = row_top + 18.0 + if has_titles { 14.0 } else { 0.0 };
        let y_pos = |v: f64| panel_top + panel_h * (1.0 - axis.fraction(v));
        let mid = panel_top + panel_h / 2.0;
        doc.styled_text(
            12.0,
            mid,
            &row.y_label,
            FONT_SIZE,
            Anchor::Middle,
            &format!(" transform=\"rotate(-90 12 {mid:.1})\""),
        );
        for &t in &axis.ticks {
            doc.text(
                left - 5.0,
                y_pos(t) + TICK_FONT * 0.35,
                &axis.label(t),
                TICK_FONT,
                Anchor::End,
            );
        }
        for (c, panel) in row.panels.iter().enumerate() {
            let x0 = left + (panel_w + gap) * c as f64;
            if let Some(title) = grid.column_titles.get(c).filter(|t| !t.is_empty()) {
                doc.text(x0, panel_top - 4.0, title, FONT_SIZE, Anchor::Start);
            }
            for &t in &axis.ticks {
                doc.line((x0, y_pos(t)), (x0 + panel_w, y_pos(t)), "#e6e6e6", "");
            }
            doc.rect(
                x0,
                panel_top,
                panel_w,
                panel_h,
                " fill=\"none\" stroke=\"#888\"",
            );
            let Some(panel) = panel else {
                doc.text(
                    x0 + panel_w / 2.0,
                    mid,
                    "no runs",
                    TICK_FONT,
                    Anchor::Middle,
                );
                continue;
            };
            let (x_lo, x_hi) = panel
                .x
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let x_axis = fitted_x_axis(x_lo, x_hi, panel_w - 8.0, TICK_FONT, false, grid.integer_x);
            // 4 px inside the frame at each end, so the first and last points are not on it.
            let x_pos = |v: f64| x0 + 4.0 + (panel_w - 8.0) * x_axis.fraction(v);
            let bottom = panel_top + panel_h;
            for &t in &x_axis.ticks {
                doc.line((x_pos(t), bottom), (x_pos(t), bottom + 3.0), "#444", "");
                doc.text(
                    x_pos(t),
                    bottom + 3.0 + TICK_FONT,
                    &x_axis.label(t),
                    TICK_FONT,
                    Anchor::Middle,
                );
            }
            if let Some(level) = row.reference {
                let y = y_pos(level);
                doc.line(
                    (x0, y),
                    (x0 + panel_w, y),
                    REFERENCE_COLOUR,
                    " stroke-dasharray=\"4 3\"",
                );
            }
            let place = |points: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
                points
                    .into_iter()
                    .map(|(a, b)| (x_pos(a), y_pos(row.y_floor.map_or(b, |f| b.max(f)))))
                    .collect()
            };
            for s in &panel.series {
                for run in runs(&panel.x, s) {
                    doc.polyline(&place(run), SEED_COLOUR, 1.0, "");
                }
            }
            if !panel.series.is_empty() {
                for run in runs(&panel.x, &mean(&panel.series, panel.x.len())) {
                    doc.polyline(&place(run), MEAN_COLOUR, 2.0, "");
                }
            }
        }
    }
    let bottom = top + row_h * grid.rows.len() as f64;
    doc.text(
        left + (PAGE_WIDTH - left - right) / 2.0,
        bottom + 10.0,
        grid.x_label,
        FONT_SIZE,
        Anchor::Middle,
    );
    if let Some(note) = &grid.note {
        doc.text(8.0, bottom + 28.0, note, FONT_SIZE, Anchor::Start);
    }
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rows: Vec<GridRow>) -> String {
        line_grid(&Grid {
            title: "curves",
            column_titles: vec!["a".into(), "b".into()],
            x_label: "evaluations",
            integer_x: true,
            rows,
            reference_label: "one-shot",
            note: None,
        })
    }

    #[test]
    fn draws_each_series_the_mean_the_reference_and_a_legend() {
        let panel = || Panel {
            x: vec![1.0, 2.0, 3.0],
            series: vec![vec![10.0, 100.0, 1000.0], vec![20.0, f64::NAN, 2000.0]],
        };
        let svg = grid(vec![GridRow {
            title: "ppl".into(),
            y_label: "perplexity".into(),
            log_y: true,
            reference: Some(5.0),
            y_floor: None,
            panels: vec![Some(panel()), None],
        }]);
        // Per panel: series 1 (one run), series 2 (two runs around the NaN), the mean; plus
        // the legend's three lines.
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("stroke-dasharray=\"4 3\""));
        assert!(svg.contains(">mean of the seeds</text>") && svg.contains(">one-shot</text>"));
        assert!(svg.contains(">no runs</text>"));
        assert!(svg.contains(">100</text>") && svg.contains(">1</text>"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }

    #[test]
    fn a_row_shares_one_y_axis() {
        let panel = |v: f64| {
            Some(Panel {
                x: vec![1.0, 2.0],
                series: vec![vec![0.0, v]],
            })
        };
        let svg = grid(vec![GridRow {
            title: "acc".into(),
            y_label: "gain".into(),
            log_y: false,
            reference: Some(0.0),
            y_floor: None,
            panels: vec![panel(0.1), panel(0.4)],
        }]);
        // The y tick labels are drawn once for the row, up to the larger panel's maximum.
        assert_eq!(svg.matches(">0.4</text>").count(), 1, "{svg}");
        assert_eq!(svg.matches(">0.0</text>").count(), 1);
    }

    #[test]
    fn a_floor_keeps_one_catastrophic_value_from_setting_the_axis() {
        let row = |y_floor| GridRow {
            title: "ppl".into(),
            y_label: "gain".into(),
            log_y: false,
            reference: Some(0.0),
            y_floor,
            panels: vec![Some(Panel {
                x: vec![1.0, 2.0, 3.0],
                series: vec![vec![-100.0, 0.1, 0.2]],
            })],
        };
        let unfloored = grid(vec![row(None)]);
        assert!(unfloored.contains(">-100</text>"), "{unfloored}");
        let floored = grid(vec![row(Some(-0.5))]);
        assert!(!floored.contains(">-100</text>"), "{floored}");
        assert!(floored.contains(">-0.4</text>") || floored.contains(">-0.5</text>"));
    }
}
