//! `/oauth2/authorize` and its forms, in the human's session (see [`super::session`]).
//!
//! - `GET /oauth2/authorize`: check the request; sign in, or consent, or straight back
//!   to the client with a code when consent is remembered.
//! - `POST /oauth2/authorize/login`: mail a sign-in code.
//! - `POST /oauth2/authorize/verify`: check it, then as the GET would go on.
//! - `POST /oauth2/authorize/consent`: allow (a code) or deny (`access_denied`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use shared::time::unix_now;

use super::authorize_page as pages;
use super::authorize_page::{ErrorPage, OrErrorPage};
use super::session::{AfterSignIn, Browser, Checked, Sent, read_form};
use crate::authorize::record::HandOn;
use crate::authorize::{AuthorizationRequest, Authorizations, AuthorizeError, SignInPurpose, SignedIn};

/// Every form's fields; which are needed depends on the form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct FlowForm {
    #[serde(default)]
    pub request: String,
    #[serde(default)]
    csrf: String,
    email: Option<String>,
    code: Option<String>,
    decision: Option<String>,
    /// The consent page's "may hand this on" box: `yes` when ticked (and which scopes:
    /// [`super::session::hand_on_answer`]).
    delegate: Option<String>,
    /// The identity provider to sign in at.
    pub provider: Option<String>,
}

pub async fn authorize(
    request: HttpRequest,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let query = request.query_string();
    let outcome = async {
        let checked = auth.check_request(query).await?;
        let browser = Browser::load(&session, &auth, now);
        browser.save(&session)?;
        match browser.signed_in.clone() {
            Some(who) if !checked.wants_fresh_sign_in(who.auth_time, now) => {
                proceed(&auth, &browser, (&checked, query), &who, now).await
            }
            _ if checked.prompt.none => Err(checked.refuse("login_required", "the human is not signed in")),
            _ => match auth.upstream().only() {
                // The only way to sign in is one provider: straight there.
                Some(provider) => {
                    let then = AfterSignIn::Authorize(query.to_owned());
                    browser
                        .go_upstream(&session, &auth, provider, then, fresh(&checked))
                        .await
                }
                None => Ok(pages::login(&checked, &browser.carry(query), auth.upstream(), None)),
            },
        }
    };
    outcome.await.or_page(auth.issuer())
}

pub async fn login(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let (form, mut browser, checked) = accept_form(&http, &body, &session, &auth, now).await?;
        let email = form.email.as_deref().unwrap_or_default();
        let sent = browser
            .send_code((&session, &http), &auth, (email, SignInPurpose::Authorize), now)
            .await?;
        let carry = browser.carry(&form.request);
        match sent {
            Sent::Code => Ok(pages::code_entry(&checked, &carry, (StatusCode::OK, None))),
            Sent::BadAddress(message) => Ok(pages::login(&checked, &carry, auth.upstream(), Some(&message))),
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
        let (form, browser, checked) = accept_form(&http, &body, &session, &auth, now).await?;
        let code = form.code.as_deref().unwrap_or_default();
        let (browser, who) = match browser.check_code(&session, &auth, code, now).await? {
            Checked::SignedIn(browser, who) => (browser, who),
            Checked::WrongCode(message) => {
                let carry = browser.carry(&form.request);
                let status = (StatusCode::BAD_REQUEST, Some(message.as_str()));
                return Ok(pages::code_entry(&checked, &carry, status));
            }
        };
        proceed(&auth, &browser, (&checked, &form.request), &who, now).await
    };
    outcome.await.or_page(auth.issuer())
}

pub async fn consent(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> Result<HttpResponse, ErrorPage> {
    let now = unix_now();
    let outcome = async {
        let (form, browser, checked) = accept_form(&http, &body, &session, &auth, now).await?;
        let who = browser.signed_in.clone().ok_or(AuthorizeError::StaleForm)?;
        match form.decision.as_deref() {
            Some("allow") => {
                let hand_on = super::session::hand_on_answer(&body, form.delegate.as_deref())?;
                let hand_on = match hand_on {
                    HandOn::Only(chosen) => HandOn::Only(chosen.intersection(&checked.scopes)),
                    other => other,
                };
                let grant = auth.approve(&who, &checked, &hand_on, now).await?;
                let location = auth.issue_code(&who, &grant, &checked, now).await?;
                Ok(pages::see_other(&location, &checked.redirect_uri))
            }
            Some("deny") => Err(checked.refuse("access_denied", "the human denied the request")),
            _ => Err(AuthorizeError::InvalidRequest("the form must say allow or deny".into())),
        }
    };
    outcome.await.or_page(auth.issuer())
}

/// A signed-in human's next step: back to the client with a code when their consent
/// stands, else the consent page (or `consent_required` under `prompt=none`).
pub(super) async fn proceed(
    auth: &Authorizations,
    browser: &Browser,
    (request, raw): (&AuthorizationRequest, &str),
    who: &SignedIn,
    now: i64,
) -> Result<HttpResponse, AuthorizeError> {
    if let Some(grant) = auth.remembered_consent(who, request).await? {
        let location = auth.issue_code(who, &grant, request, now).await?;
        return Ok(pages::see_other(&location, &request.redirect_uri));
    }
    if request.prompt.none {
        return Err(request.refuse("consent_required", "the human has not consented to this request"));
    }
    Ok(pages::consent(request, &browser.carry(raw), who, auth))
}

/// What the provider is asked to enforce for this request (`prompt=login`, `max_age`).
pub(super) fn fresh(request: &AuthorizationRequest) -> crate::upstream::Freshness {
    crate::upstream::Freshness {
        login: request.prompt.login,
        max_age: request.max_age,
    }
}

/// A form post of the flow: a form body, this session's CSRF token, and the
/// authorization request it carries checked again from scratch.
pub(super) async fn accept_form(
    http: &HttpRequest,
    body: &[u8],
    session: &Session,
    auth: &Authorizations,
    now: i64,
) -> Result<(FlowForm, Browser, AuthorizationRequest), AuthorizeError> {
    let form: FlowForm = read_form(http, body)?;
    let browser = Browser::load(session, auth, now);
    browser.check_csrf(&form.csrf)?;
    let checked = auth.check_request(&form.request).await?;
    Ok((form, browser, checked))
}
