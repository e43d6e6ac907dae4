//! The `tokenstorm` command: parses arguments, calls the library, prints results.
//!
//! Exit codes: 0 every threshold passed, 1 a threshold failed, 2 bad input or usage,
//! 3 the run itself failed, 130 interrupted (the report of what ran is still written).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tokenstorm::report::Report;
use tokenstorm::report::comparison;
use tokenstorm::report::export::{self, Format};
use tokenstorm::report::merge as report_merge;
use tokenstorm::report::summary::{self, Style};
use tokenstorm::run::compare as cmp;
use tokenstorm::run::{self, Control, RunOptions};
use tokenstorm::scenario::variants;
use tokenstorm::scenario::{self, Scenario};
use tokenstorm::shard::{self, Shard};

const EXIT_THRESHOLD: u8 = 1;
const EXIT_INPUT: u8 = 2;
const EXIT_RUN: u8 = 3;
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser)]
#[command(
    name = "tokenstorm",
    version,
    about = "See and measure what happens around access-token expiry: 401 waves, refresh storms, reuse detection, lock contention, clock skew.",
    after_help = "Examples:\n  tokenstorm run scenarios/quickstart.yaml\n  tokenstorm run scenarios/mass-login-storm.yaml --seed 42 --out ci-reports\n  tokenstorm validate scenarios/*.yaml\n  tokenstorm compare scenarios/reactive-vs-proactive.yaml --vary clients.1.policy.buffer=0s,60s,300s\n  tokenstorm run scenarios/quickstart.yaml --worker 0/2 --out parts   (and 1/2, then:)\n  tokenstorm merge parts/quickstart.worker-*.json\n  tokenstorm presets\n\nExit codes: 0 thresholds passed, 1 a threshold failed, 2 bad input or usage, 3 the run failed, 130 interrupted.\nLogs: -v / -vv, or RUST_LOG=tokenstorm=debug. Colour: off when NO_COLOR is set or stdout is not a terminal."
)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its report.
    #[command(
        after_help = "Examples:\n  tokenstorm run scenarios/quickstart.yaml\n  tokenstorm run scenarios/rotation-race.yaml --seed 3 --out /tmp/reports --quiet\n  tokenstorm run scenarios/mass-login-storm.yaml --worker 0/4 --out parts\n\nWrites <out>/<scenario>.json and prints a summary led by the thresholds' verdicts.\nWith --worker I/N it runs worker I's share of the clients and writes\n<out>/<scenario>.worker-I-of-N.json, for `tokenstorm merge` to combine with the others'."
    )]
    Run(RunArgs),
    /// Check scenario files without running them.
    #[command(
        after_help = "Examples:\n  tokenstorm validate scenarios/quickstart.yaml\n  tokenstorm validate scenarios/*.yaml\n\nPrints one line per problem (file:line:column: key.path: what is wrong and what is accepted); exit 2 if any file has one."
    )]
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a scenario's variants (or a sweep of one knob) side by side on the same seed.
    #[command(
        after_help = "Examples:\n  tokenstorm compare scenarios/reactive-vs-proactive.yaml --vary clients.1.policy.buffer=0s,30s,60s,120s,300s\n  tokenstorm compare my-scenario.yaml --jobs 1 --out ci-reports\n\nRuns every entry of the scenario's `variants` (or one variant per --vary value), writes <out>/<scenario>.<variant>.json for each and <out>/<scenario>.compare.json, and prints the key figures side by side with the best of each row marked. Thresholds apply to every variant."
    )]
    Compare(CompareArgs),
    /// Merge the reports of a run's workers (`run --worker I/N`) into the run's report.
    #[command(
        after_help = "Examples:\n  tokenstorm run storm.yaml --worker 0/2 --out parts\n  tokenstorm run storm.yaml --worker 1/2 --out parts\n  tokenstorm merge parts/storm.worker-*.json --out reports\n\nChecks that the reports are the N workers of one run (same scenario, seed, mode and N, every worker once), adds their counts, latency histograms and timelines up, judges the thresholds on the merged figures, writes <out>/<scenario>.json and prints the summary. Exit 0 when every threshold passes, 1 when one fails, 2 when the reports do not belong together."
    )]
    Merge(MergeArgs),
    /// List the SDK presets `policy.preset` accepts.
    Presets,
    /// Serve a scenario's fake issuer and API over HTTP, for other programs to test against.
    #[command(
        after_help = "Examples:\n  tokenstorm serve\n  tokenstorm serve scenarios/key-rotation.yaml -v\n  tokenstorm serve --issuer-port 0 --resource-port 0\n\nEvery lifetime, skew and fault of the scenario applies in real time, from the moment the servers start. Issuer: POST /token, POST /revoke, POST /introspect, GET /jwks.json, GET /.well-known/oauth-authorization-server. API: GET /api/... with a Bearer token. Ctrl-C stops them."
    )]
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// The scenario whose issuer and API to serve; default: the defaults of every key.
    scenario: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// The issuer's port (0: any free port).
    #[arg(long, default_value_t = 8080)]
    issuer_port: u16,
    /// The API's port (0: any free port).
    #[arg(long, default_value_t = 8081)]
    resource_port: u16,
}

