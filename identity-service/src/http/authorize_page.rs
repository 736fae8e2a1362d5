//! The pages of the authorization endpoint: sign in (email, then the mailed code) and
//! consent. Server-rendered, no script; every form carries the session's CSRF token and
//! the authorization request as it arrived, which each POST checks again from scratch.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;

use super::html::{escape, page_sending_to, protect};
use crate::authorize::{AuthorizationRequest, AuthorizeError, SignedIn};
use crate::upstream::UpstreamProviders;

/// The hidden fields every form of the flow carries.
pub struct Carry<'a> {
    /// The authorization request's query, as it arrived.
    pub request: &'a str,
    pub csrf: &'a str,
}

impl Carry<'_> {
    fn fields(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"request\" value=\"{}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            escape(self.request),
            escape(self.csrf)
        )
    }
}

pub fn login(
    request: &AuthorizationRequest,
    carry: &Carry<'_>,
    upstream: &UpstreamProviders,
    message: Option<&str>,
) -> HttpResponse {
    let providers = super::provider_buttons::provider_forms(upstream, "/oauth2/authorize/upstream", &carry.fields());
    let email = if upstream.email_codes() {
        format!(
            "<p>{or}Enter your email address and we will send you a code.</p>\
             <form method=\"post\" action=\"/oauth2/authorize/login\">{fields}\
             <label for=\"email\">Email</label> <input id=\"email\" name=\"email\" type=\"email\" \
             autocomplete=\"email\" required> <button type=\"submit\" id=\"send\">Send me a code</button></form>",
            or = if providers.is_empty() { "" } else { "Or: " },
            fields = carry.fields(),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Sign in</h1><p><strong>{client}</strong> wants to act for you. Sign in to \
         continue.</p>{message}{providers}{email}",
        client = escape(&request.client.name),
        message = notice(message),
    );
    // The provider buttons' forms end in a redirect to the provider: CSP's form-action
    // must allow it, beside the client's redirect URI.
    let mut targets: Vec<String> = form_target(&request.redirect_uri).into_iter().collect();
    targets.extend(upstream.origins());
    page_sending_to(
        StatusCode::OK,
        "Sign in",
        &body,
        Some(&targets.join(" ")).filter(|t| !t.is_empty()).map(String::as_str),
    )
}

pub fn code_entry(
    request: &AuthorizationRequest,
    carry: &Carry<'_>,
    (status, message): (StatusCode, Option<&str>),
) -> HttpResponse {
    let body = format!(
        "<h1>Check your mail</h1><p>We sent a 6-digit code. Enter it here to sign in to \
         <strong>{client}</strong>.</p>{message}\
         <form method=\"post\" action=\"/oauth2/authorize/verify\">{fields}\
         <label for=\"code\">Code</label> <input id=\"code\" name=\"code\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" required> \
         <button type=\"submit\" id=\"verify\">Sign in</button></form>",
        client = escape(&request.client.name),
        message = notice(message),
        fields = carry.fields(),
    );
    flow_page(status, "Check your mail", &body, request)
}

pub fn consent(
    request: &AuthorizationRequest,
    carry: &Carry<'_>,
    who: &SignedIn,
    names: &crate::authorize::Authorizations,
) -> HttpResponse {
    let host = url::Url::parse(&request.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| request.redirect_uri.clone());
    let scopes: String = request
        .scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", escape(s.as_str())))
        .collect();
    // RFC 9728 `resource_name` where the resource has one, else its URL; with none
    // asked for, the tokens are for whatever accepts this server's default audience.
    let resources: String = if request.resources.is_empty() {
        format!(
            "<li>services that accept this server's tokens (<code>{}</code>)</li>",
            escape(names.issuer())
        )
    } else {
        request
            .resources
            .iter()
            .map(|r| match names.resource_name(r) {
                Some(name) => format!("<li>{} (<code>{}</code>)</li>", escape(name), escape(r)),
                None => format!("<li><code>{}</code></li>", escape(r)),
            })
            .collect()
    };
    let body = format!(
        "<h1>Allow access?</h1><p><strong id=\"client\">{client}</strong> wants to act for \
         <strong>{email}</strong>.</p><p>After you answer you will be sent to \
         <strong id=\"host\">{host}</strong>.</p>\
         <p>It asks for:</p><ul id=\"scopes\">{scopes}</ul><p>At:</p><ul id=\"resources\">{resources}</ul>\
         <form method=\"post\" action=\"/oauth2/authorize/consent\">{fields}\
         <p><label><input type=\"checkbox\" name=\"delegate\" value=\"yes\" id=\"delegate\"> \
         Also let it hand this access on to agents it works with: never more than the above, \
         and it ends when you revoke this.</label> Of it, only:</p>\
         <input type=\"hidden\" name=\"delegate_scopes_offered\" value=\"yes\">\
         <ul id=\"delegate-scopes\">{hand_on}</ul>\
         <button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\" class=\"secondary\">Deny</button></form>",
        client = escape(&request.client.name),
        email = escape(who.email.as_str()),
        host = escape(&host),
        fields = carry.fields(),
        hand_on = scope_boxes("delegate_scope", &request.scopes),
    );
    flow_page(StatusCode::OK, "Allow access?", &body, request)
}

/// One ticked box per scope, each sending `name=<scope>`.
pub fn scope_boxes(name: &str, scopes: &protocol::scope::ScopeSet) -> String {
    scopes
        .to_strings()
        .iter()
        .map(|scope| {
            format!(
                "<li><label><input type=\"checkbox\" name=\"{name}\" value=\"{scope}\" checked> \
                 <code>{scope}</code></label></li>",
                scope = escape(scope)
            )
        })
        .collect()
}

/// An [`AuthorizeError`] as the human sees it: a page, or a redirect to the client
/// carrying an RFC 6749 §4.1.2.1 error (with `iss`, RFC 9207). Every handler of the
/// human's pages fails with it.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct ErrorPage {
    error: AuthorizeError,
    issuer: String,
}

