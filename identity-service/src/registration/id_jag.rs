//! `{"type":"identity_assertion","assertion_type":"urn:ietf:params:oauth:token-type:id-jag",
//! "assertion":"<JWT>"}`: a trusted provider vouches for its user. A known delegation gets
//! its registration back; a new one is registered claimed at once, unless the verified
//! email already belongs to one of our humans: then the human must confirm through the
//! claim ceremony (no silent account linking).

use serde_json::Value;

use super::{CLAIM_TOKEN_CONTEXT, Delegation, Registration, RegistrationType};
use crate::claim::{SecretHandle, new_attempt, send_link};
use crate::email::Email;
use crate::error::{ClaimBlock, IdentityError};
use crate::providers::{ProviderError, ProviderExpectations};
use crate::state::AppState;

pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";

/// A registration the provider's assertion unlocked, with a fresh identity assertion.
#[derive(Debug)]
pub struct DelegatedRegistration {
    pub registration: Registration,
    pub identity_assertion: String,
    pub assertion_expires_at: i64,
}

pub async fn register_id_jag(state: &AppState, token: &str, now: i64) -> Result<DelegatedRegistration, IdentityError> {
    if !state.policy.id_jag_enabled {
        return Err(IdentityError::PathNotEnabled("identity_assertion_not_enabled"));
    }
    let expect = ProviderExpectations {
        audience: state.issuer.clone(),
        typ: ID_JAG_TYP,
        typ_required: false,
        require_exp: true,
        leeway: state.assertions.leeway(),
    };
    let (_, claims) = state.providers.verify(token, &expect).await.map_err(rejected)?;
    let iss = string_claim(&claims, "iss")?;
    let sub = string_claim(&claims, "sub")?;
    let jti = string_claim(&claims, "jti")?;
    let exp = claims["exp"].as_i64().unwrap_or(now);
    let until = exp + state.assertions.leeway().as_secs() as i64;
    if !state.replay.first_use(&iss, &jti, until).await? {
        return Err(IdentityError::AssertionRejected(
            "replay_detected",
            "this assertion was already used".into(),
        ));
    }
    let email = verified_email(&claims)?;
    if let Some(known) = known_delegation(state, &iss, &sub).await? {
        return issue(state, known, now);
    }
    let delegation = Delegation { iss, sub };
    if state.users.user_exists(&email).await? {
        return Err(step_up(state, delegation, email, now).await?);
    }
    register_claimed(state, delegation, email, now).await
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
) -> Result<DelegatedRegistration, IdentityError> {
    let mut registration = new_registration(state, now);
    registration.claimed_at = Some(now);
    registration.owner_email = Some(email.clone());
    registration.delegation = Some(delegation.clone());
    state.create_registration(&registration).await?;
    let winner = state
        .delegations
        .link_delegation(&delegation.iss, &delegation.sub, &registration.id)
        .await?;
    state.users.record_user(&email).await?;
    if winner != registration.id {
        // A replica registered the same delegation a moment earlier: theirs stands.
        let theirs =
            state.store.get(&winner).await?.ok_or_else(|| {
                IdentityError::Internal(format!("delegation points at missing registration {winner}"))
            })?;
        return issue(state, theirs, now);
    }
    issue(state, registration, now)
}

/// The human already has an account: a pending registration and a mailed claim link.
async fn step_up(
    state: &AppState,
    delegation: Delegation,
    email: Email,
    now: i64,
) -> Result<IdentityError, IdentityError> {
    let mut registration = new_registration(state, now);
    let claim = SecretHandle::generate(&registration.id);
    registration.claim_token_hash = Some(claim.hash(&state.hasher, CLAIM_TOKEN_CONTEXT));
    registration.delegation = Some(delegation);
    let (attempt, view) = new_attempt(state, &registration.id, email, now);
    registration.claim_attempt = Some(attempt.clone());
    state.create_registration(&registration).await?;
    send_link(state, &attempt, &view, &registration.id).await?;
    tracing::info!(audit = "claim_started", registration_id = %registration.id, "step-up claim started");
    Ok(IdentityError::InteractionRequired(Box::new(ClaimBlock {
        registration_id: registration.id.to_string(),
        claim_url: state.url("/agent/identity/claim"),
        claim_token: claim.to_string(),
        claim_token_expires_at: registration.claim_expires_at,
    })))
}

fn new_registration(state: &AppState, now: i64) -> Registration {
    let scopes = (
        state.policy.post_claim_scopes.clone(),
        state.policy.post_claim_scopes.clone(),
    );
    Registration::new(
        RegistrationType::IdentityAssertion,
        now,
        state.policy.claim_window,
        scopes,
        String::new(),
    )
}

fn issue(state: &AppState, registration: Registration, now: i64) -> Result<DelegatedRegistration, IdentityError> {
    let (identity_assertion, assertion_expires_at) = state.mint_assertion(&registration, now)?;
    Ok(DelegatedRegistration {
        registration,
        identity_assertion,
        assertion_expires_at,
    })
}

fn string_claim(claims: &Value, name: &str) -> Result<String, IdentityError> {
    claims[name]
        .as_str()
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| IdentityError::InvalidRequest(format!("the assertion lacks `{name}`")))
}

fn verified_email(claims: &Value) -> Result<Email, IdentityError> {
    let missing = || {
        IdentityError::AssertionRejected(
            "missing_verified_email",
            "the assertion carries no verified email".into(),
        )
    };
    if claims["email_verified"].as_bool() != Some(true) {
        return Err(missing());
    }
    claims["email"]
        .as_str()
        .and_then(|e| Email::parse(e).ok())
        .ok_or_else(missing)
}

/// A provider token's refusal as our wire error.
pub fn rejected(error: ProviderError) -> IdentityError {
    let message = error.to_string();
    match error {
        ProviderError::Malformed(_) | ProviderError::WrongType => IdentityError::InvalidRequest(message),
        ProviderError::UntrustedIssuer(_) => IdentityError::AssertionRejected("invalid_issuer", message),
        ProviderError::UnknownKey(_) | ProviderError::InvalidSignature => {
            IdentityError::AssertionRejected("invalid_signature", message)
        }
        ProviderError::Expired => IdentityError::AssertionRejected("expired", message),
        ProviderError::InvalidAudience => IdentityError::AssertionRejected("invalid_audience", message),
        ProviderError::KeysUnavailable(cause) => IdentityError::ProviderUnavailable(cause),
    }
}
