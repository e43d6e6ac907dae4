//! The scenario file's types: SPEC §1, key for key.
//!
//! These structs are what the YAML deserializes into (unknown keys refused). Values a
//! preset may supply stay `Option` here so that a key written by the user can be told from
//! a default; `scenario::policy` resolves them. Defaults that are not obvious are stated on
//! the field and in the README's scenario reference. One file per section of the spec.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::duration::Dur;
use crate::scenario::policy::Policy;

mod clients;
mod faults;
mod issuer;
mod latency;
mod policy_spec;
mod resource;
mod targets;
mod thresholds;

pub use clients::*;
pub use faults::*;
pub use issuer::*;
pub use latency::*;
pub use policy_spec::*;
pub use resource::*;
pub use targets::*;
pub use thresholds::*;

fn default_tick() -> Dur {
    Dur::secs(1)
}

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Used in report names; letters, digits, `-`, `_` and `.`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
    pub duration: Dur,
    #[serde(default)]
    pub mode: Mode,
    /// Width of one timeline bucket in the report.
    #[serde(default = "default_tick")]
    pub tick: Dur,
    #[serde(default)]
    pub issuer: IssuerConfig,
    #[serde(default)]
    pub resource: ResourceConfig,
    pub clients: Vec<ClientGroup>,
    #[serde(default)]
    pub targets: Option<Targets>,
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default)]
    pub variants: Vec<Variant>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Virtual clock, in-process.
    #[default]
    Sim,
    /// Real HTTP, real time.
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sim => "sim",
            Mode::Live => "live",
        }
    }
}

impl Scenario {
    /// Resolves every group's `policy` into its [`ClientGroup::resolved`], once.
    pub fn resolve(&mut self) {
        for group in &mut self.clients {
            group.resolved = Policy::resolve(&group.policy);
        }
    }
}
