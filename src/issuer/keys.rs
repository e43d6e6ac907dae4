//! The issuer's signing keys, and the key set (RFC 7517 JWKS) it publishes.
//!
//! Fixed keys (the sim's and a live run's): `hs256` uses a 32-byte secret drawn from the
//! scenario's seed; `rs256`, `es256` and `eddsa` use the public test key pairs under
//! `test_keys/` (two per algorithm, used in turn as keys rotate). Fresh keys (`serve`'s)
//! are made from the system's randomness at start and at each rotation, so nobody else
//! can sign a token its API accepts. Every key has a `kid`, written in each token's header,
//! so a key set can rotate: it signs with a new key from the rotation on, publishes the
//! new key (at once, or after a delay, as a cached key-set document would), and keeps
//! publishing the old one for an overlap so that tokens it signed still verify.

use std::sync::RwLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::{hmac, signature as sig};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rand::Rng as _;
use serde::Serialize;

use crate::rng::{self, stream};
use crate::scenario::Signing;

const ES256_PRIVATE: &str = include_str!("test_keys/es256-private.pem");
const ES256_PUBLIC: &str = include_str!("test_keys/es256-public.pem");
const RS256_PRIVATE: &str = include_str!("test_keys/rs256-private.pem");
const RS256_PUBLIC: &str = include_str!("test_keys/rs256-public.pem");
const EDDSA_PRIVATE: &str = include_str!("test_keys/eddsa-private.pem");
const EDDSA_PUBLIC: &str = include_str!("test_keys/eddsa-public.pem");
const ES256_2_PRIVATE: &str = include_str!("test_keys/es256-2-private.pem");
const ES256_2_PUBLIC: &str = include_str!("test_keys/es256-2-public.pem");
const RS256_2_PRIVATE: &str = include_str!("test_keys/rs256-2-private.pem");
const RS256_2_PUBLIC: &str = include_str!("test_keys/rs256-2-public.pem");
const EDDSA_2_PRIVATE: &str = include_str!("test_keys/eddsa-2-private.pem");
const EDDSA_2_PUBLIC: &str = include_str!("test_keys/eddsa-2-public.pem");

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the {0} test key does not load: {1}")]
    Load(&'static str, jsonwebtoken::errors::Error),
    #[error("the {0} test key does not parse: {1}")]
    Parse(&'static str, String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A private key parsed once. jsonwebtoken's `encode` parses the key's DER again for
/// every token (and, for RSA, builds its blinding anew): most of an RS256 token's cost.
enum Signer {
    Hmac(Box<hmac::Key>),
    Rsa(sig::RsaKeyPair),
    Ecdsa(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
}

impl Signer {
    /// The parsed form of `key`, in the encodings jsonwebtoken's PEM readers give: the
    /// secret for HMAC, PKCS#1 DER for RSA, PKCS#8 for EC and Ed25519.
    fn of(signing: Signing, key: &EncodingKey) -> Result<Signer, KeyError> {
        let der = key.as_bytes();
        let bad =
            |e: aws_lc_rs::error::KeyRejected| KeyError::Parse(signing.as_str(), e.to_string());
        Ok(match signing {
            Signing::Hs256 => Signer::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, der))),
            Signing::Rs256 => Signer::Rsa(sig::RsaKeyPair::from_der(der).map_err(bad)?),
            Signing::Es256 => Signer::Ecdsa(
                sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(bad)?,
            ),
            Signing::Eddsa => Signer::Ed(sig::Ed25519KeyPair::from_pkcs8(der).map_err(bad)?),
        })
    }

    /// The signature of `message` (the JWS signing input), as JWS wants it: RSASSA
    /// PKCS#1 v1.5, ECDSA's fixed-size r‖s, Ed25519 (RFC 7518 §3, RFC 8037).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |e: aws_lc_rs::error::Unspecified| KeyError::Sign(e.to_string());
        Ok(match self {
            Signer::Hmac(k) => hmac::sign(k, message).as_ref().to_vec(),
            Signer::Rsa(k) => {
                let mut out = vec![0; k.public_modulus_len()];
                k.sign(
                    &sig::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut out,
                )
                .map_err(failed)?;
                out
            }
            Signer::Ecdsa(k) => k
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Signer::Ed(k) => k.sign(message).as_ref().to_vec(),
        })
    }
}

