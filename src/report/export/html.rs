//! One self-contained HTML page per run (or comparison): verdicts first, then charts
//! over time and tables. Charts are SVG drawn by plotters' SVG backend, which writes
//! text as SVG text and so needs no font files; styles are inline and nothing is
//! fetched, so the page opens offline.

use std::fmt::Write as _;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{ExportError, Exporter};
use crate::contract::Percentiles;
use crate::report::Report;
use crate::report::comparison::Comparison;
use crate::report::format::{figure, figure_at};
use crate::report::verdicts::Verdicts;

pub struct Html;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 320;

/// Distinct, colour-blind-friendly line colours (Okabe–Ito).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// One line of a chart.
struct Line {
    name: String,
    values: Vec<f64>,
}

fn encode_err(e: impl std::fmt::Display) -> ExportError {
    ExportError::Encode(format!("chart: {e}"))
}

/// The unit the time axis is read in, for a run of `seconds`.
fn time_unit(seconds: f64) -> (f64, &'static str) {
    if seconds > 3.0 * 3600.0 {
        (3600.0, "h")
    } else if seconds > 180.0 {
        (60.0, "min")
    } else {
        (1.0, "s")
    }
}

/// A chart of values per tick over time, one line per series, wrapped in a `<figure>`
/// named `id`.
fn time_chart(
    id: &str,
    title: &str,
    y_desc: &str,
    tick_seconds: f64,
    lines: &[Line],
) -> Result<String, ExportError> {
    let ticks = lines
        .iter()
        .map(|l| l.values.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let (unit, unit_name) = time_unit(ticks as f64 * tick_seconds);
    let x_max = (ticks as f64 * tick_seconds / unit).max(f64::MIN_POSITIVE);
    let y_max = lines
        .iter()
        .flat_map(|l| l.values.iter().copied())
        .fold(0.0f64, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.08 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(encode_err)?;
        let mut chart = frame(&root, title, 70)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(encode_err)?;
        chart
            .configure_mesh()
            .x_desc(format!("time ({unit_name})"))
            .y_desc(y_desc)
            .x_label_formatter(&|v| figure(*v))
            .y_label_formatter(&|v| figure(*v))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(encode_err)?;
        for (i, line) in lines.iter().enumerate() {
            let c = color(i);
            let points = line
                .values
                .iter()
                .enumerate()
                .map(|(t, v)| (t as f64 * tick_seconds / unit, *v));
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))
                .map_err(encode_err)?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(encode_err)?;
    }
    Ok(figure_of(id, &svg))
}

/// The frame every chart shares: a title, margins, room for axis labels.
fn frame<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    y_label_area: u32,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(y_label_area);
    builder
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The legend of the lines drawn, in a corner.
fn legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    corner: SeriesLabelPosition,
) -> Result<(), ExportError> {
    chart
        .configure_series_labels()
        .position(corner)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(encode_err)
}

fn figure_of(id: &str, svg: &str) -> String {
    format!("<figure data-chart=\"{id}\">{svg}</figure>\n")
}

const PERCENTILES: [&str; 5] = ["p50", "p90", "p99", "p99.9", "max"];

fn percentile_values(p: &Percentiles) -> Vec<f64> {
    [p.p50, p.p90, p.p99, p.p999, p.max]
        .iter()
        .map(|v| *v as f64)
        .collect()
}

/// Latency by percentile, one line per kind of request (or per variant).
fn latency_chart(id: &str, title: &str, lines: &[Line]) -> Result<String, ExportError> {
    let y_max = lines
        .iter()
        .flat_map(|l| l.values.iter().copied())
        .fold(0.0f64, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.08 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(encode_err)?;
        let mut chart = frame(&root, title, 70)
            .build_cartesian_2d(-0.2f64..4.2f64, 0f64..y_max)
            .map_err(encode_err)?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (ms)")
            .y_label_formatter(&|v| figure(*v))
            .x_labels(5)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && (0.0..=4.0).contains(&i) {
                    PERCENTILES[i as usize].to_string()
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(encode_err)?;
        for (i, line) in lines.iter().enumerate() {
            let c = color(i);
            let points: Vec<(f64, f64)> = line
                .values
                .iter()
                .enumerate()
                .map(|(x, v)| (x as f64, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                .map_err(encode_err)?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3))
                });
            chart
                .draw_series(points.into_iter().map(|p| Circle::new(p, 4, c.filled())))
                .map_err(encode_err)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(encode_err)?;
    }
    Ok(figure_of(id, &svg))
}

