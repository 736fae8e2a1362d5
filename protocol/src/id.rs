//! Identifiers of the form `<prefix>_<32 lowercase hex digits>` (128 random bits):
//! registrations (`reg_`), clients (`cli_`), claim attempts (`att_`). One newtype,
//! parameterised by its prefix, so each kind parses strictly and no two kinds mix.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What distinguishes one kind of identifier from another.
pub trait IdKind {
    /// Including the underscore: `reg_`.
    const PREFIX: &'static str;
    /// For error messages: "registration id".
    const WHAT: &'static str;
}

/// An identifier of kind `K`, valid by construction.
pub struct PrefixedId<K> {
    value: String,
    kind: PhantomData<fn() -> K>,
}

/// A string that is not an identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {what}")]
pub struct InvalidId {
    pub what: &'static str,
}

const HEX_DIGITS: usize = 32;

impl<K: IdKind> PrefixedId<K> {
    /// A fresh identifier from the OS CSPRNG.
    pub fn random() -> Self {
        let hex: String = crate::secrets::random_bytes(HEX_DIGITS / 2)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self::trusted(format!("{}{hex}", K::PREFIX))
    }

    /// The identifier a keyed digest names (its first 128 bits): the same input always
    /// gives the same id, and the id says nothing about the input without the key.
    ///
    /// # Panics
    /// When `digest` is shorter than 16 bytes.
    pub fn from_digest(digest: &[u8]) -> Self {
        let hex: String = digest[..HEX_DIGITS / 2].iter().map(|b| format!("{b:02x}")).collect();
        Self::trusted(format!("{}{hex}", K::PREFIX))
    }

    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        let invalid = InvalidId { what: K::WHAT };
        let hex = value.strip_prefix(K::PREFIX).ok_or(invalid.clone())?;
        let valid = hex.len() == HEX_DIGITS && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if valid {
            Ok(Self::trusted(value.to_owned()))
        } else {
            Err(invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    fn trusted(value: String) -> Self {
        Self {
            value,
            kind: PhantomData,
        }
    }
}

impl<K> Clone for PrefixedId<K> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> PartialEq for PrefixedId<K> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<K> Eq for PrefixedId<K> {}

impl<K> Hash for PrefixedId<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<K> fmt::Debug for PrefixedId<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

impl<K> fmt::Display for PrefixedId<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl<K: IdKind> TryFrom<String> for PrefixedId<K> {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl<K> From<PrefixedId<K>> for String {
    fn from(id: PrefixedId<K>) -> Self {
        id.value
    }
}

impl<K> Serialize for PrefixedId<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de, K: IdKind> Deserialize<'de> for PrefixedId<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Thing {}
    impl IdKind for Thing {
        const PREFIX: &'static str = "thg_";
        const WHAT: &'static str = "thing id";
    }
    type ThingId = PrefixedId<Thing>;

    #[test]
    fn random_ids_parse_back() {
        let id = ThingId::random();
        assert_eq!(ThingId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(id.as_str().len(), 4 + 32);
        let json = serde_json::to_string(&id).expect("serializes");
        assert_eq!(serde_json::from_str::<ThingId>(&json).expect("deserializes"), id);
    }

    #[test]
    fn parsing_is_strict() {
        for bad in [
            "",
            "thg_",
            "thg_XYZ",
            "reg_0123456789abcdef0123456789abcdef",
            "thg_0123456789ABCDEF0123456789abcdef",
            "thg_0123456789abcdef0123456789abcdef0",
        ] {
            assert_eq!(ThingId::parse(bad), Err(InvalidId { what: "thing id" }), "{bad}");
        }
        assert!(serde_json::from_str::<ThingId>("\"thg_1\"").is_err());
    }
}
