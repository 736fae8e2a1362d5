//! `POST /agent/account/hand-on`: the human sets what one of their claimed agents, or an
//! application they allowed, may hand on to other agents by token exchange (RFC 8693).

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use protocol::scope::ScopeSet;
use shared::time::unix_now;

use super::account::{accept, back_to};
use super::authorize_page::{ErrorPage, OrErrorPage};
use crate::authorize::record::HandOn;
use crate::authorize::{Authorizations, AuthorizeError, SignedIn};
use crate::registration::Registrations;

/// `POST /agent/account/hand-on`: what a claimed agent (`kind` `registration`) or an
/// allowed application (`grant`) may hand on to other agents: the ticked `scope`s.
pub async fn hand_on(
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
        let scopes = ScopeSet::from_tokens(super::session::form_values(&body, "scope"))
            .map_err(|_| AuthorizeError::InvalidRequest("the scopes must be scope tokens".into()))?;
        let set = match form.kind.as_deref() {
            Some("registration") if who.email_linked => {
                registrations.set_delegable_owned(&who.email, id, &scopes, now).await?
            }
            Some("grant") => auth.set_own_hand_on(&who, id, HandOn::Only(scopes)).await?,
            _ => false,
        };
        if !set {
            return Err(AuthorizeError::InvalidRequest(
                "there is no claimed agent or active grant of yours by that id".into(),
            ));
        }
        Ok(back_to("/agent/account?hand-on"))
    };
    outcome.await.or_page(auth.issuer())
}
