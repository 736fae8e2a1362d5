//! RFC 6749 §6 with OAuth 2.1 §4.3.1's rotation: the refresh token is checked against
//! its family (client, DPoP key, lifetime, idle timeout, reuse), the human's consent is
//! asked of identity-service (a revoked one kills the family's use), and only then is
//! the token rotated and a new access token minted: a refused request never burns the
//! client's token. `scope` may narrow what the family carries, never widen it.

use actix_web::HttpRequest;

use super::{approved_audiences, dpop_key, mint, narrow_scope, requested_resources};
use crate::access_token::{Confirmation, Minted, TokenRequest};
use crate::clients::identify;
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

pub async fn exchange(state: &AppState, request: &HttpRequest, form: &FormParams) -> Result<Minted, OAuthError> {
    let token = form.require("refresh_token")?;
    let requested = requested_resources(state, form)?;
    let client = identify(state, request, form).await?;
    let jkt = dpop_key(state, request).await?;
    let now = shared::jose::unix_now();
    let presented = state.refresh.check(token, &client.client_id, now).await?;
    let family = &presented.family;
    // RFC 9449 §5: a DPoP-bound family is refreshed only with a proof of its key.
    match (&family.jkt, &jkt) {
        (Some(bound), Some(proved)) if bound == proved => {}
        (Some(_), _) => {
            return Err(OAuthError::InvalidGrant(
                "this refresh token is bound to a DPoP key; send a proof of it".into(),
            ));
        }
        (None, _) if client.requires_dpop && jkt.is_none() => {
            return Err(OAuthError::InvalidRequest(
                "this client must send a DPoP proof with every token request".into(),
            ));
        }
        (None, _) => {}
    }
    if !state.identity.grant_active(&family.grant_id).await? {
        return Err(OAuthError::InvalidGrant(
            "the human revoked the consent this refresh token rests on".into(),
        ));
    }
    let audiences = approved_audiences(state, requested, &family.resources)?;
    let scope = narrow_scope(&family.scopes, form, &audiences, state)?;
    let (family, rotated) = state.refresh.rotate(presented, now).await?;
    let mut minted = mint(
        state,
        TokenRequest {
            subject: &family.subject,
            client_id: &family.client_id,
            scope,
            audiences,
            // A bound family binds every token to its key; an unbound one to the key
            // this request proved, if any.
            cnf: Confirmation {
                jkt: family.jkt.clone().or(jkt),
                x5t_s256: client.certificate_thumbprint,
            },
            grant_id: Some(&family.grant_id),
        },
    )?;
    minted.refresh_token = Some(rotated);
    Ok(minted)
}
