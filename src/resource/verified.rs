//! The resource's cache of verified tokens, keyed by the token itself.
//!
//! A lookup must match the presented token byte for byte: a cache keyed by less would
//! accept a forged token that shares the part keyed on. Comparing two 1 KB JWTs on
//! every request is a cache miss per line, so the key holds the request's own header
//! value when the token travelled in-process (the sim: the bytes are the client's, so
//! keeping them costs nothing, and the same token presented again is the same bytes
//! at the same address, which compares without reading them). Off the wire it keeps a
//! copy: a header value parsed by hyper shares the whole request head's buffer.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use http::HeaderValue;

/// A token's bytes, compared by address first.
#[repr(transparent)]
pub(super) struct TokenBytes([u8]);

impl TokenBytes {
    pub(super) fn new(bytes: &[u8]) -> &TokenBytes {
        // SAFETY: TokenBytes is a transparent wrapper of [u8]: same layout and metadata.
        unsafe { &*(bytes as *const [u8] as *const TokenBytes) }
    }
}

impl PartialEq for TokenBytes {
    fn eq(&self, other: &TokenBytes) -> bool {
        std::ptr::eq(self.0.as_ptr(), other.0.as_ptr()) && self.0.len() == other.0.len()
            || self.0 == other.0
    }
}

impl Eq for TokenBytes {}

impl Hash for TokenBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

/// A cached token: the header value it came in (or a copy) and where in it the token
/// starts.
pub(super) struct Key {
    value: HeaderValue,
    start: usize,
}

impl Key {
    /// The key of `token`, a slice of `value`'s bytes; a copy unless `share`.
    pub(super) fn new(value: &HeaderValue, token: &[u8], share: bool) -> Key {
        let bytes = value.as_bytes();
        let start = (token.as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
        if share && bytes.get(start..start + token.len()) == Some(token) {
            return Key {
                value: value.clone(),
                start,
            };
        }
        Key {
            // A token68 is visible ASCII, so it always makes a header value.
            value: HeaderValue::from_bytes(token).unwrap_or(HeaderValue::from_static("")),
            start: 0,
        }
    }

    fn token(&self) -> &[u8] {
        &self.value.as_bytes()[self.start..]
    }
}

impl Borrow<TokenBytes> for Key {
    fn borrow(&self) -> &TokenBytes {
        TokenBytes::new(self.token())
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        TokenBytes::new(self.token()) == TokenBytes::new(other.token())
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        TokenBytes::new(self.token()).hash(state);
    }
}

/// Hashes a token by its last bytes only: they are the signature, as good as random,
/// and hashing the whole token per request would cost more than the lookup saves.
#[derive(Clone, Copy, Default)]
pub(super) struct TailHash;

impl BuildHasher for TailHash {
    type Hasher = TailHasher;
    fn build_hasher(&self) -> TailHasher {
        TailHasher(0xcbf2_9ce4_8422_2325)
    }
}

/// FNV-1a over at most the last 16 bytes written.
pub(super) struct TailHasher(u64);

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in &bytes[bytes.len().saturating_sub(16)..] {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(super) type Tokens<V> = HashMap<Key, V, TailHash>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_matches_the_same_bytes_anywhere_and_nothing_else() {
        let mut tokens: Tokens<u8> = HashMap::default();
        let sent = HeaderValue::from_static("Bearer aaa.bbb.ccc");
        let token = &sent.as_bytes()[7..];
        tokens.insert(Key::new(&sent, token, true), 1);
        // The same header value: found by address.
        assert_eq!(tokens.get(TokenBytes::new(token)), Some(&1));
        // A copy elsewhere in memory: found by its bytes.
        let copy = b"aaa.bbb.ccc".to_vec();
        assert_eq!(tokens.get(TokenBytes::new(&copy)), Some(&1));
        // Same tail (same hash), other bytes: not found.
        assert_eq!(tokens.get(TokenBytes::new(b"xxx.bbb.ccc")), None);
        // A shorter token at the same address is another token.
        assert_eq!(tokens.get(TokenBytes::new(&token[..5])), None);
        // A copy is kept when not sharing.
        let kept = Key::new(&sent, token, false);
        assert_eq!(kept.token(), b"aaa.bbb.ccc");
        assert_eq!(kept.start, 0);
    }
}
