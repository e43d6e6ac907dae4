//! The issuer's signing keys, and the verification keys a resource server trusts.
//!
//! `hs256` uses a 32-byte secret drawn from the scenario's seed; `rs256`, `es256` and
//! `eddsa` use the fixed, public test key pairs under `test_keys/`. Every key has a
//! `kid`, written in each token's header, so a key set can rotate: it gains a new
//! current key and keeps the old ones for verification.

use std::sync::RwLock;

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

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the {0} test key does not load: {1}")]
    Load(&'static str, jsonwebtoken::errors::Error),
    #[error("signing failed: {0}")]
    Sign(jsonwebtoken::errors::Error),
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

struct Keys {
    /// Index of the key that signs; older ones still verify.
    current: usize,
    all: Vec<Key>,
}

pub struct KeySet {
    algorithm: Algorithm,
    signing: Signing,
    seed: u64,
    keys: RwLock<Keys>,
}

impl KeySet {
    pub fn new(signing: Signing, seed: u64) -> Result<KeySet, KeyError> {
        let first = make_key(signing, seed, 1)?;
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

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The kid of the key that signs now.
    pub fn current_kid(&self) -> String {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.all[keys.current].kid.clone()
    }

    /// Starts signing with a new key; the old ones keep verifying. Returns the new kid.
    pub fn rotate(&self) -> Result<String, KeyError> {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let n = keys.all.len() as u64 + 1;
        let key = make_key(self.signing, self.seed, n)?;
        let kid = key.kid.clone();
        keys.all.push(key);
        keys.current = keys.all.len() - 1;
        Ok(kid)
    }

    /// Signs `claims` as a JWT with the current key (`typ: JWT`, `kid` set).
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, KeyError> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let key = &keys.all[keys.current];
        let mut header = Header::new(self.algorithm);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(KeyError::Sign)
    }

    /// Runs `f` with the verification key of `kid`, if the set knows it.
    pub fn with_decoding_key<R>(&self, kid: &str, f: impl FnOnce(&DecodingKey) -> R) -> Option<R> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.all
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| f(&k.decoding))
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

fn make_key(signing: Signing, seed: u64, n: u64) -> Result<Key, KeyError> {
    let kid = format!("{}-{n}", signing.as_str());
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
            load("rs256", EncodingKey::from_rsa_pem(RS256_PRIVATE.as_bytes()))?,
            load("rs256", DecodingKey::from_rsa_pem(RS256_PUBLIC.as_bytes()))?,
        ),
        Signing::Es256 => (
            load("es256", EncodingKey::from_ec_pem(ES256_PRIVATE.as_bytes()))?,
            load("es256", DecodingKey::from_ec_pem(ES256_PUBLIC.as_bytes()))?,
        ),
        Signing::Eddsa => (
            load("eddsa", EncodingKey::from_ed_pem(EDDSA_PRIVATE.as_bytes()))?,
            load("eddsa", DecodingKey::from_ed_pem(EDDSA_PUBLIC.as_bytes()))?,
        ),
    };
    Ok(Key {
        kid,
        encoding,
        decoding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
                .with_decoding_key(&kid, |k| {
                    jsonwebtoken::decode::<serde_json::Value>(&token, k, &v).is_ok()
                })
                .unwrap();
            assert!(ok, "{signing:?}");
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
        let new = a.rotate().unwrap();
        assert_ne!(old, new);
        assert_eq!(a.current_kid(), new);
        assert!(a.with_decoding_key(&old, |_| ()).is_some());
    }
}
