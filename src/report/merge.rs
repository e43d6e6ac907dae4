//! One report from the reports of the workers of a split run (`run --worker I/N`,
//! then `merge`).
//!
//! Each worker ran a share of the clients and wrote an ordinary report plus a `worker`
//! section. [`merge`] checks that the reports are the N workers of one run, then:
//!
//! - counts add up (requests, refresh, login, rotation, lock, issuer, resource and every
//!   group's), and the rates are recomputed from the sums as a run computes them.
//!   A count key added to those sections later adds up by itself; a key named like a
//!   level (`max_*`, `*_max`, `peak_*`, `*_per_second`) takes the workers' maximum
//!   unless recomputed below, and `issuer.key_rotations` (the issuer's schedule, the
//!   same in every worker) too;
//! - latency percentiles, `lock.wait_ms` and `issuer.queue_wait_ms` come from the
//!   workers' histograms added up: exact;
//! - timeline series are lined up by the workers' start times (in whole ticks) and
//!   added tick by tick: exact for counts, and for `logged_out` (a level that only
//!   grows); for the other gauges (`concurrent_refreshes`, `lock_waiters`,
//!   `lock_holders`, `issuer_queue`) the sum of the workers' per-tick maxima, an upper
//!   bound of the true maximum since the workers' maxima need not coincide;
//! - `refresh.peak_per_second` and each group's come from the workers' refresh arrival
//!   times, lined up by start time and merged, with the run's sliding window: exact;
//!   `mean_per_second` is recomputed;
//! - `refresh.max_concurrent`, `lock.max_waiters`, `lock.max_holders` and
//!   `issuer.queue_max` are the maxima
//!   of the merged gauge series: upper bounds, as those are;
//! - `outages` are recomputed from the merged series, `thresholds` judged on the merged
//!   figures; `duration_seconds` spans the earliest start to the latest end (the longest
//!   worker's when they started together, as in `sim`); `run_info` takes the longest
//!   wall time, the earliest start, and is interrupted if any worker was.
//!
//! The library reads and checks; the command line prints.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::recovery::{self, Window};
use crate::contract::{Report, Worker};
use crate::metrics::{self, Latencies};
use crate::scenario::Thresholds;

/// One worker's report, read and checked for its `worker` section.
#[derive(Clone, Debug)]
pub struct Part {
    file: String,
    /// As read: the counts are added key by key, so that keys this version does not
    /// know of add up too.
    value: Value,
    report: Report,
}

impl Part {
    fn worker(&self) -> &Worker {
        // parse() accepts only reports with a worker section.
        self.report
            .worker
            .as_ref()
            .expect("parse() keeps only worker reports")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// One report is unreadable, or does not belong with the first.
    #[error("{file}: {problem}")]
    File { file: String, problem: String },
    /// The set of reports as a whole is wrong (none, or a worker missing).
    #[error("{0}")]
    Set(String),
}

fn problem(file: &str, problem: impl Into<String>) -> MergeError {
    MergeError::File {
        file: file.to_string(),
        problem: problem.into(),
    }
}

/// Reads a worker's JSON report from `path`.
pub fn read(path: &Path) -> Result<Part, MergeError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| problem(&file, e.to_string()))?;
    parse(&text, &file)
}

/// A worker's JSON report from `text`, read from `file`.
pub(crate) fn parse(text: &str, file: &str) -> Result<Part, MergeError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| problem(file, format!("not a JSON report: {e}")))?;
    if !value.is_object() {
        return Err(problem(file, "not a report: expected a JSON object"));
    }
    if value.get("worker").is_none_or(Value::is_null) {
        return Err(problem(
            file,
            "not a worker report: run it with --worker I/N",
        ));
    }
    let mut value = value;
    crate::contract::unnull_not_observed(&mut value);
    let report: Report = serde_json::from_value(value.clone())
        .map_err(|e| problem(file, format!("not a tokenstorm report: {e}")))?;
    Ok(Part {
        file: file.to_string(),
        value,
        report,
    })
}

