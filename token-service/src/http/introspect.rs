//! `POST /oauth2/introspect` (RFC 7662). Callers authenticate as a client that is a
//! resource server (its `introspect` permission); any other client is refused with 403
//! `insufficient_scope`, since §4 leaves who may introspect to the server and token
//! contents are not every client's business. A token is inactive once expired, revoked,
//! its agent's registration revoked, the human's consent it rests on revoked, or its
//! client disabled or deleted.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use shared::audit::Actor;
use shared::jose::unix_now;

use crate::clients::{ClientId, authenticate, presented_credentials};
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::state::AppState;

/// Agents' subjects are registration ids; machine clients' are client ids.
const AGENT_SUBJECT_PREFIX: &str = "reg_";

pub async fn introspect(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let form = FormParams::parse(&request, &body)?;
    let credentials = presented_credentials(&state, &request, &form)?.ok_or(OAuthError::InvalidClient(
        "introspection requires client authentication",
    ))?;
    let client = authenticate(&state, &request, credentials).await?.client;
    if !client.introspect {
        shared::audit::record(
            "introspection",
            Actor::Client(client.client_id.as_str()),
            "-",
            "insufficient_scope",
        );
        return Err(OAuthError::InsufficientScope(
            "this client may not introspect tokens: it is not registered as a resource server",
        ));
    }
    let token = form.require("token")?;
    let keys = state.keys.borrow().clone();
    let audit = |subject: &str, outcome: &str| {
        shared::audit::record(
            "introspection",
            Actor::Client(client.client_id.as_str()),
            subject,
            outcome,
        );
    };
    let inactive = |subject: &str| {
        audit(subject, "inactive");
        HttpResponse::Ok().json(json!({ "active": false }))
    };
    // §2.2: expired, revoked, malformed or foreign tokens are all just inactive.
    let Ok(claims) = state.access_tokens.verify(&keys, token) else {
        return Ok(inactive("-"));
    };
    if claims.exp <= unix_now() || state.denylist.is_denied(&claims.jti).await? {
        return Ok(inactive(&claims.sub));
    }
    // An agent's tokens die with its registration (provider revocation), not only by jti.
    if claims.sub.starts_with(AGENT_SUBJECT_PREFIX) && state.identity.revoked_at(&claims.sub).await?.is_some() {
        return Ok(inactive(&claims.sub));
    }
    // A token resting on a human's consent dies with the consent.
    if let Some(grant_id) = &claims.grant_id
        && !state.identity.grant_active(grant_id).await?
    {
        return Ok(inactive(&claims.sub));
    }
    // A machine client's tokens die with the client: disabled or deleted.
    if let Ok(id) = ClientId::parse(&claims.client_id) {
        let live = state.clients.get(&id).await?.is_some_and(|c| !c.disabled);
        if !live {
            return Ok(inactive(&claims.sub));
        }
    }
    audit(&claims.sub, "active");
    let token_type = claims.cnf.as_ref().map_or("Bearer", |c| c.token_type());
    let mut body = json!({
        "active": true,
        "scope": claims.scope,
        "client_id": claims.client_id,
        "token_type": token_type,
        "exp": claims.exp,
        "iat": claims.iat,
        "sub": claims.sub,
        "aud": claims.aud,
        "iss": claims.iss,
        "jti": claims.jti,
    });
    if let Some(cnf) = &claims.cnf {
        body["cnf"] = json!(cnf);
    }
    Ok(HttpResponse::Ok().json(body))
}
