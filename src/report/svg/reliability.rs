//! The reliability figure: an objective's cross-seed Kendall τ against its size (measured
//! points), beside the Spearman–Brown prediction from its smallest size (dashed), one colour
//! per objective.

use super::{fitted_x_axis, fitted_y_axis, legend_width, text_width, Anchor, Doc, Key, FONT_SIZE};

const PALETTE: [&str; 4] = ["#08519c", "#d94801", "#238b45", "#6a51a3"];
const TICK_FONT: f64 = 9.0;

pub struct ReliabilitySeries {
    /// The measured points: (size, mean cross-seed τ).
    pub measured: Vec<(f64, f64)>,
    pub measured_label: String,
    /// The prediction as a curve over sizes (empty when there is none).
    pub predicted: Vec<(f64, f64)>,
    pub predicted_label: String,
}

pub fn reliability_plot(title: &str, x_label: &str, series: &[ReliabilitySeries]) -> String {
    let (left, top, plot_w, plot_h): (f64, f64, f64, f64) = (64.0, 40.0, 560.0, 260.0);
    let entries: Vec<(Key, &str)> = series
        .iter()
        .zip(PALETTE.iter().cycle())
        .flat_map(|(s, &c)| {
            [
                (Key::Dot(c), s.measured_label.as_str()),
                (Key::Line(c, 1.5, "5 3"), s.predicted_label.as_str()),
            ]
        })
        .collect();
    let legend_w = entries.chunks(2).map(legend_width).fold(0.0, f64::max);
    let width = (left + plot_w + 20.0)
        .max(16.0 + text_width(title, 13.0))
        .max(16.0 + legend_w);
    let legend_top = top + plot_h + 46.0;
    let height = legend_top + 18.0 * series.len() as f64 + 8.0;
    let mut doc = Doc::new(width, height, title);
    let points = || {
        series
            .iter()
            .flat_map(|s| s.measured.iter().chain(&s.predicted))
    };
    let (x_lo, x_hi) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.0), b.max(p.0))
    });
    let y_lo = points().map(|p| p.1).fold(0.0, f64::min);
    let x_axis = fitted_x_axis(x_lo, x_hi, plot_w - 16.0, TICK_FONT, false, true);
    let y_axis = fitted_y_axis(y_lo, 1.0, plot_h, false);
    let x = |v: f64| left + 8.0 + (plot_w - 16.0) * x_axis.fraction(v);
    let y = |v: f64| top + plot_h * (1.0 - y_axis.fraction(v));
    for &t in &y_axis.ticks {
        doc.line((left, y(t)), (left + plot_w, y(t)), "#e6e6e6", "");
        doc.text(
            left - 5.0,
            y(t) + TICK_FONT * 0.35,
            &y_axis.label(t),
            TICK_FONT,
            Anchor::End,
        );
    }
    doc.rect(left, top, plot_w, plot_h, " fill=\"none\" stroke=\"#888\"");
    let bottom = top + plot_h;
    for &t in &x_axis.ticks {
        doc.line((x(t), bottom), (x(t), bottom + 3.0), "#444", "");
        doc.text(
            x(t),
            bottom + 3.0 + TICK_FONT,
            &x_axis.label(t),
            TICK_FONT,
            Anchor::Middle,
        );
    }
    doc.text(
        left + plot_w / 2.0,
        bottom + 30.0,
        x_label,
        FONT_SIZE,
        Anchor::Middle,
    );
    let mid = top + plot_h / 2.0;
    doc.styled_text(
        16.0,
        mid,
        "mean cross-seed Kendall τ",
        FONT_SIZE,
        Anchor::Middle,
        &format!(" transform=\"rotate(-90 16 {mid:.1})\""),
    );
    for (i, (s, &colour)) in series.iter().zip(PALETTE.iter().cycle()).enumerate() {
        if s.predicted.len() > 1 {
            let line: Vec<(f64, f64)> = s.predicted.iter().map(|&(a, b)| (x(a), y(b))).collect();
            doc.polyline(&line, colour, 1.5, " stroke-dasharray=\"5 3\"");
        }
        if s.measured.len() > 1 {
            let line: Vec<(f64, f64)> = s.measured.iter().map(|&(a, b)| (x(a), y(b))).collect();
            doc.polyline(&line, colour, 0.8, "");
        }
        for &(a, b) in &s.measured {
            doc.raw(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{colour}\"><title>size {a}: τ {b:.3}</title></circle>",
                x(a),
                y(b)
            ));
        }
        super::legend(
            &mut doc,
            8.0,
            legend_top + 18.0 * i as f64,
            &entries[2 * i..2 * i + 2],
        );
    }
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_points_and_the_prediction_beside_them() {
        let svg = reliability_plot(
            "r",
            "windows",
            &[ReliabilitySeries {
                measured: vec![(2.0, 0.2), (4.0, 0.35), (8.0, 0.5)],
                measured_label: "ppl: measured".into(),
                predicted: vec![(2.0, 0.2), (8.0, 0.5)],
                predicted_label: "ppl: Spearman–Brown from size 2".into(),
            }],
        );
        assert_eq!(svg.matches("<circle").count(), 3 + 1);
        assert!(svg.contains("stroke-dasharray=\"5 3\""));
        assert!(svg.contains("Spearman–Brown from size 2"));
    }
}
