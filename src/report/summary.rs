//! The end-of-run summary a person reads in the terminal.
//!
//! Verdicts first (✓/✗ per threshold, as k6 prints them), then the figures that explain
//! them. Returns text; the binary decides where it goes and whether it is coloured.

use comfy_table::presets::NOTHING;
use comfy_table::{Cell, CellAlignment, Table};

use super::verdicts::Verdicts;
use super::{Report, recovery};
use crate::contract::Percentiles;

/// How to draw the summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// ANSI colours for the verdicts.
    pub color: bool,
}

fn paint(text: &str, code: &str, style: Style) -> String {
    if style.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// `12,345`
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn percent(rate: f64) -> String {
    format!("{:.3}%", rate * 100.0)
}

fn simulated(seconds: f64) -> String {
    crate::duration::Dur::ms((seconds * 1000.0).round() as i64).to_string()
}

fn latency_row(table: &mut Table, name: &str, p: &Percentiles) {
    table.add_row(vec![
        Cell::new(name),
        Cell::new(p.p50).set_alignment(CellAlignment::Right),
        Cell::new(p.p90).set_alignment(CellAlignment::Right),
        Cell::new(p.p99).set_alignment(CellAlignment::Right),
        Cell::new(p.p999).set_alignment(CellAlignment::Right),
        Cell::new(p.max).set_alignment(CellAlignment::Right),
        Cell::new(format!("{:.1}", p.mean)).set_alignment(CellAlignment::Right),
    ]);
}

/// One line per verdict, its mark green or red when coloured; `compare` prints these
/// too.
pub(crate) fn verdict_lines(verdicts: &Verdicts, style: Style) -> String {
    verdicts
        .rows
        .iter()
        .map(|v| {
            let mark = paint(v.mark, if v.pass { "32" } else { "31" }, style);
            format!(
                "  {mark} {} {}  (actual {})\n",
                v.metric, v.condition, v.actual
            )
        })
        .collect()
}

/// The whole summary: the headline, the verdicts, the figures, the outages, the groups
/// (when there are several) and the latencies.
pub fn render(report: &Report, style: Style) -> String {
    let mut out = headline(report);
    for w in &report.warnings {
        out.push_str(&format!("  {} {w}\n", paint("warning:", "33", style)));
    }
    if !report.warnings.is_empty() {
        out.push('\n');
    }
    let verdicts = Verdicts::of(report);
    if verdicts.is_empty() {
        out.push_str("  no thresholds\n\n");
    } else {
        out.push_str(&verdict_lines(&verdicts, style));
        out.push('\n');
    }
    out.push_str(&figures(report));
    out.push_str("\n\n");
    if !report.outages.is_empty() {
        for o in &report.outages {
            out.push_str(&format!("  {}\n", recovery::describe(o)));
        }
        out.push('\n');
    }
    // One group's figures are the run's, already shown above.
    if report.groups.len() > 1 {
        out.push_str(&groups(report));
        out.push_str("\n\n");
    }
    out.push_str(&latencies(report));
    out.push('\n');
    out
}

/// What ran, on which seed, for how long, and whether it was cut short.
fn headline(report: &Report) -> String {
    let variant = report
        .variant
        .as_ref()
        .map(|v| format!(" [{v}]"))
        .unwrap_or_default();
    format!(
        "{}{variant} — seed {}, {}, {} {} in {:.2}s wall{}{}\n\n",
        report.scenario,
        report.seed,
        report.mode,
        simulated(report.duration_seconds),
        if report.mode == "sim" {
            "simulated"
        } else {
            "run"
        },
        report.run_info.wall_seconds,
        if report.run_info.interrupted {
            " (interrupted: figures cover what ran)"
        } else {
            ""
        },
        against(report),
    )
}

/// The external servers of a `targets` run, on a line of their own.
fn against(report: &Report) -> String {
    report
        .targets
        .as_ref()
        .map(|t| {
            let found = match &t.discovered_from {
                Some(_) => format!(", token endpoint {} discovered", t.token_endpoint),
                None => String::new(),
            };
            let insecure = if t.insecure {
                ", certificates NOT checked (insecure)"
            } else {
                ""
            };
            format!(
                "\nagainst {} and {} (grant {}, client authentication {}{found}{insecure})",
                t.issuer, t.resource, t.grant, t.client_auth
            )
        })
        .unwrap_or_default()
}

/// One line per section of figures, named on the left.
fn figures(report: &Report) -> String {
    let rows: [(&str, String); 7] = [
        ("requests", requests_line(report)),
        ("refresh", refresh_line(report)),
        ("logins", logins_line(report)),
        ("rotation", rotation_line(report)),
        ("lock", lock_line(report)),
        ("issuer", issuer_line(report)),
        ("resource", resource_line(report)),
    ];
    let mut table = Table::new();
    table.load_style(NOTHING);
    for (name, text) in rows {
        table.add_row(vec![Cell::new(name), Cell::new(text)]);
    }
    trimmed(&table)
}

/// The issuer's own rotation counts, and the clients' inference, which is all a
/// `targets` run has.
fn rotation_line(report: &Report) -> String {
    let r = &report.rotation;
    let suspected = thousands(r.suspected_reuse);
    if report.is_external() {
        return format!(
            "{suspected} reuse suspected by the clients · reuse detected, families revoked: not observed (the issuer is external)"
        );
    }
    format!(
        "{} reuse detected · {} families revoked · {} accepted within grace · {suspected} suspected by the clients",
        thousands(r.reuse_detected),
        thousands(r.families_revoked),
        thousands(r.grace_accepted),
    )
}

fn requests_line(report: &Report) -> String {
    let r = &report.requests;
    format!(
        "{} attempts · {} ok · {} unauthorized ({}) · {} retried · {} of {} requests failed ({})",
        thousands(r.total),
        thousands(r.ok),
        thousands(r.unauthorized),
        percent(report.unauthorized_rate),
        thousands(r.retried),
        thousands(r.failed),
        thousands(r.logical),
        percent(report.failed_rate),
    )
}

fn refresh_line(report: &Report) -> String {
    let f = &report.refresh;
    format!(
        "{} attempts · {} ok · {} invalid_grant · {} duplicates · peak {}/s · mean {:.3}/s · max {} in flight",
        thousands(f.attempts),
        thousands(f.succeeded),
        thousands(f.invalid_grant),
        thousands(f.duplicates),
        f.peak_per_second,
        f.mean_per_second,
        f.max_concurrent,
    )
}

fn lock_line(report: &Report) -> String {
    let l = &report.lock;
    let mut line = format!(
        "{} acquisitions · {} contended · {} timeouts · max {} waiting · wait p50 {} ms, p99 {} ms, max {} ms",
        thousands(l.acquisitions),
        thousands(l.contended),
        thousands(l.timeouts),
        l.max_waiters,
        l.wait_ms.p50,
        l.wait_ms.p99,
        l.wait_ms.max,
    );
    // Only `coordination: lock` sends operations to a lock service or loses locks; the
    // other coordinations leave these figures out.
    if l.operations > 0 || l.lost > 0 {
        line.push_str(&format!(
            " · {} lost ({} refreshes under a lost lock) · max {} holding · {} operations",
            thousands(l.lost),
            thousands(l.refreshes_under_lost_lock),
            l.max_holders,
            thousands(l.operations),
        ));
    }
    line
}

/// What an external server counted is its own: the line says so instead of zeros.
const EXTERNAL_LINE: &str = "not observed (the servers are external: read their own counts)";

fn issuer_line(report: &Report) -> String {
    if !report.observed("issuer") {
        return EXTERNAL_LINE.to_string();
    }
    let i = &report.issuer;
    format!(
        "{} token requests · {} rate limited · {} errors injected{}",
        thousands(i.token_requests),
        thousands(i.rate_limited),
        thousands(i.errors_injected),
        extras(&[
            (i.queue_max, "queued at most"),
            (i.revoked_by_faults, "families revoked by faults"),
            (i.refresh_tokens_evicted, "refresh tokens evicted"),
            (i.key_rotations, "key rotations"),
            (i.key_set_requests, "key-set requests"),
            (i.introspection_requests, "introspection requests"),
        ]),
    )
}

fn resource_line(report: &Report) -> String {
    if !report.observed("resource") {
        return EXTERNAL_LINE.to_string();
    }
    let r = &report.resource;
    format!(
        "{} rejected expired · {} not yet valid · {} invalid{}",
        thousands(r.rejected_expired),
        thousands(r.rejected_not_yet_valid),
        thousands(r.rejected_invalid),
        extras(&[
            (r.rejected_unknown_key, "of them by an unknown key"),
            (r.rejected_revoked, "revoked"),
            (r.rejected_inactive, "inactive"),
            (r.introspection_failures, "introspections failed"),
            (r.errors_injected, "errors injected"),
            (r.key_set_fetch_failures, "key-set fetches failed"),
        ]),
    )
}

/// Logins, and the clients that could not log in again (shown when there are any).
fn logins_line(report: &Report) -> String {
    let mut line = format!(
        "{} initial · {} forced",
        thousands(report.login.initial),
        thousands(report.login.forced)
    );
    if report.login.renewed > 0 {
        line.push_str(&format!(" · {} renewed", thousands(report.login.renewed)));
    }
    if report.login.failed > 0 {
        line.push_str(&format!(" · {} failed", thousands(report.login.failed)));
    }
    if report.clients.with_token == 0
        && let Some(error) = &report.login.first_error
    {
        line.push_str(&format!(" · no client got a token: {error}"));
    }
    if report.clients.logged_out > 0 {
        line.push_str(&format!(
            " · {} clients logged out",
            thousands(report.clients.logged_out)
        ));
    }
    line
}

/// One row per client group.
fn groups(report: &Report) -> String {
    let mut groups = Table::new();
    groups.load_style(NOTHING);
    groups.set_header(vec![
        "group",
        "attempts",
        "unauthorized",
        "failed",
        "refreshes",
        "duplicates",
        "forced logins",
        "logged out",
    ]);
    for (name, g) in &report.groups {
        groups.add_row(vec![
            Cell::new(name),
            Cell::new(thousands(g.requests.total)),
            Cell::new(percent(g.unauthorized_rate)),
            Cell::new(percent(g.failed_rate)),
            Cell::new(thousands(g.refresh.attempts)),
            Cell::new(thousands(g.refresh.duplicates)),
            Cell::new(thousands(g.login.forced)),
            Cell::new(thousands(g.clients.logged_out)),
        ]);
    }
    for i in 1..8 {
        if let Some(col) = groups.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    trimmed(&groups)
}

/// The latency percentiles of requests, refreshes and logins.
fn latencies(report: &Report) -> String {
    let mut lat = Table::new();
    lat.load_style(NOTHING);
    lat.set_header(vec![
        "latency (ms)",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "mean",
    ]);
    latency_row(&mut lat, "request", &report.latency_ms.request);
    latency_row(&mut lat, "refresh", &report.latency_ms.refresh);
    latency_row(&mut lat, "login", &report.latency_ms.login);
    trimmed(&lat)
}

/// " · N what" for each figure that is not zero: knobs a scenario does not use stay
/// out of the summary.
fn extras(figures: &[(u64, &str)]) -> String {
    figures
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!(" · {} {what}", thousands(*n)))
        .collect()
}

/// A table's lines without the padding comfy-table leaves at their ends.
fn trimmed(table: &Table) -> String {
    table
        .to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ThresholdResult;

    #[test]
    fn verdicts_come_first() {
        let mut r = Report {
            scenario: "s".into(),
            mode: "sim".into(),
            ..Default::default()
        };
        r.thresholds.push(ThresholdResult {
            not_observed: None,
            metric: "unauthorized_rate".into(),
            condition: "< 0.001".into(),
            actual: 0.5,
            pass: false,
        });
        let text = render(&r, Style::default());
        let verdict = text
            .find("✗ unauthorized_rate < 0.001")
            .expect("verdict shown");
        let figures = text.find("requests").expect("figures shown");
        assert!(verdict < figures);
        assert!(!text.contains('\x1b'));
        assert!(render(&r, Style { color: true }).contains("\x1b[31m✗"));
    }

    #[test]
    fn one_line_per_outage_and_null_actuals() {
        let mut r = Report {
            scenario: "s".into(),
            mode: "sim".into(),
            ..Default::default()
        };
        r.outages.push(crate::contract::Outage {
            section: "issuer".into(),
            at_seconds: 2400.0,
            end_seconds: 3000.0,
            peak_per_tick: 12,
            recovery_seconds: Some(60.0),
            ..Default::default()
        });
        r.outages.push(crate::contract::Outage {
            section: "resource".into(),
            at_seconds: 6000.0,
            end_seconds: 7200.0,
            peak_per_tick: 3,
            recovery_seconds: None,
            ..Default::default()
        });
        r.thresholds.push(ThresholdResult {
            not_observed: None,
            metric: "outages.1.recovery_seconds".into(),
            condition: "< 60".into(),
            actual: f64::NAN,
            pass: false,
        });
        let text = render(&r, Style::default());
        assert!(text.contains(
            "\n  issuer outage 2400–3000 s: recovered 60 s after its end (peak 12 unauthorized+failed per tick)\n"
        ));
        assert!(text.contains(
            "\n  resource outage 6000–7200 s: not recovered by the end of the run (peak 3 unauthorized+failed per tick)\n"
        ));
        assert!(text.contains("✗ outages.1.recovery_seconds < 60  (actual null)"));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
