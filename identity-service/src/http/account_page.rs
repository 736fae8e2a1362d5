//! The human's own page: the agents they claimed and the clients they consented to, each
//! with a revoke button. Server-rendered, no script, every form with the session's CSRF
//! token.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use super::account_forms::{csrf_field, date, hand_on_form, revoke_form};
use super::html::{escape, page, page_sending_to};
use crate::authorize::record::Grant;
use crate::authorize::{DelegationView, SessionView, SignedIn};
use crate::registration::Registration;
use crate::upstream::UpstreamProviders;

fn notice(message: Option<&str>) -> String {
    message
        .map(|m| format!("<p class=\"notice\" id=\"notice\">{}</p>", escape(m)))
        .unwrap_or_default()
}

pub fn sign_in(csrf: &str, upstream: &UpstreamProviders, message: Option<&str>) -> HttpResponse {
    let providers = super::provider_buttons::provider_forms(upstream, "/agent/account/upstream", &csrf_field(csrf));
    let email = if upstream.email_codes() {
        format!(
            "<p>{or}Enter your email address and we will send you a code.</p>\
             <form method=\"post\" action=\"/agent/account/login\">{csrf}\
             <label for=\"email\">Email</label> <input id=\"email\" name=\"email\" type=\"email\" \
             autocomplete=\"email\" required> <button type=\"submit\" id=\"send\">Send me a code</button></form>",
            or = if providers.is_empty() { "" } else { "Or: " },
            csrf = csrf_field(csrf),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Your agents</h1><p>Sign in to see the agents you claimed and the applications \
         you allowed.</p>{notice}{providers}{email}",
        notice = notice(message),
    );
    let targets = upstream.origins().join(" ");
    page_sending_to(
        StatusCode::OK,
        "Your agents",
        &body,
        Some(targets.as_str()).filter(|t| !t.is_empty()),
    )
}

/// After signing out here: the offer to sign out at the provider too (OpenID Connect
/// RP-Initiated Logout 1.0), a plain link.
pub fn signed_out(provider: &str, end_session_url: &str) -> HttpResponse {
    let body = format!(
        "<h1>Signed out</h1><p>You are signed out here. You may still be signed in at \
         {provider}.</p><p><a id=\"provider-logout\" href=\"{url}\">Sign out at {provider} too</a></p>\
         <p><a href=\"/agent/account\">Sign in again</a></p>",
        provider = escape(provider),
        url = escape(end_session_url),
    );
    page(StatusCode::OK, "Signed out", &body)
}

pub fn code_entry(csrf: &str, (status, message): (StatusCode, Option<&str>)) -> HttpResponse {
    let body = format!(
        "<h1>Check your mail</h1><p>We sent a 6-digit code. Enter it here to sign in.</p>{notice}\
         <form method=\"post\" action=\"/agent/account/verify\">{csrf}\
         <label for=\"code\">Code</label> <input id=\"code\" name=\"code\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" required> \
         <button type=\"submit\" id=\"verify\">Sign in</button></form>",
        notice = notice(message),
        csrf = csrf_field(csrf),
    );
    page(status, "Check your mail", &body)
}

/// What the page shows of a registration; `status` is derived, as everywhere.
pub struct AgentRow<'a> {
    pub registration: &'a Registration,
    pub status: &'static str,
}

/// The human's sessions, and which one this browser holds.
/// A grant, and the identity provider that gave it (by ID-JAG), by its display name.
pub struct GrantRow<'a> {
    pub grant: &'a Grant,
    pub given_by: Option<&'a str>,
}

pub struct Sessions<'a> {
    pub all: &'a [SessionView],
    pub this: &'a str,
}

