//! The plots as self-contained SVG, written by hand so that a file is a pure function of its
//! numbers: the same results give the same bytes on every machine (goldens and
//! `tests/shard.rs` compare plots byte for byte). A plotting crate such as plotters lays text
//! out by measuring it with a font it loads from the system, so its output would depend on the
//! fonts installed; here the layout estimates text widths from character counts instead, with
//! a margin, and `tests/plots.rs` checks the result with a real renderer and font.
//!
//! This module holds what every figure shares: the document, text, "nice" axis ticks, the
//! colour scale and legends. One module per kind of figure draws on it.

pub mod grid;
pub mod heatmap;
pub mod reliability;
pub mod verdicts;

pub use grid::{line_grid, Grid, GridRow, Panel};
pub use heatmap::{heatmap, Heatmap};
pub use reliability::{reliability_plot, ReliabilitySeries};
pub use verdicts::{verdict_plot, VerdictRow};

use std::fmt::Write;

/// The widest a figure may be: a page (or a README column) at 96 dpi with room to spare.
pub const PAGE_WIDTH: f64 = 960.0;
/// The body font size; titles are 13.
pub const FONT_SIZE: f64 = 11.0;
const FONT: &str = "font-family=\"sans-serif\"";

/// Colours for a seed's line or point, the mean, the reference and the threshold.
pub const SEED_COLOUR: &str = "#6baed6";
pub const MEAN_COLOUR: &str = "#08306b";
pub const REFERENCE_COLOUR: &str = "#c00000";

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The width `text` takes at `size`, over-estimated (0.62 em a character, wider than the
/// average glyph of common sans-serif fonts) so that labels spaced by it never collide.
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.62
}

/// An SVG document being written: a white page of a fixed size and the elements on it.
pub struct Doc {
    width: f64,
    height: f64,
    defs: String,
    body: String,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn attr(self) -> &'static str {
        match self {
            Anchor::Start => "",
            Anchor::Middle => " text-anchor=\"middle\"",
            Anchor::End => " text-anchor=\"end\"",
        }
    }
}

impl Doc {
    /// A page with `title` at its top left.
    pub fn new(width: f64, height: f64, title: &str) -> Self {
        let mut doc = Doc {
            width,
            height,
            defs: String::new(),
            body: String::new(),
        };
        doc.text(8.0, 20.0, title, 13.0, Anchor::Start);
        doc
    }

    /// Text at (x, y) (its baseline), in `size` px.
    pub fn text(&mut self, x: f64, y: f64, text: &str, size: f64, anchor: Anchor) {
        self.styled_text(x, y, text, size, anchor, "");
    }

    /// Text with extra attributes (`fill`, `id`, `transform`, ...), written as given.
    pub fn styled_text(
        &mut self,
        x: f64,
        y: f64,
        text: &str,
        size: f64,
        anchor: Anchor,
        extra: &str,
    ) {
        let _ = writeln!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\"{}{extra}>{}</text>",
            anchor.attr(),
            escape(text)
        );
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str, extra: &str) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{stroke}\"{extra}/>"
        );
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, extra: &str) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\"{extra}/>"
        );
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, extra: &str) {
        let points: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            self.body,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{width}\"{extra}/>",
            points.join(" ")
        );
    }

    pub fn raw(&mut self, element: &str) {
        self.body.push_str(element);
        self.body.push('\n');
    }

    /// Something referenced by id (a gradient, a pattern).
    pub fn def(&mut self, element: &str) {
        self.defs.push_str(element);
        self.defs.push('\n');
    }

    pub fn finish(self) -> String {
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{:.0}\" {FONT} font-size=\"{FONT_SIZE}\">\n",
            self.width, self.height
        );
        if !self.defs.is_empty() {
            let _ = write!(svg, "<defs>\n{}</defs>\n", self.defs);
        }
        svg.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.push_str(&self.body);
        svg.push_str("</svg>\n");
        svg
    }
}

/// White (0) to dark blue (1), linear in sRGB (the colour scale's gradient interpolates the
/// same way).
pub fn blue(value: f64) -> String {
    let v = value.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * v).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(255.0, 8.0),
        mix(255.0, 48.0),
        mix(255.0, 107.0)
    )
}

/// An axis: its domain and the values that get a tick and a label.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    /// log10 scale: `lo`, `hi` and `ticks` are in data units, positions in their logarithms.
    pub log: bool,
    step: f64,
}

impl Axis {
    /// The position of `v` from 0 (at `lo`) to 1 (at `hi`).
    pub fn fraction(&self, v: f64) -> f64 {
        let t = |x: f64| if self.log { x.max(1e-300).log10() } else { x };
        let (lo, hi) = (t(self.lo), t(self.hi));
        if hi > lo {
            (t(v) - lo) / (hi - lo)
        } else {
            0.5
        }
    }

