//! A registration as Redis holds it: `v<version>:` then the record in postcard, where it
//! used to be a JSON object (which is still read). Every agent that ever registered has
//! one, so its size is the store's size: the id is its 16 bytes, not 36 characters; a
//! `client_id` equal to the id is not repeated; field names and `null`s are not written.
//! The version leads in plain digits so the compare-and-swap script reads it without
//! decoding the rest. Fields added later follow the record as postcard values of their
//! own, written only when set, so a record stored before them still decodes.

use protocol::scope::ScopeSet;
use serde::{Deserialize, Serialize};
use shared::store::StoreError;

use crate::email::Email;
use crate::registration::record::{ClaimAttempt, Delegation, Registration, RegistrationId, RegistrationType};

/// The record without its version (the prefix carries it), fields in a fixed order:
/// postcard is positional, so a field is only ever appended, never moved or removed.
#[derive(Serialize, Deserialize)]
struct Stored {
    /// The 32 hex digits after `reg_`, as the 16 bytes they spell.
    id: [u8; 16],
    registration_type: RegistrationType,
    /// `None`: the registration id itself.
    client_id: Option<String>,
    created_at: i64,
    claim_expires_at: i64,
    claim_token_hash: Option<String>,
    pre_claim_scopes: ScopeSet,
    post_claim_scopes: ScopeSet,
    claim_attempt: Option<ClaimAttempt>,
    owner_email: Option<Email>,
    claim_email: Option<Email>,
    delegation: Option<Delegation>,
    claimed_at: Option<i64>,
    revoked_at: Option<i64>,
    jkt: Option<String>,
}

/// The bytes to store for `registration`.
pub fn encode(registration: &Registration) -> Vec<u8> {
    let id = registration.id.as_str();
    let stored = Stored {
        id: id_bytes(id),
        registration_type: registration.registration_type,
        client_id: (registration.client_id != id).then(|| registration.client_id.clone()),
        created_at: registration.created_at,
        claim_expires_at: registration.claim_expires_at,
        claim_token_hash: registration.claim_token_hash.clone(),
        pre_claim_scopes: registration.pre_claim_scopes.clone(),
        post_claim_scopes: registration.post_claim_scopes.clone(),
        claim_attempt: registration.claim_attempt.clone(),
        owner_email: registration.owner_email.clone(),
        claim_email: registration.claim_email.clone(),
        delegation: registration.delegation.clone(),
        claimed_at: registration.claimed_at,
        revoked_at: registration.revoked_at,
        jkt: registration.jkt.clone(),
    };
    let mut out = format!("v{}:", registration.version).into_bytes();
    #[allow(clippy::expect_used)]
    out.extend(postcard::to_allocvec(&stored).expect("registrations serialize"));
    if let Some(scopes) = &registration.delegable_scopes {
        #[allow(clippy::expect_used)]
        out.extend(postcard::to_allocvec(scopes).expect("scopes serialize"));
    }
    out
}

/// The registration `raw` holds, in either form.
pub fn decode(key: &str, raw: &[u8]) -> Result<Registration, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: key.to_owned(),
        reason,
    };
    if raw.first() == Some(&b'{') {
        let json = std::str::from_utf8(raw).map_err(|e| corrupt(e.to_string()))?;
        return shared::store::decode_json(key, json);
    }
    let (version, body) = raw
        .strip_prefix(b"v")
        .and_then(|rest| {
            let colon = rest.iter().position(|b| *b == b':')?;
            let version = std::str::from_utf8(&rest[..colon]).ok()?.parse::<u64>().ok()?;
            Some((version, &rest[colon + 1..]))
        })
        .ok_or_else(|| corrupt("neither a JSON registration nor `v<version>:` and a record".into()))?;
    let (stored, later): (Stored, &[u8]) = postcard::take_from_bytes(body).map_err(|e| corrupt(e.to_string()))?;
    let delegable_scopes = if later.is_empty() {
        None
    } else {
        Some(postcard::from_bytes::<ScopeSet>(later).map_err(|e| corrupt(e.to_string()))?)
    };
    let id = RegistrationId::parse(&format!("reg_{:032x}", u128::from_be_bytes(stored.id)))
        .map_err(|e| corrupt(e.to_string()))?;
    Ok(Registration {
        client_id: stored.client_id.unwrap_or_else(|| id.to_string()),
        id,
        registration_type: stored.registration_type,
        created_at: stored.created_at,
        claim_expires_at: stored.claim_expires_at,
        claim_token_hash: stored.claim_token_hash,
        pre_claim_scopes: stored.pre_claim_scopes,
        post_claim_scopes: stored.post_claim_scopes,
        claim_attempt: stored.claim_attempt,
        owner_email: stored.owner_email,
        claim_email: stored.claim_email,
        delegation: stored.delegation,
        claimed_at: stored.claimed_at,
        revoked_at: stored.revoked_at,
        jkt: stored.jkt,
        delegable_scopes,
        version,
    })
}