/// The report of the whole run from the reports of its N workers (in any order).
pub fn merge(parts: &[Part]) -> Result<Report, MergeError> {
    let ordered = check(parts)?;
    let base = ordered[0];
    let tick_ms = base.report.timeline.tick_ms.max(1);
    let offsets_ms = start_offsets_ms(&ordered);
    // The timelines line up to the nearest tick.
    let offsets_ticks: Vec<usize> = offsets_ms
        .iter()
        .map(|o| ((o + tick_ms / 2) / tick_ms) as usize)
        .collect();
    let mut report = added_up(&ordered, &offsets_ticks)?;
    set_span(&mut report, &ordered, &offsets_ms);
    set_latencies(&mut report, &ordered)?;
    let arrivals = arrivals(&ordered, &offsets_ms)?;
    set_peaks_and_rates(&mut report, &arrivals);
    let windows = windows(base)?;
    let s = &report.timeline.series;
    report.outages = recovery::outages(&s.unauthorized, &s.failed, tick_ms, &windows);
    let thresholds = Thresholds(
        base.report
            .thresholds
            .iter()
            .map(|t| (t.metric.clone(), t.condition.clone()))
            .collect(),
    );
    crate::report::figures::judge(&mut report, &thresholds);
    Ok(report)
}

/// How long after the earliest worker each worker started (ms).
fn start_offsets_ms(ordered: &[&Part]) -> Vec<u64> {
    let earliest = ordered
        .iter()
        .map(|p| p.worker().started_unix_ms)
        .min()
        .unwrap_or(0);
    ordered
        .iter()
        .map(|p| p.worker().started_unix_ms - earliest)
        .collect()
}

/// The first worker's report with the counts of the others added in and the series
/// merged; what does not add up is set after, by [`merge`].
fn added_up(ordered: &[&Part], offsets_ticks: &[usize]) -> Result<Report, MergeError> {
    let mut value = ordered[0].value.clone();
    for section in COUNTED {
        let Some(into) = value.get_mut(section) else {
            continue;
        };
        for p in &ordered[1..] {
            match p.value.get(section) {
                Some(Value::Object(groups)) if section == "groups" => combine_groups(into, groups),
                Some(from) => combine(into, from),
                None => {}
            }
        }
    }
    let series = merged_series(ordered, offsets_ticks);
    if let Some(slot) = value.pointer_mut("/timeline/series") {
        *slot = series;
    }
    let mut report: Report = serde_json::from_value(value)
        .map_err(|e| MergeError::Set(format!("could not combine the reports: {e}")))?;
    report.worker = None;
    Ok(report)
}

/// Group names are not keys with a meaning: each group's figures combine with the same
/// group's, and a group only some workers have is taken as it is.
fn combine_groups(into: &mut Value, groups: &serde_json::Map<String, Value>) {
    for (name, theirs) in groups {
        match into.get_mut(name) {
            Some(ours) => combine(ours, theirs),
            None => {
                if let Value::Object(map) = into {
                    map.insert(name.clone(), theirs.clone());
                }
            }
        }
    }
}

/// The duration from the earliest start to the latest end, and the run's wall time,
/// start and interruption.
fn set_span(report: &mut Report, ordered: &[&Part], offsets_ms: &[u64]) {
    report.duration_seconds = ordered
        .iter()
        .zip(offsets_ms)
        .map(|(p, &o)| (o as f64 + p.report.duration_seconds * 1000.0).round() / 1000.0)
        .fold(0.0, f64::max);
    report.run_info.wall_seconds = ordered
        .iter()
        .map(|p| p.report.run_info.wall_seconds)
        .fold(0.0, f64::max);
    report.run_info.interrupted = ordered.iter().any(|p| p.report.run_info.interrupted);
    report.run_info.started_at = ordered
        .iter()
        .map(|p| p.report.run_info.started_at.as_str())
        .filter(|s| !s.is_empty())
        .min()
        .unwrap_or_default()
        .to_string();
}

/// Percentiles from the workers' histograms added up: exact, where the workers'
/// percentiles could not be combined.
fn set_latencies(report: &mut Report, ordered: &[&Part]) -> Result<(), MergeError> {
    let sum = |pick: fn(&Worker) -> &String, name| added_histograms(ordered, pick, name);
    report.latency_ms.request = sum(|w| &w.histograms.request, "request")?.percentiles();
    report.latency_ms.refresh = sum(|w| &w.histograms.refresh, "refresh")?.percentiles();
    report.latency_ms.login = sum(|w| &w.histograms.login, "login")?.percentiles();
    report.lock.wait_ms = sum(|w| &w.histograms.lock_wait, "lock_wait")?.wait_ms();
    report.issuer.queue_wait_ms =
        sum(|w| &w.histograms.issuer_queue_wait, "issuer_queue_wait")?.wait_ms();
    Ok(())
}

