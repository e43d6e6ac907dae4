//! `targets`: a user's own issuer and API, driven in `live` mode instead of ours.

use super::*;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// The URL of the external token endpoint.
    pub issuer: String,
    /// The URL of the external API resource the clients call.
    pub resource: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The password the clients log in with (password grant; each client's username
    /// is `<group>-<n>`). Default: `issuer.password`.
    #[serde(default)]
    pub password: Option<String>,
}
