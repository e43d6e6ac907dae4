//! Reports: what is derived from the JSON contract of SPEC §2 ([`crate::contract`],
//! also at `report::model`): rates and verdicts, recovery after outages, the merge of a
//! split run's worker reports, the comparison of variants; and how reports are shown:
//! the terminal summary and one exporter per file format.

pub mod comparison;
pub mod export;
pub(crate) mod figures;
pub(crate) mod format;
pub mod merge;
pub mod recovery;
pub mod summary;
pub(crate) mod threshold;
pub(crate) mod verdicts;

/// The report model, under the name it has always had.
pub use crate::contract as model;
pub use crate::contract::Report;

/// Why a run against a user's own issuer (`targets`) failed as a run: no client
/// obtained a token, so nothing it measured is about tokens. Names the issuer and its
/// first error answer. None for every other report, and for a worker's of a split
/// run: its clients may hold tokens another worker obtained (a shared store).
pub fn no_token_obtained(report: &Report) -> Option<String> {
    let targets = report.targets.as_ref()?;
    if report.worker.is_some()
        || report.clients.with_token > 0
        || report.login.initial + report.refresh.attempts == 0
    {
        return None;
    }
    let why = report
        .login
        .first_error
        .as_deref()
        .unwrap_or("no error answer was received");
    Some(format!(
        "no client could obtain a token from {} (grant {}, client authentication {}): {why}",
        targets.issuer, targets.grant, targets.client_auth
    ))
}