/// The sum of the histogram each worker keeps under `worker.histograms.<name>`.
fn added_histograms(
    ordered: &[&Part],
    pick: fn(&Worker) -> &String,
    name: &str,
) -> Result<Latencies, MergeError> {
    let mut sum = Latencies::default();
    for p in ordered {
        let part = Latencies::decode(pick(p.worker()))
            .map_err(|e| problem(&p.file, format!("worker.histograms.{name}: {e}")))?;
        sum.add(part.histogram())
            .map_err(|e| problem(&p.file, format!("worker.histograms.{name}: {e}")))?;
    }
    Ok(sum)
}

/// Refresh peaks from the merged arrivals, the maxima of the merged gauges, and the
/// rates recomputed from the summed counts.
fn set_peaks_and_rates(report: &mut Report, arrivals: &Arrivals) {
    report.refresh.peak_per_second = metrics::peak_per_second(&arrivals.all);
    report.refresh.mean_per_second =
        crate::report::figures::mean_per_second(report.refresh.attempts, report.duration_seconds);
    let peak_of = |s: &[u64]| s.iter().copied().max().unwrap_or(0);
    let s = &report.timeline.series;
    report.refresh.max_concurrent = peak_of(&s.concurrent_refreshes);
    report.lock.max_waiters = peak_of(&s.lock_waiters);
    report.lock.max_holders = peak_of(&s.lock_holders);
    report.issuer.queue_max = peak_of(&s.issuer_queue);
    (report.unauthorized_rate, report.failed_rate) =
        crate::report::figures::rates(&report.requests);
    for (name, g) in &mut report.groups {
        (g.unauthorized_rate, g.failed_rate) = crate::report::figures::rates(&g.requests);
        g.refresh.peak_per_second = arrivals
            .by_group
            .get(name.as_str())
            .map_or(0, |a| metrics::peak_per_second(a));
    }
}

/// The sections whose integer figures are counts that add up across workers.
const COUNTED: [&str; 9] = [
    "requests", "refresh", "login", "clients", "rotation", "lock", "issuer", "resource", "groups",
];

/// How one key of a counted section combines across workers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Combine {
    Sum,
    /// A level or a peak: recomputed by [`merge`] where it knows how, else the largest
    /// of the workers' (a lower bound of the run's).
    Max,
    /// Rates and percentiles: recomputed by [`merge`]; left as the first worker's here.
    Recomputed,
}

fn combine_of(key: &str) -> Combine {
    if key == "key_rotations"
        || key.starts_with("max_")
        || key.ends_with("_max")
        || key.starts_with("peak_")
        || key.ends_with("_per_second")
    {
        Combine::Max
    } else if key.ends_with("_rate") || key.ends_with("_ms") {
        Combine::Recomputed
    } else {
        Combine::Sum
    }
}

/// Adds the counts of `from` into `into`, key by key, recursing into objects (a group's
/// sections, and whatever a later version nests).
fn combine(into: &mut Value, from: &Value) {
    let (Value::Object(into), Value::Object(from)) = (into, from) else {
        return;
    };
    for (key, theirs) in from {
        let how = combine_of(key);
        if how == Combine::Recomputed {
            continue;
        }
        let Some(ours) = into.get_mut(key) else {
            into.insert(key.clone(), theirs.clone());
            continue;
        };
        match (ours.as_u64(), theirs.as_u64()) {
            (Some(a), Some(b)) => {
                *ours = Value::from(match how {
                    Combine::Max => a.max(b),
                    _ => a.saturating_add(b),
                });
            }
            _ => combine(ours, theirs),
        }
    }
}

