//! The token store one client's instances share, and what a token response holds.
//!
//! Every write bumps `version`, so a caller can tell whether the token it saw is still
//! the current one: that is how single-flight re-checks, and how duplicate refreshes are
//! recognised (two refresh operations presenting the refresh token of the same version).

use std::sync::Arc;

use base64::Engine;
use http::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::scenario::ExpirySource;

/// An access token as the client holds it.
#[derive(Debug)]
pub struct AccessToken {
    /// `Bearer <token>`, built once.
    pub header: HeaderValue,
    /// When the client believes it expires, on the client's clock (Unix ms).
    pub expires_at_ms: i64,
    /// When it arrived, on the client's clock (Unix ms).
    pub received_at_ms: i64,
    /// When the server asked for a refresh (`refresh_in`), on the client's clock;
    /// [`NO_REFRESH_AT`] when it did not (a plain number: a million tokens are kept).
    refresh_at: i64,
    /// This token's jitter, when the policy draws it once per token (ms earlier).
    pub jitter_ms: i64,
}

/// `refresh_at` of a token whose server asked for no refresh time.
const NO_REFRESH_AT: i64 = i64::MIN;

impl AccessToken {
    /// When the server asked for a refresh (`refresh_in`), on the client's clock.
    pub fn refresh_at_ms(&self) -> Option<i64> {
        (self.refresh_at != NO_REFRESH_AT).then_some(self.refresh_at)
    }

    pub(crate) fn lifetime_ms(&self) -> i64 {
        self.expires_at_ms - self.received_at_ms
    }
}

/// The shared state of one client's tokens.
#[derive(Debug, Default)]
pub(crate) struct TokenState {
    /// Bumped on every write.
    pub version: u64,
    pub access: Option<Arc<AccessToken>>,
    pub refresh_token: Option<Arc<str>>,
    /// The refresh token is known dead (invalid_grant): the next caller logs in.
    pub dead: bool,
    /// The highest version whose refresh token some refresh operation presented; 0:
    /// none yet (a refresh token comes with a stored response, version 1 or later).
    pub presented: u64,
    /// The latest version whose refresh token a refresh ended with, and how:
    /// [`ROTATED`], [`REFUSED`], [`SUSPECTED`] bits.
    ended: (u64, u8),
}

const ROTATED: u8 = 1;
const REFUSED: u8 = 2;
const SUSPECTED: u8 = 4;

impl TokenState {
    /// Stores a fresh token response; returns the new version.
    pub(crate) fn store(&mut self, access: AccessToken, refresh_token: Option<String>) -> u64 {
        self.version += 1;
        self.access = Some(Arc::new(access));
        if let Some(rt) = refresh_token {
            self.refresh_token = Some(rt.into());
        }
        self.dead = false;
        self.version
    }

    /// Marks the refresh token of `version` dead, unless the store has moved on since.
    pub(crate) fn mark_dead(&mut self, version: u64) {
        if self.version == version {
            self.dead = true;
            self.access = None;
        }
    }

    /// Records that a refresh operation presents the refresh token of `version`; true when
    /// another operation already presented it (a duplicate).
    pub(crate) fn present(&mut self, version: u64) -> bool {
        let duplicate = self.presented != 0 && self.presented >= version;
        self.presented = self.presented.max(version);
        duplicate
    }

    /// Records that a refresh with the refresh token of `version` ended, `rotated` (new
    /// tokens) or refused (invalid_grant); true the first time one token has been both,
    /// which only a second presentation can cause: the clients' inference of a reuse
    /// the issuer detected (in either order of the two answers).
    pub(crate) fn refresh_ended(&mut self, version: u64, rotated: bool) -> bool {
        let (at, mut how) = self.ended;
        if version < at {
            return false;
        }
        if version > at {
            how = 0;
        }
        how |= if rotated { ROTATED } else { REFUSED };
        let suspected = how & (ROTATED | REFUSED | SUSPECTED) == ROTATED | REFUSED;
        if suspected {
            how |= SUSPECTED;
        }
        self.ended = (version, how);
        suspected
    }
}

