//! `/oauth2/authorize` and its forms. The browser's state is a private cookie
//! (actix-session: encrypted and authenticated, `HttpOnly`, `SameSite=Lax`, `Secure`
//! outside development) holding a CSRF token, the sign-in in progress and, once signed
//! in, the human; its age is checked inside it too, so an old cookie replayed after
//! `session_ttl` signs no one in. Signing in renews the session (RFC 9700 §4.7 session
//! fixation): no cookie from before the sign-in is ever signed in.
//!
//! - `GET /oauth2/authorize`: check the request; sign in, or consent, or straight back
//!   to the client with a code when consent is remembered.
//! - `POST /oauth2/authorize/login`: mail a sign-in code.
//! - `POST /oauth2/authorize/verify`: check it, then as the GET would go on.
//! - `POST /oauth2/authorize/consent`: allow (a code) or deny (`access_denied`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use shared::jose::unix_now;

use super::authorize_page::{self as pages, Carry};
use crate::authorize::record::LoginId;
use crate::authorize::{AuthorizationRequest, Authorizations, AuthorizeError, SignedIn};

const SESSION_KEY: &str = "browser";

/// What the session cookie holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Browser {
    csrf: String,
    created_at: i64,
    #[serde(default)]
    login: Option<LoginId>,
    #[serde(default)]
    signed_in: Option<SignedIn>,
}

impl Browser {
    fn fresh(now: i64) -> Self {
        Self {
            csrf: shared::secrets::random_token(24),
            created_at: now,
            login: None,
            signed_in: None,
        }
    }

    /// The session's state, or a fresh one when it has none, an unreadable one, or one
    /// older than `session_ttl`.
    fn load(session: &Session, auth: &Authorizations, now: i64) -> Self {
        let ttl = auth.settings().session_ttl.as_secs() as i64;
        session
            .get::<Browser>(SESSION_KEY)
            .ok()
            .flatten()
            .filter(|browser| now < browser.created_at + ttl)
            .unwrap_or_else(|| Self::fresh(now))
    }

    fn save(&self, session: &Session) -> Result<(), AuthorizeError> {
        session
            .insert(SESSION_KEY, self)
            .map_err(|e| AuthorizeError::Internal(format!("session: {e}")))
    }

    /// RFC 9700 §2.1 / OWASP: the form's token must be this session's.
    fn check_csrf(&self, presented: &str) -> Result<(), AuthorizeError> {
        if !presented.is_empty() && shared::secrets::same_secret(&self.csrf, presented) {
            Ok(())
        } else {
            Err(AuthorizeError::StaleForm)
        }
    }

    fn carry<'a>(&'a self, request: &'a str) -> Carry<'a> {
        Carry {
            request,
            csrf: &self.csrf,
        }
    }
}

/// Every form's fields; which are needed depends on the form.
#[derive(Debug, Default, Deserialize)]
struct FlowForm {
    #[serde(default)]
    request: String,
    #[serde(default)]
    csrf: String,
    email: Option<String>,
    code: Option<String>,
    decision: Option<String>,
}

pub async fn authorize(request: HttpRequest, session: Session, auth: web::Data<Authorizations>) -> HttpResponse {
    let now = unix_now();
    let query = request.query_string();
    let outcome = async {
        let checked = auth.check_request(query).await?;
        let browser = Browser::load(&session, &auth, now);
        browser.save(&session)?;
        match browser.signed_in.clone() {
            Some(who) if !checked.prompt.login => proceed(&auth, &browser, (&checked, query), &who, now).await,
            _ if checked.prompt.none => Err(checked.refuse("login_required", "the human is not signed in")),
            _ => Ok(pages::login(&checked, &browser.carry(query), None)),
        }
    };
    outcome
        .await
        .unwrap_or_else(|error| pages::error(&error, auth.issuer()))
}

