//! `/agent/account`: a human signs in (the same email and one-time code as at the
//! authorization endpoint, the same session) and sees the agents they claimed and the
//! clients they allowed, and revokes either. A revoked registration's tokens and a
//! revoked grant's tokens (refresh tokens included) stop working at once on every
//! replica: token-service asks identity-service about both before trusting them.
//!
//! - `GET /agent/account`: the page, or the sign-in form.
//! - `POST /agent/account/login`, `/agent/account/verify`: sign in.
//! - `POST /agent/account/revoke`: `kind` `registration`, `grant` or `delegation` (by
//!   `jti`: a token handed on in the human's or their agents' names), `id`.
//! - `POST /agent/account/hand-on`: `kind` `registration` or `grant`, `id`, and the
//!   `scope`s that agent or application may hand on to other agents (none: nothing).
//! - `POST /agent/account/sessions/end`: `id`, the label of one of the human's sessions.
//! - `POST /agent/account/logout`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use shared::time::unix_now;

use super::account_page::{self as pages, AgentRow, GrantRow, Sessions};
use super::authorize_page::{ErrorPage, OrErrorPage};
use super::session::{Browser, Checked, Sent, read_form};
use crate::authorize::record::Grant;
use crate::authorize::{Authorizations, AuthorizeError, SignInPurpose, SignedIn};
use crate::registration::Registrations;

#[derive(Debug, Default, Deserialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    csrf: String,
    email: Option<String>,
    code: Option<String>,
    pub kind: Option<String>,
    pub id: Option<String>,
}

pub async fn view(
    http: HttpRequest,
    session: Session,
    auth: web::Data<Authorizations>,
    registrations: web::Data<Registrations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let browser = Browser::load(&session, &auth, now);
        browser.save(&session)?;
        let Some(who) = browser.signed_in.clone() else {
            return Ok(pages::sign_in(&browser.csrf, auth.upstream(), None));
        };
        // Agents are claimed with an address: they are this human's only when the
        // address is (never a silent link through a provider's unverified claim).
        let owned = if who.email_linked {
            registrations.owned_by(&who.email).await?
        } else {
            Vec::new()
        };
        let agents: Vec<AgentRow<'_>> = owned
            .iter()
            .map(|registration| AgentRow {
                registration,
                status: registration.status(now).as_str(),
            })
            .collect();
        let grants = auth.grants_of(&who).await?;
        let grants = grant_rows(&auth, &grants);
        let delegations = listed_delegations(&auth, &who, &owned).await;
        let mut sessions = auth.sessions_of(&who).await?;
        // Each session by how it was signed in: which providers this human uses.
        for view in &mut sessions {
            view.signed_in_with = Some(signed_in_with(&auth, view.signed_in_with.as_deref()));
        }
        let this = Sessions {
            all: &sessions,
            this: &browser.label,
        };
        // The page a revocation redirects to says it happened.
        let notice = match http.query_string() {
            "revoked" => Some("Revoked: its tokens no longer work."),
            "ended" => Some("Signed out: that session no longer works anywhere."),
            "hand-on" => Some("Saved: what it may hand on applies from its next exchange."),
            _ => None,
        };
        let with = signed_in_with(&auth, who.provider.as_deref());
        Ok(pages::overview(
            (&who, &with),
            (&agents, &grants, this),
            delegations.as_deref(),
            &browser.csrf,
            notice,
        ))
    };
    outcome.await.or_page(auth.issuer())
}

/// What was handed on in `who`'s and their agents' names. token-service keeps the
/// record: without it (`None`) the page still lets the human revoke their agents and
/// grants.
async fn listed_delegations(
    auth: &Authorizations,
    who: &SignedIn,
    owned: &[crate::registration::Registration],
) -> Option<Vec<crate::authorize::DelegationView>> {
    let agent_ids: Vec<String> = owned.iter().map(|r| r.id.as_str().to_owned()).collect();
    auth.delegations_of(who, &agent_ids)
        .await
        .inspect_err(|error| tracing::warn!(%error, "the delegations could not be listed"))
        .ok()
}

/// The ids of the agents that are `who`'s: claimed with an address proven theirs.
async fn own_agents(registrations: &Registrations, who: &SignedIn) -> Result<Vec<String>, AuthorizeError> {
    if !who.email_linked {
        return Ok(Vec::new());
    }
    let owned = registrations.owned_by(&who.email).await?;
    Ok(owned.iter().map(|r| r.id.as_str().to_owned()).collect())
}

/// Each grant with who gave it, when a provider did.
fn grant_rows<'a>(auth: &'a Authorizations, grants: &'a [Grant]) -> Vec<GrantRow<'a>> {
    grants
        .iter()
        .map(|grant| GrantRow {
            grant,
            given_by: grant
                .via
                .as_deref()
                .map(|id| auth.upstream().display_name(id).unwrap_or(id)),
        })
        .collect()
}

