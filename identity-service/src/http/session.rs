//! The human's session: a private cookie (actix-session: encrypted and authenticated,
//! `HttpOnly`, `SameSite=Lax`, `Secure` outside development) holding a CSRF token, the
//! sign-in in progress and, once signed in, the human. Its age is checked inside it
//! too, so an old cookie replayed after `session_ttl` signs no one in. Signing in renews
//! the session (RFC 9700 §4.7, session fixation): no cookie from before the sign-in is
//! ever signed in. The authorization endpoint and the account page share it.

use actix_session::Session;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse};
use protocol::scope::ScopeSet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::authorize_page::Carry;
use super::html::protect;
use crate::authorize::record::{HandOn, LoginId};
use crate::authorize::{Authorizations, AuthorizeError, SignInPurpose, SignedIn};
use crate::upstream::{Freshness, PendingSignIn};

const SESSION_KEY: &str = "browser";

/// What the session holds (server-side; the cookie carries only its id).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Browser {
    pub csrf: String,
    created_at: i64,
    /// A name for this session its human may see and end it by; never its id.
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub login: Option<LoginId>,
    #[serde(default)]
    pub signed_in: Option<SignedIn>,
    /// A sign-in sent to an identity provider, and where to go when it is back.
    #[serde(default)]
    pub upstream: Option<(PendingSignIn, AfterSignIn)>,
}

/// Where a human goes once an identity provider has signed them in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AfterSignIn {
    /// Back into the authorization request (its query, as it arrived).
    Authorize(String),
    /// The account page.
    Account,
    /// The claim ceremony's code, for the claim link's token: the provider's verified
    /// address must be the one the agent named.
    Claim(String),
}

impl Browser {
    pub fn fresh(now: i64) -> Self {
        Self {
            csrf: protocol::secrets::random_token(24),
            label: protocol::secrets::random_token(6),
            created_at: now,
            login: None,
            signed_in: None,
            upstream: None,
        }
    }

    /// The session's state, or a fresh one when it has none, an unreadable one, or one
    /// older than `session_ttl`.
    pub fn load(session: &Session, auth: &Authorizations, now: i64) -> Self {
        let ttl = auth.settings().session_ttl.as_secs() as i64;
        session
            .get::<Browser>(SESSION_KEY)
            .ok()
            .flatten()
            .filter(|browser| now < browser.created_at + ttl)
            .unwrap_or_else(|| Self::fresh(now))
    }

    /// The browser in a session's stored state, if it holds one.
    pub fn in_state(state: &std::collections::HashMap<String, String>) -> Option<Self> {
        state.get(SESSION_KEY).and_then(|raw| serde_json::from_str(raw).ok())
    }

    /// When the session began (a sign-in begins a new one).
    pub fn created_at(&self) -> i64 {
        self.created_at
    }

    pub fn save(&self, session: &Session) -> Result<(), AuthorizeError> {
        session
            .insert(SESSION_KEY, self)
            .map_err(|e| AuthorizeError::Internal(format!("session: {e}")))
    }

