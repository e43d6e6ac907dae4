//! The redis backend against a real Redis: each test starts its own redis-server on a
//! unix socket in a temporary directory. Built only with `--features redis`; without a
//! redis-server on the PATH the tests fail and say how to install one.

#![cfg(feature = "redis")]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenstorm::lock::{Acquire, LockService, LockSettings};
use tokenstorm::run::{self, Control};
use tokenstorm::scenario::{self, LockBackend};

/// A redis-server of this test's own, stopped when dropped.
pub struct RedisServer {
    child: Child,
    dir: PathBuf,
    pub url: String,
}

impl RedisServer {
    pub fn start(name: &str) -> RedisServer {
        let dir =
            std::env::temp_dir().join(format!("tokenstorm-redis-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start redis-server ({e}). The redis tests need it on the PATH: \
                     `apt-get install redis-server` on Debian or Ubuntu, `brew install redis` \
                     on macOS; or run `cargo test` without `--features redis`"
                )
            });
        let t0 = Instant::now();
        while !socket.exists() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "redis-server did not open {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer {
            child,
            url: format!("unix://{}", socket.display()),
            dir,
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn settings(url: &str, ttl_ms: i64) -> LockSettings {
    LockSettings {
        backend: LockBackend::Redis,
        ttl: tokenstorm::duration::Dur::ms(ttl_ms),
        latency: tokenstorm::duration::Dur::ZERO,
        poll: tokenstorm::duration::Dur::ms(10),
        notify: false,
        url: Some(url.to_string()),
    }
}

#[tokio::test]
async fn set_nx_px_and_release_only_by_the_holder() {
    let redis = RedisServer::start("lock");
    let a = LockService::start(settings(&redis.url, 300), "t1", "a")
        .await
        .unwrap();
    let b = LockService::start(settings(&redis.url, 300), "t1", "b")
        .await
        .unwrap();
    let Acquire::Taken { held, waited: None } = a.acquire("k", None, || {}, &mut 0).await else {
        panic!("a free lock is taken at once")
    };
    // Another process waits (polling) until the ttl frees the key, 300 ms after it was
    // taken, although its holder never released it.
    let t0 = Instant::now();
    let mut ops = 0;
    let Acquire::Taken {
        held: second,
        waited: Some(_),
    } = b.acquire("k", None, || {}, &mut ops).await
    else {
        panic!("an expired lock is taken")
    };
    assert!(
        t0.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t0.elapsed()
    );
    assert!(ops > 1, "it polled");
    // The first holder's release finds another value: lost, and the second holder's
    // lock is left alone.
    assert!(!a.release(held, &mut 0).await.unwrap());
    assert!(matches!(
        a.acquire("k", Some(Duration::from_millis(100)), || {}, &mut 0)
            .await,
        Acquire::TimedOut { .. }
    ));
    assert!(b.release(second, &mut 0).await.unwrap());
    assert!(matches!(
        a.acquire("k", None, || {}, &mut 0).await,
        Acquire::Taken { waited: None, .. }
    ));
    // Another namespace is another lock.
    let c = LockService::start(settings(&redis.url, 300), "t2", "c")
        .await
        .unwrap();
    assert!(matches!(
        c.acquire("k", None, || {}, &mut 0).await,
        Acquire::Taken { waited: None, .. }
    ));
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("tokenstorm-no-redis-{}", std::process::id()));
    let url = format!("unix://{}/nothing.sock", dir.display());
    let err = LockService::start(settings(&url, 300), "t", "a")
        .await
        .err()
        .expect("no server there");
    assert!(
        err.to_string().contains("could not reach Redis at"),
        "{err}"
    );
}

fn scenario_on(redis: &RedisServer) -> scenario::Scenario {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/redis-lock-live.yaml"
    );
    let mut s = scenario::load(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    for group in &mut s.clients {
        group.policy.lock.as_mut().unwrap().url = Some(redis.url.clone());
    }
    s.resolve();
    s
}

#[test]
fn the_live_redis_scenario_shares_tokens_through_redis_and_never_races() {
    let redis = RedisServer::start("scenario");
    let s = scenario_on(&redis);
    let r = run::run(&s, &Control::default()).unwrap();
    let failed: Vec<_> = r.thresholds.iter().filter(|t| !t.pass).collect();
    assert!(failed.is_empty(), "{failed:#?}\n{:#?}", r.lock);
    assert!(r.refresh.attempts > 0);
    // Every refresh and login was under the lock: the store was read after each taking.
    assert!(r.lock.operations > 2 * r.lock.acquisitions, "{:?}", r.lock);

    // The same population without the lock races and is caught by reuse detection.
    let mut unlocked = s.clone();
    unlocked.clients[0].policy.coordination = Some(scenario::Coordination::SingleFlight);
    unlocked.clients[0].policy.lock = None;
    unlocked.resolve();
    let u = run::run(&unlocked, &Control::default()).unwrap();
    assert!(u.refresh.duplicates > 0, "{:?}", u.refresh);
    assert!(u.rotation.reuse_detected > 0, "{:?}", u.rotation);
}

/// The fake issuer and API of `scenario`, served by `tokenstorm serve` on free ports in
/// a process of their own; stopped when dropped.
struct Served {
    child: Child,
    issuer: String,
    resource: String,
}

