//! The trend of referrals: an ordinary least-squares line through the
//! count per period, its slope with a 95% confidence interval (Student's t
//! on n - 2 degrees of freedom), the change over the range it covers, and
//! whether the slope differs from zero at the 5% level. What a committee
//! asks when referrals fall: is it a trend, or noise?

use serde::Serialize;

/// A least-squares line through referrals per period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trend {
    /// Referrals per period, fitted: at the first period and per period on.
    pub intercept: f64,
    pub slope_per_period: f64,
    /// The slope over a year, as a percentage of the mean per period.
    pub change_per_year_percent: f64,
    /// The slope as referrals per month (a week's slope times the weeks in
    /// a month), with its 95% confidence interval.
    pub slope_per_month: f64,
    pub slope_per_month_low: f64,
    pub slope_per_month_high: f64,
    /// The fitted line's change from the first period to the last, as a
    /// percentage of the first (none when the line starts at or below 0).
    pub change_over_range_percent: Option<f64>,
    /// The 95% interval leaves out zero: the slope is unlikely to be noise.
    pub significant: bool,
    /// The periods the line is fitted through.
    pub points: usize,
}

/// Least squares through `ys` at x = 0, 1, 2, ...; `None` under 3 points
/// or with no referrals at all. `periods_per_year`: 12 for months, about
/// 52.18 for weeks.
pub fn trend(ys: &[f64], periods_per_year: f64) -> Option<Trend> {
    let n = ys.len() as f64;
    let mean_y = ys.iter().sum::<f64>() / n.max(1.0);
    if ys.len() < 3 || mean_y <= 0.0 {
        return None;
    }
    let mean_x = (n - 1.0) / 2.0;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let sse: f64 = ys
        .iter()
        .enumerate()
        .map(|(i, y)| (y - (intercept + slope * i as f64)).powi(2))
        .sum();
    let se = (sse / (n - 2.0) / sxx).sqrt();
    let margin = t_975(ys.len() - 2) * se;
    let per_month = periods_per_year / 12.0;
    let last = intercept + slope * (n - 1.0);
    Some(Trend {
        intercept: round(intercept, 1),
        slope_per_period: round(slope, 3),
        change_per_year_percent: round(100.0 * slope * periods_per_year / mean_y, 1),
        slope_per_month: round(slope * per_month, 3),
        slope_per_month_low: round((slope - margin) * per_month, 3),
        slope_per_month_high: round((slope + margin) * per_month, 3),
        change_over_range_percent: (intercept > 0.0)
            .then(|| round(100.0 * (last - intercept) / intercept, 1)),
        significant: slope - margin > 0.0 || slope + margin < 0.0,
        points: ys.len(),
    })
}

/// Student's t at 97.5% for `df` degrees of freedom (a two-sided 95%
/// interval): the printed table to 30, then interpolated in 1/df.
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    const BEYOND: [(f64, f64); 4] = [(30.0, 2.042), (40.0, 2.021), (60.0, 2.000), (120.0, 1.980)];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => {
            let d = df as f64;
            for w in BEYOND.windows(2) {
                let ((d0, t0), (d1, t1)) = (w[0], w[1]);
                if d <= d1 {
                    let f = (1.0 / d0 - 1.0 / d) / (1.0 / d0 - 1.0 / d1);
                    return t0 + f * (t1 - t0);
                }
            }
            // From 120 to infinity, where t is the normal's 1.960.
            let f = 120.0 / d;
            1.960 + f * (1.980 - 1.960)
        }
    }
}

fn round(v: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (v * k).round() / k
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Worked by hand: x = 0..5, y = 10 12 11 15 14 18. Mean y 13.333,
    /// Sxx 17.5, Sxy 25, slope 1.428571, intercept 9.761905; residuals
    /// .238 .810 -1.619 .952 -1.476 1.095, SSE 7.619048, s² 1.904762,
    /// SE 0.329916; t(4) 2.776, margin 0.915847; the line goes from 9.762
    /// to 16.905, +73.2%.
    #[test]
    fn the_line_and_its_interval_are_the_hand_computed_ones() {
        let t = trend(&[10.0, 12.0, 11.0, 15.0, 14.0, 18.0], 12.0).unwrap();
        assert_eq!(t.intercept, 9.8);
        assert_eq!(t.slope_per_period, 1.429);
        assert_eq!(t.slope_per_month, 1.429);
        assert_eq!(t.slope_per_month_low, 0.513);
        assert_eq!(t.slope_per_month_high, 2.344);
        assert_eq!(t.change_over_range_percent, Some(73.2));
        assert_eq!(t.change_per_year_percent, 128.6);
        assert!(t.significant);
        assert_eq!(t.points, 6);
    }

    #[test]
    fn noise_is_not_significant_and_weeks_scale_to_months() {
        let t = trend(&[10.0, 14.0, 9.0, 13.0, 10.0, 12.0], 12.0).unwrap();
        assert!(t.slope_per_month_low < 0.0 && t.slope_per_month_high > 0.0);
        assert!(!t.significant);
        let w = trend(&[1.0, 2.0, 3.0, 4.0], 365.25 / 7.0).unwrap();
        assert_eq!(w.slope_per_period, 1.0);
        assert_eq!(w.slope_per_month, 4.348);
        // A perfect line: no spread, an interval of zero width.
        assert_eq!(w.slope_per_month_low, w.slope_per_month_high);
        assert!(w.significant);
    }

    #[test]
    fn too_few_points_or_none_received_give_no_line() {
        assert!(trend(&[3.0, 4.0], 12.0).is_none());
        assert!(trend(&[0.0, 0.0, 0.0], 12.0).is_none());
    }

    #[test]
    fn t_follows_the_printed_table() {
        assert_eq!(t_975(4), 2.776);
        assert_eq!(t_975(30), 2.042);
        assert!((t_975(40) - 2.021).abs() < 1e-9);
        assert!((t_975(50) - 2.009).abs() < 0.002);
        assert!((t_975(1000) - 1.962).abs() < 0.001);
    }
}