    /// A tick's label, with as many decimals as the step needs.
    pub fn label(&self, v: f64) -> String {
        if self.log || v.abs() >= 1e5 {
            return compact(v);
        }
        let decimals = if self.step >= 1.0 {
            0
        } else {
            // 0.25 needs two decimals, 0.2 one.
            (0..6)
                .find(|&d| {
                    let scaled = self.step * 10f64.powi(d);
                    (scaled - scaled.round()).abs() < 1e-6
                })
                .unwrap_or(6) as usize
        };
        let text = format!("{v:.decimals$}");
        // "-0" and "-0.0" read as a different number than the 0 they are.
        if text
            .trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            text.trim_start_matches('-').to_string()
        } else {
            text
        }
    }

    /// The widest tick label in characters × `size`.
    pub fn label_width(&self, size: f64) -> f64 {
        self.ticks
            .iter()
            .map(|&t| text_width(&self.label(t), size))
            .fold(0.0, f64::max)
    }
}

/// A number in few characters: 12, 0.5, 3.2e-4, 1e6.
pub fn compact(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        let s = format!("{v:.1e}");
        s.replace(".0e", "e")
    }
}

/// Steps of 1, 2, 2.5 or 5 × a power of ten: the smallest at least `raw`.
fn nice_step(raw: f64, integer: bool) -> f64 {
    let raw = if integer { raw.max(1.0) } else { raw };
    let magnitude = 10f64.powf(raw.log10().floor());
    let candidates: &[f64] = if integer && magnitude < 10.0 {
        &[1.0, 2.0, 5.0, 10.0]
    } else {
        &[1.0, 2.0, 2.5, 5.0, 10.0]
    };
    candidates
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// A linear axis over `lo..=hi` with at most `max_ticks` ticks at a nice step. `extend` widens
/// the domain to the enclosing ticks (for values); otherwise the domain stays as given (for
/// positions such as block indices) and only ticks inside it are kept. `integer` keeps the
/// step a whole number.
pub fn linear_axis(lo: f64, hi: f64, max_ticks: usize, extend: bool, integer: bool) -> Axis {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo < 1e-12 * lo.abs().max(1.0) {
        let pad = if integer {
            1.0
        } else {
            lo.abs().max(1.0) * 0.05
        };
        lo -= pad;
        hi += pad;
    }
    let intervals = max_ticks.max(2) - 1;
    let step = nice_step((hi - lo) / intervals as f64, integer);
    if extend {
        lo = (lo / step).floor() * step;
        hi = (hi / step).ceil() * step;
    }
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    let ticks = (first..=last)
        .map(|i| {
            let t = i as f64 * step;
            // 0.1 * 3 is 0.30000000000000004: round to the step's own precision.
            (t / step).round() * step
        })
        .map(|t| if t == 0.0 { 0.0 } else { t })
        .collect();
    Axis {
        lo,
        hi,
        ticks,
        log: false,
        step,
    }
}

/// A log10 axis over positive `lo..=hi`, widened to whole decades; ticks at each decade, and
/// at 2 and 5 × when the axis spans fewer than three decades.
pub fn log_axis(lo: f64, hi: f64, max_ticks: usize) -> Axis {
    let lo = lo.max(1e-300);
    let hi = hi.max(lo);
    let (d_lo, mut d_hi) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    if d_hi == d_lo {
        d_hi += 1;
    }
    let decades = (d_hi - d_lo) as usize;
    let mut ticks = Vec::new();
    let every = decades.div_ceil(max_ticks.max(2) - 1).max(1);
    for d in (d_lo..=d_hi).step_by(every) {
        ticks.push(10f64.powi(d));
        if decades < 3 && d < d_hi {
            for m in [2.0, 5.0] {
                ticks.push(m * 10f64.powi(d));
            }
        }
    }
    ticks.sort_by(f64::total_cmp);
    if ticks.len() > max_ticks.max(2) {
        ticks.retain(|t| (t.log10() - t.log10().round()).abs() < 1e-9);
    }
    Axis {
        lo: 10f64.powi(d_lo),
        hi: 10f64.powi(d_hi),
        ticks,
        log: true,
        step: 0.0,
    }
}

/// A horizontal axis whose tick labels, `size` px, fit `width` px without touching: the most
/// ticks whose labels, each with a gap of 1.5 em, fit.
pub fn fitted_x_axis(lo: f64, hi: f64, width: f64, size: f64, extend: bool, integer: bool) -> Axis {
    let mut max_ticks = ((width / (2.0 * size)).floor() as usize).max(2);
    loop {
        let axis = linear_axis(lo, hi, max_ticks, extend, integer);
        let room = width / (axis.ticks.len().max(2) - 1) as f64;
        if axis.label_width(size) + 1.5 * size <= room || max_ticks <= 2 {
            return axis;
        }
        max_ticks -= 1;
    }
}

/// A vertical axis `height` px tall with a tick every 2.5 lines of text at most.
pub fn fitted_y_axis(lo: f64, hi: f64, height: f64, log: bool) -> Axis {
    let max_ticks = ((height / (2.5 * FONT_SIZE)).floor() as usize).max(2);
    if log && lo > 0.0 {
        log_axis(lo, hi, max_ticks)
    } else {
        linear_axis(lo, hi, max_ticks, true, false)
    }
}

/// One entry of a legend: how it is drawn, and what it stands for.
#[derive(Clone, Copy)]
pub enum Key {
    /// A line of this colour, width and dash pattern ("" for solid).
    Line(&'static str, f64, &'static str),
    /// A filled circle.
    Dot(&'static str),
    /// A filled square (a heatmap's swatch; `fill` may be a pattern reference).
    Swatch(&'static str),
}

/// Draws a legend in one row from (x, y), the baseline of its text; returns its width.
pub fn legend(doc: &mut Doc, x: f64, y: f64, entries: &[(Key, &str)]) -> f64 {
    let mut at = x;
    for (key, label) in entries {
        match *key {
            Key::Line(colour, width, dash) => {
                let dash = if dash.is_empty() {
                    String::new()
                } else {
                    format!(" stroke-dasharray=\"{dash}\"")
                };
                doc.line(
                    (at, y - 4.0),
                    (at + 22.0, y - 4.0),
                    colour,
                    &format!(" stroke-width=\"{width}\"{dash}"),
                );
            }
            Key::Dot(colour) => doc.raw(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{colour}\"/>",
                at + 11.0,
                y - 4.0
            )),
            Key::Swatch(fill) => doc.rect(
                at + 5.0,
                y - 10.0,
                12.0,
                12.0,
                &format!(" fill=\"{fill}\" stroke=\"#888\""),
            ),
        }
        doc.text(at + 28.0, y, label, FONT_SIZE, Anchor::Start);
        at += 28.0 + text_width(label, FONT_SIZE) + 16.0;
    }
    at - x
}

/// The width a legend of `entries` takes.
pub fn legend_width(entries: &[(Key, &str)]) -> f64 {
    entries
        .iter()
        .map(|(_, label)| 28.0 + text_width(label, FONT_SIZE) + 16.0)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_inside_the_axis() {
        let a = linear_axis(0.0, 1.0, 5, true, false);
        assert_eq!(a.ticks, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(a.label(0.25), "0.25");
        let b = linear_axis(1.0, 133.0, 8, false, true);
        assert_eq!(b.ticks, vec![20.0, 40.0, 60.0, 80.0, 100.0, 120.0]);
        assert_eq!(b.label(40.0), "40");
        let c = linear_axis(-0.031, 0.072, 6, true, false);
        assert!(c.lo <= -0.031 && c.hi >= 0.072);
        assert!(c.ticks.contains(&0.0) && c.label(0.0) == "0.000" && c.label(-0.025) == "-0.025");
        assert!(c.ticks.windows(2).all(|w| w[1] > w[0]));
        let d = log_axis(12.0, 3.0e6, 6);
        assert_eq!(d.lo, 10.0);
        assert_eq!(d.hi, 1e7);
        assert_eq!(d.label(1e6), "1e6");
        assert_eq!(d.label(100.0), "100");
    }

    #[test]
    fn fitted_axes_leave_room_between_labels() {
        // 133 evaluations on a 110 px panel: a handful of ticks, never one per evaluation.
        let a = fitted_x_axis(1.0, 133.0, 110.0, 9.0, false, true);
        assert!(a.ticks.len() >= 2 && a.ticks.len() <= 4, "{:?}", a.ticks);
        // 28 blocks on 800 px: every block can be labelled.
        let b = fitted_x_axis(1.0, 28.0, 800.0, 9.0, false, true);
        assert_eq!(b.ticks.len(), 28);
    }

    #[test]
    fn the_colour_scale_runs_white_to_dark_blue() {
        assert_eq!(blue(0.0), "#ffffff");
        assert_eq!(blue(1.0), MEAN_COLOUR);
        assert_eq!(blue(2.0), MEAN_COLOUR);
    }
}
