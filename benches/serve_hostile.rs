//! `tokenstorm serve`'s memory against hostile clients, as a whole process: its
//! resident set (the kernel's `VmRSS`) before, at the peak of, and after each attack,
//! for the built binary and, beside it in the same run, a previous one.
//!
//! Run with `cargo bench --bench serve_hostile`; to compare, name a previous build's
//! binary in `TOKENSTORM_PREVIOUS` (as for the populations bench).
//!
//! The attacks, each against a fresh `serve` on loopback:
//! - `pieces`: one 60,000-byte token request body sent a byte per TCP segment;
//! - `slow-bodies`: 1,024 connections, each sending a token request's head and one
//!   byte of its body, then nothing, while a well-behaved login is timed;
//! - `idle`: 1,024 connections that say nothing, and the same login.
//!
//! The bound this build holds: under 64 MB of resident set through every attack, and
//! the login answered (its time is printed, not judged: this is a benchmark; `none in
//! 5 s` when the flood holds every connection the server takes).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENT: &str = "Basic ZGVtbzpkZW1vLXNlY3JldA==";

/// A `serve` on a free port, stopped when dropped.
struct Served {
    child: Child,
    issuer: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(binary: &Path) -> Served {
    let mut child = Command::new(binary)
        .args(["serve", "--issuer-port", "0", "--resource-port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let mut out = child.stdout.take().unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 1024];
    while !text.contains("stops") {
        let n = out.read(&mut buf).expect("serve prints its banner");
        assert!(n > 0, "serve ended: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let issuer = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("issuer    http://"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .expect("the banner names the issuer's address");
    Served { child, issuer }
}

/// The process's resident set, in KB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn head(len: usize) -> String {
    format!(
        "POST /token HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: {CLIENT}\r\nContent-Length: {len}\r\n\r\n"
    )
}

/// How long a password login takes to be answered 200; None when it is not within
/// `LOGIN_WAIT` (a server whose connections the flood holds).
fn login(issuer: SocketAddr) -> Option<Duration> {
    let t0 = Instant::now();
    let body = "grant_type=password&username=a&password=demo-password";
    let mut s = TcpStream::connect(issuer).ok()?;
    s.set_read_timeout(Some(LOGIN_WAIT)).ok()?;
    s.write_all(format!("{}{body}", head(body.len())).as_bytes())
        .ok()?;
    let mut answer = [0u8; 12];
    s.read_exact(&mut answer).ok()?;
    assert_eq!(&answer, b"HTTP/1.1 200", "the login was not answered 200");
    Some(t0.elapsed())
}

const LOGIN_WAIT: Duration = Duration::from_secs(5);

struct Figures {
    before_kb: u64,
    peak_kb: u64,
    after_kb: u64,
    /// None: no login timed; Some(None): none answered within `LOGIN_WAIT`.
    login: Option<Option<Duration>>,
}

fn pieces(s: &Served) -> Figures {
    let pid = s.child.id();
    let before_kb = rss_kb(pid);
    let mut body = b"grant_type=password&username=a&password=demo-password&pad=".to_vec();
    body.resize(60_000, b'x');
    let mut c = TcpStream::connect(s.issuer).unwrap();
    c.set_nodelay(true).unwrap();
    c.write_all(head(body.len()).as_bytes()).unwrap();
    let mut peak_kb = before_kb;
    for (i, b) in body.iter().enumerate() {
        c.write_all(&[*b]).unwrap();
        if i % 5_000 == 0 {
            std::thread::sleep(Duration::from_millis(5));
            peak_kb = peak_kb.max(rss_kb(pid));
        }
    }
    let mut answer = [0u8; 12];
    c.read_exact(&mut answer).unwrap();
    peak_kb = peak_kb.max(rss_kb(pid));
    drop(c);
    std::thread::sleep(Duration::from_millis(200));
    Figures {
        before_kb,
        peak_kb,
        after_kb: rss_kb(pid),
        login: None,
    }
}

fn flood(s: &Served, slow: bool) -> Figures {
    let pid = s.child.id();
    let before_kb = rss_kb(pid);
    let mut held = Vec::new();
    for _ in 0..1024 {
        let mut c = TcpStream::connect(s.issuer).unwrap();
        if slow {
            c.write_all(head(1000).as_bytes()).unwrap();
            c.write_all(b"g").unwrap();
        }
        held.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    let login = login(s.issuer);
    let peak_kb = rss_kb(pid);
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    Figures {
        before_kb,
        peak_kb,
        after_kb: rss_kb(pid),
        login: Some(login),
    }
}

fn main() {
    let current = PathBuf::from(env!("CARGO_BIN_EXE_tokenstorm"));
    let mut binaries = vec![("this build", current)];
    if let Some(previous) = std::env::var_os("TOKENSTORM_PREVIOUS") {
        binaries.push(("previous", PathBuf::from(previous)));
    }
    println!(
        "{:<12} {:<12} {:>10} {:>10} {:>10} {:>12}",
        "attack", "binary", "before KB", "peak KB", "after KB", "login"
    );
    type Attack = fn(&Served) -> Figures;
    let attacks: [(&str, Attack); 3] = [
        ("pieces", pieces),
        ("slow-bodies", |s| flood(s, true)),
        ("idle", |s| flood(s, false)),
    ];
    for (name, attack) in attacks {
        for (which, binary) in &binaries {
            let served = serve(binary);
            let f = attack(&served);
            let login = match f.login {
                None => "-".to_string(),
                Some(None) => format!("none in {} s", LOGIN_WAIT.as_secs()),
                Some(Some(d)) => format!("{:.1} ms", d.as_secs_f64() * 1e3),
            };
            println!(
                "{name:<12} {which:<12} {:>10} {:>10} {:>10} {login:>12}",
                f.before_kb, f.peak_kb, f.after_kb
            );
        }
    }
}
