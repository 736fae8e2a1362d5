//! RFC 8414 authorization server metadata, plus the `agent_auth` block (DESIGN §4).

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, web};
use serde_json::json;

use protocol::oauth::grant_type::{AUTHORIZATION_CODE, CLIENT_CREDENTIALS, JWT_BEARER, REFRESH_TOKEN, TOKEN_EXCHANGE};
use protocol::oauth::token_type;

use crate::state::AppState;

fn identity_types(state: &AppState) -> Vec<&'static str> {
    let mut types = Vec::new();
    if state.registrations.policy().anonymous_enabled {
        types.push("anonymous");
    }
    if !assertion_types(state).is_empty() {
        types.push("identity_assertion");
    }
    types
}

fn assertion_types(state: &AppState) -> Vec<&'static str> {
    let mut types = Vec::new();
    if state.registrations.policy().id_jag_enabled {
        types.push(super::register::ID_JAG);
    }
    if state.registrations.policy().verified_email_enabled {
        types.push(super::register::VERIFIED_EMAIL);
    }
    types
}

/// The security events `/agent/event/notify` acts on.
fn events_supported() -> Vec<&'static str> {
    let mut events = vec![super::events::ASSERTION_REVOKED];
    events.extend(super::events::USER_EVENTS);
    events
}

pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let mut body = json!({
        "issuer": state.issuer,
        "authorization_endpoint": state.url("/oauth2/authorize"),
        "token_endpoint": state.url("/oauth2/token"),
        "registration_endpoint": state.url("/oauth2/register"),
        "revocation_endpoint": state.url("/oauth2/revoke"),
        "introspection_endpoint": state.url("/oauth2/introspect"),
        "jwks_uri": state.url("/.well-known/jwks.json"),
        "grant_types_supported": [AUTHORIZATION_CODE, REFRESH_TOKEN, JWT_BEARER, CLIENT_CREDENTIALS, TOKEN_EXCHANGE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        // OAuth 2.1 §4.1.1 and the MCP specification: S256 only, and clients refuse a
        // server that does not say so.
        "code_challenge_methods_supported": [protocol::oauth::pkce::S256],
        // RFC 9207: every authorization response carries `iss`.
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": state.discovery.client_id_metadata_documents,
        "scopes_supported": state.discovery.scopes_supported.to_strings(),
        // draft-mcguinness-oauth-actor-profile-00 §10.1: what token exchange takes and
        // gives (the subject and actor token types it reads, the one type it issues).
        "actor_profile_token_exchange": {
            "subject_token_types_supported": [token_type::ACCESS_TOKEN, token_type::JWT],
            "actor_token_types_supported": [token_type::ACCESS_TOKEN, token_type::JWT],
            "requested_token_types_supported": [token_type::ACCESS_TOKEN],
        },
        "agent_auth": {
            "skill": state.url("/auth.md"),
            "identity_endpoint": state.url("/agent/identity"),
            "claim_endpoint": state.url("/agent/identity/claim"),
            "revocation_uri": state.url("/agent/auth/revoke"),
            "events_endpoint": state.url("/agent/event/notify"),
            "events_supported": events_supported(),
            "identity_types_supported": identity_types(&state),
            "identity_assertion": {
                "assertion_types_supported": assertion_types(&state),
            },
            "dpop_required_for_registration": state.registrations.policy().require_dpop,
        },
    });
    // What the token endpoint accepts (auth methods and their algorithms, DPoP, mTLS),
    // from the settings section token-service enforces. Agents exchanging an assertion
    // are public clients (RFC 7523 §3.1), hence `none`.
    if let Some(object) = body.as_object_mut() {
        object.extend(state.discovery.token_endpoint.metadata(&state.issuer));
    }
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .json(body)
}