/// Unauthorized rate against issuer load, one labelled point per variant.
fn tradeoff_chart(points: &[(String, f64, f64)], knob: &str) -> Result<String, ExportError> {
    // Zoomed to the points: the differences between variants are the point.
    let x_hi = points.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1.0);
    let x_lo = points
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .min(x_hi);
    let pad = ((x_hi - x_lo) * 0.15).max(x_hi * 0.02).max(1.0);
    let (x_min, x_max) = ((x_lo - pad).max(0.0), x_hi + pad * 2.0);
    let y_max = points.iter().map(|p| p.2).fold(0.0f64, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.2 } else { 0.01 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT + 40)).into_drawing_area();
        root.fill(&WHITE).map_err(encode_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Trade-off of {knob}"), ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(x_min..x_max, 0f64..y_max)
            .map_err(encode_err)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v| figure(v.round()))
            .y_label_formatter(&|v| figure(*v))
            .x_desc("issuer token requests")
            .y_desc("unauthorized rate (401s / API requests)")
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(encode_err)?;
        for (i, (name, x, y)) in points.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((*x, *y))
                        + Circle::new((0, 0), 6, c.filled())
                        // Alternate above and below, so that close points stay readable.
                        + Text::new(
                            name.clone(),
                            (9, if i % 2 == 0 { -20 } else { 6 }),
                            ("sans-serif", 14).into_font(),
                        ),
                ))
                .map_err(encode_err)?;
        }
        root.present().map_err(encode_err)?;
    }
    Ok(figure_of("tradeoff", &svg))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
.meta{color:#555}.pass{color:#0a7d32}.fail{color:#b3261e}\
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.3em .7em;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f5f5f5}.best{font-weight:bold;background:#e8f5e9}\
figure{margin:1em 0}svg{max-width:100%;height:auto}";

fn page(title: &str, body: &str) -> Vec<u8> {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
    .into_bytes()
}

fn verdicts(verdicts: &Verdicts) -> String {
    if verdicts.is_empty() {
        return "<p>No thresholds.</p>\n".to_string();
    }
    let mut s = String::from("<table><tr><th></th><th>threshold</th><th>actual</th></tr>\n");
    for v in &verdicts.rows {
        let _ = writeln!(
            s,
            "<tr><td class=\"{}\">{}</td><td><code>{} {}</code></td><td>{}</td></tr>",
            if v.pass { "pass" } else { "fail" },
            v.mark,
            escape(v.metric),
            escape(v.condition),
            v.actual_figure
        );
    }
    s.push_str("</table>\n");
    s
}

fn series(report: &Report, name: &str) -> Vec<f64> {
    report
        .timeline
        .series
        .columns()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.iter().map(|x| *x as f64).collect())
        .unwrap_or_default()
}

/// The charts over time: (id, title, y axis, series name).
const TIME_CHARTS: [(&str, &str, &str, &str); 9] = [
    (
        "requests",
        "API requests per tick",
        "requests per tick",
        "requests",
    ),
    (
        "unauthorized",
        "401 answers per tick",
        "401s per tick",
        "unauthorized",
    ),
    (
        "refreshes",
        "Refreshes per tick (the storm)",
        "refreshes per tick",
        "refreshes",
    ),
    (
        "concurrent_refreshes",
        "Refreshes in flight (most per tick)",
        "refreshes in flight",
        "concurrent_refreshes",
    ),
    (
        "lock_waiters",
        "Callers waiting for a refresh (most per tick)",
        "waiting callers",
        "lock_waiters",
    ),
    (
        "lock_holders",
        "Callers holding a lock (most per tick; above one per client: lost locks)",
        "lock holders",
        "lock_holders",
    ),
    (
        "issuer_queue",
        "Token requests queued at the issuer (most per tick)",
        "queued requests",
        "issuer_queue",
    ),
    (
        "forced_logins",
        "Forced logins per tick",
        "logins per tick",
        "forced_logins",
    ),
    (
        "logged_out",
        "Clients logged out for good (on_invalid_grant: fail)",
        "clients logged out",
        "logged_out",
    ),
];

