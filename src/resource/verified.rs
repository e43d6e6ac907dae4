//! The resource's cache of verified tokens, keyed by the token itself.
//!
//! A lookup must match the presented token byte for byte: a cache keyed by less would
//! accept a forged token that shares the part keyed on. Comparing two 1 KB JWTs on
//! every request is a cache miss per line, so the key holds the request's own header
//! value when the token travelled in-process (the sim: the bytes are the client's, so
//! keeping them costs nothing, and the same token presented again is the same bytes
//! at the same address, which compares without reading them). Off the wire it keeps a
//! copy: a header value parsed by hyper shares the whole request head's buffer.

use hashbrown::HashTable;
use std::borrow::Borrow;
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

/// The hash of a token's bytes.
fn hash_of(token: &[u8]) -> u64 {
    let mut h = TailHash.build_hasher();
    h.write(token);
    h.finish()
}

/// Verified tokens: the entries in a vector, found through a table of their numbers.
///
/// A hash map keeps its entries in its table, which is up to half empty after it
/// grows: at a million tokens, 2 M buckets of 88 bytes (187 MB). Here the table holds
/// 4-byte numbers, and the entries fill a vector that grows by doubling (103 MB).
/// Removal (a sweep of expired tokens, a key leaving the key set) is rare and
/// rebuilds the table.
pub(super) struct Tokens<V> {
    entries: Vec<(Key, V)>,
    table: HashTable<u32>,
}

impl<V> Default for Tokens<V> {
    fn default() -> Self {
        Tokens {
            entries: Vec::new(),
            table: HashTable::new(),
        }
    }
}

impl<V> Tokens<V> {
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub(super) fn get(&self, token: &TokenBytes) -> Option<&V> {
        self.find(token).map(|(v, _)| v)
    }

    /// The value cached for `token`, and the two places its lookup read: its number in
    /// the table and its entry (for a caller that will look it up again to ask for
    /// them early).
    pub(super) fn find(&self, token: &TokenBytes) -> Option<(&V, [usize; 2])> {
        let entries = &self.entries;
        let number = self.table.find(hash_of(&token.0), |&i| {
            TokenBytes::new(entries[i as usize].0.token()) == token
        })?;
        let entry = &entries[*number as usize];
        let places = [
            std::ptr::from_ref(number) as usize,
            std::ptr::from_ref(entry) as usize,
        ];
        Some((&entry.1, places))
    }

    /// Caches `value` for `key`, in place of what was cached for the same token.
    pub(super) fn insert(&mut self, key: Key, value: V) {
        let Tokens { entries, table } = self;
        let hash = hash_of(key.token());
        if let Some(&i) = table.find(hash, |&i| entries[i as usize].0 == key) {
            entries[i as usize].1 = value;
            return;
        }
        // Past 4 billion tokens, new ones go uncached (and are verified each time).
        let Ok(number) = u32::try_from(entries.len()) else {
            return;
        };
        entries.push((key, value));
        table.insert_unique(hash, number, |&j| hash_of(entries[j as usize].0.token()));
    }

    /// Keeps only the entries `keep` says to.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let before = self.entries.len();
        self.entries.retain(|(_, v)| keep(v));
        if self.entries.len() == before {
            return;
        }
        let Tokens { entries, table } = self;
        table.clear();
        for (i, (key, _)) in entries.iter().enumerate() {
            table.insert_unique(hash_of(key.token()), i as u32, |&j| {
                hash_of(entries[j as usize].0.token())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_matches_the_same_bytes_anywhere_and_nothing_else() {
        let mut tokens: Tokens<u8> = Tokens::default();
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

    #[test]
    fn entries_are_replaced_kept_and_removed() {
        let values: Vec<HeaderValue> = (0..200)
            .map(|n| HeaderValue::try_from(format!("Bearer t{n}.sig{n}")).unwrap())
            .collect();
        let token = |v: &HeaderValue| v.as_bytes()[7..].to_vec();
        let mut tokens: Tokens<u32> = Tokens::default();
        for (n, v) in values.iter().enumerate() {
            tokens.insert(Key::new(v, &v.as_bytes()[7..], true), n as u32);
        }
        // The same token again replaces its value.
        tokens.insert(Key::new(&values[3], &token(&values[3]), false), 1000);
        assert_eq!(tokens.len(), 200);
        assert_eq!(tokens.get(TokenBytes::new(&token(&values[3]))), Some(&1000));
        tokens.retain(|&v| v % 2 == 0);
        assert_eq!(tokens.len(), 101);
        for (n, v) in values.iter().enumerate() {
            let expected = match n {
                3 => Some(1000),
                n if n % 2 == 0 => Some(n as u32),
                _ => None,
            };
            assert_eq!(
                tokens.get(TokenBytes::new(&token(v))).copied(),
                expected,
                "{n}"
            );
        }
    }
}
