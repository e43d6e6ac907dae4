//! Refresh-token families: who holds which token, and what presenting one does.
//!
//! A family starts at a login and ends when it expires (absolute or idle) or is
//! revoked. With rotation each refresh retires the presented token and issues a new
//! one; a retired token presented again is reuse — accepted within the grace period,
//! otherwise (with detection on) the whole family is revoked.
//!
//! A token names its family and carries 128 random bits: `rt_<family, hex>_<secret,
//! 22 characters of base64url>`, the selector-and-verifier form of split tokens. The
//! issuer finds the family by its number and compares the secret with the family's
//! own, so that a million families need no table of tokens beside them: a family is
//! one entry of a vector, and a token it rotated out costs 32 bytes in its list.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngExt;

use crate::rng::Rng;

/// What the issuer's configuration says about refresh tokens, in ms.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    pub ttl_ms: i64,
    pub idle_ttl_ms: Option<i64>,
    pub rotation: bool,
    pub reuse_detection: bool,
    pub reuse_grace_ms: i64,
    /// Live families a user may hold; a login beyond it evicts the oldest.
    pub max_per_user: Option<u32>,
}

/// A successful presentation: what to issue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Granted {
    pub family: u64,
    pub sub: String,
    pub scope: String,
    /// The refresh token to return (new with rotation, else the same).
    pub refresh_token: String,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Presented {
    Granted(Granted),
    /// A rotated-out token within its grace period: the family's current token is
    /// returned, not a new one.
    GraceAccepted(Granted),
    /// A rotated-out token after its grace: the family (this id) is revoked.
    ReuseDetected(u64),
    /// Unknown, expired, idle, revoked or rotated out (without detection); the reason.
    Dead(&'static str),
}

/// A family as the issuer keeps a million of them: its subject in an allocation of its
/// own size, its scope as a number (a scenario's clients ask for a few scopes, not one
/// each), its current token's secret, and only its rotated-out tokens in a list
/// (empty, unallocated, until the first rotation).
struct Family {
    sub: Box<str>,
    scope: u32,
    created_ms: i64,
    current: u128,
    /// When the current token was last used (issued, or presented without rotation).
    last_used_ms: i64,
    retired: Vec<Retired>,
}

impl Family {
    /// How the token of `secret` stands in this family, and when it was last used;
    /// None when it is not one of the family's.
    fn standing(&self, secret: u128) -> Option<(Standing, i64)> {
        if self.current == secret {
            return Some((Standing::Current, self.last_used_ms));
        }
        self.retired
            .iter()
            .find(|r| r.secret == secret)
            .map(|r| (Standing::Retired(r.rotated_out_ms), r.last_used_ms))
    }
}

/// A token the family rotated out.
struct Retired {
    secret: u128,
    /// When it was last used: issued (a rotated token is used once, to rotate).
    last_used_ms: i64,
    rotated_out_ms: i64,
}

pub(crate) struct Families {
    rng: Rng,
    /// Family `id` at index `id - 1` (ids are handed out in order), `None` once removed:
    /// a hash map of a million families held twice their room in empty buckets.
    families: Vec<Option<Family>>,
    /// The scopes families were granted, each once.
    scopes: Vec<String>,
    /// Each user's families, oldest first (kept only under a per-user limit).
    by_user: HashMap<String, std::collections::VecDeque<u64>>,
}

/// Family `family`'s token of `secret`: 31 characters for the millionth family, so
/// that a client keeps it in 64 bytes with its counts.
pub(crate) fn encode(family: u64, secret: u128) -> String {
    let secret = URL_SAFE_NO_PAD.encode(secret.to_be_bytes());
    format!("rt_{family:x}_{secret}")
}

/// The family and secret a token names, if it has the form of one.
pub(crate) fn decode(token: &str) -> Option<(u64, u128)> {
    let (family, secret) = token.strip_prefix("rt_")?.split_once('_')?;
    if !(1..=16).contains(&family.len()) || !family.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // 22 characters are 16 bytes; the decoder refuses stray bits in the last one.
    let mut bytes = [0u8; 16];
    if secret.len() != 22 || URL_SAFE_NO_PAD.decode_slice(secret, &mut bytes).ok()? != 16 {
        return None;
    }
    Some((
        u64::from_str_radix(family, 16).ok()?,
        u128::from_be_bytes(bytes),
    ))
}

/// How a presented token stands in its family.
enum Standing {
    Current,
    /// Rotated out at this time.
    Retired(i64),
}

impl Families {
    pub(crate) fn new(rng: Rng) -> Families {
        Families {
            rng,
            families: Vec::new(),
            scopes: Vec::new(),
            by_user: HashMap::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.families.iter().all(Option::is_none)
    }

    fn family(&self, id: u64) -> Option<&Family> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.families.get(index)?.as_ref()
    }

    fn family_mut(&mut self, id: u64) -> Option<&mut Family> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.families.get_mut(index)?.as_mut()
    }

    /// The number of `scope`, numbered on first sight.
    fn scope_number(&mut self, scope: &str) -> u32 {
        match self.scopes.iter().position(|s| s == scope) {
            Some(i) => i as u32,
            None => {
                self.scopes.push(scope.to_string());
                (self.scopes.len() - 1) as u32
            }
        }
    }

    /// A login: a new family and its first refresh token.
    pub(crate) fn start(&mut self, sub: &str, scope: &str, now_ms: i64) -> (u64, String) {
        let id = self.families.len() as u64 + 1;
        let secret: u128 = self.rng.random();
        let scope = self.scope_number(scope);
        self.families.push(Some(Family {
            sub: sub.into(),
            scope,
            created_ms: now_ms,
            current: secret,
            last_used_ms: now_ms,
            retired: Vec::new(),
        }));
        (id, encode(id, secret))
    }

    /// A login under the per-user limit of `rules`: the new family, its first refresh
    /// token, and how many of the user's older families it evicted (oldest first, as
    /// Auth0 and Google do when a user holds too many refresh tokens).
    pub(crate) fn start_limited(
        &mut self,
        sub: &str,
        scope: &str,
        now_ms: i64,
        rules: Rules,
    ) -> (u64, String, u64) {
        let (id, token) = self.start(sub, scope, now_ms);
        let Some(max) = rules.max_per_user else {
            return (id, token, 0);
        };
        let mut owned = self.by_user.remove(sub).unwrap_or_default();
        // Families that died since (expired, idle, revoked) no longer count.
        owned.retain(|f| self.is_live(*f, now_ms, rules));
        owned.push_back(id);
        let mut evicted = 0;
        while owned.len() > max.max(1) as usize {
            if let Some(oldest) = owned.pop_front() {
                self.remove(oldest);
                evicted += 1;
            }
        }
        self.by_user.insert(sub.to_string(), owned);
        (id, token, evicted)
    }

    /// Whether a family still has a refresh token that would be accepted at `now_ms`.
    fn is_live(&self, family: u64, now_ms: i64, rules: Rules) -> bool {
        let Some(f) = self.family(family) else {
            return false;
        };
        if now_ms >= f.created_ms + rules.ttl_ms {
            return false;
        }
        rules
            .idle_ttl_ms
            .is_none_or(|idle| now_ms - f.last_used_ms < idle)
    }

    /// Revokes the family of a refresh token (RFC 7009); returns its id if it was live.
    pub(crate) fn revoke_token(&mut self, token: &str) -> Option<u64> {
        let (family, secret) = decode(token)?;
        self.family(family)?.standing(secret).is_some().then(|| {
            self.remove(family);
            family
        })
    }

    /// Forgets a family and every token it issued; its tokens become unknown.
    pub(crate) fn remove(&mut self, family: u64) {
        let slot = usize::try_from(family.wrapping_sub(1))
            .ok()
            .and_then(|i| self.families.get_mut(i));
        if let Some(slot) = slot {
            *slot = None;
        }
    }

    /// Revokes each family with probability `fraction` (a `revoke` fault), in family
    /// order so that the draws do not depend on a hash map's order; returns their ids.
    pub(crate) fn revoke_share(&mut self, fraction: f64, rng: &mut Rng) -> Vec<u64> {
        let ids: Vec<u64> = (1..=self.families.len() as u64)
            .filter(|&id| self.family(id).is_some())
            .collect();
        let chosen: Vec<u64> = ids
            .into_iter()
            .filter(|_| rng.random::<f64>() < fraction)
            .collect();
        for id in &chosen {
            self.remove(*id);
        }
        chosen
    }

    /// The scope granted to the family of `token`, if it is one of a live family (its
    /// standing unchecked: a look before a presentation, which changes nothing).
    pub(crate) fn scope_of(&self, token: &str) -> Option<&str> {
        let family = self.family(decode(token)?.0)?;
        self.scopes.get(family.scope as usize).map(String::as_str)
    }

    /// Someone presents `token` in a refresh-token grant at `now_ms`.
    pub(crate) fn present(&mut self, token: &str, now_ms: i64, rules: Rules) -> Presented {
        let Some((family_id, secret)) = decode(token) else {
            return Presented::Dead("unknown refresh token");
        };
        let Some((family, (standing, last_used_ms))) = self
            .family(family_id)
            .and_then(|f| Some((f, f.standing(secret)?)))
        else {
            return Presented::Dead("unknown or revoked refresh token");
        };
        if now_ms >= family.created_ms + rules.ttl_ms {
            self.remove(family_id);
            return Presented::Dead("the refresh token expired");
        }
        if let Some(idle) = rules.idle_ttl_ms
            && now_ms - last_used_ms >= idle
        {
            self.remove(family_id);
            return Presented::Dead("the refresh token was idle too long");
        }
        if let Standing::Retired(rotated) = standing {
            if now_ms - rotated < rules.reuse_grace_ms {
                return Presented::GraceAccepted(self.granted(family_id));
            }
            if rules.reuse_detection {
                self.remove(family_id);
                return Presented::ReuseDetected(family_id);
            }
            return Presented::Dead("the refresh token was rotated out");
        }
        let fresh: Option<u128> = rules.rotation.then(|| self.rng.random());
        if let Some(family) = self.family_mut(family_id) {
            if let Some(fresh) = fresh {
                family.retired.push(Retired {
                    secret: std::mem::replace(&mut family.current, fresh),
                    last_used_ms: family.last_used_ms,
                    rotated_out_ms: now_ms,
                });
            }
            family.last_used_ms = now_ms;
        }
        Presented::Granted(self.granted(family_id))
    }

    /// What a presentation to family `id` grants: its current token.
    fn granted(&self, id: u64) -> Granted {
        let family = self.family(id);
        Granted {
            family: id,
            sub: family.map(|f| f.sub.to_string()).unwrap_or_default(),
            scope: family
                .and_then(|f| self.scopes.get(f.scope as usize))
                .cloned()
                .unwrap_or_default(),
            refresh_token: encode(id, family.map_or(0, |f| f.current)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn rules() -> Rules {
        Rules {
            ttl_ms: 60 * MIN,
            idle_ttl_ms: None,
            rotation: true,
            reuse_detection: true,
            reuse_grace_ms: 0,
            max_per_user: None,
        }
    }

    fn token_of(p: Presented) -> String {
        match p {
            Presented::Granted(g) | Presented::GraceAccepted(g) => g.refresh_token,
            other => panic!("not granted: {other:?}"),
        }
    }

    #[test]
    fn tokens_round_trip_and_garbage_is_unknown() {
        assert_eq!(decode(&encode(7, 0xabc)), Some((7, 0xabc)));
        assert_eq!(decode("rt_1_AAAAAAAAAAAAAAAAAAAAAA"), Some((1, 0)));
        assert_eq!(encode(1_000_000, u128::MAX).len(), 31);
        assert_eq!(
            decode(&encode(u64::MAX, u128::MAX)),
            Some((u64::MAX, u128::MAX))
        );
        for bad in [
            "",
            "rt_",
            "rt_xyz",
            "abc",
            &"rt_".repeat(20),
            "rt_1_AAAAAAAAAAAAAAAAAAAAA",
            "rt_1_AAAAAAAAAAAAAAAAAAAAAAA",
            "rt_1_AAAAAAAAAAAAAAAAAAAAA=",
            "rt_1_AAAAAAAAAAAAAAAAAAAAA+",
            // Stray bits in the last character: not the form the issuer makes.
            "rt_1_AAAAAAAAAAAAAAAAAAAAAB",
            "rt__AAAAAAAAAAAAAAAAAAAAAA",
            "rt_10000000000000000_AAAAAAAAAAAAAAAAAAAAAA",
            "rt_g_AAAAAAAAAAAAAAAAAAAAAA",
            "rt_AAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        let mut f = Families::new(crate::rng::rng(1, &[]));
        assert_eq!(
            f.present("rt_nope", 0, rules()),
            Presented::Dead("unknown refresh token")
        );
    }

    #[test]
    fn rotation_then_reuse_revokes_the_family() {
        let mut f = Families::new(crate::rng::rng(1, &[]));
        let (_, t1) = f.start("u", "api", 0);
        let t2 = token_of(f.present(&t1, MIN, rules()));
        assert_ne!(t1, t2);
        assert_eq!(
            f.present(&t1, 2 * MIN, rules()),
            Presented::ReuseDetected(1)
        );
        // The whole family is gone, its current token too.
        assert!(matches!(
            f.present(&t2, 2 * MIN, rules()),
            Presented::Dead(_)
        ));
        assert!(f.is_empty());
    }

    #[test]
    fn grace_returns_the_current_token() {
        let mut f = Families::new(crate::rng::rng(1, &[]));
        let r = Rules {
            reuse_grace_ms: 30_000,
            ..rules()
        };
        let (_, t1) = f.start("u", "api", 0);
        let t2 = token_of(f.present(&t1, MIN, r));
        match f.present(&t1, MIN + 29_999, r) {
            Presented::GraceAccepted(g) => assert_eq!(g.refresh_token, t2),
            other => panic!("{other:?}"),
        }
        assert_eq!(f.present(&t1, MIN + 30_000, r), Presented::ReuseDetected(1));
    }

    #[test]
    fn without_rotation_the_same_token_serves() {
        let mut f = Families::new(crate::rng::rng(1, &[]));
        let r = Rules {
            rotation: false,
            reuse_detection: false,
            ..rules()
        };
        let (_, t1) = f.start("u", "api", 0);
        assert_eq!(token_of(f.present(&t1, MIN, r)), t1);
        assert_eq!(token_of(f.present(&t1, 2 * MIN, r)), t1);
    }

    #[test]
    fn rotation_without_detection_refuses_but_keeps_the_family() {
        let mut f = Families::new(crate::rng::rng(1, &[]));
        let r = Rules {
            reuse_detection: false,
            ..rules()
        };
        let (_, t1) = f.start("u", "api", 0);
        let t2 = token_of(f.present(&t1, MIN, r));
        assert_eq!(
            f.present(&t1, 2 * MIN, r),
            Presented::Dead("the refresh token was rotated out")
        );
        assert!(matches!(f.present(&t2, 2 * MIN, r), Presented::Granted(_)));
    }

    #[test]
    fn a_login_beyond_the_per_user_limit_evicts_the_oldest_family() {
        let mut f = Families::new(crate::rng::rng(1, &[]));
        let r = Rules {
            max_per_user: Some(2),
            ..rules()
        };
        let (_, a, _) = f.start_limited("u", "api", 0, r);
        let (_, b, _) = f.start_limited("u", "api", MIN, r);
        let (_, other, evicted) = f.start_limited("v", "api", MIN, r);
        assert_eq!(evicted, 0);
        let (_, c, evicted) = f.start_limited("u", "api", 2 * MIN, r);
        assert_eq!(evicted, 1);
        assert_eq!(
            f.present(&a, 3 * MIN, r),
            Presented::Dead("unknown or revoked refresh token")
        );
        for t in [b, c, other] {
            assert!(matches!(f.present(&t, 3 * MIN, r), Presented::Granted(_)));
        }
        // Families that died on their own (idle since 3 min) make room without an eviction.
        let idle = Rules {
            idle_ttl_ms: Some(10 * MIN),
            ..r
        };
        let (_, _, evicted) = f.start_limited("u", "api", 20 * MIN, idle);
        assert_eq!(evicted, 0);
        let (_, _, evicted) = f.start_limited("u", "api", 20 * MIN, idle);
        assert_eq!(evicted, 0);
        let (_, _, evicted) = f.start_limited("u", "api", 20 * MIN, idle);
        assert_eq!(evicted, 1);
    }

    #[test]
    fn absolute_and_idle_expiry() {
        let mut f = Families::new(crate::rng::rng(1, &[]));
        let (_, t1) = f.start("u", "api", 0);
        let t2 = token_of(f.present(&t1, 59 * MIN, rules()));
        assert_eq!(
            f.present(&t2, 60 * MIN, rules()),
            Presented::Dead("the refresh token expired")
        );

        let idle = Rules {
            idle_ttl_ms: Some(10 * MIN),
            ..rules()
        };
        let (_, a) = f.start("u", "api", 0);
        let b = token_of(f.present(&a, 9 * MIN, idle));
        // b was issued at 9 min: idle until 19 min.
        assert_eq!(
            f.present(&b, 19 * MIN, idle),
            Presented::Dead("the refresh token was idle too long")
        );
    }
}