/// Every series of every worker, each shifted by its worker's offset (ticks) and added
/// up tick by tick; the series in the first worker's order, then any only others have.
fn merged_series(ordered: &[&Part], offsets_ticks: &[usize]) -> Value {
    let mut names: Vec<&String> = Vec::new();
    for p in ordered {
        if let Some(Value::Object(series)) = p.value.pointer("/timeline/series") {
            for name in series.keys() {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    let mut merged = serde_json::Map::new();
    for name in names {
        let mut sum: Vec<u64> = Vec::new();
        for (p, &offset) in ordered.iter().zip(offsets_ticks) {
            let Some(Value::Array(values)) = p
                .value
                .pointer("/timeline/series")
                .and_then(|s| s.get(name))
            else {
                continue;
            };
            if sum.len() < offset + values.len() {
                sum.resize(offset + values.len(), 0);
            }
            for (t, v) in values.iter().enumerate() {
                sum[offset + t] = sum[offset + t].saturating_add(v.as_u64().unwrap_or(0));
            }
        }
        merged.insert(name.clone(), Value::from(sum));
    }
    Value::Object(merged)
}

/// Every worker's refresh arrivals on the earliest worker's clock, sorted.
struct Arrivals<'a> {
    all: Vec<u64>,
    by_group: BTreeMap<&'a str, Vec<u64>>,
}

/// The workers' refresh arrivals, each shifted by its worker's offset (ms), merged.
fn arrivals<'a>(ordered: &[&'a Part], offsets_ms: &[u64]) -> Result<Arrivals<'a>, MergeError> {
    let mut tagged: Vec<(u64, &str)> = Vec::new();
    for (p, &offset) in ordered.iter().zip(offsets_ms) {
        let w = p.worker();
        let (times, groups) = (&w.refresh_arrivals_ms, &w.refresh_arrival_groups);
        if times.len() != groups.len() {
            return Err(problem(
                &p.file,
                format!(
                    "worker.refresh_arrivals_ms has {} entries but worker.refresh_arrival_groups {}; they go in pairs",
                    times.len(),
                    groups.len()
                ),
            ));
        }
        if times.len() as u64 != p.report.refresh.attempts {
            return Err(problem(
                &p.file,
                format!(
                    "worker.refresh_arrivals_ms has {} entries but refresh.attempts is {}; the report was changed after the run",
                    times.len(),
                    p.report.refresh.attempts
                ),
            ));
        }
        let names: Vec<&str> = p.report.groups.keys().map(String::as_str).collect();
        for (&t, &g) in times.iter().zip(groups) {
            let Some(name) = names.get(g as usize) else {
                return Err(problem(
                    &p.file,
                    format!(
                        "worker.refresh_arrival_groups names group {g}, but the report has {} groups",
                        names.len()
                    ),
                ));
            };
            tagged.push((t.saturating_add(offset), name));
        }
    }
    tagged.sort_unstable();
    let mut by_group: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for &(t, name) in &tagged {
        by_group.entry(name).or_default().push(t);
    }
    Ok(Arrivals {
        all: tagged.into_iter().map(|(t, _)| t).collect(),
        by_group,
    })
}

/// The outage windows of a report's `outages` entries.
fn windows(part: &Part) -> Result<Vec<Window>, MergeError> {
    part.report
        .outages
        .iter()
        .map(|o| {
            let section = match o.section.as_str() {
                "issuer" => "issuer",
                "resource" => "resource",
                other => {
                    return Err(problem(
                        &part.file,
                        format!("outages: unknown section `{other}` (accepted: issuer, resource)"),
                    ));
                }
            };
            let at_ms = (o.at_seconds * 1000.0).round().max(0.0) as u64;
            let end_ms = (o.end_seconds * 1000.0).round().max(0.0) as u64;
            Ok(Window {
                section,
                index: o.index,
                at_ms,
                for_ms: end_ms.saturating_sub(at_ms),
            })
        })
        .collect()
}

/// The reports ordered by worker index, once each is known to belong with the first
/// and every worker is there once.
fn check(parts: &[Part]) -> Result<Vec<&Part>, MergeError> {
    let Some(first) = parts.first() else {
        return Err(MergeError::Set("no reports to merge".to_string()));
    };
    let mut by_index: BTreeMap<u32, &Part> = BTreeMap::new();
    for p in parts {
        same_run(p, first)?;
        same_setup(p, first)?;
        let w = p.worker();
        if w.index >= w.of {
            return Err(problem(
                &p.file,
                format!(
                    "worker {} of {} cannot be: workers are numbered 0 to N-1",
                    w.index, w.of
                ),
            ));
        }
        if let Some(other) = by_index.insert(w.index, p) {
            return Err(problem(
                &p.file,
                format!(
                    "worker {} of {} again: {} is that worker too",
                    w.index, w.of, other.file
                ),
            ));
        }
    }
    let of = first.worker().of;
    let missing: Vec<String> = (0..of)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Set(format!(
            "the report of worker {} of {of} is missing: merge needs every worker's report",
            missing.join(", ")
        )));
    }
    Ok(by_index.into_values().collect())
}

