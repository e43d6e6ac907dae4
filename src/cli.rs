//! The command line's grammar: every subcommand, flag, default and help text, as clap
//! reads them. What each command does lives in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tokenstorm::shard::Shard;

#[derive(Parser)]
#[command(
    name = "tokenstorm",
    version,
    about = "See and measure what happens around access-token expiry: 401 waves, refresh storms, reuse detection, lock contention, clock skew.",
    after_help = "Examples:\n  tokenstorm run scenarios/quickstart.yaml\n  tokenstorm run scenarios/mass-login-storm.yaml --seed 42 --out ci-reports\n  tokenstorm validate scenarios/*.yaml\n  tokenstorm compare scenarios/reactive-vs-proactive.yaml --vary clients.1.policy.buffer=0s,60s,300s\n  tokenstorm run scenarios/quickstart.yaml --worker 0/2 --out parts   (and 1/2, then:)\n  tokenstorm merge parts/quickstart.worker-*.json\n  tokenstorm presets\n\nExit codes: 0 thresholds passed, 1 a threshold failed, 2 bad input or usage, 3 the run failed, 130 interrupted.\nLogs: -v / -vv, or RUST_LOG=tokenstorm=debug. Colour: off when NO_COLOR is set or stdout is not a terminal."
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        after_help = "Examples:\n  tokenstorm serve\n  tokenstorm serve scenarios/key-rotation.yaml -v\n  tokenstorm serve --issuer-port 0 --resource-port 0\n  tokenstorm serve --bind 0.0.0.0 --public-url https://id.test.example\n\nEvery lifetime, skew and fault of the scenario applies in real time, from the moment the servers start. Issuer: POST /token, POST /revoke, POST /introspect, GET /jwks.json, GET /.well-known/oauth-authorization-server. API: GET /api/... with a Bearer token. The issuer's identifier (iss, the metadata's issuer) is the URL it is served at, or --public-url. Ctrl-C or SIGTERM stops them."
    )]
    Serve(ServeArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// The scenario whose issuer and API to serve; default: the defaults of every key.
    pub scenario: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// The issuer's port (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub issuer_port: u16,
    /// The API's port (0: any free port).
    #[arg(long, default_value_t = 8081)]
    pub resource_port: u16,
    /// The issuer's identifier: its tokens' `iss`, its metadata's `issuer` and the base
    /// of its endpoints' URLs (behind a proxy, or bound to 0.0.0.0). Default: the URL it
    /// is served at, unless the scenario sets `issuer.issuer`.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

#[derive(Args)]
pub struct MergeArgs {
    /// The workers' JSON reports, one per worker.
    #[arg(required = true, value_name = "REPORT.json")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub reports: ReportArgs,
    /// No summary; only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct CompareArgs {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// Sweep one knob instead of the scenario's variants: PATH=V1,V2,...
    #[arg(long, value_name = "PATH=V1,V2,...")]
    pub vary: Option<String>,
    /// Overrides the scenario's seed (for every variant).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Variants run at once; default: the number of cores.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run even when a variant's estimated memory exceeds what is available.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub reports: ReportArgs,
    /// No table; only errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Where reports go and in which formats (`run` and `compare`).
#[derive(Args)]
pub struct ReportArgs {
    /// Where reports are written.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// Report formats, comma-separated.
    #[arg(long, default_value = "json", value_delimiter = ',')]
    pub format: Vec<String>,
}

#[derive(Args)]
pub struct RunArgs {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// Overrides the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub reports: ReportArgs,
    /// No progress bar and no summary; only errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Run only worker I's share of N (0-based): the clients c and instances i with
    /// (c × instances + i) mod N = I. Merge the N reports with `tokenstorm merge`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    pub worker: Option<Shard>,
    /// Names the run the workers belong to (the same for every worker); required with
    /// N > 1 in live mode.
    #[arg(long, value_name = "ID", requires = "worker")]
    pub run_id: Option<String>,
    /// Run even when the scenario's estimated memory exceeds what is available.
    #[arg(long)]
    pub force: bool,
    /// The most threads a sim run uses (default: one per core). The figures are the
    /// same on any number; some scenarios keep to one (see README, "Threads").
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
}