fn latency_table(rows: &[(&str, &Percentiles)]) -> String {
    let mut s = String::from(
        "<table><tr><th>latency (ms)</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>\n",
    );
    for (name, p) in rows {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(name),
            p.p50,
            p.p90,
            p.p99,
            p.p999,
            p.max,
            figure(p.mean)
        );
    }
    s.push_str("</table>\n");
    s
}

/// A run's title, description, and what ran with how many thresholds passed.
fn heading(r: &Report, name: &str, judged: &Verdicts) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<h1>tokenstorm · {}</h1>", escape(name));
    if !r.description.is_empty() {
        let _ = writeln!(b, "<p>{}</p>", escape(&r.description));
    }
    let _ = writeln!(
        b,
        "<p class=\"meta\">seed {} · mode {} · {} s simulated{} · <span class=\"{}\">{} of {} thresholds passed</span></p>",
        r.seed,
        escape(&r.mode),
        figure(r.duration_seconds),
        if r.run_info.interrupted {
            " · interrupted"
        } else {
            ""
        },
        if judged.all_passed() { "pass" } else { "fail" },
        judged.passed,
        judged.total()
    );
    for w in &r.warnings {
        let _ = writeln!(b, "<p class=\"fail\">warning: {}</p>", escape(w));
    }
    b
}

/// The figures `compare` puts side by side, for one run.
fn key_figures(r: &Report) -> Result<String, ExportError> {
    // Read by their dotted paths, as thresholds and `compare` read them.
    let json = r.to_json();
    let mut b =
        String::from("<h2>Key figures</h2>\n<table><tr><th>metric</th><th>value</th></tr>\n");
    for m in crate::report::comparison::METRICS {
        let _ = writeln!(
            b,
            "<tr><td><code>{m}</code></td><td>{}</td></tr>",
            figure_at(&json, m)
        );
    }
    b.push_str("</table>\n");
    Ok(b)
}

/// One item per outage on how the run recovered from it; nothing without outages.
fn outages(r: &Report) -> String {
    if r.outages.is_empty() {
        return String::new();
    }
    let mut b = String::from("<h2>Outages</h2>\n<ul>\n");
    for o in &r.outages {
        let _ = writeln!(
            b,
            "<li>{}</li>",
            escape(&crate::report::recovery::describe(o))
        );
    }
    b.push_str("</ul>\n");
    b
}

/// One run's charts over time: requests with their 401s on one chart, then one chart
/// per other series.
fn over_time(r: &Report) -> Result<String, ExportError> {
    let tick_s = r.timeline.tick_ms as f64 / 1000.0;
    let mut b = String::from("<h2>Over time</h2>\n");
    b.push_str(&time_chart(
        "requests",
        "API requests per tick, 401s overlaid",
        "requests per tick",
        tick_s,
        &[
            Line {
                name: "requests".into(),
                values: series(r, "requests"),
            },
            Line {
                name: "401 unauthorized".into(),
                values: series(r, "unauthorized"),
            },
        ],
    )?);
    // The first two of TIME_CHARTS are drawn together above.
    for (id, title, y, s) in &TIME_CHARTS[2..] {
        if !r.observed(&format!("timeline.series.{s}")) {
            let note = format!(
                "<p class=\"meta\">{}: not observed (the issuer is external)</p>",
                escape(title)
            );
            b.push_str(&figure_of(id, &note));
            continue;
        }
        b.push_str(&time_chart(
            id,
            title,
            y,
            tick_s,
            &[Line {
                name: (*s).replace('_', " "),
                values: series(r, s),
            }],
        )?);
    }
    Ok(b)
}

