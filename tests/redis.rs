//! The redis backend against a real Redis: each test starts its own redis-server on a
//! unix socket in a temporary directory. Built only with `--features redis`; without a
//! redis-server on the PATH the tests fail and say how to install one.

#![cfg(feature = "redis")]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokenstorm::engine::{self, Control};
use tokenstorm::lock::{Acquire, LockService, LockSettings};
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
    s
}

#[test]
fn the_live_redis_scenario_shares_tokens_through_redis_and_never_races() {
    let redis = RedisServer::start("scenario");
    let s = scenario_on(&redis);
    let r = engine::run(&s, &Control::default()).unwrap();
    let failed: Vec<_> = r.thresholds.iter().filter(|t| !t.pass).collect();
    assert!(failed.is_empty(), "{failed:#?}\n{:#?}", r.lock);
    assert!(r.refresh.attempts > 0);
    // Every refresh and login was under the lock: the store was read after each taking.
    assert!(r.lock.operations > 2 * r.lock.acquisitions, "{:?}", r.lock);

    // The same population without the lock races and is caught by reuse detection.
    let mut unlocked = s.clone();
    unlocked.clients[0].policy.coordination = Some(scenario::Coordination::SingleFlight);
    unlocked.clients[0].policy.lock = None;
    let u = engine::run(&unlocked, &Control::default()).unwrap();
    assert!(u.refresh.duplicates > 0, "{:?}", u.refresh);
    assert!(u.rotation.reuse_detected > 0, "{:?}", u.rotation);
}
