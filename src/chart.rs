//! Small charts as SVG documents (the `svg` crate builds them): grouped
//! bars per period, for digests and reports. Text is left to the viewer's
//! fonts, so no font files are needed. Pure.

use svg::Document;
use svg::node::element::{Line, Rectangle, Text};

/// One series of a bar chart.
pub struct Series<'a> {
    pub name: &'a str,
    /// A fill colour ("#1d70b8").
    pub colour: &'a str,
    pub values: Vec<f64>,
}

/// A grouped bar chart: one group per label, one bar per series, with a
/// legend and a value axis from zero. `width` × `height` pixels.
pub fn bars(
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    width: u32,
    height: u32,
) -> String {
    bars_with_line(title, labels, series, None, width, height)
}

/// As [`bars`], with a line (a trend, say) drawn through the groups'
/// centres over the bars, and its name in the legend.
pub fn bars_with_line(
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    line: Option<&Series<'_>>,
    width: u32,
    height: u32,
) -> String {
    let (w, h) = (f64::from(width), f64::from(height));
    let (left, right, top, bottom) = (36.0, 8.0, 28.0, 34.0);
    let plot_w = (w - left - right).max(1.0);
    let plot_h = (h - top - bottom).max(1.0);
    let max = series
        .iter()
        .chain(line)
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, f64::max);
    let top_value = nice_ceiling(max);
    let y = |v: f64| top + plot_h - (v / top_value) * plot_h;

    let mut doc = Document::new()
        .set("xmlns", "http://www.w3.org/2000/svg")
        .set("width", width)
        .set("height", height)
        .set("viewBox", (0, 0, width, height))
        .set("font-family", "Arial, Helvetica, sans-serif")
        .set("font-size", 11);
    doc = doc.add(
        Rectangle::new()
            .set("width", width)
            .set("height", height)
            .set("fill", "#ffffff"),
    );
    doc = doc.add(text(left, 16.0, title, "start").set("font-weight", "bold"));

    // Grid lines and value labels: 0, half, top.
    for step in 0..=4 {
        let v = top_value * f64::from(step) / 4.0;
        let yy = y(v);
        doc = doc.add(
            Line::new()
                .set("x1", left)
                .set("x2", w - right)
                .set("y1", yy)
                .set("y2", yy)
                .set("stroke", if step == 0 { "#0b0c0c" } else { "#dddddd" })
                .set("stroke-width", 1),
        );
        if step % 2 == 0 {
            doc = doc.add(text(left - 4.0, yy + 4.0, &format_value(v), "end"));
        }
    }

    let groups = labels.len().max(1) as f64;
    let group_w = plot_w / groups;
    let bar_w = (group_w * 0.8) / series.len().max(1) as f64;
    for (g, label) in labels.iter().enumerate() {
        let x0 = left + group_w * g as f64 + group_w * 0.1;
        for (i, s) in series.iter().enumerate() {
            let v = s.values.get(g).copied().unwrap_or(0.0);
            let yy = y(v);
            doc = doc.add(
                Rectangle::new()
                    .set("x", x0 + bar_w * i as f64)
                    .set("y", yy)
                    .set("width", (bar_w - 1.0).max(1.0))
                    .set("height", (top + plot_h - yy).max(0.0))
                    .set("fill", s.colour),
            );
        }
        // Every label when they fit; every n-th when there are many.
        let every = (labels.len() / 12).max(1);
        if g % every == 0 {
            doc = doc.add(text(x0 + group_w * 0.4, h - bottom + 14.0, label, "middle"));
        }
    }
    if let Some(l) = line {
        let points: Vec<String> = l
            .values
            .iter()
            .enumerate()
            .map(|(g, v)| {
                let x = left + group_w * g as f64 + group_w * 0.5;
                format!("{x:.1},{:.1}", y(v.max(0.0)))
            })
            .collect();
        doc = doc.add(
            svg::node::element::Polyline::new()
                .set("points", points.join(" "))
                .set("fill", "none")
                .set("stroke", l.colour)
                .set("stroke-width", 2)
                .set("stroke-dasharray", "6 3"),
        );
    }

    // Legend, top right.
    let mut lx = w - right;
    for s in line.into_iter().chain(series.iter().rev()) {
        let label_w = 7.0 * s.name.len() as f64;
        lx -= label_w + 18.0;
        doc = doc.add(
            Rectangle::new()
                .set("x", lx)
                .set("y", 7.0)
                .set("width", 10)
                .set("height", 10)
                .set("fill", s.colour),
        );
        doc = doc.add(text(lx + 14.0, 16.0, s.name, "start"));
    }
    doc.to_string()
}

fn text(x: f64, y: f64, content: &str, anchor: &str) -> Text {
    Text::new(content)
        .set("x", x)
        .set("y", y)
        .set("text-anchor", anchor)
        .set("fill", "#0b0c0c")
}

/// The smallest of 1, 2, 5 × 10^k at or above `v` (at least 4, so that a
/// quiet week still has a readable axis).
fn nice_ceiling(v: f64) -> f64 {
    let v = v.max(4.0);
    let mut base = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * base >= v {
                return m * base;
            }
        }
        base *= 10.0;
    }
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_chart_is_an_svg_with_a_bar_per_value_and_escaped_text() {
        let labels = vec!["2 Nov".to_string(), "9 Nov".to_string()];
        let svg = bars(
            "Cases <per> week",
            &labels,
            &[
                Series {
                    name: "received",
                    colour: "#1d70b8",
                    values: vec![3.0, 12.0],
                },
                Series {
                    name: "answered",
                    colour: "#00703c",
                    values: vec![1.0, 0.0],
                },
            ],
            560,
            220,
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 4 + 2,
            "background, bars, legend"
        );
        assert!(svg.contains("Cases &lt;per&gt; week"), "{svg}");
        assert!(
            svg.contains(">20<") || svg.contains(">\n20\n<"),
            "the axis goes to 20 for a top value of 12: {svg}"
        );
    }

    #[test]
    fn the_axis_top_is_a_round_number() {
        assert_eq!(nice_ceiling(0.0), 5.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
    }
}