/// A client's tokens as one record of a store shared across processes (Redis): what
/// one instance renewed, the others adopt.
#[cfg_attr(not(feature = "redis"), allow(dead_code))] // only the redis store shares records
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    pub version: u64,
    pub access: Option<RecordAccess>,
    pub refresh_token: Option<String>,
    pub dead: bool,
}

#[cfg_attr(not(feature = "redis"), allow(dead_code))] // only the redis store shares records
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecordAccess {
    /// The access token itself (without `Bearer `).
    pub token: String,
    pub expires_at_ms: i64,
    pub received_at_ms: i64,
    pub refresh_at_ms: Option<i64>,
    pub jitter_ms: i64,
}

#[cfg_attr(not(feature = "redis"), allow(dead_code))] // only the redis store shares records
impl TokenState {
    /// The state as a shared record.
    pub(crate) fn record(&self) -> Record {
        Record {
            version: self.version,
            access: self.access.as_ref().map(|a| RecordAccess {
                token: a
                    .header
                    .to_str()
                    .unwrap_or_default()
                    .trim_start_matches("Bearer ")
                    .to_string(),
                expires_at_ms: a.expires_at_ms,
                received_at_ms: a.received_at_ms,
                refresh_at_ms: a.refresh_at_ms(),
                jitter_ms: a.jitter_ms,
            }),
            refresh_token: self.refresh_token.as_deref().map(str::to_string),
            dead: self.dead,
        }
    }

    /// Takes `record` over when it is newer than what this process holds; true if so.
    pub(crate) fn adopt(&mut self, record: Record) -> bool {
        if record.version <= self.version {
            return false;
        }
        let access = record.access.and_then(|a| {
            Some(Arc::new(AccessToken {
                header: bearer(&a.token)?,
                expires_at_ms: a.expires_at_ms,
                received_at_ms: a.received_at_ms,
                refresh_at: a.refresh_at_ms.unwrap_or(NO_REFRESH_AT),
                jitter_ms: a.jitter_ms,
            }))
        });
        self.version = record.version;
        self.access = access;
        self.refresh_token = record.refresh_token.map(Into::into);
        self.dead = record.dead;
        true
    }
}

/// The JSON of a successful token response (RFC 6749 §5.1).
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds after which the client should refresh (Microsoft's identity platform).
    #[serde(default)]
    pub refresh_in: Option<i64>,
}

/// Assumed when a response carries no `expires_in` (what most SDKs assume).
pub(crate) const DEFAULT_EXPIRES_IN_SECS: i64 = 3600;

impl TokenResponse {
    pub(crate) fn parse(body: &[u8]) -> Option<TokenResponse> {
        let r: TokenResponse = serde_json::from_slice(body).ok()?;
        let bearer = r
            .token_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case("bearer"));
        (bearer && !r.access_token.is_empty()).then_some(r)
    }

    /// The token as the client keeps it: expiry judged per `source` at `now_ms` on the
    /// client's clock.
    pub(crate) fn access_token(&self, source: ExpirySource, now_ms: i64) -> Option<AccessToken> {
        let header = bearer(&self.access_token)?;
        let from_expires_in =
            now_ms + self.expires_in.unwrap_or(DEFAULT_EXPIRES_IN_SECS).max(0) * 1000;
        let expires_at_ms = match source {
            ExpirySource::ExpiresIn => from_expires_in,
            ExpirySource::JwtExp => jwt_exp_ms(&self.access_token).unwrap_or(from_expires_in),
        };
        Some(AccessToken {
            header,
            expires_at_ms,
            received_at_ms: now_ms,
            refresh_at: self
                .refresh_in
                .map_or(NO_REFRESH_AT, |s| now_ms + s.max(0) * 1000),
            jitter_ms: 0,
        })
    }
}

