//! `{"type":"identity_assertion","assertion_type":"urn:ietf:params:oauth:token-type:id-jag",
//! "assertion":"<JWT>"}`: a trusted provider vouches for its user. A known delegation gets
//! its registration back; a new one is registered claimed at once, unless the verified
//! email already belongs to one of our humans: then the human must confirm through the
//! claim ceremony (no silent account linking).

use serde::Deserialize;
use shared::jose::NumericDate;

use super::revoke::ensure_not_revoked;
use super::{CLAIM_TOKEN_CONTEXT, Delegation, Registration, RegistrationType, link_delegation};
use crate::claim::{SecretHandle, new_attempt, send_link};
use crate::email::Email;
use crate::error::{ClaimBlock, IdentityError};
use crate::providers::{ProviderError, ProviderExpectations, Untyped};
use crate::state::AppState;

pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";

/// A registration the provider's assertion unlocked, with a fresh identity assertion.
#[derive(Debug)]
pub struct DelegatedRegistration {
    pub registration: Registration,
    pub identity_assertion: String,
    pub assertion_expires_at: i64,
}

/// The claims of an ID-JAG we act on, read after its signature is verified.
#[derive(Debug, Deserialize)]
struct IdJagClaims {
    iss: String,
    sub: String,
    jti: String,
    iat: NumericDate,
    exp: NumericDate,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
}

/// `binding`: the DPoP key the request proved, which the assertion is bound to.
pub async fn register_id_jag(
    state: &AppState,
    token: &str,
    now: i64,
    binding: Option<String>,
) -> Result<DelegatedRegistration, IdentityError> {
    if !state.policy.id_jag_enabled {
        return Err(IdentityError::PathNotEnabled("identity_assertion_not_enabled"));
    }
    let leeway = state.assertions.leeway();
    let expect = ProviderExpectations {
        audience: state.issuer.clone(),
        typ: ID_JAG_TYP,
        untyped: Untyped::AllowedIfProviderOptsIn,
        require_exp: true,
        max_lifetime: Some(state.assertions.max_lifetime()),
        leeway,
    };
    let (_, claims) = state
        .providers
        .verify::<IdJagClaims>(token, &expect)
        .await
        .map_err(rejected)?;
    for (name, value) in [("iss", &claims.iss), ("sub", &claims.sub), ("jti", &claims.jti)] {
        if value.is_empty() {
            return Err(IdentityError::InvalidRequest(format!("the assertion lacks `{name}`")));
        }
    }
    // Remembered until the assertion itself stops being accepted: `exp` is a bounded
    // NumericDate (at most `max_lifetime` after an `iat` that is not in the future).
    let until = claims.exp.secs().saturating_add(leeway.as_secs() as i64);
    if !state.replay.first_use(&claims.iss, &claims.jti, until).await? {
        return Err(IdentityError::AssertionRejected(
            "replay_detected",
            "this assertion was already used".into(),
        ));
    }
    let email = verified_email(&claims)?;
    let delegation = Delegation {
        iss: claims.iss,
        sub: claims.sub,
        issued_at: claims.iat.secs(),
    };
    ensure_not_revoked(state, &delegation).await?;
    if let Some(known) = known_delegation(state, &delegation.iss, &delegation.sub).await? {
        return issue(state, known, now, binding);
    }
    if state.users.user_exists(&email).await? {
        return Err(step_up(state, delegation, email, now, binding).await?);
    }
    register_claimed(state, delegation, email, now, binding).await
}

/// The live, claimed registration a delegation maps to; a stale mapping is dropped.
async fn known_delegation(state: &AppState, iss: &str, sub: &str) -> Result<Option<Registration>, IdentityError> {
    let Some(id) = state.delegations.delegation(iss, sub).await? else {
        return Ok(None);
    };
    match state.store.get(&id).await? {
        Some(registration) if registration.revoked_at.is_none() && registration.claimed_at.is_some() => {
            Ok(Some(registration))
        }
        _ => {
            state.delegations.unlink_delegation(iss, sub).await?;
            Ok(None)
        }
    }
}

