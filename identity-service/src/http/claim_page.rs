//! The human's side of the claim ceremony: two small server-rendered pages with no
//! external assets and no script. GET only shows the page, so mail scanners that follow
//! links burn nothing; the button POSTs and mints a code.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use shared::time::unix_now;

use super::html::{escape, page, page_sending_to};
use crate::claim::{ClaimCeremony, MintedCode};
use crate::error::IdentityError;

#[derive(Debug, Deserialize)]
struct LinkToken {
    token: Option<String>,
}

pub async fn view(
    request: HttpRequest,
    claims: web::Data<ClaimCeremony>,
    auth: web::Data<crate::authorize::Authorizations>,
) -> HttpResponse {
    let token = serde_urlencoded::from_str::<LinkToken>(request.query_string())
        .ok()
        .and_then(|q| q.token)
        .unwrap_or_default();
    match claims.view_attempt(&token, unix_now()).await {
        Ok(viewed) => {
            let upstream = auth.upstream();
            // Confirming at the company's identity provider (whose verified address must
            // be this one), and with codes on, by this mailed link alone.
            let hidden = format!("<input type=\"hidden\" name=\"token\" value=\"{}\">", escape(&token));
            let providers = super::provider_buttons::provider_forms(upstream, "/agent/sign-in/claim", &hidden);
            let mint = if upstream.email_codes() {
                mint_form(&claims, &token, "Show my code")
            } else {
                String::new()
            };
            let body = format!(
                "<h1>Claim an AI agent</h1>\
                 <p>An AI agent (<code>{id}</code>) asked to be linked to <strong>{email}</strong>.</p>\
                 <p>If you started this, confirm it and give the code shown to your agent. \
                 If not, close this page: nothing happens without the code.</p>{providers}{mint}",
                id = escape(&viewed.registration_id),
                email = escape(viewed.email.as_str()),
            );
            let targets = upstream.origins().join(" ");
            page_sending_to(
                StatusCode::OK,
                "Claim an AI agent",
                &body,
                Some(targets.as_str()).filter(|t| !t.is_empty()),
            )
        }
        Err(error) => error_page(&error),
    }
}

pub async fn challenge(
    request: HttpRequest,
    body: web::Bytes,
    claims: web::Data<ClaimCeremony>,
    auth: web::Data<crate::authorize::Authorizations>,
) -> HttpResponse {
    if !shared::media::has_media_type(&request, "application", "x-www-form-urlencoded") {
        return error_page(&IdentityError::InvalidRequest("expected a form submission".into()));
    }
    let token = serde_urlencoded::from_bytes::<LinkToken>(&body)
        .ok()
        .and_then(|q| q.token)
        .unwrap_or_default();
    if !auth.upstream().email_codes() {
        return error_page(&IdentityError::InvalidRequest(
            "confirm this claim at your company's sign-in, from the claim page".into(),
        ));
    }
    let now = unix_now();
    match claims.mint_code(&token, now).await {
        Ok(minted) => code_page(&claims, &token, &minted, now, true),
        Err(error) => error_page(&error),
    }
}

/// The code to give the agent, and (`again`) the button for a new one.
pub(super) fn code_page(
    claims: &ClaimCeremony,
    token: &str,
    minted: &MintedCode,
    now: i64,
    again: bool,
) -> HttpResponse {
    let minutes = (minted.expires_at - now).max(60) / 60;
    let again = if again {
        format!(
            "<p>Pressing the button again makes a new code and cancels this one.</p>{}",
            mint_form(claims, token, "Make a new code")
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Your code</h1>\
         <p class=\"code\" id=\"otp\">{code}</p>\
         <p>Give this code to your agent. It works for {minutes} minutes.</p>{again}",
        code = escape(&minted.code),
    );
    page(StatusCode::OK, "Your code", &body)
}

fn mint_form(claims: &ClaimCeremony, token: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button type=\"submit\" id=\"mint\">{label}</button></form>",
        action = escape(&claims.challenge_url()),
        token = escape(token),
        label = escape(label),
    )
}

fn error_page(error: &IdentityError) -> HttpResponse {
    let status = error.status_code();
    // Server errors say nothing specific to the human; the cause goes to the log.
    let message = if status.is_server_error() {
        tracing::error!(%error, "claim page failed");
        "Something went wrong on our side. Please try again in a minute.".to_owned()
    } else {
        error.to_string()
    };
    let body = format!("<h1>Cannot continue</h1><p>{}</p>", escape(&message));
    let mut response = page(status, "Cannot continue", &body);
    error.set_retry_after(&mut response);
    response
}