struct Key {
    kid: String,
    signer: Signer,
    /// The JWS header of its tokens (`alg`, `typ: JWT`, `kid`), base64url: the same for
    /// every token it signs.
    header_b64: String,
    decoding: DecodingKey,
    /// Its public half as a JWK (`kid`, `alg`, `use: sig` set).
    jwk: Jwk,
    /// From when the key set lists it (issuer clock, ms).
    published_ms: i64,
    /// From when it no longer does.
    retired_ms: Option<i64>,
}

impl Key {
    fn published_at(&self, now_ms: i64) -> bool {
        self.published_ms <= now_ms && self.retired_ms.is_none_or(|r| now_ms < r)
    }
}

struct Keys {
    /// Index of the key that signs; older ones still verify.
    current: usize,
    all: Vec<Key>,
}

pub struct KeySet {
    algorithm: Algorithm,
    signing: Signing,
    /// The seed fixed keys are drawn from; None: fresh keys.
    seed: Option<u64>,
    keys: RwLock<Keys>,
}

impl KeySet {
    /// Fixed keys: the same for every run of the same seed.
    pub(crate) fn new(signing: Signing, seed: u64) -> Result<KeySet, KeyError> {
        Self::with(signing, Some(seed))
    }

    /// Fresh keys, made from the system's randomness.
    pub(crate) fn fresh(signing: Signing) -> Result<KeySet, KeyError> {
        Self::with(signing, None)
    }

    fn with(signing: Signing, seed: Option<u64>) -> Result<KeySet, KeyError> {
        let first = next_key(signing, seed, 1, i64::MIN)?;
        Ok(KeySet {
            algorithm: algorithm(signing),
            signing,
            seed,
            keys: RwLock::new(Keys {
                current: 0,
                all: vec![first],
            }),
        })
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    #[cfg(test)]
    fn current_kid(&self) -> String {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.all[keys.current].kid.clone()
    }

    /// Starts signing with a new key at `now_ms`, published `publish_delay_ms` later;
    /// the keys that signed until now stay published for `overlap_ms`. Returns the new
    /// kid.
    pub(crate) fn rotate(
        &self,
        now_ms: i64,
        overlap_ms: i64,
        publish_delay_ms: i64,
    ) -> Result<String, KeyError> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let n = keys.all.len() as u64 + 1;
        let key = next_key(self.signing, self.seed, n, now_ms + publish_delay_ms.max(0))?;
        let kid = key.kid.clone();
        let retire = now_ms + overlap_ms.max(0);
        for old in keys.all.iter_mut() {
            old.retired_ms = Some(old.retired_ms.map_or(retire, |r| r.min(retire)));
        }
        keys.all.push(key);
        keys.current = keys.all.len() - 1;
        Ok(kid)
    }

    /// The key set published at `now_ms` (issuer clock), as an RFC 7517 JWK Set; an
    /// HMAC key, a shared secret, only with `secrets`.
    pub(crate) fn published(&self, now_ms: i64, secrets: bool) -> JwkSet {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let shown = secrets || self.signing != Signing::Hs256;
        JwkSet {
            keys: keys
                .all
                .iter()
                .filter(|k| shown && k.published_at(now_ms))
                .map(|k| k.jwk.clone())
                .collect(),
        }
    }

    /// Runs `f` with the verification key of `kid` if the set publishes it at `now_ms`.
    pub(crate) fn with_published_key<R>(
        &self,
        kid: &str,
        now_ms: i64,
        f: impl FnOnce(&DecodingKey) -> R,
    ) -> Option<R> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.all
            .iter()
            .find(|k| k.kid == kid && k.published_at(now_ms))
            .map(|k| f(&k.decoding))
    }

    /// Signs `claims` as a JWT with the current key (`typ: JWT`, `kid` set): RFC 7515's
    /// compact serialization, base64url without padding.
    pub(crate) fn sign(&self, claims: &impl Serialize) -> Result<String, KeyError> {
        // Room for the claims a token carries: grown from nothing, the payload was
        // reallocated six times for every token.
        let mut payload = Vec::with_capacity(512);
        serde_json::to_writer(&mut payload, claims).map_err(|e| KeyError::Sign(e.to_string()))?;
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let key = &keys.all[keys.current];
        let mut jwt = String::with_capacity(key.header_b64.len() + payload.len() * 4 / 3 + 400);
        jwt.push_str(&key.header_b64);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut jwt);
        let signature = key.signer.sign(jwt.as_bytes())?;
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jwt);
        Ok(jwt)
    }
}

