//! RFC 7519 §2 NumericDate: seconds since the epoch as a JSON number, fractions allowed.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time claim (`exp`, `iat`, `nbf`) as whole Unix seconds. A fraction rounds up, so a
/// limit taken from `exp` (how long a replay entry lives) never ends before the moment
/// any verifier stops accepting the token. Before the epoch or after 9999-12-31 is
/// refused: such a value is an attack on arithmetic, not a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NumericDate(i64);

impl NumericDate {
    /// 9999-12-31T23:59:59Z.
    pub const MAX: i64 = 253_402_300_799;

    pub fn from_secs(secs: i64) -> Option<Self> {
        (0..=Self::MAX).contains(&secs).then_some(Self(secs))
    }

    pub fn secs(self) -> i64 {
        self.0
    }
}

impl Serialize for NumericDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumericDateVisitor)
    }
}

struct NumericDateVisitor;

const OUT_OF_RANGE: &str = "a NumericDate between 1970 and 9999";

impl Visitor<'_> for NumericDateVisitor {
    type Value = NumericDate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(OUT_OF_RANGE)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<NumericDate, E> {
        i64::try_from(value)
            .ok()
            .and_then(NumericDate::from_secs)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(value), &OUT_OF_RANGE))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<NumericDate, E> {
        NumericDate::from_secs(value).ok_or_else(|| E::invalid_value(de::Unexpected::Signed(value), &OUT_OF_RANGE))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<NumericDate, E> {
        let refuse = || E::invalid_value(de::Unexpected::Float(value), &OUT_OF_RANGE);
        if !value.is_finite() || value < 0.0 || value.ceil() > NumericDate::MAX as f64 {
            return Err(refuse());
        }
        // In range, so the cast is exact.
        NumericDate::from_secs(value.ceil() as i64).ok_or_else(refuse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<NumericDate, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn integers_and_fractions_parse_fractions_round_up() {
        assert_eq!(parse("1700000000").expect("int").secs(), 1_700_000_000);
        assert_eq!(parse("1700000000.25").expect("fraction").secs(), 1_700_000_001);
        assert_eq!(parse("1.7e9").expect("exponent").secs(), 1_700_000_000);
        assert_eq!(parse("0").expect("epoch").secs(), 0);
    }

    #[test]
    fn out_of_range_and_non_numbers_are_refused() {
        for bad in [
            "-1",
            "-0.5",
            "9223372036854775807",
            "18446744073709551615",
            "1e300",
            "253402300800",
            "\"1700000000\"",
            "null",
            "true",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