/// `p` and `first` are of one run: one scenario, variant, seed, mode and schema, split
/// among as many workers under one run id.
fn same_run(p: &Part, first: &Part) -> Result<(), MergeError> {
    let (r, f, w) = (&p.report, &first.report, p.worker());
    let differs = |what, ours, theirs| not_of_one_run(p, first, what, ours, theirs);
    if r.scenario != f.scenario {
        return Err(differs(
            "the scenario",
            format!("`{}`", r.scenario),
            format!("`{}`", f.scenario),
        ));
    }
    if r.variant != f.variant {
        return Err(differs(
            "the variant",
            format!("{:?}", r.variant),
            format!("{:?}", f.variant),
        ));
    }
    if r.seed != f.seed {
        return Err(differs("the seed", r.seed.to_string(), f.seed.to_string()));
    }
    if r.mode != f.mode {
        return Err(differs("the mode", r.mode.clone(), f.mode.clone()));
    }
    if r.schema_version != f.schema_version {
        return Err(differs(
            "schema_version",
            r.schema_version.to_string(),
            f.schema_version.to_string(),
        ));
    }
    let of = first.worker().of;
    if w.of != of {
        return Err(differs(
            "the number of workers",
            w.of.to_string(),
            of.to_string(),
        ));
    }
    if w.run_id != first.worker().run_id {
        return Err(differs(
            "the run id",
            format!("{:?}", w.run_id),
            format!("{:?}", first.worker().run_id),
        ));
    }
    Ok(())
}

/// `p` and `first` were run alike: the same tick, thresholds and outages, which the
/// merged report is measured and judged by.
fn same_setup(p: &Part, first: &Part) -> Result<(), MergeError> {
    let (r, f) = (&p.report, &first.report);
    let differs = |what, ours, theirs| not_of_one_run(p, first, what, ours, theirs);
    if r.timeline.tick_ms != f.timeline.tick_ms {
        return Err(differs(
            "timeline.tick_ms",
            r.timeline.tick_ms.to_string(),
            f.timeline.tick_ms.to_string(),
        ));
    }
    if conditions(p) != conditions(first) {
        return Err(differs(
            "the thresholds",
            format!("{:?}", conditions(p)),
            format!("{:?}", conditions(first)),
        ));
    }
    if outage_windows(p) != outage_windows(first) {
        return Err(differs(
            "the outages",
            format!("{:?}", outage_windows(p)),
            format!("{:?}", outage_windows(first)),
        ));
    }
    Ok(())
}

/// The refusal of `p` for `what` (`ours`) differing from `first`'s (`theirs`).
fn not_of_one_run(p: &Part, first: &Part, what: &str, ours: String, theirs: String) -> MergeError {
    problem(
        &p.file,
        format!(
            "{what} is {ours}, but in {} it is {theirs}: the reports are not of one run",
            first.file
        ),
    )
}

/// A report's thresholds, without their verdicts.
fn conditions(p: &Part) -> Vec<(String, String)> {
    p.report
        .thresholds
        .iter()
        .map(|t| (t.metric.clone(), t.condition.clone()))
        .collect()
}

