//! What every page for humans shares: one small stylesheet, no script, no external
//! asset, and headers that keep the page out of frames, caches and Referer headers.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};

/// A page whose forms post only to this origin.
pub fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    page_sending_to(status, title, body, None)
}

/// A page whose form submission may end in a redirect to `form_target` (a CSP source,
/// such as a client's redirect origin): browsers apply `form-action` to the redirects
/// that follow a submission too.
pub fn page_sending_to(status: StatusCode, title: &str, body: &str, form_target: Option<&str>) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        title = escape(title),
    );
    let form_action = match form_target {
        Some(target) => format!("'self' {target}"),
        None => "'self'".to_owned(),
    };
    let mut response = shared::envelope::builder_for(status);
    protect(&mut response, &form_action);
    response
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(html)
}

/// The headers every response to a human carries, pages and redirects alike.
pub fn protect(response: &mut actix_web::HttpResponseBuilder, form_action: &str) {
    response
        .insert_header((CACHE_CONTROL, "no-store"))
        // URLs carry secrets (a claim link, a code): never leak them in a Referer.
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            "Content-Security-Policy",
            format!(
                "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; \
                 frame-ancestors 'none'; base-uri 'none'"
            ),
        ));
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f6f7f9;margin:0}\
main{max-width:32rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:12px;\
box-shadow:0 1px 4px rgba(0,0,0,.1)}h1{font-size:1.4rem}\
.code{font:700 2.4rem ui-monospace,monospace;letter-spacing:.3em;text-align:center}\
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:8px;border:0;background:#2453d6;color:#fff}\
button.secondary{background:#fff;color:#2453d6;border:1px solid #2453d6}\
.empty{color:#555}";

/// Minimal HTML escaping for text and attribute values.
pub fn escape(text: &str) -> String {
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
