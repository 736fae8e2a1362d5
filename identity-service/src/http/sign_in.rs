//! Sign-in at an identity provider, for the authorization endpoint and the account page
//! alike: the form that sends the browser there, and the redirect URI it comes back to.
//!
//! - `POST /oauth2/authorize/upstream`: `provider`, with the flow's `request` and `csrf`.
//! - `POST /agent/account/upstream`: `provider`, `csrf`.
//! - `POST /agent/sign-in/claim`: `provider`, `token` (a claim link's): the claim's code
//!   is shown once the provider signs in the address the agent named, verified.
//! - `GET /agent/sign-in/callback`: the provider's answer (`code`, `state`, `iss`, or
//!   `error`); the pending sign-in leaves the session as it is read (used once).
//! - `POST /agent/sign-in/backchannel-logout/{provider}`: OpenID Connect Back-Channel
//!   Logout 1.0, a `logout_token`; 200, or 400 with an OAuth-style error (§2.8).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use shared::time::unix_now;

use super::authorize::{accept_form, fresh, proceed};
use super::authorize_page::{ErrorPage, OrErrorPage, see_other};
use super::session::{AfterSignIn, Browser, read_form};
use crate::authorize::{Authorizations, AuthorizeError};
use crate::claim::ClaimCeremony;
use crate::upstream::{Callback, Freshness, UpstreamError};

#[derive(Debug, Default, Deserialize)]
struct ClaimForm {
    #[serde(default)]
    token: String,
    provider: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AccountForm {
    #[serde(default)]
    csrf: String,
    provider: Option<String>,
}

/// `POST /oauth2/authorize/upstream`.
pub async fn from_authorize(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let (form, browser, checked) = accept_form(&http, &body, &session, &auth, now).await?;
        let provider = form.provider.clone().unwrap_or_default();
        let then = AfterSignIn::Authorize(form.request.clone());
        browser
            .go_upstream(&session, &auth, &provider, then, fresh(&checked))
            .await
    };
    outcome.await.or_page(auth.issuer())
}

/// `POST /agent/account/upstream`.
pub async fn from_account(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let form: AccountForm = read_form(&http, &body)?;
        let browser = Browser::load(&session, &auth, now);
        browser.check_csrf(&form.csrf)?;
        let provider = form.provider.unwrap_or_default();
        browser
            .go_upstream(&session, &auth, &provider, AfterSignIn::Account, Freshness::default())
            .await
    };
    outcome.await.or_page(auth.issuer())
}

/// `POST /agent/sign-in/claim`: the claim page's provider button. The claim link's
/// token is what it carries (the page has no session to protect with a CSRF token; a
/// forged post only sends that browser to sign in).
pub async fn from_claim(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let form: ClaimForm = read_form(&http, &body)?;
        let browser = Browser::load(&session, &auth, now);
        let provider = form.provider.unwrap_or_default();
        browser
            .go_upstream(
                &session,
                &auth,
                &provider,
                AfterSignIn::Claim(form.token),
                // Claiming an agent is confirmed by a sign-in made for it, not an old one.
                Freshness {
                    login: true,
                    max_age: None,
                },
            )
            .await
    };
    outcome.await.or_page(auth.issuer())
}

/// The claim's code for `token`, once the provider signed in the address it names.
async fn claim_code(
    claims: &ClaimCeremony,
    token: &str,
    identity: &crate::upstream::UpstreamIdentity,
    now: i64,
) -> Result<HttpResponse, AuthorizeError> {
    let refused = |error: crate::error::IdentityError| AuthorizeError::InvalidRequest(error.to_string());
    let viewed = claims.view_attempt(token, now).await.map_err(refused)?;
    let same =
        crate::email::Email::parse(&identity.email).is_ok_and(|email| email.normalized() == viewed.email.normalized());
    if !identity.email_verified || !same {
        return Err(AuthorizeError::InvalidRequest(
            "the account you signed in with is not the verified owner of the address this agent named".into(),
        ));
    }
    let minted = claims.mint_code(token, now).await.map_err(refused)?;
    Ok(super::claim_page::code_page(claims, token, &minted, now, false))
}

/// `GET /agent/sign-in/callback`.
pub async fn callback(
    query: web::Query<Callback>,
    session: Session,
    auth: web::Data<Authorizations>,
    claims: web::Data<ClaimCeremony>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let mut browser = Browser::load(&session, &auth, now);
        // Taken out before anything else: a replayed answer finds nothing.
        let Some((pending, then)) = browser.upstream.take() else {
            return Err(UpstreamError::NotThisSignIn.into());
        };
        browser.save(&session)?;
        let finished = auth.upstream().finish(&pending, &query, now).await;
        if let (Ok(identity), AfterSignIn::Claim(token)) = (&finished, &then) {
            return claim_code(&claims, token, identity, now).await;
        }
        let identity = match (finished, &then) {
            (Ok(identity), _) => identity,
            // RFC 6749 §4.1.2.1: the human was not signed in, so the client hears
            // access_denied at its redirect URI; nothing the provider said is passed on.
            (Err(UpstreamError::Denied), AfterSignIn::Authorize(request)) => {
                let checked = auth.check_request(request).await?;
                return Err(checked.refuse("access_denied", "the human was not signed in at the identity provider"));
            }
            (Err(refused), _) => return Err(refused.into()),
        };
        let who = auth.upstream_signed_in(identity, now).await?;
        let browser = Browser::sign_in(&session, who.clone(), now)?;
        match then {
            AfterSignIn::Authorize(request) => {
                let checked = auth.check_request(&request).await?;
                proceed(&auth, &browser, (&checked, &request), &who, now).await
            }
            AfterSignIn::Account | AfterSignIn::Claim(_) => Ok(see_other("/agent/account", "/agent/account")),
        }
    };
    outcome.await.or_page(auth.issuer())
}

#[derive(Debug, Default, Deserialize)]
struct LogoutForm {
    logout_token: Option<String>,
}

/// `POST /agent/sign-in/backchannel-logout/{provider}`: the provider's logout token
/// ends the person's sessions begun there, on every replica.
pub async fn backchannel_logout(
    provider: web::Path<String>,
    http: HttpRequest,
    body: web::Bytes,
    auth: web::Data<Authorizations>,
) -> HttpResponse {
    let outcome = async {
        let form: LogoutForm = read_form(&http, &body)?;
        let token = form.logout_token.unwrap_or_default();
        let subject = auth.upstream().verify_logout(&provider, &token, unix_now()).await?;
        auth.end_upstream_sessions(&provider, &subject).await
    };
    let (status, body) = match outcome.await {
        Ok(_) => (StatusCode::OK, serde_json::json!({})),
        Err(error) => {
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let description = if status.is_server_error() {
                tracing::warn!(%error, "back-channel logout failed");
                "the logout could not be done now; try again".to_owned()
            } else {
                error.to_string()
            };
            let code = if status.is_server_error() {
                "temporarily_unavailable"
            } else {
                "invalid_request"
            };
            (
                status,
                serde_json::json!({ "error": code, "error_description": description }),
            )
        }
    };
    HttpResponse::build(status)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(body)
}
