//! Human durations (`250ms`, `30s`, `5m`, `1h`, `14d`, `1h30m`, `-45s`).
//!
//! Every duration in a scenario is written this way, so one type parses them all and
//! every error says the same thing about what is accepted. The unit of the project is the
//! millisecond: tokio's timers have 1 ms resolution, and so does everything we measure.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// What a duration may look like; quoted in every error about one.
pub(crate) const ACCEPTED: &str =
    "a duration such as 250ms, 30s, 5m, 1h, 14d or 1h30m (a leading - for negative offsets)";

/// A signed duration in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub i64);

impl Dur {
    pub const ZERO: Dur = Dur(0);

    pub const fn ms(ms: i64) -> Dur {
        Dur(ms)
    }
    pub const fn secs(s: i64) -> Dur {
        Dur(s * 1000)
    }
    pub fn as_ms(self) -> i64 {
        self.0
    }
    pub(crate) fn is_negative(self) -> bool {
        self.0 < 0
    }
    /// The duration as a tokio/std duration; negative values become zero.
    pub(crate) fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.max(0) as u64)
    }

    /// Parses a human duration. Fractions are allowed (`1.5s`); the result is rounded to
    /// the millisecond.
    pub(crate) fn parse(text: &str) -> Result<Dur, String> {
        let s = text.trim();
        let (neg, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        if body == "0" {
            return Ok(Dur(0));
        }
        if body.is_empty() {
            return Err(format!("expected {ACCEPTED}, found an empty value"));
        }
        let bytes = body.as_bytes();
        let mut i = 0;
        let mut total: f64 = 0.0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            if start == i {
                return Err(format!("expected {ACCEPTED}, found `{text}`"));
            }
            let number: f64 = body[start..i]
                .parse()
                .map_err(|_| format!("expected {ACCEPTED}, found `{text}`"))?;
            let ustart = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let factor = match &body[ustart..i] {
                "ms" => 1.0,
                "s" => 1_000.0,
                "m" => 60_000.0,
                "h" => 3_600_000.0,
                "d" => 86_400_000.0,
                "" => return Err(format!("`{text}` has no unit: expected {ACCEPTED}")),
                other => {
                    return Err(format!(
                        "unknown unit `{other}` in `{text}`: expected {ACCEPTED}"
                    ));
                }
            };
            total += number * factor;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
        }
        if !total.is_finite() || total > (i64::MAX / 2) as f64 {
            return Err(format!("`{text}` is too large"));
        }
        let ms = total.round() as i64;
        Ok(Dur(if neg { -ms } else { ms }))
    }
}

impl fmt::Display for Dur {
    /// Formats the way a person writes it: `1h30m`, `250ms`, `-45s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        if ms < 0 {
            f.write_str("-")?;
            ms = -ms;
        }
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms >= size {
                write!(f, "{}{}", ms / size, unit)?;
                ms %= size;
            }
        }
        if ms > 0 {
            write!(f, "{ms}ms")?;
        }
        Ok(())
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(ACCEPTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                Dur::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                if v == 0 {
                    Ok(Dur(0))
                } else {
                    Err(E::custom(format!("`{v}` has no unit: expected {ACCEPTED}")))
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                self.visit_u64(v.unsigned_abs())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!("`{v}` has no unit: expected {ACCEPTED}")))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_compounds() {
        assert_eq!(Dur::parse("250ms"), Ok(Dur(250)));
        assert_eq!(Dur::parse("30s"), Ok(Dur(30_000)));
        assert_eq!(Dur::parse("5m"), Ok(Dur(300_000)));
        assert_eq!(Dur::parse("1h"), Ok(Dur(3_600_000)));
        assert_eq!(Dur::parse("14d"), Ok(Dur(14 * 86_400_000)));
        assert_eq!(Dur::parse("1h30m"), Ok(Dur(5_400_000)));
        assert_eq!(Dur::parse("-45s"), Ok(Dur(-45_000)));
        assert_eq!(Dur::parse("1.5s"), Ok(Dur(1_500)));
        assert_eq!(Dur::parse("0"), Ok(Dur(0)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in ["", "10", "s", "10x", "ten seconds", "1h-5m"] {
            let err = Dur::parse(bad).unwrap_err();
            assert!(
                err.contains("expected") || err.contains("unit"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn displays_as_written() {
        for s in ["1h30m", "250ms", "-45s", "14d", "0s", "1m1s1ms"] {
            assert_eq!(Dur::parse(s).unwrap().to_string(), s);
        }
    }
}
