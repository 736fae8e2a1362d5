//! Public HTTP surface of identity-service.

mod account;
mod account_delegations;
mod account_forms;
mod account_hand_on;
mod account_page;
mod authorize;
mod authorize_page;
mod claim;
mod claim_page;
mod discovery;
mod events;
mod html;
pub(crate) mod json;
mod provider_buttons;
mod register;
pub mod resource_metadata;
mod server_sessions;
pub use server_sessions::ServerSessions;
mod session;
mod sign_in;
mod skill;

pub use register::RegistrationRequest;

use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{CookieContentSecurity, PersistentSession};

use actix_web::cookie::SameSite;
use actix_web::dev::HttpServiceFactory;
use actix_web::{Route, web};
use shared::envelope::{Surface, actix_errors_in};

use crate::authorize::Authorizations;
use crate::state::AppState;

/// Largest request body accepted on any POST: far above a real one (an ID-JAG or a SET is
/// a few KiB), far below what would let a body cost a worker noticeable time.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The public routes this service mounts, as the ingress must route them to it;
/// `{path}` stands for one or more segments. `/healthz` and `/readyz` are internal and
/// never routed.
pub const ROUTES: &[&str] = &[
    "/.well-known/oauth-authorization-server",
    "/auth.md",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-protected-resource/{path}",
    "/agent/identity",
    "/agent/identity/claim",
    "/agent/identity/claim/view",
    "/agent/identity/claim/attempt/challenge",
    "/agent/identity/claim/complete",
    "/agent/event/notify",
    "/agent/auth/revoke",
    "/oauth2/authorize",
    "/oauth2/authorize/login",
    "/oauth2/authorize/verify",
    "/oauth2/authorize/consent",
    "/oauth2/authorize/upstream",
    "/agent/account",
    "/agent/account/login",
    "/agent/account/verify",
    "/agent/account/revoke",
    "/agent/account/hand-on",
    "/agent/account/logout",
    "/agent/account/upstream",
    "/agent/sign-in/callback",
    "/agent/sign-in/claim",
    "/agent/sign-in/backchannel-logout/{path}",
];

/// How the human's session cookie is sealed and scoped.
#[derive(Clone)]
pub struct SessionCookie {
    pub key: actix_web::cookie::Key,
    /// Where sessions live: the cookie carries only their id.
    pub store: ServerSessions,
    /// `Secure` and `__Host-` (everywhere but development, which runs on plain http).
    pub secure: bool,
    pub ttl: std::time::Duration,
}

impl std::fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCookie")
            .field("secure", &self.secure)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Mounts the routes; each handler takes the state it needs (a single domain service, or
/// the whole [`AppState`] when it combines several).
pub fn configure(cfg: &mut web::ServiceConfig, state: Arc<AppState>, cookie: &SessionCookie) {
    let authorizations = state.authorizations.clone();
    cfg.app_data(web::Data::from(state.claims.clone()))
        .app_data(web::Data::from(state.trust.clone()))
        .app_data(web::Data::from(state.registrations.clone()))
        .app_data(web::Data::from(authorizations.clone()))
        .app_data(web::Data::from(state))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(discovery::metadata),
        )
        .route("/auth.md", web::get().to(skill::skill))
        // RFC 9728 documents answer their errors (an unknown resource, a path that does
        // not decode) as JSON too.
        .service(agent(
            "/.well-known/oauth-protected-resource",
            web::get().to(|state| resource_metadata::metadata(None, state)),
        ))
        .service(agent(
            "/.well-known/oauth-protected-resource/{path:.*}",
            web::get().to(|path, state| resource_metadata::metadata(Some(path), state)),
        ))
        .service(agent("/agent/identity", web::post().to(register::register)))
        .service(agent("/agent/identity/claim", web::post().to(claim::start)))
        // The human's pages answer in HTML, errors included.
        .service(
            web::resource("/agent/identity/claim/view")
                .app_data(web::Data::from(authorizations.clone()))
                .route(web::get().to(claim_page::view)),
        )
        .service(
            web::resource("/agent/identity/claim/attempt/challenge")
                .app_data(web::Data::from(authorizations.clone()))
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .route(web::post().to(claim_page::challenge)),
        )
        .service(agent("/agent/identity/claim/complete", web::post().to(claim::complete)))
        .service(security_events("/agent/event/notify", web::post().to(events::notify)))
        .service(security_events(
            "/agent/auth/revoke",
            web::post().to(events::legacy_revoke),
        ));
    human_pages(cfg, &authorizations, cookie);
}

