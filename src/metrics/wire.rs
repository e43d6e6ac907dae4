//! Latency histograms as text, so that a worker's report can carry them and `merge`
//! can add them up exactly.
//!
//! The encoding is HdrHistogram's own V2 format compressed with DEFLATE (the one its
//! Java, Go and Python ports read too), then standard base64 for JSON. Percentiles do
//! not add up across workers; the recorded counts do.

use base64::Engine;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use super::Latencies;

impl Latencies {
    /// V2 + DEFLATE, base64 (standard alphabet, padded).
    pub(crate) fn encode(&self) -> Result<String, String> {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.0, &mut bytes)
            .map_err(|e| e.to_string())?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// What [`Latencies::encode`] wrote; an error says what is wrong with `text`.
    pub(crate) fn decode(text: &str) -> Result<Latencies, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("not an HdrHistogram in V2 format: {e:?}"))?;
        let mut l = Latencies::default();
        l.add(&h)?;
        Ok(l)
    }

    /// Adds every value `other` recorded.
    pub(crate) fn add(&mut self, other: &Histogram<u64>) -> Result<(), String> {
        self.0
            .add(other)
            .map_err(|e| format!("its values do not fit a latency histogram: {e:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn round_trips_and_adds_up_exactly() {
        let mut a = Latencies::default();
        let mut b = Latencies::default();
        let mut both = Latencies::default();
        for ms in 1..=500u64 {
            let d = Duration::from_micros(ms * 997);
            if ms % 3 == 0 { &mut a } else { &mut b }.record(d);
            both.record(d);
        }
        let mut merged = Latencies::decode(&a.encode().unwrap()).unwrap();
        merged
            .add(Latencies::decode(&b.encode().unwrap()).unwrap().histogram())
            .unwrap();
        assert_eq!(merged.histogram(), both.histogram());
        assert_eq!(merged.percentiles(), both.percentiles());
        let empty = Latencies::decode(&Latencies::default().encode().unwrap()).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn bad_text_is_an_error() {
        assert!(
            Latencies::decode("***")
                .unwrap_err()
                .starts_with("not base64")
        );
        assert!(
            Latencies::decode("aGVsbG8gd29ybGQ=")
                .unwrap_err()
                .starts_with("not an HdrHistogram")
        );
    }
}