fn algorithm(signing: Signing) -> Algorithm {
    match signing {
        Signing::Hs256 => Algorithm::HS256,
        Signing::Rs256 => Algorithm::RS256,
        Signing::Es256 => Algorithm::ES256,
        Signing::Eddsa => Algorithm::EdDSA,
    }
}

/// Key number `n` (1 for the first). Asymmetric test keys are fixed, so a rotated
/// asymmetric key differs only by its kid; an HMAC key is drawn anew.
fn load<T>(name: &'static str, r: jsonwebtoken::errors::Result<T>) -> Result<T, KeyError> {
    r.map_err(|e| KeyError::Load(name, e))
}

/// Key number `n`: fixed ones from `seed`, or fresh ones.
fn next_key(
    signing: Signing,
    seed: Option<u64>,
    n: u64,
    published_ms: i64,
) -> Result<Key, KeyError> {
    match seed {
        Some(seed) => make_key(signing, seed, n, published_ms),
        None => fresh_key(signing, n, published_ms),
    }
}

/// A key made now from the system's randomness, its private half read as PKCS#8 PEM
/// by the readers the fixed keys go through; its kid says it is fresh and unguessable.
fn fresh_key(signing: Signing, n: u64, published_ms: i64) -> Result<Key, KeyError> {
    let random = SystemRandom::new();
    let failed = |_| KeyError::Parse(signing.as_str(), "key generation failed".into());
    let pkcs8 = |der: &[u8]| {
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        )
    };
    let name = signing.as_str();
    let encoding = match signing {
        Signing::Hs256 => {
            let mut secret = [0u8; 32];
            aws_lc_rs::rand::SecureRandom::fill(&random, &mut secret).map_err(failed)?;
            EncodingKey::from_secret(&secret)
        }
        Signing::Rs256 => {
            use aws_lc_rs::encoding::AsDer;
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(failed)?;
            let der = pair.as_der().map_err(failed)?;
            load(
                name,
                EncodingKey::from_rsa_pem(pkcs8(der.as_ref()).as_bytes()),
            )?
        }
        Signing::Es256 => {
            let alg = &sig::ECDSA_P256_SHA256_FIXED_SIGNING;
            let der = sig::EcdsaKeyPair::generate_pkcs8(alg, &random).map_err(failed)?;
            load(
                name,
                EncodingKey::from_ec_pem(pkcs8(der.as_ref()).as_bytes()),
            )?
        }
        Signing::Eddsa => {
            // PKCS#8 v1, the form jsonwebtoken reads an Ed25519 key's public half from.
            let der = sig::Ed25519KeyPair::generate_pkcs8v1(&random).map_err(failed)?;
            load(
                name,
                EncodingKey::from_ed_pem(pkcs8(der.as_ref()).as_bytes()),
            )?
        }
    };
    let jwk = load(name, Jwk::from_encoding_key(&encoding, algorithm(signing)))?;
    let decoding = match signing {
        Signing::Hs256 => DecodingKey::from_secret(encoding.as_bytes()),
        _ => load(name, DecodingKey::from_jwk(&jwk))?,
    };
    let mut id = [0u8; 9];
    aws_lc_rs::rand::SecureRandom::fill(&random, &mut id).map_err(failed)?;
    let kid = format!("{name}-{n}-{}", URL_SAFE_NO_PAD.encode(id));
    finish_key(signing, kid, encoding, decoding, jwk, published_ms)
}