    /// RFC 9700 §2.1 / OWASP: the form's token must be this session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), AuthorizeError> {
        if !presented.is_empty() && protocol::secrets::same_secret(&self.csrf, presented) {
            Ok(())
        } else {
            Err(AuthorizeError::StaleForm)
        }
    }

    /// The session after `who` signed in: a new cookie and a new CSRF token.
    pub fn sign_in(session: &Session, who: SignedIn, now: i64) -> Result<Self, AuthorizeError> {
        session.renew();
        let browser = Self {
            signed_in: Some(who),
            ..Self::fresh(now)
        };
        browser.save(session)?;
        Ok(browser)
    }

    /// Mails a sign-in code to `email` (saying why, in our words) and remembers the
    /// attempt in this session, the only one that can finish it.
    pub async fn send_code(
        &mut self,
        (session, http): (&Session, &HttpRequest),
        auth: &Authorizations,
        (email, purpose): (&str, SignInPurpose),
        now: i64,
    ) -> Result<Sent, AuthorizeError> {
        if !auth.upstream().email_codes() {
            return Err(AuthorizeError::InvalidRequest(
                "sign-in by emailed code is off here; sign in at your company's identity provider".into(),
            ));
        }
        let ip = shared::client_address::of(http);
        match auth.start_login(email, (purpose, &ip), now).await {
            Ok(id) => {
                self.login = Some(id);
                self.save(session)?;
                Ok(Sent::Code)
            }
            Err(AuthorizeError::InvalidEmail) => Ok(Sent::BadAddress(AuthorizeError::InvalidEmail.to_string())),
            Err(error) => Err(error),
        }
    }

    /// Checks `code` against this session's sign-in; the right one signs the human in
    /// (and renews the session).
    pub async fn check_code(
        &self,
        session: &Session,
        auth: &Authorizations,
        code: &str,
        now: i64,
    ) -> Result<Checked, AuthorizeError> {
        if !auth.upstream().email_codes() {
            return Err(AuthorizeError::LoginExpired);
        }
        let login = self.login.clone().ok_or(AuthorizeError::LoginExpired)?;
        match auth.finish_login(&login, code.trim(), now).await {
            Ok(who) => Ok(Checked::SignedIn(
                Box::new(Self::sign_in(session, who.clone(), now)?),
                who,
            )),
            Err(AuthorizeError::WrongCode) => Ok(Checked::WrongCode(AuthorizeError::WrongCode.to_string())),
            Err(error) => Err(error),
        }
    }

    /// Sends the browser to `provider`, remembering the sign-in (and what follows it) in
    /// this session alone.
    pub async fn go_upstream(
        mut self,
        session: &Session,
        auth: &Authorizations,
        provider: &str,
        then: AfterSignIn,
        fresh: Freshness,
    ) -> Result<HttpResponse, AuthorizeError> {
        let (pending, location) = auth.upstream().begin(provider, fresh).await?;
        self.upstream = Some((pending, then));
        self.save(session)?;
        let mut response = HttpResponse::SeeOther();
        protect(&mut response, "'self'");
        Ok(response.insert_header((LOCATION, location)).finish())
    }

    pub fn carry<'a>(&'a self, request: &'a str) -> Carry<'a> {
        Carry {
            request,
            csrf: &self.csrf,
        }
    }
}

/// What sending a sign-in code came to.
#[derive(Debug)]
pub enum Sent {
    Code,
    /// Not an address a code can go to: the form again, with this message.
    BadAddress(String),
}

/// What checking a sign-in code came to.
#[derive(Debug)]
pub enum Checked {
    /// The renewed session, and the human.
    SignedIn(Box<Browser>, SignedIn),
    /// The code form again, with this message.
    WrongCode(String),
}

/// Every value a form field `name` was sent with (a list of checkboxes sends several).
pub fn form_values(body: &[u8], name: &str) -> Vec<String> {
    url::form_urlencoded::parse(body)
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .collect()
}

/// What the human chose to let be handed on: the ticked `delegate_scope` boxes when the
/// page offered them (none ticked: nothing), else all of it when `delegate` is `yes`.
pub fn hand_on_answer(body: &[u8], delegate: Option<&str>) -> Result<HandOn, AuthorizeError> {
    if delegate != Some("yes") {
        return Ok(HandOn::Nothing);
    }
    if form_values(body, "delegate_scopes_offered").is_empty() {
        return Ok(HandOn::All);
    }
    let chosen = ScopeSet::from_tokens(form_values(body, "delegate_scope"))
        .map_err(|_| AuthorizeError::InvalidRequest("the scopes to hand on must be scope tokens".into()))?;
    Ok(HandOn::Only(chosen))
}

/// A form post's body as `T`: a form submission, nothing else.
pub fn read_form<T: DeserializeOwned>(http: &HttpRequest, body: &[u8]) -> Result<T, AuthorizeError> {
    if !shared::media::has_media_type(http, "application", "x-www-form-urlencoded") {
        return Err(AuthorizeError::InvalidRequest("expected a form submission".into()));
    }
    serde_urlencoded::from_bytes(body).map_err(|_| AuthorizeError::InvalidRequest("the form could not be read".into()))
}