/// `Bearer <token>` as a header value, in an allocation of just its size: the client
/// keeps it as long as the token lives, and `format!` leaves up to half again spare.
fn bearer(token: &str) -> Option<HeaderValue> {
    let mut value = String::with_capacity("Bearer ".len() + token.len());
    value.push_str("Bearer ");
    value.push_str(token);
    HeaderValue::try_from(value).ok()
}

/// The `exp` claim of a JWT in Unix ms, read without checking the signature (a client
/// cannot check it, and only wants to know when to refresh).
pub(crate) fn jwt_exp_ms(token: &str) -> Option<i64> {
    #[derive(Deserialize)]
    struct Exp {
        exp: i64,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Exp = serde_json::from_slice(&bytes).ok()?;
    Some(claims.exp.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt_with_exp(exp: i64) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"HS256"}"#),
            b64.encode(format!(r#"{{"exp":{exp},"sub":"u"}}"#))
        )
    }

    #[test]
    fn expiry_from_expires_in_or_the_jwt() {
        let body = format!(
            r#"{{"access_token":"{}","token_type":"Bearer","expires_in":3600}}"#,
            jwt_with_exp(2_000_000)
        );
        let r = TokenResponse::parse(body.as_bytes()).unwrap();
        let now = 1_000_000_000;
        let a = r.access_token(ExpirySource::ExpiresIn, now).unwrap();
        assert_eq!(a.expires_at_ms, now + 3_600_000);
        assert_eq!(a.lifetime_ms(), 3_600_000);
        let b = r.access_token(ExpirySource::JwtExp, now).unwrap();
        assert_eq!(b.expires_at_ms, 2_000_000_000);
        assert!(a.header.to_str().unwrap().starts_with("Bearer "));
    }

    #[test]
    fn refuses_what_is_not_a_bearer_token_response() {
        assert!(TokenResponse::parse(b"not json").is_none());
        assert!(TokenResponse::parse(br#"{"access_token":"x","token_type":"mac"}"#).is_none());
        assert!(TokenResponse::parse(br#"{"access_token":""}"#).is_none());
    }

    #[test]
    fn a_record_round_trips_and_only_a_newer_one_is_adopted() {
        let mut a = TokenState::default();
        let token = TokenResponse::parse(br#"{"access_token":"abc","expires_in":60}"#)
            .unwrap()
            .access_token(ExpirySource::ExpiresIn, 1_000)
            .unwrap();
        a.store(token, Some("rt-1".into()));
        let record = a.record();
        let text = serde_json::to_string(&record).unwrap();
        let mut b = TokenState::default();
        assert!(b.adopt(serde_json::from_str(&text).unwrap()));
        assert_eq!(b.record(), record);
        assert_eq!(b.access.as_ref().unwrap().header, "Bearer abc");
        assert!(!b.adopt(record), "the same version is not newer");
    }

    #[test]
    fn duplicates_are_second_presentations_of_one_version() {
        let mut s = TokenState::default();
        assert!(!s.present(1));
        assert!(s.present(1));
        assert!(!s.present(2));
        assert!(s.present(1));
    }

    #[test]
    fn a_token_both_rotated_and_refused_is_one_suspected_reuse_in_either_order() {
        let mut s = TokenState::default();
        // The refusal first (the real provider answers it sooner), then the rotation.
        assert!(!s.refresh_ended(1, false));
        assert!(s.refresh_ended(1, true));
        // A third presentation refused: the same reuse, not another.
        assert!(!s.refresh_ended(1, false));
        // The rotated token's successor refused alone (its family was revoked): none.
        assert!(!s.refresh_ended(2, false));
        assert!(!s.refresh_ended(2, false));
        // Rotation first, then the refusal.
        assert!(!s.refresh_ended(3, true));
        assert!(s.refresh_ended(3, false));
        // An older token's late answer changes nothing.
        assert!(!s.refresh_ended(1, true));
    }
}
