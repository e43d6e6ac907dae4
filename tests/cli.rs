//! The command line as a user meets it: exit codes, files written, messages.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{tokenstorm, write};

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("cli", name)
}

const SMALL: &str = r#"
name: small
seed: 5
duration: 30m
tick: 1m
issuer:
  access_token: { ttl: 10m }
clients:
  - name: web
    count: 20
    requests: { every: 20s }
    policy: { refresh: reactive }
thresholds:
  failed_rate: "== 0"
  unauthorized_rate: "THRESHOLD"
"#;

#[test]
fn passing_thresholds_exit_0_and_write_the_report() {
    let dir = temp_dir("pass");
    let file = write(&dir, "small.yaml", &SMALL.replace("THRESHOLD", "< 0.5"));
    let out_dir = dir.join("out");
    let out = tokenstorm(&["run", &file, "--out", out_dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("✓ unauthorized_rate < 0.5"), "{stdout}");
    let report_path = out_dir.join("small.json");
    assert!(
        stdout.contains(&report_path.display().to_string()),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["scenario"], "small");
    assert_eq!(report["thresholds"][1]["pass"], true);
    assert!(report["requests"]["total"].as_u64().unwrap() > 0);
}

#[test]
fn a_failing_threshold_exits_1_and_still_writes_the_report() {
    let dir = temp_dir("fail");
    let file = write(&dir, "small.yaml", &SMALL.replace("THRESHOLD", "== 0"));
    let out_dir = dir.join("out");
    let out = tokenstorm(&["run", &file, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("✗ unauthorized_rate == 0"));
    assert!(out_dir.join("small.json").exists());
}

#[test]
fn seed_flag_overrides_the_scenario_seed() {
    let dir = temp_dir("seed");
    let file = write(&dir, "small.yaml", &SMALL.replace("THRESHOLD", "< 1"));
    let out_dir = dir.join("out");
    let out = tokenstorm(&[
        "run",
        &file,
        "--seed",
        "99",
        "--quiet",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "--quiet prints nothing");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("small.json")).unwrap()).unwrap();
    assert_eq!(report["seed"], 99);
}

#[test]
fn a_bad_scenario_exits_2_naming_file_line_and_key() {
    let dir = temp_dir("bad");
    let file = write(
        &dir,
        "bad.yaml",
        "name: bad\nduration: 1h\nclients:\n  - name: web\n    count: 3\n    policy:\n      bufer: 10s\n",
    );
    let out = tokenstorm(&["run", &file]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{file}:7:")), "{stderr}");
    assert!(stderr.contains("bufer"), "{stderr}");
}

#[test]
fn validate_checks_every_file() {
    let dir = temp_dir("validate");
    let good = write(&dir, "good.yaml", &SMALL.replace("THRESHOLD", "< 1"));
    let bad = write(&dir, "bad.yaml", "name: x\nduration: soon\nclients: []\n");
    let ok = tokenstorm(&["validate", &good]);
    assert_eq!(ok.status.code(), Some(0));
    let both = tokenstorm(&["validate", &good, &bad]);
    assert_eq!(both.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert!(stderr.contains(&format!("{bad}:2:")), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(tokenstorm(&["run"]).status.code(), Some(2));
    assert_eq!(tokenstorm(&["frobnicate"]).status.code(), Some(2));
    let dir = temp_dir("format");
    let file = write(&dir, "small.yaml", &SMALL.replace("THRESHOLD", "< 1"));
    let out = tokenstorm(&["run", &file, "--format", "pdf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("accepted: json"));
}

#[test]
fn every_shipped_scenario_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    // A scenario on a real Redis needs a build with the redis feature; without it, it
    // is refused with the way to get one.
    let (redis, others): (Vec<String>, Vec<String>) = files.into_iter().partition(|f| {
        std::fs::read_to_string(f)
            .unwrap()
            .contains("backend: redis")
    });
    assert!(!redis.is_empty(), "a live Redis scenario ships");
    let mut args = vec!["validate"];
    args.extend(others.iter().map(String::as_str));
    if cfg!(feature = "redis") {
        args.extend(redis.iter().map(String::as_str));
    }
    let out = tokenstorm(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if !cfg!(feature = "redis") {
        for f in &redis {
            let out = tokenstorm(&["validate", f]);
            assert_eq!(out.status.code(), Some(2));
            assert!(String::from_utf8_lossy(&out.stderr).contains("--features redis"));
        }
    }
}

#[test]
fn help_has_examples() {
    for args in [&["--help"][..], &["run", "--help"], &["validate", "--help"]] {
        let out = tokenstorm(args);
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Examples:"));
    }
}

#[test]
fn a_report_that_cannot_be_written_exits_3_and_still_prints_the_summary() {
    let dir = temp_dir("unwritable");
    let file = write(&dir, "small.yaml", &SMALL.replace("THRESHOLD", "< 0.5"));
    // A file where the output directory should be.
    let blocker = write(&dir, "out", "not a directory");
    let out = tokenstorm(&["run", &file, "--out", &blocker]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("unauthorized_rate"), "{stdout}");
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_run_writes_what_it_measured_and_exits_130() {
    interrupted_by("INT", 130);
}

/// What CI runners, `timeout` and container engines send: the same as Ctrl-C, exit 143.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_run_writes_what_it_measured_and_exits_143() {
    interrupted_by("TERM", 143);
}

#[cfg(unix)]
fn interrupted_by(signal: &str, code: i32) {
    let dir = temp_dir(&format!("interrupt-{signal}"));
    // Days of simulated time: far longer than the test waits.
    let file = write(
        &dir,
        "long.yaml",
        &SMALL
            .replace("duration: 30m", "duration: 30d")
            .replace("count: 20", "count: 2000")
            .replace("THRESHOLD", "< 0.5"),
    );
    let out_dir = dir.join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .args(["run", &file, "--out", out_dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("small.json")).unwrap()).unwrap();
    assert_eq!(report["run_info"]["interrupted"], true);
    let covered = report["duration_seconds"].as_f64().unwrap();
    assert!(covered > 0.0 && covered < 30.0 * 86_400.0, "{covered}");
    assert!(report["requests"]["total"].as_u64().unwrap() > 0);
}

#[test]
fn every_format_is_written_and_listed_at_the_end_of_the_summary() {
    let dir = temp_dir("formats");
    let file = write(&dir, "small.yaml", &SMALL.replace("THRESHOLD", "< 0.5"));
    let out_dir = dir.join("out");
    let out = tokenstorm(&[
        "run",
        &file,
        "--out",
        out_dir.to_str().unwrap(),
        "--format",
        "json,html,md,csv,junit",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tail: Vec<&str> = stdout.lines().rev().take(5).collect();
    for ext in ["json", "html", "md", "csv", "junit.xml"] {
        let path = out_dir.join(format!("small.{ext}"));
        assert!(path.exists(), "{}", path.display());
        assert!(
            tail.iter()
                .any(|l| *l == format!("report: {}", path.display())),
            "{stdout}"
        );
    }
}

#[cfg(unix)]
#[test]
fn serve_prints_where_and_how_to_log_in_logs_no_secret_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .args(["serve", "--issuer-port", "0", "--resource-port", "0", "-v"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("Ctrl-C or SIGTERM stops") {
            break;
        }
    }
    for expected in [
        "client_id      demo",
        "client_secret  demo-secret",
        "demo-password",
    ] {
        assert!(printed.contains(expected), "{printed}");
    }
    let issuer = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("issuer    http://"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    // A login: its secret and password travel in the request, never into the log.
    let body = "grant_type=password&username=alice&password=demo-password&client_id=demo&client_secret=demo-secret";
    let mut stream = std::net::TcpStream::connect(&issuer).unwrap();
    write!(
        stream,
        "POST /token HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let token = answer.split("\"access_token\":\"").nth(1).unwrap();
    let token = &token[..token.find('"').unwrap()];

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("path=/token") && log.contains("status=200"),
        "{log}"
    );
    for secret in ["demo-secret", "demo-password", token] {
        assert!(!log.contains(secret), "the log holds a secret: {log}");
    }
}

/// A population that cannot fit in memory is refused before it runs, with the estimate
/// and what is available, instead of validating "ok" and then eating the machine.
#[test]
fn a_run_that_cannot_fit_in_memory_is_refused_before_it_starts() {
    let dir = temp_dir("too-big");
    let file = write(
        &dir,
        "huge.yaml",
        "name: huge\nduration: 1h\nclients:\n  - { name: a, count: 4000000000, workers: 8 }\n",
    );
    let out_dir = dir.join("out");
    let out = tokenstorm(&["run", &file, "--out", out_dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", common::show(&out));
    assert!(stderr.contains("GiB available"), "{stderr}");
    assert!(stderr.contains("4000000000 clients"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert!(!out_dir.exists(), "nothing ran");
    let out = tokenstorm(&["compare", &file, "--vary", "clients.0.workers=1,2"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::show(&out));
}

#[test]
fn the_footprint_grows_with_clients_and_request_loops() {
    use tokenstorm::scenario::footprint::{PER_CLIENT, PER_WORKER, estimate};
    let s = tokenstorm::scenario::parse(
        "name: t\nduration: 1h\nclients:\n  - { name: a, count: 1000, instances: 2, workers: 3 }\n  - { name: b, count: 10 }\n",
        "t.yaml",
    )
    .unwrap();
    let f = estimate(&s);
    assert_eq!((f.clients, f.workers), (1010, 6010));
    assert!(f.bytes > 1010 * PER_CLIENT + 6010 * PER_WORKER);
}

/// The README's sample of a refused scenario is what `run` prints for such a file.
#[test]
fn the_readme_sample_of_a_refused_scenario_is_true() {
    let dir = temp_dir("readme-bad");
    let bad = "name: bad\nduration: 1h\nissuer:\n  access_token: { ttl: 15m }\n  refresh_token: { ttl: 1h, idle_ttl: 2h }\nclients:\n  - name: web\n    count: 0\n    policy:\n      refresh: proactive\n      fraction: 1.2\nthresholds:\n  unauthorised_rate: \"< 0.01\"\n";
    write(&dir, "bad.yaml", bad);
    let out = Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .args(["run", "bad.yaml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let readme = include_str!("../README.md");
    let sample = readme
        .split("$ tokenstorm run bad.yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("$ echo").next())
        .expect("the README shows the sample");
    assert_eq!(String::from_utf8_lossy(&out.stderr), sample);
}

#[test]
fn a_targets_run_in_which_no_client_gets_a_token_exits_3_with_the_issuers_error() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let ours = tokenstorm::scenario::parse(
        "name: ext\nduration: 1h\nclients: [ { name: c, count: 1 } ]\n",
        "ext.yaml",
    )
    .unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let servers = rt
        .block_on(tokenstorm::world::live::serve(
            &ours,
            any,
            any,
            tokenstorm::server::Limits::default(),
        ))
        .unwrap();
    let dir = temp_dir("no-token");
    let scenario = write(
        &dir,
        "s.yaml",
        &format!(
            "name: wrong-secret\nmode: live\nduration: 1s\ntargets:\n  issuer: http://{}/token\n  resource: http://{}/api/me\n  client_id: demo\n  client_secret: not-the-secret\nclients: [ {{ name: c, count: 2 }} ]\n",
            servers.issuer, servers.resource
        ),
    );
    let out_dir = dir.join("out").display().to_string();
    let out = tokenstorm(&["run", &scenario, "--out", &out_dir, "--quiet"]);
    assert_eq!(out.status.code(), Some(3), "{}", common::show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no client could obtain a token")
            && stderr.contains("401 invalid_client: unknown client or wrong secret"),
        "{stderr}"
    );
    // What it measured is still written.
    assert!(Path::new(&out_dir).join("wrong-secret.json").exists());
    rt.block_on(servers.stop());
}

/// Beyond loopback, a `serve` whose tokens others could mint says so.
#[cfg(unix)]
#[test]
fn serve_beyond_loopback_with_a_published_secret_warns() {
    use std::io::{BufRead, BufReader};
    let dir = temp_dir("published-secret");
    let file = write(
        &dir,
        "s.yaml",
        "name: s\nduration: 1h\nissuer: { publish_secret: true }\nclients: [ { name: c, count: 1 } ]\n",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .args([
            "serve",
            &file,
            "--bind",
            "0.0.0.0",
            "--issuer-port",
            "0",
            "--resource-port",
            "0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with(
            "warning: serving on 0.0.0.0 with hs256 and `issuer.publish_secret: true`"
        ) && first.contains("anyone who can reach it can mint tokens"),
        "{first}"
    );
}