#[derive(Args)]
struct MergeArgs {
    /// The workers' JSON reports, one per worker.
    #[arg(required = true, value_name = "REPORT.json")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    reports: ReportArgs,
    /// No summary; only errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct CompareArgs {
    /// The scenario file (YAML).
    scenario: PathBuf,
    /// Sweep one knob instead of the scenario's variants: PATH=V1,V2,...
    #[arg(long, value_name = "PATH=V1,V2,...")]
    vary: Option<String>,
    /// Overrides the scenario's seed (for every variant).
    #[arg(long)]
    seed: Option<u64>,
    /// Variants run at once; default: the number of cores.
    #[arg(long)]
    jobs: Option<usize>,
    #[command(flatten)]
    reports: ReportArgs,
    /// No table; only errors.
    #[arg(long, short)]
    quiet: bool,
}

/// Where reports go and in which formats (`run` and `compare`).
#[derive(Args)]
struct ReportArgs {
    /// Where reports are written.
    #[arg(long, default_value = "reports")]
    out: PathBuf,
    /// Report formats, comma-separated.
    #[arg(long, default_value = "json", value_delimiter = ',')]
    format: Vec<String>,
}

#[derive(Args)]
struct RunArgs {
    /// The scenario file (YAML).
    scenario: PathBuf,
    /// Overrides the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    reports: ReportArgs,
    /// No progress bar and no summary; only errors.
    #[arg(long, short)]
    quiet: bool,
    /// Run only worker I's share of N (0-based): the clients c and instances i with
    /// (c × instances + i) mod N = I. Merge the N reports with `tokenstorm merge`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    worker: Option<Shard>,
    /// Names the run the workers belong to (the same for every worker); required with
    /// N > 1 in live mode.
    #[arg(long, value_name = "ID", requires = "worker")]
    run_id: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match cli.command {
        Command::Run(args) => run(args),
        Command::Validate { files } => validate(&files),
        Command::Compare(args) => compare(args),
        Command::Merge(args) => merge(args),
        Command::Presets => presets(),
        Command::Serve(args) => serve(args),
    }
}

const SERVE_DEFAULT: &str = "name: serve\nduration: 1d\nclients: [ { name: none, count: 1 } ]\n";