pub async fn login(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> HttpResponse {
    let now = unix_now();
    let outcome = async {
        let (form, mut browser, checked) = accept_form(&http, &body, &session, &auth, now).await?;
        let email = form.email.as_deref().unwrap_or_default();
        let ip = shared::ratelimit::client_ip(&http, auth.trust_forwarded_for());
        match auth.start_login(email, (&checked.client.name, &ip), now).await {
            Ok(id) => {
                browser.login = Some(id);
                browser.save(&session)?;
                Ok(pages::code_entry(
                    &checked,
                    &browser.carry(&form.request),
                    (StatusCode::OK, None),
                ))
            }
            Err(AuthorizeError::InvalidEmail) => Ok(pages::login(
                &checked,
                &browser.carry(&form.request),
                Some(&AuthorizeError::InvalidEmail.to_string()),
            )),
            Err(error) => Err(error),
        }
    };
    outcome
        .await
        .unwrap_or_else(|error| pages::error(&error, auth.issuer()))
}

pub async fn verify(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> HttpResponse {
    let now = unix_now();
    let outcome = async {
        let (form, browser, checked) = accept_form(&http, &body, &session, &auth, now).await?;
        let login = browser.login.clone().ok_or(AuthorizeError::LoginExpired)?;
        let code = form.code.as_deref().unwrap_or_default().trim();
        let who = match auth.finish_login(&login, code, now).await {
            Ok(who) => who,
            Err(AuthorizeError::WrongCode) => {
                let message = AuthorizeError::WrongCode.to_string();
                let carry = browser.carry(&form.request);
                return Ok(pages::code_entry(
                    &checked,
                    &carry,
                    (StatusCode::UNAUTHORIZED, Some(&message)),
                ));
            }
            Err(error) => return Err(error),
        };
        // A new session (new cookie, new CSRF token) for the signed-in human.
        session.renew();
        let browser = Browser {
            signed_in: Some(who.clone()),
            ..Browser::fresh(now)
        };
        browser.save(&session)?;
        proceed(&auth, &browser, (&checked, &form.request), &who, now).await
    };
    outcome
        .await
        .unwrap_or_else(|error| pages::error(&error, auth.issuer()))
}

pub async fn consent(
    http: HttpRequest,
    body: web::Bytes,
    session: Session,
    auth: web::Data<Authorizations>,
) -> HttpResponse {
    let now = unix_now();
    let outcome = async {
        let (form, browser, checked) = accept_form(&http, &body, &session, &auth, now).await?;
        let who = browser.signed_in.clone().ok_or(AuthorizeError::StaleForm)?;
        match form.decision.as_deref() {
            Some("allow") => {
                let grant = auth.approve(&who, &checked, now).await?;
                let location = auth.issue_code(&who, &grant, &checked, now).await?;
                Ok(pages::see_other(&location, &checked.redirect_uri))
            }
            Some("deny") => Err(checked.refuse("access_denied", "the human denied the request")),
            _ => Err(AuthorizeError::InvalidRequest("the form must say allow or deny".into())),
        }
    };
    outcome
        .await
        .unwrap_or_else(|error| pages::error(&error, auth.issuer()))
}

/// A signed-in human's next step: back to the client with a code when their consent
/// stands, else the consent page (or `consent_required` under `prompt=none`).
async fn proceed(
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
    Ok(pages::consent(request, &browser.carry(raw), who))
}

/// A form post of the flow: a form body, this session's CSRF token, and the
/// authorization request it carries checked again from scratch.
async fn accept_form(
    http: &HttpRequest,
    body: &[u8],
    session: &Session,
    auth: &Authorizations,
    now: i64,
) -> Result<(FlowForm, Browser, AuthorizationRequest), AuthorizeError> {
    if !shared::media::has_media_type(http, "application", "x-www-form-urlencoded") {
        return Err(AuthorizeError::InvalidRequest("expected a form submission".into()));
    }
    let form: FlowForm = serde_urlencoded::from_bytes(body)
        .map_err(|_| AuthorizeError::InvalidRequest("the form could not be read".into()))?;
    let browser = Browser::load(session, auth, now);
    browser.check_csrf(&form.csrf)?;
    let checked = auth.check_request(&form.request).await?;
    Ok((form, browser, checked))
}