/// One run's latency table, its lock waits, and the latency chart.
fn latency(r: &Report) -> Result<String, ExportError> {
    let mut b = String::from("<h2>Latency</h2>\n");
    let l = &r.latency_ms;
    b.push_str(&latency_table(&[
        ("API request", &l.request),
        ("refresh", &l.refresh),
        ("login", &l.login),
    ]));
    let w = &r.lock.wait_ms;
    let _ = writeln!(
        b,
        "<p>Lock waits: {} contended of {} acquisitions, {} timeouts; waited p50 {} ms, p90 {} ms, p99 {} ms, max {} ms. Locks lost while held: {} ({} refreshes under a lost lock); at most {} holding at once; {} lock operations, {} failed.</p>",
        r.lock.contended,
        r.lock.acquisitions,
        r.lock.timeouts,
        w.p50,
        w.p90,
        w.p99,
        w.max,
        r.lock.lost,
        r.lock.refreshes_under_lost_lock,
        r.lock.max_holders,
        r.lock.operations,
        r.lock.errors
    );
    b.push_str(&latency_chart(
        "latency",
        "Latency distribution",
        &[
            Line {
                name: "API request".into(),
                values: percentile_values(&l.request),
            },
            Line {
                name: "refresh".into(),
                values: percentile_values(&l.refresh),
            },
            Line {
                name: "login".into(),
                values: percentile_values(&l.login),
            },
        ],
    )?);
    Ok(b)
}

/// One row per client group.
fn groups(r: &Report) -> String {
    let mut b = String::from(
        "<h2>Client groups</h2>\n<table><tr><th>group</th><th>API requests</th><th>unauthorized rate</th><th>failed rate</th><th>refreshes</th><th>duplicates</th><th>refresh peak /s</th><th>forced logins</th><th>logged out</th><th>lock contended</th></tr>\n",
    );
    for (g, x) in &r.groups {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(g),
            x.requests.total,
            figure(x.unauthorized_rate),
            figure(x.failed_rate),
            x.refresh.attempts,
            x.refresh.duplicates,
            x.refresh.peak_per_second,
            x.login.forced,
            x.clients.logged_out,
            x.lock.contended
        );
    }
    b.push_str("</table>\n");
    b
}

/// A comparison's title, the scenario's description, the knob swept, and how many
/// variants passed.
fn comparison_heading(c: &Comparison, reports: &[Report]) -> String {
    let mut b = String::new();
    let passed = c.variants.iter().filter(|v| v.thresholds_passed).count();
    let _ = writeln!(b, "<h1>tokenstorm compare · {}</h1>", escape(&c.scenario));
    // The variants share the scenario, and so its description.
    if let Some(d) = reports.first().map(|r| &r.description)
        && !d.is_empty()
    {
        let _ = writeln!(b, "<p>{}</p>", escape(d));
    }
    let _ = writeln!(
        b,
        "<p class=\"meta\">seed {}{} · <span class=\"{}\">{passed} of {} variants passed their thresholds</span></p>",
        c.seed,
        c.swept
            .as_ref()
            .map(|p| format!(" · sweeping <code>{}</code>", escape(p)))
            .unwrap_or_default(),
        if passed == c.variants.len() {
            "pass"
        } else {
            "fail"
        },
        c.variants.len()
    );
    b
}

/// The compared figures, one row each, one column per variant, the best highlighted.
fn side_by_side(c: &Comparison) -> String {
    let mut b = String::from("<h2>Side by side</h2>\n<table><tr><th>metric</th>");
    for v in &c.variants {
        let _ = write!(b, "<th>{}</th>", escape(&v.name));
    }
    b.push_str("</tr>\n");
    for row in &c.rows {
        let _ = write!(b, "<tr><td><code>{}</code></td>", escape(&row.metric));
        for (i, v) in row.values.iter().enumerate() {
            let best = row.best.contains(&i);
            let _ = write!(
                b,
                "<td{}>{}</td>",
                if best { " class=\"best\"" } else { "" },
                figure(*v)
            );
        }
        b.push_str("</tr>\n");
    }
    b.push_str(
        "</table>\n<p class=\"meta\">Highlighted: the best (lowest) value of each row.</p>\n",
    );
    b
}

