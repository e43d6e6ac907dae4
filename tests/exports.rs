//! Every report format rendered from a fixed run, checked for structure: JUnit that
//! parses with the right counts, an HTML page with one chart per series and nothing
//! fetched from the network, a Markdown row per metric, a CSV row per tick; and the
//! same for a comparison of variants.

use tokenstorm::report::Report;
use tokenstorm::report::comparison::{self, Comparison};
use tokenstorm::report::export::{Csv, Exporter, Html, Json, Junit, Markdown};
use tokenstorm::run::compare;
use tokenstorm::run::{self, Control};
use tokenstorm::scenario::variants::{self, VariantSpec};
use tokenstorm::scenario::{self, Scenario};

const YAML: &str = r#"
name: fmt
description: A small run <with> "characters" & things to escape.
seed: 4
duration: 30m
tick: 1m
issuer:
  access_token: { ttl: 10m }
  refresh_token: { rotation: true, reuse_grace: 0s }
clients:
  - name: web
    count: 10
    instances: 2
    requests: { every: 10s }
    policy: { refresh: proactive, buffer: 1m, coordination: none }
  - name: api
    count: 5
    requests: { every: 10s }
thresholds:
  failed_rate: "== 0"
  requests.total: "< 10"
  refresh.attempts: "> 0"
"#;

fn scenario() -> Scenario {
    scenario::parse(YAML, "fmt.yaml").unwrap()
}

fn report() -> Report {
    run::run(&scenario(), &Control::default()).unwrap()
}

fn text(e: &dyn Exporter, r: &Report) -> String {
    String::from_utf8(e.export(r).unwrap()).unwrap()
}

#[test]
fn junit_has_a_case_per_threshold_and_a_failure_per_failed_one() {
    let r = report();
    let xml = text(&Junit, &r);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("3"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 3);
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attribute("name"), Some("requests.total < 10"));
    let message = failed[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .and_then(|f| f.attribute("message"))
        .unwrap();
    assert!(
        message.contains(&format!("actual {}", r.requests.total)),
        "{message}"
    );
}