fn make_key(signing: Signing, seed: u64, n: u64, published_ms: i64) -> Result<Key, KeyError> {
    let kid = format!("{}-{n}", signing.as_str());
    // Asymmetric keys alternate between the two committed pairs.
    let second = n.is_multiple_of(2);
    let pick = |first: &'static str, other: &'static str| if second { other } else { first };
    let (encoding, decoding) = match signing {
        Signing::Hs256 => {
            let mut secret = [0u8; 32];
            rng::rng(seed, &[stream::KEYS, n]).fill_bytes(&mut secret);
            (
                EncodingKey::from_secret(&secret),
                DecodingKey::from_secret(&secret),
            )
        }
        Signing::Rs256 => (
            load(
                "rs256",
                EncodingKey::from_rsa_pem(pick(RS256_PRIVATE, RS256_2_PRIVATE).as_bytes()),
            )?,
            load(
                "rs256",
                DecodingKey::from_rsa_pem(pick(RS256_PUBLIC, RS256_2_PUBLIC).as_bytes()),
            )?,
        ),
        Signing::Es256 => (
            load(
                "es256",
                EncodingKey::from_ec_pem(pick(ES256_PRIVATE, ES256_2_PRIVATE).as_bytes()),
            )?,
            load(
                "es256",
                DecodingKey::from_ec_pem(pick(ES256_PUBLIC, ES256_2_PUBLIC).as_bytes()),
            )?,
        ),
        Signing::Eddsa => (
            load(
                "eddsa",
                EncodingKey::from_ed_pem(pick(EDDSA_PRIVATE, EDDSA_2_PRIVATE).as_bytes()),
            )?,
            load(
                "eddsa",
                DecodingKey::from_ed_pem(pick(EDDSA_PUBLIC, EDDSA_2_PUBLIC).as_bytes()),
            )?,
        ),
    };
    let jwk = load(
        signing.as_str(),
        Jwk::from_encoding_key(&encoding, algorithm(signing)),
    )?;
    finish_key(signing, kid, encoding, decoding, jwk, published_ms)
}

