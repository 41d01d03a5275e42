//! Small charts as SVG documents, drawn with plotters' SVG backend:
//! grouped bars per period and a line, such as a trend, over them, for
//! `postroom report --chart`. (Digests draw their bars with HTML table
//! cells instead: mail clients such as Outlook desktop and Gmail show no
//! SVG.) Text is left to the viewer's fonts, so no font
//! files are needed. Pure.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One series of a bar chart (or the line over it).
pub struct Series<'a> {
    pub name: &'a str,
    /// A colour as "#rrggbb".
    pub colour: &'a str,
    pub values: Vec<f64>,
}

/// A grouped bar chart: one group per label, one bar per series, with a
/// legend and a value axis from zero, `width` × `height` pixels; and, when
/// given, a line (a trend, say) drawn dashed through the groups' centres
/// over the bars, with its name in the legend.
pub fn bars_with_line(
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    line: Option<&Series<'_>>,
    width: u32,
    height: u32,
) -> String {
    let mut out = String::new();
    // Drawing into a string cannot fail for want of a font or a file; an
    // error here would be a bug, and the chart is left out rather than the
    // mail.
    if draw(&mut out, title, labels, series, line, (width, height)).is_err() {
        out.clear();
    }
    out
}

fn colour(hex: &str) -> RGBColor {
    let hex = hex.trim_start_matches('#');
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    RGBColor(byte(0), byte(2), byte(4))
}

// Long: plotters draws a chart as one sequence of calls: axes, bars, line,
// legend.
fn draw(
    out: &mut String,
    title: &str,
    labels: &[String],
    series: &[Series<'_>],
    line: Option<&Series<'_>>,
    (width, height): (u32, u32),
) -> Result<(), Box<dyn std::error::Error>> {
    let groups = labels.len().max(1);
    let max = series
        .iter()
        .chain(line)
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, f64::max);
    let top = nice_ceiling(max);
    let root = SVGBackend::with_string(out, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("Arial, Helvetica, sans-serif", 18).into_font())
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(36)
        .build_cartesian_2d(0f64..groups as f64, 0f64..top)?;
    // Every label when they fit; every n-th when there are many.
    let every = (labels.len() / 12).max(1);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups * 2 + 1)
        .x_label_formatter(&|x| {
            let centre = x - x.floor();
            let i = x.floor() as usize;
            if (centre - 0.5).abs() < 1e-6 && i.is_multiple_of(every) {
                labels.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_labels(5)
        .y_label_formatter(&|v| format_value(*v))
        .label_style(("Arial, Helvetica, sans-serif", 13))
        .draw()?;

    let bar_w = 0.8 / series.len().max(1) as f64;
    for (s_i, s) in series.iter().enumerate() {
        let c = colour(s.colour);
        chart
            .draw_series(s.values.iter().enumerate().map(|(g, v)| {
                let x0 = g as f64 + 0.1 + bar_w * s_i as f64;
                Rectangle::new([(x0, 0.0), (x0 + bar_w * 0.95, *v)], c.filled())
            }))?
            .label(s.name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], c.filled()));
    }
    if let Some(l) = line {
        let c = colour(l.colour);
        let points: Vec<(f64, f64)> = l
            .values
            .iter()
            .enumerate()
            .map(|(g, v)| (g as f64 + 0.5, v.max(0.0)))
            .collect();
        chart
            .draw_series(DashedLineSeries::new(points, 6, 3, c.stroke_width(2)))?
            .label(l.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(
            ("Arial, Helvetica, sans-serif", 13)
                .into_font()
                .into_text_style(&root)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        )
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.2))
        .draw()?;
    root.present()?;
    Ok(())
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
        let series = [
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
        ];
        let svg = bars_with_line("Cases <per> week", &labels, &series, None, 560, 220);
        assert!(svg.starts_with("<svg"), "{svg}");
        // Bars in the series' colours: two received, two answered (one of
        // height zero), plus a legend swatch each.
        assert_eq!(svg.matches("fill=\"#1D70B8\"").count(), 3, "{svg}");
        assert_eq!(svg.matches("fill=\"#00703C\"").count(), 3, "{svg}");
        assert!(svg.contains("Cases &lt;per&gt; week"), "{svg}");
        assert!(svg.contains("9 Nov") && svg.contains("received"), "{svg}");
        assert!(
            svg.contains("\n20\n"),
            "the axis goes to 20 for a top value of 12: {svg}"
        );

        let trend = Series {
            name: "trend",
            colour: "#d4351c",
            values: vec![2.0, 13.0],
        };
        let svg = bars_with_line("t", &labels, &series, Some(&trend), 560, 220);
        assert!(svg.contains("#D4351C") && svg.contains("trend"), "{svg}");
    }

    #[test]
    fn the_axis_top_is_a_round_number() {
        assert_eq!(nice_ceiling(0.0), 5.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
    }
}
