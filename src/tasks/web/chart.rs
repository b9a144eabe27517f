//! Bar charts as SVG, drawn on the server: delivered (green, at the bottom) and failed (red,
//! stacked on top) per time slot. No JavaScript; every bar has a tooltip title, and the chart
//! says what it shows to screen readers.

use std::fmt::Write;

/// Draws `slots` (`(unix start, delivered, failed)`, oldest first) as stacked bars;
/// `label` names a slot's time for its tooltip (e.g. `%H:%M`), `span` says what the chart
/// covers ("the last hour").
pub fn bars(slots: &[(i64, u64, u64)], label: &str, span: &str) -> String {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 120.0;
    const TOP: f64 = 14.0;
    const BOTTOM: f64 = 16.0;
    let plot = HEIGHT - TOP - BOTTOM;
    let max = slots.iter().map(|s| s.1 + s.2).max().unwrap_or(0).max(1);
    let (delivered, failed): (u64, u64) = slots.iter().fold((0, 0), |(d, f), s| (d + s.1, f + s.2));
    let step = WIDTH / slots.len().max(1) as f64;
    let bar = (step - 1.5).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="Deliveries over {span}: {delivered} delivered, {failed} failed" xmlns="http://www.w3.org/2000/svg">"#
    );
    let _ = write!(
        svg,
        r##"<line x1="0" y1="{y}" x2="{WIDTH}" y2="{y}" stroke="#9ca3af" stroke-width="1"/>"##,
        y = TOP + plot
    );
    let _ = write!(
        svg,
        r##"<text x="2" y="10" font-size="10" fill="#6b7280">{max} per slot</text>"##
    );
    for (i, (start, ok, bad)) in slots.iter().enumerate() {
        let x = i as f64 * step;
        let ok_height = plot * *ok as f64 / max as f64;
        let bad_height = plot * *bad as f64 / max as f64;
        let when = chrono::DateTime::from_timestamp(*start, 0)
            .map(|t| t.format(label).to_string())
            .unwrap_or_default();
        let _ = write!(
            svg,
            "<g><title>{when}: {ok} delivered, {bad} failed</title>"
        );
        let _ = write!(
            svg,
            r##"<rect class="slot" x="{x:.1}" y="{TOP}" width="{bar:.1}" height="{plot:.1}" fill="#000" fill-opacity="0"/>"##
        );
        if *ok > 0 {
            let _ = write!(
                svg,
                r##"<rect class="delivered" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{ok_height:.1}" fill="#16a34a"/>"##,
                TOP + plot - ok_height
            );
        }
        if *bad > 0 {
            let _ = write!(
                svg,
                r##"<rect class="failed" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{bad_height:.1}" fill="#dc2626"/>"##,
                TOP + plot - ok_height - bad_height
            );
        }
        svg.push_str("</g>");
    }
    if let (Some(first), Some(last)) = (slots.first(), slots.last()) {
        let at = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|t| t.format(label).to_string())
                .unwrap_or_default()
        };
        let _ = write!(
            svg,
            r##"<text x="2" y="{y}" font-size="10" fill="#6b7280">{}</text><text x="{WIDTH}" y="{y}" font-size="10" fill="#6b7280" text-anchor="end">{}</text>"##,
            at(first.0),
            at(last.0),
            y = HEIGHT - 3.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_failed_on_delivered() {
        let svg = bars(
            &[(0, 3, 1), (60, 0, 0), (120, 0, 4)],
            "%H:%M",
            "the last hour",
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(
            svg.contains(r#"aria-label="Deliveries over the last hour: 3 delivered, 5 failed""#)
        );
        assert_eq!(svg.matches("class=\"delivered\"").count(), 1);
        assert_eq!(svg.matches("class=\"failed\"").count(), 2);
        assert!(svg.contains("<title>00:00: 3 delivered, 1 failed</title>"));
        assert!(svg.contains(">4 per slot<"));
    }
}