/// The human's pages, in a session: the authorization endpoint and the account page.
/// Registered before token-service's `/oauth2` scope when one process serves both (the
/// all-in-one merges identity's routes first).
fn human_pages(cfg: &mut web::ServiceConfig, authorizations: &Arc<Authorizations>, cookie: &SessionCookie) {
    cfg.service(
        web::scope("/oauth2/authorize")
            .app_data(web::Data::from(authorizations.clone()))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .wrap(session(cookie))
            .wrap(actix_web::middleware::from_fn(server_sessions::outage_is_unavailable))
            .route("", web::get().to(authorize::authorize))
            .route("/login", web::post().to(authorize::login))
            .route("/verify", web::post().to(authorize::verify))
            .route("/consent", web::post().to(authorize::consent))
            .route("/upstream", web::post().to(sign_in::from_authorize)),
    )
    .service(
        web::scope("/agent/account")
            .app_data(web::Data::from(authorizations.clone()))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .wrap(session(cookie))
            .wrap(actix_web::middleware::from_fn(server_sessions::outage_is_unavailable))
            .route("", web::get().to(account::view))
            .route("/login", web::post().to(account::login))
            .route("/verify", web::post().to(account::verify))
            .route("/revoke", web::post().to(account::revoke))
            .route("/hand-on", web::post().to(account_hand_on::hand_on))
            .route("/sessions/end", web::post().to(account::end_session))
            .route("/logout", web::post().to(account::logout))
            .route("/upstream", web::post().to(sign_in::from_account)),
    )
    // A provider's server, not a browser: no session.
    .service(
        web::resource("/agent/sign-in/backchannel-logout/{provider:.*}")
            .app_data(web::Data::from(authorizations.clone()))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .route(web::post().to(sign_in::backchannel_logout)),
    )
    // Where identity providers send the browser back, in the same session.
    .service(
        web::scope("/agent/sign-in")
            .app_data(web::Data::from(authorizations.clone()))
            .wrap(session(cookie))
            .wrap(actix_web::middleware::from_fn(server_sessions::outage_is_unavailable))
            .route("/callback", web::get().to(sign_in::callback))
            .route("/claim", web::post().to(sign_in::from_claim)),
    );
}

/// The human's session: held in the store ([`server_sessions`]), its id in a private
/// cookie (encrypted and authenticated under a key derived from the hash pepper),
/// `HttpOnly`,
/// `SameSite=Lax` (the client's redirect to us is a top-level GET, which carries it),
/// and `Secure` with the `__Host-` prefix outside development.
fn session(cookie: &SessionCookie) -> SessionMiddleware<server_sessions::ServerSessions> {
    let name = if cookie.secure {
        "__Host-agentauth-session"
    } else {
        "agentauth-session"
    };
    let ttl = actix_web::cookie::time::Duration::seconds(cookie.ttl.as_secs() as i64);
    SessionMiddleware::builder(cookie.store.clone(), cookie.key.clone())
        .cookie_name(name.to_owned())
        .cookie_secure(cookie.secure)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".to_owned())
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(PersistentSession::default().session_ttl(ttl))
        .build()
}

/// A `/agent/*` JSON endpoint: bounded body, every error as `{error, message}`.
fn agent(path: &str, route: Route) -> impl HttpServiceFactory {
    web::resource(path)
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .route(route)
        .wrap(actix_errors_in(Surface::Agent))
}

/// A security event receiver: bounded body, every error as RFC 8935 `{err, description}`.
fn security_events(path: &str, route: Route) -> impl HttpServiceFactory {
    web::resource(path)
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .route(route)
        .wrap(actix_errors_in(Surface::SecurityEvents))
}