impl Served {
    fn start(scenario: &std::path::Path) -> Served {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
            .arg("serve")
            .arg(scenario)
            .args(["--issuer-port", "0", "--resource-port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (mut issuer, mut resource) = (None, None);
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let url = line.split_whitespace().nth(1).map(str::to_string);
            if line.trim_start().starts_with("issuer") {
                issuer = url;
            } else if line.trim_start().starts_with("API") {
                resource = url;
                break;
            }
        }
        Served {
            child,
            issuer: format!("{}/token", issuer.expect("serve prints the issuer's URL")),
            resource: resource.expect("serve prints the API's URL"),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn report(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn at(v: &serde_json::Value, path: &str) -> u64 {
    tokenstorm::report::model::lookup(v, path)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("{path} in {v}"))
}

#[test]
fn two_workers_in_two_processes_share_one_redis_and_merge_into_the_whole_run() {
    let redis = RedisServer::start("workers");
    let dir = std::env::temp_dir().join(format!("tokenstorm-workers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The issuer rotates refresh tokens and takes any second presentation for theft:
    // two processes refreshing one client's token without sharing it would be caught.
    let serve = dir.join("serve.yaml");
    std::fs::write(
        &serve,
        "name: shared\nduration: 1h\nclients: [ { name: none, count: 1 } ]\nissuer:\n  access_token: { ttl: 2s }\n  refresh_token: { rotation: true, reuse_detection: true, reuse_grace: 0s }\n  latency: 20ms\n",
    )
    .unwrap();
    let served = Served::start(&serve);
    // Two instances per client: with two workers, every client has one instance in
    // each process, and only Redis connects them.
    let scenario = dir.join("workers.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: workers
mode: live
duration: 7s
tick: 1s
targets: {{ issuer: {}, resource: {} }}
clients:
  - name: app
    count: 6
    start: {{ ramp: 500ms }}
    instances: 2
    requests: {{ every: 100ms, distribution: constant }}
    policy:
      refresh: reactive
      coordination: lock
      lock: {{ backend: redis, url: \"{}\", ttl: 5s, poll: 20ms }}
thresholds:
  refresh.duplicates: \"== 0\"
  refresh.invalid_grant: \"== 0\"
  login.forced: \"== 0\"
  login.initial: \"== 6\"
",
            served.issuer, served.resource, redis.url
        ),
    )
    .unwrap();
    let parts = dir.join("parts");
    let workers: Vec<Child> = (0..2)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
                .arg("run")
                .arg(&scenario)
                .args(["--worker", &format!("{i}/2"), "--run-id", "two-workers"])
                .arg("--out")
                .arg(&parts)
                .arg("--quiet")
                .spawn()
                .unwrap()
        })
        .collect();
    for mut w in workers {
        // A worker judges the thresholds on its share alone (login.initial == 6 fails
        // there): 1 is a verdict, not a failure; the merge judges the whole.
        let status = w.wait().unwrap();
        assert!(
            matches!(status.code(), Some(0 | 1)),
            "a worker failed: {status}"
        );
    }
    let merged = dir.join("merged");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .arg("merge")
        .arg(parts.join("workers.worker-0-of-2.json"))
        .arg(parts.join("workers.worker-1-of-2.json"))
        .arg("--out")
        .arg(&merged)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "merge: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = report(&merged.join("workers.json"));
    // Each process ran one instance of every client.
    for i in 0..2 {
        let w = report(&parts.join(format!("workers.worker-{i}-of-2.json")));
        assert!(at(&w, "requests.total") > 0, "worker {i} sent requests");
    }

    // The same population in one process, against the same servers and Redis.
    let whole = dir.join("whole");
    let out = Command::new(env!("CARGO_BIN_EXE_tokenstorm"))
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&whole)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let w = report(&whole.join("workers.json"));

    for r in [&m, &w] {
        // One login per client in all, whichever process did it, no refresh token
        // presented twice, none refused, nobody logged out.
        assert_eq!(at(r, "login.initial"), 6, "{r}");
        assert_eq!(at(r, "login.forced"), 0);
        assert_eq!(at(r, "refresh.duplicates"), 0);
        assert_eq!(at(r, "refresh.invalid_grant"), 0);
        assert_eq!(at(r, "requests.failed"), 0);
        assert!(at(r, "refresh.attempts") >= 6, "{r}");
        assert!(
            r["thresholds"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["pass"] == true)
        );
    }
    // The same clients at the same pace, split or not: the same traffic, within what
    // real time allows.
    let (mt, wt) = (
        at(&m, "requests.total") as f64,
        at(&w, "requests.total") as f64,
    );
    assert!((mt - wt).abs() / wt < 0.15, "merged {mt} vs whole {wt}");
    let (mr, wr) = (
        at(&m, "refresh.attempts") as f64,
        at(&w, "refresh.attempts") as f64,
    );
    assert!(
        (mr - wr).abs() <= 0.5 * wr,
        "merged {mr} vs whole {wr} refreshes"
    );
    // The merged latency percentiles come from both workers' histograms.
    assert!(at(&m, "latency_ms.refresh.max") >= 20);
    assert!(m.get("worker").is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_redis_that_goes_away_fails_the_lock_and_says_so() {
    let redis = RedisServer::start("gone");
    let s = LockService::start(settings(&redis.url, 300), "t", "a")
        .await
        .unwrap();
    drop(redis);
    match s.acquire("k", None, || {}, &mut 0).await {
        Acquire::Failed { error, .. } => assert!(!error.is_empty()),
        other => panic!("expected a failure, got {other:?}"),
    }
}
