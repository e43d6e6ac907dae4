//! Threshold conditions: `op value`, with op one of `< <= > >= == !=`, as k6 writes
//! them. [`Condition::parse`] is used by the scenario checks, so a bad condition is
//! refused before anything runs.

use std::fmt;

/// The comparison of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// `op value`, e.g. `< 0.001`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Condition {
    pub op: Op,
    pub value: f64,
}

/// What a condition may look like, for error messages.
pub(crate) const ACCEPTED: &str =
    "a condition `op value` with op one of < <= > >= == != and a number, e.g. \"< 0.001\"";

impl Condition {
    pub(crate) fn parse(text: &str) -> Result<Condition, String> {
        let t = text.trim();
        // Two-character operators first, so `<=` is not read as `<` and `=5`.
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let Some((op, rest)) = ops
            .iter()
            .find_map(|(s, op)| t.strip_prefix(s).map(|rest| (*op, rest)))
        else {
            return Err(format!("`{text}` has no operator; expected {ACCEPTED}"));
        };
        let number = rest.trim();
        match number.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Condition { op, value }),
            _ => Err(format!(
                "`{number}` in `{text}` is not a number; expected {ACCEPTED}"
            )),
        }
    }

    pub(crate) fn holds(&self, actual: f64) -> bool {
        match self.op {
            Op::Lt => actual < self.value,
            Op::Le => actual <= self.value,
            Op::Gt => actual > self.value,
            Op::Ge => actual >= self.value,
            Op::Eq => actual == self.value,
            Op::Ne => actual != self.value,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.as_str(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_operator() {
        for (text, op, value) in [
            ("< 0.001", Op::Lt, 0.001),
            ("<=5", Op::Le, 5.0),
            ("> -1", Op::Gt, -1.0),
            (">= 1e3", Op::Ge, 1000.0),
            ("== 0", Op::Eq, 0.0),
            ("  != 2.5 ", Op::Ne, 2.5),
        ] {
            assert_eq!(
                Condition::parse(text),
                Ok(Condition { op, value }),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_condition() {
        for text in [
            "", "0.1", "=< 1", "< ", "< abc", "<< 1", "< NaN", "< inf", "~ 1",
        ] {
            assert!(Condition::parse(text).is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn holds_at_the_boundaries() {
        let c = |t: &str| Condition::parse(t).unwrap();
        assert!(c("< 1").holds(0.99) && !c("< 1").holds(1.0));
        assert!(c("<= 1").holds(1.0) && !c("<= 1").holds(1.01));
        assert!(c("> 1").holds(1.01) && !c("> 1").holds(1.0));
        assert!(c(">= 1").holds(1.0) && !c(">= 1").holds(0.99));
        assert!(c("== 0").holds(0.0) && !c("== 0").holds(0.1));
        assert!(c("!= 0").holds(0.1) && !c("!= 0").holds(0.0));
    }
}
