//! Small SVG line charts for the dashboard: time on x, one polyline per series,
//! dashed for data still pending compaction. Written out directly: a dozen
//! elements per chart do not need a plotting library or fonts.

use std::fmt::Write;

/// One line on a chart.
pub struct Series<'a> {
    pub label: &'a str,
    /// (unix millis, value), sorted by time.
    pub points: &'a [(i64, f64)],
    pub dashed: bool,
    pub color: &'static str,
}

pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

const W: f64 = 760.0;
const H: f64 = 240.0;
const LEFT: f64 = 56.0;
/// The width of a digit of the 11 px tick labels, about.
const TICK_CHAR_WIDTH: f64 = 6.6;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders a chart; the page's heading names it and its unit.
pub fn line_chart(title: &str, series: &[Series<'_>]) -> String {
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut t0, mut t1, mut lo, mut hi) = (i64::MAX, i64::MIN, f64::MAX, f64::MIN);
    for &(t, v) in points {
        t0 = t0.min(t);
        t1 = t1.max(t);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="{}">"#,
        escape(title)
    );
    if t0 > t1 {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" class="empty">no data yet</text></svg>"#,
            W / 2.0,
            H / 2.0
        );
        return svg;
    }
    if hi - lo < 1e-9 {
        lo -= 0.5;
        hi += 0.5;
    }
    let pad = (hi - lo) * 0.08;
    let (lo, hi) = (lo - pad, hi + pad);
    // Horizontal grid with value labels, with enough decimals to tell them
    // apart, and a left margin wide enough for the longest (1013.318 hPa).
    let step = (hi - lo) / 4.0;
    let decimals = ((-step.log10()).ceil() + 1.0).clamp(0.0, 4.0) as usize;
    let widest = [lo, hi]
        .iter()
        .map(|v| format!("{v:.decimals$}").len())
        .max()
        .unwrap_or(0);
    let left = LEFT.max(widest as f64 * TICK_CHAR_WIDTH + 10.0);
    let span_t = (t1 - t0).max(1) as f64;
    let x = |t: i64| left + (t - t0) as f64 / span_t * (W - left - RIGHT);
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM);

    for i in 0..=4 {
        let v = lo + (hi - lo) * f64::from(i) / 4.0;
        let yy = y(v);
        let _ = write!(
            svg,
            r#"<line x1="{left}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" class="grid"/><text x="{}" y="{:.1}" text-anchor="end" class="tick">{v:.decimals$}</text>"#,
            W - RIGHT,
            left - 6.0,
            yy + 4.0
        );
    }
    // Time labels at the ends and the middle.
    for (t, anchor) in [(t0, "start"), ((t0 + t1) / 2, "middle"), (t1, "end")] {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="{anchor}" class="tick">{} UTC</text>"#,
            x(t),
            H - 8.0,
            time_label(t)
        );
    }
    for s in series {
        if s.points.is_empty() {
            continue;
        }
        let path: Vec<String> = s
            .points
            .iter()
            .map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
            .collect();
        let dash = if s.dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.6"{dash} points="{}"><title>{}</title></polyline>"#,
            s.color,
            path.join(" "),
            escape(s.label)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `MM-DD hh:mm:ss` of a time in milliseconds since 1970 (UTC).
fn time_label(millis: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map(|at| {
            format!(
                "{:02}-{:02} {:02}:{:02}:{:02}",
                at.month() as u8,
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            )
        })
        .unwrap_or_default()
}

/// Averages `points` into at most `max` buckets of equal time, so a chart of a
/// long run stays small.
pub fn downsample(points: &[(i64, f64)], max: usize) -> Vec<(i64, f64)> {
    if points.len() <= max || max == 0 {
        return points.to_vec();
    }
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let width = ((t1 - t0) as f64 / max as f64).max(1.0);
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(max);
    let (mut bucket, mut sum_t, mut sum_v, mut n) = (0usize, 0i64, 0.0, 0i64);
    for &(t, v) in points {
        let b = (((t - t0) as f64 / width) as usize).min(max - 1);
        if b != bucket && n > 0 {
            out.push((sum_t / n, sum_v / n as f64));
            (sum_t, sum_v, n) = (0, 0.0, 0);
        }
        bucket = b;
        sum_t += t;
        sum_v += v;
        n += 1;
    }
    if n > 0 {
        out.push((sum_t / n, sum_v / n as f64));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_points_into_the_plot_area() {
        let points = [(0, 10.0), (1000, 20.0)];
        let svg = line_chart(
            "t",
            &[Series {
                label: "a<b",
                points: &points,
                dashed: true,
                color: PALETTE[0],
            }],
        );
        assert!(svg.contains(r#"points="56.0,198.2 748.0,25.8""#), "{svg}");
        assert!(svg.contains("stroke-dasharray") && svg.contains("a&lt;b"));
        assert!(line_chart("t", &[]).contains("no data yet"));
    }

    #[test]
    fn downsampling_keeps_the_shape() {
        let points: Vec<(i64, f64)> = (0..10_000).map(|i| (i, (i / 100) as f64)).collect();
        let small = downsample(&points, 100);
        assert_eq!(small.len(), 100);
        assert!(
            small
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
        );
    }
}
