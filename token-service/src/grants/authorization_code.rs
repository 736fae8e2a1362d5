//! RFC 6749 §4.1.3 as OAuth 2.1 §4.1.3 tightens it: a code the authorization endpoint
//! issued, redeemed with **one** call to identity-service, which holds the code and
//! checks what it is bound to (client, redirect URI, PKCE verifier) and spends it. The
//! token is for the human (`sub` `usr_…`), carries the consent it rests on (`grant_id`,
//! so revoking the consent kills it), and its audiences are the resources the human
//! approved (RFC 8707 §2.2: a token request may name fewer, never others). A refresh
//! token starts its family (see [`crate::refresh`]), DPoP-bound when the token is.

use actix_web::HttpRequest;
use proto::identity::v1::RedeemAuthorizationCodeRequest;

use super::{approved_audiences, dpop_key, mint, narrow_scope, requested_resources};
use crate::access_token::{Confirmation, Minted, TokenRequest};
use crate::clients::identify;
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::refresh::NewFamily;
use crate::state::AppState;

pub async fn exchange(state: &AppState, request: &HttpRequest, form: &FormParams) -> Result<Minted, OAuthError> {
    let code = form.require("code")?;
    let requested = requested_resources(state, form)?;
    let client = identify(state, request, form).await?;
    let jkt = dpop_key(state, request).await?;
    if client.requires_dpop && jkt.is_none() {
        return Err(OAuthError::InvalidRequest(
            "this client must send a DPoP proof with every token request".into(),
        ));
    }
    let grant = state
        .identity
        .redeem(RedeemAuthorizationCodeRequest {
            code: code.to_owned(),
            client_id: client.client_id.clone(),
            redirect_uri: form.get("redirect_uri").unwrap_or_default().to_owned(),
            code_verifier: form.get("code_verifier").unwrap_or_default().to_owned(),
        })
        .await?;
    let audiences = approved_audiences(state, requested, &grant.resources)?;
    let scope = narrow_scope(&grant.scopes, form, &audiences, state)?;
    let mut minted = mint(
        state,
        TokenRequest {
            subject: &grant.subject,
            client_id: &grant.client_id,
            scope,
            audiences,
            cnf: Confirmation {
                jkt: jkt.clone(),
                x5t_s256: client.certificate_thumbprint,
            },
            grant_id: Some(&grant.grant_id),
        },
    )?;
    // The family carries what the human approved, not what this token narrowed it to.
    let family = NewFamily {
        client_id: &grant.client_id,
        subject: &grant.subject,
        grant_id: &grant.grant_id,
        scopes: &grant.scopes,
        resources: &grant.resources,
        jkt: jkt.as_deref(),
    };
    minted.refresh_token = Some(state.refresh.issue(family, shared::jose::unix_now()).await?);
    Ok(minted)
}