/// `reg_` and 32 lowercase hex digits (all a parsed id can be) as the bytes they spell.
fn id_bytes(id: &str) -> [u8; 16] {
    #[allow(clippy::expect_used)]
    u128::from_str_radix(&id["reg_".len()..], 16)
        .expect("a registration id is reg_ and 32 hex digits")
        .to_be_bytes()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::registration::record::{Otp, RegistrationType};

    fn registration() -> Registration {
        let scopes = ScopeSet::parse("agent:read").expect("scope");
        let more = ScopeSet::parse("agent:read agent:write").expect("scope");
        Registration::new(
            RegistrationType::Anonymous,
            1_796_291_036,
            Duration::from_secs(86_400),
            (scopes, more),
            "0DQZlKnAyiIbv0q5MyX1Mdqv1bZ2BJuFRkbGQb2U5hs".into(),
        )
    }

    #[test]
    fn a_registration_comes_back_as_it_went_in_with_every_field_set_or_not() {
        let plain = registration();
        let key = "agentauth:identity:reg:x";
        assert_eq!(decode(key, &encode(&plain)).expect("decodes"), plain);
        let mut full = registration();
        full.client_id = "agent-of-someone".into();
        full.version = 12;
        full.claim_attempt = Some(ClaimAttempt {
            id: crate::registration::record::AttemptId::random(),
            email: Email::parse("ada@example.com").expect("email"),
            view_token_hash: "view".into(),
            link_expires_at: 1_796_291_636,
            otp: Some(Otp {
                hash: "otp".into(),
                expires_at: 1_796_291_336,
                failures: 2,
            }),
        });
        full.owner_email = Some(Email::parse("ada@example.com").expect("email"));
        full.claim_email = Some(Email::parse("grace@example.com").expect("email"));
        full.delegation = Some(Delegation {
            iss: "https://provider.example".into(),
            sub: "u1".into(),
            issued_at: 1_796_291_000,
        });
        full.claimed_at = Some(1_796_291_100);
        full.revoked_at = Some(1_796_291_200);
        full.jkt = Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into());
        let before_delegable_scopes = encode(&full);
        full.delegable_scopes = Some(ScopeSet::parse("agent:read").expect("scope"));
        assert_eq!(decode(key, &encode(&full)).expect("decodes"), full);
        full.delegable_scopes = None;
        assert_eq!(
            decode(key, &before_delegable_scopes).expect("decodes"),
            full,
            "a record stored before the field was added"
        );
    }

    #[test]
    fn a_record_stored_as_json_before_is_still_read() {
        let plain = registration();
        let json = shared::store::encode_json(&plain);
        assert_eq!(decode("k", json.as_bytes()).expect("decodes"), plain);
    }

    #[test]
    fn an_anonymous_registration_takes_a_fraction_of_its_json() {
        let plain = registration();
        let (compact, json) = (encode(&plain).len(), shared::store::encode_json(&plain).len());
        assert!(compact <= 120, "{compact} bytes (JSON: {json})");
        assert!(compact * 3 < json, "{compact} bytes against {json} of JSON");
    }

    #[test]
    fn garbage_is_corrupt_not_a_panic() {
        for raw in [&b""[..], b"v", b"v1", b"vx:", b"v1:\xff\xff", b"{not json"] {
            assert!(matches!(decode("k", raw), Err(StoreError::Corrupt { .. })), "{raw:?}");
        }
    }
}