/// The trade-off chart of a sweep: each variant's issuer load against its 401s.
fn sweep_tradeoff(c: &Comparison, reports: &[Report], knob: &str) -> Result<String, ExportError> {
    let points: Vec<(String, f64, f64)> = reports
        .iter()
        .zip(&c.variants)
        .map(|(r, v)| {
            (
                v.name.clone(),
                r.issuer.token_requests as f64,
                r.unauthorized_rate,
            )
        })
        .collect();
    tradeoff_chart(&points, knob)
}

/// Every chart over time, one line per variant.
fn comparison_over_time(c: &Comparison, reports: &[Report]) -> Result<String, ExportError> {
    // Variants of one scenario share its tick.
    let tick_s = reports
        .first()
        .map_or(1.0, |r| r.timeline.tick_ms as f64 / 1000.0);
    let mut b = String::from("<h2>Over time</h2>\n");
    for (id, title, y, s) in &TIME_CHARTS {
        let lines: Vec<Line> = reports
            .iter()
            .zip(&c.variants)
            .map(|(r, v)| Line {
                name: v.name.clone(),
                values: series(r, s),
            })
            .collect();
        b.push_str(&time_chart(id, title, y, tick_s, &lines)?);
    }
    Ok(b)
}

/// API request latency, one table row and one chart line per variant.
fn comparison_latency(c: &Comparison, reports: &[Report]) -> Result<String, ExportError> {
    let mut b = String::from("<h2>Latency</h2>\n");
    let rows: Vec<(&str, &Percentiles)> = reports
        .iter()
        .zip(&c.variants)
        .map(|(r, v)| (v.name.as_str(), &r.latency_ms.request))
        .collect();
    b.push_str(&latency_table(&rows));
    let lines: Vec<Line> = reports
        .iter()
        .zip(&c.variants)
        .map(|(r, v)| Line {
            name: v.name.clone(),
            values: percentile_values(&r.latency_ms.request),
        })
        .collect();
    b.push_str(&latency_chart(
        "latency",
        "API request latency distribution",
        &lines,
    )?);
    Ok(b)
}

/// Each variant's verdicts under its name.
fn comparison_verdicts(c: &Comparison, reports: &[Report]) -> String {
    let mut b = String::from("<h2>Thresholds</h2>\n");
    for (r, v) in reports.iter().zip(&c.variants) {
        let _ = writeln!(b, "<h3>{}</h3>", escape(&v.name));
        b.push_str(&verdicts(&Verdicts::of(r)));
    }
    b
}

impl Exporter for Html {
    fn extension(&self) -> &'static str {
        "html"
    }

    fn export(&self, r: &Report) -> Result<Vec<u8>, ExportError> {
        let name = match &r.variant {
            Some(v) => format!("{} · {v}", r.scenario),
            None => r.scenario.clone(),
        };
        let judged = Verdicts::of(r);
        let mut b = heading(r, &name, &judged);
        b.push_str("<h2>Thresholds</h2>\n");
        b.push_str(&verdicts(&judged));
        b.push_str(&key_figures(r)?);
        b.push_str(&outages(r));
        b.push_str(&over_time(r)?);
        b.push_str(&latency(r)?);
        b.push_str(&groups(r));
        Ok(page(&format!("tokenstorm · {name}"), &b))
    }

    fn export_comparison(
        &self,
        c: &Comparison,
        reports: &[Report],
    ) -> Result<Option<Vec<u8>>, ExportError> {
        let mut b = comparison_heading(c, reports);
        b.push_str(&side_by_side(c));
        if let Some(knob) = &c.swept {
            b.push_str(&sweep_tradeoff(c, reports, knob)?);
        }
        b.push_str(&comparison_over_time(c, reports)?);
        b.push_str(&comparison_latency(c, reports)?);
        b.push_str(&comparison_verdicts(c, reports));
        Ok(Some(page(
            &format!("tokenstorm compare · {}", c.scenario),
            &b,
        )))
    }
}