pub fn overview(
    (who, signed_in_with): (&SignedIn, &str),
    (agents, grants, sessions): (&[AgentRow<'_>], &[GrantRow<'_>], Sessions<'_>),
    delegations: Option<&[DelegationView]>,
    csrf: &str,
    message: Option<&str>,
) -> HttpResponse {
    let body = format!(
        "<h1>Your agents</h1><p>Signed in as <strong>{email}</strong> <span id=\"signed-in-with\">with \
         {with}</span>.</p>{notice}\
         <h2>Agents you claimed</h2><table id=\"agents\"><tr><th>Agent</th><th>Type</th>\
         <th>Registered</th><th>Claimed</th><th>Status</th><th></th></tr>{agents}</table>\
         <h2>Applications you allowed</h2><table id=\"grants\"><tr><th>Application</th><th>Scopes</th>\
         <th>Resources</th><th>Allowed</th><th>Status</th><th></th></tr>{grants}</table>\
         <h2>Handed on in the last day</h2><table id=\"delegations\"><tr><th>In the name of</th>\
         <th>Acting</th><th>For</th><th>Scopes</th><th>When</th><th>Status</th><th></th></tr>{delegations}</table>\
         <h2>Where you are signed in</h2><table id=\"sessions\"><tr><th>Session</th><th>Signed in with</th>\
         <th>Signed in</th><th>Ends</th><th></th></tr>{sessions}</table>\
         <form method=\"post\" action=\"/agent/account/logout\">{csrf}\
         <button type=\"submit\" id=\"logout\">Sign out of this browser</button> \
         <button type=\"submit\" id=\"switch\" class=\"secondary\">Use another account</button></form>",
        email = escape(who.email.as_str()),
        with = escape(signed_in_with),
        agents = agent_rows(agents, csrf),
        grants = grant_rows(grants, csrf),
        delegations = super::account_delegations::rows(
            delegations,
            &grants.iter().map(|row| row.grant).collect::<Vec<_>>(),
            csrf
        ),
        sessions = session_rows(&sessions, csrf),
        csrf = csrf_field(csrf),
        notice = notice(message),
    );
    page(StatusCode::OK, "Your agents", &body)
}

fn agent_rows(agents: &[AgentRow<'_>], csrf: &str) -> String {
    if agents.is_empty() {
        return "<tr><td colspan=\"6\" class=\"empty\" id=\"no-agents\">You have not claimed any agent yet. \
                An agent you run can ask you to claim it: it gives you a link, and the mail we send \
                asks for a code. Claimed agents appear here, and you can revoke them.</td></tr>"
            .to_owned();
    }
    agents
        .iter()
        .map(|row| {
            let r = row.registration;
            let action = match row.status {
                "revoked" => String::new(),
                "claimed" => {
                    let chosen = r.delegable_scopes.clone().unwrap_or_default();
                    let id = r.id.as_str();
                    hand_on_form(csrf, ("registration", id), &r.post_claim_scopes, &chosen)
                        + &revoke_form(csrf, "registration", id)
                }
                _ => revoke_form(csrf, "registration", r.id.as_str()),
            };
            format!(
                "<tr id=\"{id}\"><td><code>{id}</code></td><td>{kind}</td><td>{created}</td>\
                 <td>{claimed}</td><td class=\"status\">{status}</td><td>{action}</td></tr>",
                id = escape(r.id.as_str()),
                kind = escape(r.registration_type.as_str()),
                created = date(r.created_at),
                claimed = r.claimed_at.map(date).unwrap_or_default(),
                status = row.status,
            )
        })
        .collect()
}

fn grant_rows(grants: &[GrantRow<'_>], csrf: &str) -> String {
    if grants.is_empty() {
        return "<tr><td colspan=\"6\" class=\"empty\" id=\"no-grants\">No application can act for you yet. \
                When an application (an MCP client, say) sends you here and you allow it, it appears \
                here, with what it may do, and you can take it back.</td></tr>"
            .to_owned();
    }
    grants
        .iter()
        .map(|GrantRow { grant: g, given_by }| {
            let (status, action) = match g.revoked_at {
                Some(_) => ("revoked", String::new()),
                // What an organization's grant may hand on is not the human's to widen.
                None if g.is_consent() => (
                    "active",
                    hand_on_form(csrf, ("grant", g.id.as_str()), &g.scopes, &g.delegable_scopes())
                        + &revoke_form(csrf, "grant", g.id.as_str()),
                ),
                None => ("active", revoke_form(csrf, "grant", g.id.as_str())),
            };
            let resources = if g.resources.is_empty() {
                "default".to_owned()
            } else {
                g.resources.iter().map(|r| escape(r)).collect::<Vec<_>>().join("<br>")
            };
            format!(
                "<tr id=\"{id}\"><td>{name}</td><td><code>{scopes}</code></td><td>{resources}</td>\
                 <td>{granted}{by}{hands_on}</td><td class=\"status\">{status}</td><td>{action}</td></tr>",
                hands_on = if g.delegable {
                    format!(
                        "<br><span class=\"delegable\">may hand this on to agents it works with: <code>{}</code></span>",
                        escape(&g.delegable_scopes().to_string())
                    )
                } else {
                    String::new()
                },
                by = given_by.map_or_else(String::new, |by| format!(
                    "<br><span class=\"given-by\">by your organization, at {}</span>",
                    escape(by)
                )),
                id = escape(g.id.as_str()),
                name = escape(&g.client_name),
                scopes = escape(&g.scopes.to_string()),
                granted = date(g.granted_at),
            )
        })
        .collect()
}

fn session_rows(sessions: &Sessions<'_>, csrf: &str) -> String {
    sessions
        .all
        .iter()
        .map(|s| {
            let this = s.label == sessions.this;
            format!(
                "<tr id=\"session-{label}\"><td><code>{label}</code>{marker}</td><td class=\"with\">{with}</td><td>{started}</td>\
                 <td>{ends}</td><td><form method=\"post\" action=\"/agent/account/sessions/end\">{csrf}\
                 <input type=\"hidden\" name=\"id\" value=\"{label}\">\
                 <button type=\"submit\" class=\"end\" id=\"end-{label}\">Sign out</button></form></td></tr>",
                label = escape(&s.label),
                marker = if this { " (this browser)" } else { "" },
                with = escape(s.signed_in_with.as_deref().unwrap_or("")),
                started = date(s.started_at),
                ends = date(s.ends_at),
                csrf = csrf_field(csrf),
            )
        })
        .collect()
}