fn serve(args: ServeArgs) -> ExitCode {
    let scenario = match &args.scenario {
        Some(path) => match load(path) {
            Ok(s) => s,
            Err(code) => return code,
        },
        None => match scenario::parse(SERVE_DEFAULT, "(defaults)") {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(EXIT_RUN);
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return ExitCode::from(EXIT_RUN);
        }
    };
    runtime.block_on(async {
        let issuer_addr = std::net::SocketAddr::new(args.bind, args.issuer_port);
        let resource_addr = std::net::SocketAddr::new(args.bind, args.resource_port);
        let servers = match tokenstorm::world::live::serve(
            &scenario,
            issuer_addr,
            resource_addr,
            tokenstorm::server::Limits::default(),
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_RUN);
            }
        };
        let i = &scenario.issuer;
        let text = format!(
            "tokenstorm serve — scenario {}\n\n  issuer    http://{iss}  (POST /token, POST /revoke, POST /introspect, GET /jwks.json,\n             GET /.well-known/oauth-authorization-server)\n  API       http://{res}/api/me  (GET, Authorization: Bearer <token>)\n\n  client_id      {}\n  client_secret  {}\n  log in with the password grant: any username, password {}\n  access tokens live {}; signing {}\n\nCtrl-C stops.\n",
            scenario.name,
            i.client_id,
            i.client_secret,
            i.password,
            i.access_token.ttl,
            i.signing.as_str(),
            iss = servers.issuer,
            res = servers.resource,
        );
        out(&text);
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("stopping");
        servers.stop().await;
        ExitCode::SUCCESS
    })
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "tokenstorm=info",
        2 => "tokenstorm=debug",
        _ => "tokenstorm=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
}

fn load(path: &Path) -> Result<Scenario, ExitCode> {
    scenario::load(path).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(EXIT_INPUT)
    })
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut bad = 0;
    for file in files {
        match scenario::load(file) {
            Ok(s) => out(&format!("{}: ok ({})\n", file.display(), s.name)),
            Err(e) => {
                bad += 1;
                eprintln!("{e}");
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} of {} file(s) have problems", files.len());
        ExitCode::from(EXIT_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly.
fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to stdout: {e}");
    }
}

fn formats(names: &[String]) -> Result<Vec<Format>, ExitCode> {
    let mut formats = Vec::new();
    for f in names {
        match Format::parse(f) {
            Some(format) => formats.push(format),
            None => {
                eprintln!(
                    "error: unknown report format `{f}` in --format (accepted: {})",
                    Format::ACCEPTED
                );
                return Err(ExitCode::from(EXIT_INPUT));
            }
        }
    }
    Ok(formats)
}

fn run(args: RunArgs) -> ExitCode {
    let formats = match formats(&args.reports.format) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let mut scenario = match load(&args.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(shard) = args.worker {
        let problems = shard::problems(&scenario, shard, args.run_id.as_deref());
        for p in &problems {
            eprintln!("error: {}: {p}", args.scenario.display());
        }
        if !problems.is_empty() {
            return ExitCode::from(EXIT_INPUT);
        }
    }
    let options = RunOptions {
        shard: args.worker,
        run_id: args.run_id.clone(),
    };

    let control = Control::default();
    stop_on_ctrl_c(control.stop.clone());
    let done = Arc::new(AtomicBool::new(false));
    let progress = (!args.quiet && std::io::stderr().is_terminal())
        .then(|| show_progress(&scenario, &control, done.clone()));
    let result = run::run_with(&scenario, &control, &options);
    done.store(true, Ordering::Relaxed);
    if let Some(handle) = progress {
        let _ = handle.join();
    }

    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", args.scenario.display());
            return ExitCode::from(EXIT_RUN);
        }
    };
    if let Err(code) = deliver(&report, &args.reports.out, &formats, args.quiet) {
        return code;
    }
    if report.run_info.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if report.thresholds.iter().all(|t| t.pass) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_THRESHOLD)
    }
}

fn merge(args: MergeArgs) -> ExitCode {
    let formats = match formats(&args.reports.format) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let mut parts = Vec::new();
    for file in &args.files {
        match report_merge::read(file) {
            Ok(p) => parts.push(p),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_INPUT);
            }
        }
    }
    let report = match report_merge::merge(&parts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    if let Err(code) = deliver(&report, &args.reports.out, &formats, args.quiet) {
        return code;
    }
    if report.thresholds.iter().all(|t| t.pass) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_THRESHOLD)
    }
}

