//! The human's side of the claim ceremony: two small server-rendered pages with no
//! external assets and no script. GET only shows the page, so mail scanners that follow
//! links burn nothing; the button POSTs and mints a code.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use shared::jose::unix_now;

use crate::claim::ClaimCeremony;
use crate::error::IdentityError;

#[derive(Debug, Deserialize)]
struct LinkToken {
    token: Option<String>,
}

pub async fn view(request: HttpRequest, claims: web::Data<ClaimCeremony>) -> HttpResponse {
    let token = serde_urlencoded::from_str::<LinkToken>(request.query_string())
        .ok()
        .and_then(|q| q.token)
        .unwrap_or_default();
    match claims.view_attempt(&token, unix_now()).await {
        Ok(viewed) => {
            let body = format!(
                "<h1>Claim an AI agent</h1>\
                 <p>An AI agent (<code>{id}</code>) asked to be linked to <strong>{email}</strong>.</p>\
                 <p>If you started this, press the button and give the code it shows to your agent. \
                 If not, close this page: nothing happens without the code.</p>{form}",
                id = escape(&viewed.registration_id),
                email = escape(viewed.email.as_str()),
                form = mint_form(&claims, &token, "Show my code"),
            );
            page(StatusCode::OK, "Claim an AI agent", &body)
        }
        Err(error) => error_page(&error),
    }
}

pub async fn challenge(request: HttpRequest, body: web::Bytes, claims: web::Data<ClaimCeremony>) -> HttpResponse {
    if !shared::media::has_media_type(&request, "application", "x-www-form-urlencoded") {
        return error_page(&IdentityError::InvalidRequest("expected a form submission".into()));
    }
    let token = serde_urlencoded::from_bytes::<LinkToken>(&body)
        .ok()
        .and_then(|q| q.token)
        .unwrap_or_default();
    let now = unix_now();
    match claims.mint_code(&token, now).await {
        Ok(minted) => {
            let minutes = (minted.expires_at - now).max(60) / 60;
            let body = format!(
                "<h1>Your code</h1>\
                 <p class=\"code\" id=\"otp\">{code}</p>\
                 <p>Give this code to your agent. It works for {minutes} minutes. \
                 Pressing the button again makes a new code and cancels this one.</p>{form}",
                code = escape(&minted.code),
                form = mint_form(&claims, &token, "Make a new code"),
            );
            page(StatusCode::OK, "Your code", &body)
        }
        Err(error) => error_page(&error),
    }
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

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        title = escape(title),
    );
    shared::envelope::builder_for(status)
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        // The URL carries the link secret: never leak it in a Referer.
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .body(html)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f6f7f9;margin:0}\
main{max-width:32rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:12px;\
box-shadow:0 1px 4px rgba(0,0,0,.1)}h1{font-size:1.4rem}\
.code{font:700 2.4rem ui-monospace,monospace;letter-spacing:.3em;text-align:center}\
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:8px;border:0;background:#2453d6;color:#fff}";

/// Minimal HTML escaping for text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
