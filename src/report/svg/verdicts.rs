//! The verdict figure: for each claim and model, the per-seed statistic its test runs over (a
//! point per seed), their mean, the threshold they are compared with, and the verdict with its
//! p-values and floor, one strip per (model, claim) with its own axis.

use super::{
    escape, fitted_x_axis, legend, text_width, Anchor, Doc, Key, FONT_SIZE, MEAN_COLOUR,
    REFERENCE_COLOUR, SEED_COLOUR,
};

const WIDTH: f64 = 760.0;
const ROW_H: f64 = 76.0;
const TICK_FONT: f64 = 9.0;

pub struct VerdictRow {
    /// "model · claim".
    pub title: String,
    /// "holds", "fails" or "inconclusive".
    pub verdict: String,
    /// The p-values and floor, e.g. "p holds 0.031 / fails 0.97 (Holm 0.44), floor 0.031".
    pub caption: String,
    pub per_seed: Vec<(u64, f64)>,
    /// What one of those points is: "seeds", "disjoint seed pairs".
    pub unit: &'static str,
    pub threshold: Option<f64>,
}

fn verdict_colour(verdict: &str) -> &'static str {
    match verdict {
        "holds" => "#1a7f37",
        "fails" => "#c00000",
        _ => "#555555",
    }
}

pub fn verdict_plot(title: &str, rows: &[VerdictRow]) -> String {
    let top = 52.0;
    let height = top + ROW_H * rows.len().max(1) as f64 + 8.0;
    let width = WIDTH.max(16.0 + text_width(title, 13.0));
    let mut doc = Doc::new(width, height, title);
    legend(
        &mut doc,
        8.0,
        40.0,
        &[
            (Key::Dot(SEED_COLOUR), "one seed's statistic"),
            (Key::Line(MEAN_COLOUR, 2.5, ""), "their mean"),
            (
                Key::Line(REFERENCE_COLOUR, 1.0, "4 3"),
                "what it is compared with",
            ),
        ],
    );
    if rows.is_empty() {
        doc.text(
            8.0,
            top + 20.0,
            "no claims were decided",
            FONT_SIZE,
            Anchor::Start,
        );
    }
    let (x0, strip_w) = (24.0, width - 48.0);
    for (i, row) in rows.iter().enumerate() {
        let y0 = top + ROW_H * i as f64;
        // One text element, so the verdict follows the title whatever the font's widths.
        doc.raw(&format!(
            "<text x=\"8\" y=\"{:.1}\" font-size=\"{FONT_SIZE}\">{} <tspan fill=\"{}\" font-weight=\"bold\">{}</tspan></text>",
            y0 + 12.0,
            escape(&row.title),
            verdict_colour(&row.verdict),
            escape(&row.verdict)
        ));
        let values: Vec<f64> = row
            .per_seed
            .iter()
            .map(|&(_, v)| v)
            .filter(|v| v.is_finite())
            .collect();
        let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
        let mut caption = row.caption.clone();
        if let Some(m) = mean {
            caption.push_str(&format!(
                "; mean {} over {} {}",
                super::compact(m),
                values.len(),
                row.unit
            ));
        }
        if let Some(t) = row.threshold {
            caption.push_str(&format!(", compared with {}", super::compact(t)));
        }
        doc.text(8.0, y0 + 27.0, &caption, 10.0, Anchor::Start);
        let axis_y = y0 + 54.0;
        if values.is_empty() {
            doc.styled_text(
                x0,
                axis_y - 6.0,
                "no per-seed statistic recorded for this claim",
                10.0,
                Anchor::Start,
                " fill=\"#777\"",
            );
            continue;
        }
        let lo = values
            .iter()
            .chain(row.threshold.iter())
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = values
            .iter()
            .chain(row.threshold.iter())
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let axis = fitted_x_axis(lo, hi, strip_w, TICK_FONT, true, false);
        let x = |v: f64| x0 + strip_w * axis.fraction(v);
        doc.line((x0, axis_y), (x0 + strip_w, axis_y), "#888", "");
        for &t in &axis.ticks {
            doc.line((x(t), axis_y), (x(t), axis_y + 3.0), "#444", "");
            doc.text(
                x(t),
                axis_y + 3.0 + TICK_FONT,
                &axis.label(t),
                TICK_FONT,
                Anchor::Middle,
            );
        }
        if let Some(t) = row.threshold {
            doc.line(
                (x(t), axis_y - 20.0),
                (x(t), axis_y),
                REFERENCE_COLOUR,
                " stroke-dasharray=\"4 3\"",
            );
        }
        // Seeds with equal statistics would hide one another: each sits a little higher
        // than the one before it (by seed order, so the figure does not depend on values).
        for (j, &(seed, v)) in row
            .per_seed
            .iter()
            .enumerate()
            .filter(|(_, (_, v))| v.is_finite())
        {
            doc.raw(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{SEED_COLOUR}\" fill-opacity=\"0.8\"><title>seed {seed}: {}</title></circle>",
                x(v),
                axis_y - 6.0 - 3.0 * (j % 4) as f64,
                escape(&super::compact(v))
            ));
        }
        if let Some(m) = mean {
            doc.line(
                (x(m), axis_y - 20.0),
                (x(m), axis_y),
                MEAN_COLOUR,
                " stroke-width=\"2.5\"",
            );
        }
    }
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_per_seed_the_mean_the_threshold_and_the_verdict() {
        let rows = [
            VerdictRow {
                title: "m · marginal_gains".into(),
                verdict: "holds".into(),
                caption: "p holds 0.031 / fails 1 (Holm 0.031), floor 0.031".into(),
                per_seed: vec![(0, 0.1), (1, 0.2), (2, 0.3)],
                unit: "seeds",
                threshold: Some(0.0),
            },
            VerdictRow {
                title: "m · searchers_converge".into(),
                verdict: "inconclusive".into(),
                caption: "no test".into(),
                per_seed: vec![],
                unit: "seeds",
                threshold: None,
            },
        ];
        let svg = verdict_plot("verdicts", &rows);
        assert_eq!(
            svg.matches("<circle").count(),
            3 + 1,
            "3 seeds + the legend's dot"
        );
        assert!(svg.contains("mean 0.2 over 3 seeds, compared with 0"));
        assert!(svg.contains("<tspan fill=\"#1a7f37\" font-weight=\"bold\">holds</tspan>"));
        assert!(svg.contains("no per-seed statistic recorded"));
    }
}