/// How a session was signed in, as the page names it.
fn signed_in_with(auth: &Authorizations, provider: Option<&str>) -> String {
    match provider {
        Some(id) => auth.upstream().display_name(id).unwrap_or(id).to_owned(),
        None => "an emailed code".to_owned(),
    }
}

pub async fn login(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let (form, mut browser) = accept(&http, &body, &session, &auth, now)?;
        let email = form.email.as_deref().unwrap_or_default();
        match browser
            .send_code((&session, &http), &auth, (email, SignInPurpose::Account), now)
            .await?
        {
            Sent::Code => Ok(pages::code_entry(&browser.csrf, (StatusCode::OK, None))),
            Sent::BadAddress(message) => Ok(pages::sign_in(&browser.csrf, auth.upstream(), Some(&message))),
        }
    };
    outcome.await.or_page(auth.issuer())
}

pub async fn verify(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let (form, browser) = accept(&http, &body, &session, &auth, now)?;
        let code = form.code.as_deref().unwrap_or_default();
        match browser.check_code(&session, &auth, code, now).await? {
            Checked::SignedIn(..) => Ok(back_to_account()),
            Checked::WrongCode(message) => Ok(pages::code_entry(
                &browser.csrf,
                (StatusCode::BAD_REQUEST, Some(&message)),
            )),
        }
    };
    outcome.await.or_page(auth.issuer())
}

pub async fn revoke(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
    registrations: web::Data<Registrations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let (form, browser) = accept(&http, &body, &session, &auth, now)?;
        let who: SignedIn = browser.signed_in.ok_or(AuthorizeError::StaleForm)?;
        let id = form.id.as_deref().unwrap_or_default();
        let revoked = match form.kind.as_deref() {
            // Agents are the address's: only its proven owner revokes them.
            Some("registration") if who.email_linked => registrations.revoke_owned(&who.email, id, now).await?,
            Some("registration") => false,
            Some("grant") => auth.revoke_own_grant(&who, id, now).await?,
            Some("delegation") => {
                let agents = own_agents(&registrations, &who).await?;
                auth.revoke_delegation(&who, &agents, id).await?
            }
            _ => return Err(AuthorizeError::InvalidRequest("say what to revoke".into())),
        };
        if !revoked {
            return Err(AuthorizeError::InvalidRequest(
                "there is nothing of yours by that id to revoke".into(),
            ));
        }
        Ok(back_to("/agent/account?revoked"))
    };
    outcome.await.or_page(auth.issuer())
}

pub async fn end_session(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let (form, browser) = accept(&http, &body, &session, &auth, now)?;
        let who: SignedIn = browser.signed_in.clone().ok_or(AuthorizeError::StaleForm)?;
        let label = form.id.as_deref().unwrap_or_default();
        if !auth.end_own_session(&who, label).await? {
            return Err(AuthorizeError::InvalidRequest(
                "there is no session of yours by that name".into(),
            ));
        }
        if label == browser.label {
            // This browser's own: its cookie goes too.
            session.purge();
            return Ok(back_to_account());
        }
        Ok(back_to("/agent/account?ended"))
    };
    outcome.await.or_page(auth.issuer())
}

pub async fn logout(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let (_, browser) = accept(&http, &body, &session, &auth, now)?;
        session.purge();
        // Signed in at a provider that supports RP-initiated logout: offer it there too.
        let provider = browser.signed_in.and_then(|who| who.provider);
        let elsewhere = match &provider {
            Some(id) => auth.upstream().end_session_url(id).await.map(|url| (id.clone(), url)),
            None => None,
        };
        Ok(match elsewhere {
            Some((id, url)) => pages::signed_out(auth.upstream().display_name(&id).unwrap_or(&id), &url),
            None => back_to_account(),
        })
    };
    outcome.await.or_page(auth.issuer())
}

/// Post, redirect, get: the page again, never a form re-posted by a reload.
fn back_to_account() -> HttpResponse {
    back_to("/agent/account")
}

pub(super) fn back_to(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    super::html::protect(&mut response, "'self'");
    response.insert_header((LOCATION, location)).finish()
}

/// A form post of the account page: a form body with this session's CSRF token.
pub(super) fn accept(
    http: &HttpRequest,
    body: &[u8],
    session: &Session,
    auth: &Authorizations,
    now: i64,
) -> Result<(AccountForm, Browser), AuthorizeError> {
    let form: AccountForm = read_form(http, body)?;
    let browser = Browser::load(session, auth, now);
    browser.check_csrf(&form.csrf)?;
    Ok((form, browser))
}
