//! Faults (SPEC §1.1), injected into the issuer or the resource.

use super::*;

/// A fault injected into the issuer or the resource (SPEC §1.1).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub kind: FaultKind,
    #[serde(default)]
    pub at: Option<Dur>,
    #[serde(default, rename = "for")]
    pub for_: Option<Dur>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub rate: Option<f64>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub fraction: Option<f64>,
    #[serde(default)]
    pub every: Option<Dur>,
    #[serde(default)]
    pub by: Option<Dur>,
    #[serde(default)]
    pub latency: Option<Latency>,
    /// rotate_keys: how long the old key stays in the key set. Default: the access
    /// token's ttl, so that every token it signed can verify until it expires.
    #[serde(default)]
    pub overlap: Option<Dur>,
    /// rotate_keys: the new key signs at once but appears in the key set this much
    /// later (a cached key-set document). Default 0s.
    #[serde(default)]
    pub publish_delay: Option<Dur>,
}

impl Fault {
    /// A fault of `kind` with every other key unset, to fill in by hand.
    pub fn of(kind: FaultKind) -> Fault {
        Fault {
            kind,
            at: None,
            for_: None,
            mode: None,
            rate: None,
            status: None,
            fraction: None,
            every: None,
            by: None,
            latency: None,
            overlap: None,
            publish_delay: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Outage,
    Errors,
    Latency,
    Revoke,
    RotateKeys,
    ClockJump,
}