/// The key `kid` of these halves, with its JWK's and its tokens' headers made once.
fn finish_key(
    signing: Signing,
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    mut jwk: Jwk,
    published_ms: i64,
) -> Result<Key, KeyError> {
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let mut header = Header::new(algorithm(signing));
    header.kid = Some(kid.clone());
    let header = serde_json::to_vec(&header).map_err(|e| KeyError::Sign(e.to_string()))?;
    Ok(Key {
        kid,
        signer: Signer::of(signing, &encoding)?,
        header_b64: URL_SAFE_NO_PAD.encode(header),
        decoding,
        jwk,
        published_ms,
        retired_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys parsed once sign what jsonwebtoken's `encode` signs, to the byte where
    /// the algorithm is deterministic (HMAC, RSA PKCS#1 v1.5, Ed25519).
    #[test]
    fn a_parsed_key_signs_what_jsonwebtoken_signs() {
        #[derive(Serialize)]
        struct C {
            sub: &'static str,
            exp: i64,
        }
        let claims = C {
            sub: "u",
            exp: 2_000_000_000,
        };
        for signing in [Signing::Hs256, Signing::Rs256, Signing::Eddsa] {
            let set = KeySet::new(signing, 7).unwrap();
            let key = make_key(signing, 7, 1, i64::MIN).unwrap();
            let mut header = Header::new(algorithm(signing));
            header.kid = Some(key.kid.clone());
            let encoding = match signing {
                Signing::Hs256 => {
                    let mut secret = [0u8; 32];
                    rng::rng(7, &[stream::KEYS, 1]).fill_bytes(&mut secret);
                    EncodingKey::from_secret(&secret)
                }
                Signing::Rs256 => EncodingKey::from_rsa_pem(RS256_PRIVATE.as_bytes()).unwrap(),
                _ => EncodingKey::from_ed_pem(EDDSA_PRIVATE.as_bytes()).unwrap(),
            };
            let theirs = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
            assert_eq!(set.sign(&claims).unwrap(), theirs, "{signing:?}");
        }
    }

    #[test]
    fn every_algorithm_signs_and_its_key_verifies() {
        for signing in [
            Signing::Hs256,
            Signing::Rs256,
            Signing::Es256,
            Signing::Eddsa,
        ] {
            let keys = KeySet::new(signing, 7).unwrap();
            let token = keys.sign(&serde_json::json!({"sub": "u"})).unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.alg, keys.algorithm());
            let kid = header.kid.unwrap();
            let mut v = jsonwebtoken::Validation::new(keys.algorithm());
            v.required_spec_claims.clear();
            v.validate_exp = false;
            let ok = keys
                .with_published_key(&kid, 0, |k| {
                    jsonwebtoken::decode::<serde_json::Value>(&token, k, &v).is_ok()
                })
                .unwrap();
            assert!(ok, "{signing:?}");
        }
    }

    #[test]
    fn fresh_keys_sign_verify_and_are_never_the_same_twice() {
        for signing in [
            Signing::Hs256,
            Signing::Rs256,
            Signing::Es256,
            Signing::Eddsa,
        ] {
            let keys = KeySet::fresh(signing).unwrap();
            let again = KeySet::fresh(signing).unwrap();
            let fixed = KeySet::new(signing, 7).unwrap();
            let token = keys.sign(&serde_json::json!({"sub": "u"})).unwrap();
            let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
            let mut v = jsonwebtoken::Validation::new(keys.algorithm());
            v.required_spec_claims.clear();
            v.validate_exp = false;
            let verifies = |set: &KeySet, kid: &str| {
                set.with_published_key(kid, 0, |k| {
                    jsonwebtoken::decode::<serde_json::Value>(&token, k, &v).is_ok()
                })
            };
            assert_eq!(verifies(&keys, &kid), Some(true), "{signing:?}");
            // The public halves the set publishes are its own, not a fixed key's nor
            // another fresh set's.
            let jwk = |set: &KeySet| serde_json::to_value(&set.published(0, true).keys[0]).unwrap();
            let (a, b, f) = (jwk(&keys), jwk(&again), jwk(&fixed));
            let material = |j: &serde_json::Value| ["k", "n", "x"].map(|m| j.get(m).cloned());
            assert_ne!(material(&a), material(&b), "{signing:?}");
            assert_ne!(material(&a), material(&f), "{signing:?}");
            assert_eq!(a["alg"], serde_json::to_value(keys.algorithm()).unwrap());
            // A rotation makes another fresh key; the old one still verifies.
            let new_kid = keys.rotate(0, 60_000, 0).unwrap();
            assert_ne!(new_kid, kid);
            assert_eq!(verifies(&keys, &kid), Some(true), "{signing:?}");
        }
    }

    #[test]
    fn hmac_secret_follows_the_seed_and_rotation_keeps_old_keys() {
        let a = KeySet::new(Signing::Hs256, 1).unwrap();
        let b = KeySet::new(Signing::Hs256, 1).unwrap();
        let c = KeySet::new(Signing::Hs256, 2).unwrap();
        let claims = serde_json::json!({"sub": "u"});
        assert_eq!(a.sign(&claims).unwrap(), b.sign(&claims).unwrap());
        assert_ne!(a.sign(&claims).unwrap(), c.sign(&claims).unwrap());
        let old = a.current_kid();
        let new = a.rotate(1_000, 500, 0).unwrap();
        assert_ne!(old, new);
        assert_eq!(a.current_kid(), new);
        assert!(a.with_published_key(&old, 1_499, |_| ()).is_some());
        assert!(a.with_published_key(&old, 1_500, |_| ()).is_none());
    }

    fn kids(set: &JwkSet) -> Vec<String> {
        set.keys
            .iter()
            .map(|k| k.common.key_id.clone().unwrap())
            .collect()
    }

    #[test]
    fn the_published_set_follows_the_overlap_and_the_publish_delay() {
        for signing in [
            Signing::Hs256,
            Signing::Rs256,
            Signing::Es256,
            Signing::Eddsa,
        ] {
            let k = KeySet::new(signing, 3).unwrap();
            let one = k.current_kid();
            let two = k.rotate(1_000, 600, 100).unwrap();
            let just_one = std::slice::from_ref(&one);
            assert_eq!(kids(&k.published(999, true)), just_one);
            // Signing with `two` from 1000, published from 1100; `one` kept until 1600.
            assert_eq!(kids(&k.published(1_050, true)), just_one);
            assert_eq!(kids(&k.published(1_100, true)), [one.clone(), two.clone()]);
            assert_eq!(kids(&k.published(1_600, true)), std::slice::from_ref(&two));
            // A published JWK verifies what its key signed.
            let token = k.sign(&serde_json::json!({"sub": "u"})).unwrap();
            let set = k.published(2_000, true);
            let jwk = set.find(&two).unwrap();
            let key = DecodingKey::from_jwk(jwk).unwrap();
            let mut v = jsonwebtoken::Validation::new(k.algorithm());
            v.required_spec_claims.clear();
            v.validate_exp = false;
            assert!(
                jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).is_ok(),
                "{signing:?}"
            );
            assert!(k.with_published_key(&one, 2_000, |_| ()).is_none());
            assert!(k.with_published_key(&two, 2_000, |_| ()).is_some());
        }
    }
}