async fn register_claimed(
    state: &AppState,
    delegation: Delegation,
    email: Email,
    now: i64,
    binding: Option<String>,
) -> Result<DelegatedRegistration, IdentityError> {
    let mut registration = new_registration(state, now, binding.clone());
    registration.claimed_at = Some(now);
    registration.owner_email = Some(email.clone());
    registration.delegation = Some(delegation.clone());
    state.create_registration(&registration).await?;
    let winner = link_delegation(state, &delegation, &registration.id, now).await?;
    state.users.record_user(&email).await?;
    if winner != registration.id {
        // A replica registered the same delegation a moment earlier: theirs stands.
        let theirs =
            state.store.get(&winner).await?.ok_or_else(|| {
                IdentityError::Internal(format!("delegation points at missing registration {winner}"))
            })?;
        return issue(state, theirs, now, binding);
    }
    issue(state, registration, now, binding)
}

/// The human already has an account: a pending registration and a mailed claim link.
async fn step_up(
    state: &AppState,
    delegation: Delegation,
    email: Email,
    now: i64,
    binding: Option<String>,
) -> Result<IdentityError, IdentityError> {
    let mut registration = new_registration(state, now, binding);
    let claim = SecretHandle::generate(&registration.id);
    registration.claim_token_hash = Some(claim.hash(&state.hasher, CLAIM_TOKEN_CONTEXT));
    registration.delegation = Some(delegation);
    // Only the human the provider named may confirm this link.
    registration.claim_email = Some(email.clone());
    let (attempt, view) = new_attempt(state, &registration.id, email, now);
    registration.claim_attempt = Some(attempt.clone());
    state.create_registration(&registration).await?;
    send_link(state, &attempt, &view, &registration.id).await?;
    let registration_id = registration.id.as_str();
    shared::audit::record(
        "claim_started",
        shared::audit::Actor::Registration(registration_id),
        registration_id,
        "success",
    );
    Ok(IdentityError::InteractionRequired(Box::new(ClaimBlock {
        registration_id: registration.id.to_string(),
        claim_url: state.url("/agent/identity/claim"),
        claim_token: claim.to_string(),
        claim_token_expires_at: registration.claim_expires_at,
    })))
}

fn new_registration(state: &AppState, now: i64, binding: Option<String>) -> Registration {
    let scopes = (
        state.policy.post_claim_scopes.clone(),
        state.policy.post_claim_scopes.clone(),
    );
    let mut registration = Registration::new(
        RegistrationType::IdentityAssertion,
        now,
        state.policy.claim_window,
        scopes,
        String::new(),
    );
    registration.jkt = binding;
    registration
}

/// The assertion for this request: bound to the key it proved, if any (a known
/// delegation re-registering may bring a new key).
fn issue(
    state: &AppState,
    mut registration: Registration,
    now: i64,
    binding: Option<String>,
) -> Result<DelegatedRegistration, IdentityError> {
    registration.jkt = binding;
    let (identity_assertion, assertion_expires_at) = state.mint_assertion(&registration, now)?;
    Ok(DelegatedRegistration {
        registration,
        identity_assertion,
        assertion_expires_at,
    })
}

fn verified_email(claims: &IdJagClaims) -> Result<Email, IdentityError> {
    let missing = || {
        IdentityError::AssertionRejected(
            "missing_verified_email",
            "the assertion carries no verified email".into(),
        )
    };
    if claims.email_verified != Some(true) {
        return Err(missing());
    }
    claims
        .email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .ok_or_else(missing)
}

/// A provider token's refusal as our wire error.
pub fn rejected(error: ProviderError) -> IdentityError {
    let message = error.to_string();
    match error {
        ProviderError::Malformed(_) | ProviderError::WrongType | ProviderError::UnsupportedCritical => {
            IdentityError::InvalidRequest(message)
        }
        ProviderError::LifetimeTooLong => IdentityError::AssertionRejected("lifetime_too_long", message),
        ProviderError::UntrustedIssuer(_) => IdentityError::AssertionRejected("invalid_issuer", message),
        ProviderError::UnknownKey(_) | ProviderError::InvalidSignature => {
            IdentityError::AssertionRejected("invalid_signature", message)
        }
        ProviderError::Expired => IdentityError::AssertionRejected("expired", message),
        ProviderError::InvalidAudience => IdentityError::AssertionRejected("invalid_audience", message),
        ProviderError::KeysUnavailable(cause) => IdentityError::ProviderUnavailable(cause),
    }
}