impl ErrorPage {
    pub fn new(error: AuthorizeError, issuer: &str) -> Self {
        Self {
            error,
            issuer: issuer.to_owned(),
        }
    }
}

impl actix_web::ResponseError for ErrorPage {
    fn status_code(&self) -> StatusCode {
        match &self.error {
            AuthorizeError::Redirect(_) => StatusCode::SEE_OTHER,
            error => StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    fn error_response(&self) -> HttpResponse {
        error(&self.error, &self.issuer)
    }
}

/// A human page's outcome, its failure shown as an [`ErrorPage`].
pub trait OrErrorPage<T> {
    fn or_page(self, issuer: &str) -> Result<T, ErrorPage>;
}

impl<T> OrErrorPage<T> for Result<T, AuthorizeError> {
    fn or_page(self, issuer: &str) -> Result<T, ErrorPage> {
        self.map_err(|error| ErrorPage::new(error, issuer))
    }
}

/// A page shown instead of going anywhere (an unknown client, a bad redirect URI, an
/// expired session) or a redirect carrying an RFC 6749 §4.1.2.1 error.
fn error(error: &AuthorizeError, issuer: &str) -> HttpResponse {
    if let AuthorizeError::Redirect(redirect) = error {
        return see_other(&redirect.location(issuer), &redirect.redirect_uri);
    }
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // Server errors say nothing specific to the human; the cause goes to the log.
    let message = if status.is_server_error() {
        tracing::error!(%error, "authorization page failed");
        "Something went wrong on our side. Please try again in a minute.".to_owned()
    } else {
        error.to_string()
    };
    let body = format!("<h1>Cannot continue</h1><p id=\"error\">{}</p>", escape(&message));
    let mut response = page_sending_to(status, "Cannot continue", &body, None);
    if let Some(retry_after) = error.retry_after() {
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(retry_after.as_secs().max(1)),
        );
    }
    response
}

/// `303 See Other` to the client's redirect URI (OAuth 2.1 §7.5.2: never 307, which
/// would re-post the form).
pub fn see_other(location: &str, redirect_uri: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    let action = match form_target(redirect_uri) {
        Some(target) => format!("'self' {target}"),
        None => "'self'".to_owned(),
    };
    protect(&mut response, &action);
    response.insert_header((LOCATION, location)).finish()
}

fn flow_page(status: StatusCode, title: &str, body: &str, request: &AuthorizationRequest) -> HttpResponse {
    page_sending_to(status, title, body, form_target(&request.redirect_uri).as_deref())
}

/// The CSP source a redirect URI falls under: its origin, or its private-use scheme.
fn form_target(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    match url.scheme() {
        "http" | "https" => Some(url.origin().ascii_serialization()),
        scheme => Some(format!("{scheme}:")),
    }
}

fn notice(message: Option<&str>) -> String {
    message
        .map(|m| format!("<p class=\"notice\" id=\"notice\">{}</p>", escape(m)))
        .unwrap_or_default()
}