/// The `data-chart` names of a page, in order.
fn charts(html: &str) -> Vec<String> {
    html.match_indices("data-chart=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

fn assert_offline(html: &str) {
    // The SVG namespace is an identifier, not a fetch.
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for needle in ["http://", "https://", "<script", "<link", "@import", "url("] {
        assert!(!without_ns.contains(needle), "the page refers to {needle}");
    }
}

#[test]
fn html_is_self_contained_with_a_chart_per_series() {
    let r = report();
    let html = text(&Html, &r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_offline(&html);
    assert_eq!(
        charts(&html),
        [
            "requests",
            "refreshes",
            "concurrent_refreshes",
            "lock_waiters",
            "lock_holders",
            "issuer_queue",
            "forced_logins",
            "logged_out",
            "latency"
        ]
    );
    assert_eq!(html.matches("<svg").count(), 9);
    // Axis titles with units and legends.
    assert!(html.contains("time (min)"));
    assert!(html.contains("latency (ms)"));
    assert!(
        html.contains("401 unauthorized"),
        "the 401s are overlaid with a legend"
    );
    // Verdicts first: the thresholds table comes before the first chart.
    assert!(html.find("requests.total").unwrap() < html.find("<svg").unwrap());
    // Per-group breakdown, and the description escaped.
    assert!(html.contains("<td>web</td>") && html.contains("<td>api</td>"));
    assert!(html.contains("&lt;with&gt; &quot;characters&quot; &amp; things"));
}

#[test]
fn markdown_has_a_row_per_metric_and_the_verdicts_first() {
    let r = report();
    let md = text(&Markdown, &r);
    assert!(
        md.starts_with("### ❌ tokenstorm · fmt: 2 of 3 thresholds passed"),
        "{md}"
    );
    for m in comparison::METRICS {
        assert_eq!(
            md.lines()
                .filter(|l| l.starts_with(&format!("| `{m}`")))
                .count(),
            1,
            "{m}"
        );
    }
    assert!(md.find("❌").unwrap() < md.find("`requests.total`").unwrap());
}

#[test]
fn csv_has_a_row_per_tick() {
    let r = report();
    let csv = text(&Csv, &r);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "tick,start_seconds,requests,unauthorized,refreshes,concurrent_refreshes,lock_waiters,issuer_queue,failed,logins,forced_logins,lock_holders,logged_out"
    );
    assert_eq!(lines.len(), 1 + 30, "a header and 30 one-minute ticks");
    assert!(lines[1].starts_with("0,0,"));
    assert!(lines[2].starts_with("1,60,"));
    let total: u64 = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, r.requests.total);
}

fn comparison() -> (Comparison, Vec<Report>) {
    let (knob, variants): (String, Vec<VariantSpec>) =
        variants::sweep("clients.0.policy.buffer=0s,2m").unwrap();
    let scenarios = variants::build_all(YAML, "fmt.yaml", &variants).unwrap();
    let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
    let reports: Vec<Report> = compare::run_all(&scenarios, &names, 2, &Control::default())
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let c = comparison::compare(&scenarios[0], Some(&knob), &variants, &reports);
    (c, reports)
}

#[test]
fn a_comparison_renders_in_every_format_that_has_one() {
    let (c, reports) = comparison();
    let html = String::from_utf8(Html.export_comparison(&c, &reports).unwrap().unwrap()).unwrap();
    assert_offline(&html);
    let names = charts(&html);
    assert_eq!(names[0], "tradeoff", "a sweep has its trade-off chart");
    for id in [
        "requests",
        "unauthorized",
        "refreshes",
        "concurrent_refreshes",
        "lock_waiters",
        "forced_logins",
        "logged_out",
        "latency",
    ] {
        assert!(names.iter().any(|n| n == id), "{id}");
    }
    assert!(html.contains("buffer-0s") && html.contains("buffer-2m"));
    assert!(html.contains("class=\"best\""));

    let md = String::from_utf8(Markdown.export_comparison(&c, &reports).unwrap().unwrap()).unwrap();
    assert!(md.contains("| metric") && md.contains("buffer-2m"));
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| `")).count(),
        comparison::METRICS.len()
    );

    let xml = String::from_utf8(Junit.export_comparison(&c, &reports).unwrap().unwrap()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .count(),
        2
    );

    assert!(Json.export_comparison(&c, &reports).unwrap().is_some());
    assert!(
        Csv.export_comparison(&c, &reports).unwrap().is_none(),
        "CSV stays per variant"
    );
}

#[test]
fn every_format_is_deterministic() {
    let mut a = report();
    let mut b = report();
    a.run_info = Default::default();
    b.run_info = Default::default();
    for e in [&Json as &dyn Exporter, &Markdown, &Html, &Csv, &Junit] {
        assert_eq!(
            e.export(&a).unwrap(),
            e.export(&b).unwrap(),
            "{}",
            e.extension()
        );
    }
}

#[test]
fn outages_and_their_recovery_show_in_html_and_markdown() {
    let yaml = YAML.replace(
        "  refresh_token: { rotation: true, reuse_grace: 0s }",
        "  refresh_token: { rotation: true, reuse_grace: 0s }\n  faults: [ { kind: outage, at: 10m, for: 1m } ]",
    );
    let s = scenario::parse(&yaml, "fmt.yaml").unwrap();
    let r = run::run(&s, &Control::default()).unwrap();
    assert_eq!(r.outages.len(), 1);
    let line = tokenstorm::report::recovery::describe(&r.outages[0]);
    assert!(line.starts_with("issuer outage 600–660 s"), "{line}");
    let html = text(&Html, &r);
    assert!(html.contains("<h2>Outages</h2>"), "no outages section");
    assert!(html.contains(&line), "{line}");
    assert!(text(&Markdown, &r).contains(&line));
}