/// A report's outages as scheduled (section, index, start, end), without what they did.
fn outage_windows(p: &Part) -> Vec<(String, usize, String, String)> {
    p.report
        .outages
        .iter()
        .map(|o| {
            (
                o.section.clone(),
                o.index,
                o.at_seconds.to_string(),
                o.end_seconds.to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Group, ThresholdResult, WorkerHistograms};
    use std::time::Duration;

    /// A worker report with `requests` attempts, refreshes at `arrivals` (group 0 of
    /// groups `a` and `b`), request latencies `latencies_ms`, and a `concurrent` gauge.
    fn worker(
        index: u32,
        of: u32,
        started: u64,
        arrivals: &[u64],
        latencies_ms: &[u64],
        concurrent: &[u64],
    ) -> Report {
        let mut l = Latencies::default();
        for &ms in latencies_ms {
            l.record(Duration::from_millis(ms));
        }
        let empty = Latencies::default().encode().unwrap();
        let mut r = Report {
            scenario: "s".into(),
            mode: "sim".into(),
            seed: 3,
            duration_seconds: 10.0,
            ..Default::default()
        };
        r.timeline.tick_ms = 1000;
        r.requests.total = 10 * u64::from(index + 1);
        r.requests.unauthorized = u64::from(index + 1);
        r.requests.logical = 10;
        r.refresh.attempts = arrivals.len() as u64;
        r.refresh.max_concurrent = concurrent.iter().copied().max().unwrap_or(0);
        r.issuer.key_rotations = 2;
        r.timeline.series.requests = vec![1; 10];
        r.timeline.series.concurrent_refreshes = concurrent.to_vec();
        let mut g = Group::default();
        g.requests.total = r.requests.total;
        g.refresh.attempts = r.refresh.attempts;
        r.groups.insert("a".into(), g);
        r.groups.insert("b".into(), Group::default());
        r.thresholds.push(ThresholdResult {
            not_observed: None,
            metric: "requests.total".into(),
            condition: ">= 30".into(),
            actual: r.requests.total as f64,
            pass: r.requests.total >= 30,
        });
        r.worker = Some(Worker {
            index,
            of,
            run_id: None,
            started_unix_ms: started,
            histograms: WorkerHistograms {
                request: l.encode().unwrap(),
                refresh: empty.clone(),
                login: empty.clone(),
                lock_wait: empty.clone(),
                issuer_queue_wait: empty,
            },
            refresh_arrivals_ms: arrivals.to_vec(),
            refresh_arrival_groups: vec![0; arrivals.len()],
        });
        r
    }

    fn part(r: &Report, file: &str) -> Part {
        parse(&serde_json::to_string(r).unwrap(), file).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn counts_add_up_and_rates_follow() {
        let a = worker(0, 2, 0, &[100, 200], &[5, 7], &[1, 0]);
        let b = worker(1, 2, 0, &[150], &[9], &[0, 1]);
        let m = merge(&[part(&b, "b.json"), part(&a, "a.json")]).unwrap();
        assert_eq!(m.requests.total, 30);
        assert_eq!(m.requests.unauthorized, 3);
        assert_eq!(m.requests.logical, 20);
        assert_eq!(m.unauthorized_rate, 0.1);
        assert_eq!(m.groups["a"].requests.total, 30);
        assert_eq!(m.groups["a"].unauthorized_rate, 0.0);
        assert_eq!(m.refresh.attempts, 3);
        assert_eq!(m.refresh.peak_per_second, 3);
        assert_eq!(m.groups["a"].refresh.peak_per_second, 3);
        assert_eq!(m.groups["b"].refresh.peak_per_second, 0);
        assert_eq!(m.refresh.mean_per_second, 0.3);
        assert_eq!(m.issuer.key_rotations, 2, "a schedule, not a count");
        assert_eq!(m.timeline.series.requests, vec![2; 10]);
        assert_eq!(m.timeline.series.concurrent_refreshes, [1, 1]);
        assert_eq!(m.refresh.max_concurrent, 1);
        assert_eq!(m.latency_ms.request.max, 9);
        assert_eq!(m.latency_ms.request.p50, 7);
        assert!(m.worker.is_none());
        assert_eq!(m.thresholds.len(), 1);
        assert!(m.thresholds[0].pass, "30 >= 30 on the merged figures");
        assert_eq!(m.thresholds[0].actual, 30.0);
    }

    #[test]
    fn later_starts_shift_the_timeline_and_the_arrivals() {
        // Worker 1 started 2.4 s later: two ticks, and its arrival at 100 ms is at
        // 2500 ms on worker 0's clock, within a second of worker 0's at 1600 and 2000.
        let a = worker(0, 2, 1_000_000, &[1600, 2000], &[], &[]);
        let b = worker(1, 2, 1_002_400, &[100], &[], &[]);
        let m = merge(&[part(&a, "a.json"), part(&b, "b.json")]).unwrap();
        assert_eq!(
            m.timeline.series.requests,
            [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1]
        );
        assert_eq!(m.refresh.peak_per_second, 3);
        assert_eq!(m.duration_seconds, 12.4);
    }

    #[test]
    fn new_count_keys_add_up_and_levels_take_the_maximum() {
        let mut into = serde_json::json!({
            "acquisitions": 1, "renewals": 2, "max_holders": 3, "wait_ms": {"p50": 4},
            "nested": {"count": 5}
        });
        let from = serde_json::json!({
            "acquisitions": 10, "renewals": 20, "max_holders": 1, "wait_ms": {"p50": 40},
            "nested": {"count": 50}
        });
        combine(&mut into, &from);
        assert_eq!(
            into,
            serde_json::json!({
                "acquisitions": 11, "renewals": 22, "max_holders": 3, "wait_ms": {"p50": 4},
                "nested": {"count": 55}
            })
        );
    }

    #[test]
    fn group_names_are_not_read_as_keys() {
        let mut a = worker(0, 2, 0, &[], &[], &[]);
        let mut b = worker(1, 2, 0, &[], &[], &[]);
        for r in [&mut a, &mut b] {
            let g = r.groups.remove("a").unwrap();
            r.groups.insert("peak_rate_ms".into(), g);
        }
        let m = merge(&[part(&a, "a.json"), part(&b, "b.json")]).unwrap();
        assert_eq!(m.groups["peak_rate_ms"].requests.total, 30);
    }

    #[test]
    fn refuses_reports_that_do_not_belong_together() {
        let a = worker(0, 2, 0, &[], &[], &[]);
        let err = |parts: &[Part]| merge(parts).unwrap_err().to_string();
        let e = err(&[part(&a, "a.json")]);
        assert_eq!(
            e,
            "the report of worker 1 of 2 is missing: merge needs every worker's report"
        );
        let e = err(&[part(&a, "a.json"), part(&a, "a2.json")]);
        assert_eq!(e, "a2.json: worker 0 of 2 again: a.json is that worker too");
        let mut other = worker(1, 2, 0, &[], &[], &[]);
        other.scenario = "t".into();
        let e = err(&[part(&a, "a.json"), part(&other, "t.json")]);
        assert_eq!(
            e,
            "t.json: the scenario is `t`, but in a.json it is `s`: the reports are not of one run"
        );
        let mut seed = worker(1, 2, 0, &[], &[], &[]);
        seed.seed = 4;
        assert!(err(&[part(&a, "a.json"), part(&seed, "b.json")]).contains("the seed is 4"));
        let three = worker(1, 3, 0, &[], &[], &[]);
        assert!(
            err(&[part(&a, "a.json"), part(&three, "b.json")])
                .contains("the number of workers is 3, but in a.json it is 2")
        );
        assert_eq!(err(&[]), "no reports to merge");
    }

    #[test]
    fn refuses_what_is_not_a_worker_report() {
        let mut plain = worker(0, 1, 0, &[], &[], &[]);
        plain.worker = None;
        let text = serde_json::to_string(&plain).unwrap();
        assert_eq!(
            parse(&text, "plain.json").unwrap_err().to_string(),
            "plain.json: not a worker report: run it with --worker I/N"
        );
        assert!(
            parse("{", "x.json")
                .unwrap_err()
                .to_string()
                .starts_with("x.json: not a JSON report")
        );
        assert!(
            parse("[1]", "x.json")
                .unwrap_err()
                .to_string()
                .contains("expected a JSON object")
        );
        assert!(
            parse(r#"{"worker": {"index": 0}}"#, "x.json")
                .unwrap_err()
                .to_string()
                .starts_with("x.json: not a tokenstorm report")
        );
        let mut bad = worker(0, 1, 0, &[1], &[], &[]);
        bad.worker.as_mut().unwrap().histograms.request = "!!".into();
        let e = merge(&[part(&bad, "bad.json")]).unwrap_err().to_string();
        assert!(
            e.starts_with("bad.json: worker.histograms.request: not base64"),
            "{e}"
        );
        let mut lost = worker(0, 1, 0, &[1], &[], &[]);
        lost.worker.as_mut().unwrap().refresh_arrival_groups = vec![7];
        let e = merge(&[part(&lost, "lost.json")]).unwrap_err().to_string();
        assert!(
            e.contains("names group 7, but the report has 2 groups"),
            "{e}"
        );
    }

    #[test]
    fn a_single_worker_merges_into_its_own_figures() {
        let a = worker(0, 1, 0, &[100, 900, 1050], &[3, 4], &[2, 1, 0]);
        let m = merge(&[part(&a, "a.json")]).unwrap();
        let mut expected = a.clone();
        expected.worker = None;
        expected.refresh.peak_per_second = 3;
        expected
            .groups
            .get_mut("a")
            .unwrap()
            .refresh
            .peak_per_second = 3;
        expected.refresh.mean_per_second = 0.3;
        expected.unauthorized_rate = 0.1;
        expected.latency_ms.request = m.latency_ms.request.clone();
        expected.thresholds[0].pass = false;
        assert_eq!(m, expected);
    }
}
