//! `tokenstorm compare` as a user meets it: variants from the file or a sweep, one report
//! each plus the comparison, the same bytes whether variants ran in parallel or one by
//! one, and bad variants refused with their line and key.

mod common;

use std::path::{Path, PathBuf};

use common::{show, tokenstorm};

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("compare", name)
}

fn write(dir: &Path, text: &str) -> String {
    common::write(dir, "duo.yaml", text)
}

const DUO: &str = r#"
name: duo
seed: 3
duration: 1h
issuer:
  access_token: { ttl: 10m }
clients:
  - name: web
    count: 20
    requests: { every: 20s }
    policy: { refresh: reactive }
thresholds:
  failed_rate: "== 0"
variants:
  - name: reactive
    set: { clients.0.policy.refresh: reactive }
  - name: proactive
    set: { clients.0.policy.refresh: proactive, clients.0.policy.buffer: 60s }
"#;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn declared_variants_each_get_a_report_and_a_column() {
    let dir = temp_dir("declared");
    let file = write(&dir, DUO);
    let out_dir = dir.join("out");
    let out = tokenstorm(&["compare", &file, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let reactive = json(&out_dir.join("duo.reactive.json"));
    let proactive = json(&out_dir.join("duo.proactive.json"));
    assert_eq!(reactive["variant"], "reactive");
    assert_eq!(proactive["variant"], "proactive");
    assert!(reactive["requests"]["unauthorized"].as_u64().unwrap() > 0);
    assert_eq!(proactive["requests"]["unauthorized"], 0);
    let c = json(&out_dir.join("duo.compare.json"));
    assert_eq!(c["variants"][1]["name"], "proactive");
    let row = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == "requests.unauthorized")
        .unwrap();
    assert_eq!(row["best"], serde_json::json!([1]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("reactive") && stdout.contains("proactive"),
        "{stdout}"
    );
    assert!(stdout.contains("duo.compare.json"), "{stdout}");
}

#[test]
fn the_same_bytes_in_parallel_or_one_by_one() {
    let dir = temp_dir("jobs");
    let file = write(&dir, DUO);
    let sweep = "--vary=clients.0.policy.on_401=refresh_and_retry,fail,drop_token";
    let run = |jobs: &str, sub: &str| {
        let out_dir = dir.join(sub);
        let out = tokenstorm(&[
            "compare",
            &file,
            sweep,
            "--jobs",
            jobs,
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        // Some variants give requests up: failed_rate == 0 fails there.
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        let mut reports: Vec<String> = Vec::new();
        for name in [
            "on_401-refresh_and_retry",
            "on_401-fail",
            "on_401-drop_token",
        ] {
            let mut r = json(&out_dir.join(format!("duo.{name}.json")));
            r["run_info"] = serde_json::Value::Null;
            reports.push(r.to_string());
        }
        (
            std::fs::read(out_dir.join("duo.compare.json")).unwrap(),
            reports,
        )
    };
    let one = run("1", "one");
    let two = run("2", "two");
    let again = run("2", "again");
    assert_eq!(one, two);
    assert_eq!(two, again);
    assert_ne!(one.1[0], one.1[1], "the knob changes the figures");
}

#[test]
fn a_variant_that_names_no_key_is_refused_with_its_line() {
    let dir = temp_dir("badkey");
    let file = write(
        &dir,
        &DUO.replace(
            "clients.0.policy.buffer: 60s",
            "clients.0.policy.bufer: 60s",
        ),
    );
    let out = tokenstorm(&["compare", &file]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("duo.yaml:18:"), "{err}");
    assert!(
        err.contains("variants[1].set.clients.0.policy.bufer"),
        "{err}"
    );
    assert!(
        err.contains("variant `proactive`") && err.contains("buffer"),
        "{err}"
    );
}

#[test]
fn sweeps_are_checked_like_scenarios() {
    let dir = temp_dir("badsweep");
    let file = write(&dir, DUO);
    let missing = tokenstorm(&["compare", &file, "--vary", "clients.5.count=1,2"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        show(&missing).contains("index 5 does not exist"),
        "{}",
        show(&missing)
    );
    let impossible = tokenstorm(&[
        "compare",
        &file,
        "--vary",
        "clients.0.policy.refresh=proactive",
        "--vary",
        "x=1",
    ]);
    assert_eq!(impossible.status.code(), Some(2), "one --vary only");
    let zero = tokenstorm(&["compare", &file, "--vary", "clients.0.count=0,5"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        show(&zero).contains("must be at least 1"),
        "{}",
        show(&zero)
    );
    let garbled = tokenstorm(&["compare", &file, "--vary", "clients.0.count"]);
    assert_eq!(garbled.status.code(), Some(2));
}

#[test]
fn nothing_to_compare_is_a_usage_error() {
    let dir = temp_dir("nothing");
    let file = write(&dir, &DUO[..DUO.find("variants:").unwrap()]);
    let out = tokenstorm(&["compare", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(show(&out).contains("nothing to compare"), "{}", show(&out));
}

#[test]
fn presets_are_listed_one_per_line() {
    let out = tokenstorm(&["presets"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in [
        "golang-oauth2",
        "msal-dotnet",
        "aws-sdk-java",
        "guide-python",
        "requests-oauthlib",
        "authlib",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(name)),
            "{name}: {stdout}"
        );
    }
    assert_eq!(stdout.lines().take_while(|l| !l.is_empty()).count(), 17);
}