/// Writes `report` in `formats` under `dir` and prints its summary and paths (unless
/// `quiet`). The summary is printed even when the files cannot be written: what was
/// measured reaches the user one way or the other.
fn deliver(report: &Report, dir: &Path, formats: &[Format], quiet: bool) -> Result<(), ExitCode> {
    let written = export::write(report, dir, formats);
    if !quiet || written.is_err() {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        out(&summary::render(report, Style { color }));
    }
    match written {
        Ok(paths) if !quiet => {
            for path in &paths {
                out(&format!("report: {}\n", path.display()));
            }
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(EXIT_RUN))
        }
    }
}

fn presets() -> ExitCode {
    let width = tokenstorm::scenario::presets::ALL
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for p in tokenstorm::scenario::presets::ALL {
        text.push_str(&format!("{:width$}  {}: {}\n", p.name, p.sdk, p.summary));
    }
    text.push_str(
        "\nUse one with `policy: { preset: NAME }`; keys written beside it override it.\n",
    );
    out(&text);
    ExitCode::SUCCESS
}

fn compare(args: CompareArgs) -> ExitCode {
    let formats = match formats(&args.reports.format) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let (text, base) = match variants::load_text(&args.scenario) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let (swept, variants) = match &args.vary {
        Some(arg) => match variants::sweep(arg) {
            Ok((path, v)) => (Some(path), v),
            Err(e) => {
                eprintln!("error: --vary {e}");
                return ExitCode::from(EXIT_INPUT);
            }
        },
        None => (None, variants::declared(&base)),
    };
    if variants.is_empty() {
        eprintln!(
            "error: nothing to compare: {} has no `variants` and no --vary was given",
            args.scenario.display()
        );
        return ExitCode::from(EXIT_INPUT);
    }
    let file = args.scenario.display().to_string();
    let mut scenarios = match variants::build_all(&text, &file, &variants) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let seed = args.seed.unwrap_or(base.seed);
    for s in &mut scenarios {
        s.seed = seed;
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let control = Control::default();
    stop_on_ctrl_c(control.stop.clone());
    let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
    let mut reports = Vec::new();
    for result in cmp::run_all(&scenarios, &names, jobs, &control) {
        match result {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {}: {e}", args.scenario.display());
                return ExitCode::from(EXIT_RUN);
            }
        }
    }
    let mut base = base;
    base.seed = seed;
    let comparison = comparison::compare(&base, swept.as_deref(), &variants, &reports);
    let mut written = Vec::new();
    for r in &reports {
        match export::write(r, &args.reports.out, &formats) {
            Ok(paths) => written.extend(paths),
            Err(e) => {
                out(&comparison::render(&comparison, &reports));
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_RUN);
            }
        }
    }
    match export::write_comparison(&comparison, &reports, &args.reports.out, &formats) {
        Ok(paths) => written.extend(paths),
        Err(e) => {
            out(&comparison::render(&comparison, &reports));
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_RUN);
        }
    }
    if !args.quiet {
        let mut text = comparison::render(&comparison, &reports);
        text.push('\n');
        for p in &written {
            text.push_str(&format!("report: {}\n", p.display()));
        }
        out(&text);
    }
    if reports.iter().any(|r| r.run_info.interrupted) {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if reports.iter().all(|r| r.thresholds.iter().all(|t| t.pass)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_THRESHOLD)
    }
}

/// The first Ctrl-C ends the run and keeps its report; a second one exits at once.
fn stop_on_ctrl_c(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::Relaxed);
                eprintln!(
                    "\ninterrupted: finishing the report of what ran (Ctrl-C again to quit at once)"
                );
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
        });
    });
}

/// A progress bar over the run's (simulated) time, shown once the run has taken a second.
fn show_progress(
    scenario: &Scenario,
    control: &Control,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let total = scenario.duration.as_ms().max(1) as u64;
    let progress = control.progress.clone();
    let name = scenario.name.clone();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(1) {
            if done.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {percent:>3}% of simulated time · {elapsed} wall, ~{eta} left",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(name);
        while !done.load(Ordering::Relaxed) {
            bar.set_position(progress.load(Ordering::Relaxed).min(total));
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    })
}
