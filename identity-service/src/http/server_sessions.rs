//! actix-session's storage, backed by identity-service's [`SessionStore`]: the cookie
//! carries a 256-bit random id and nothing else, and the store knows the session only
//! by the keyed hash of that id. So logging out, signing in as someone else (the
//! middleware deletes a renewed session's old id), `session_ttl`, and a human ending a
//! session from `/agent/account` each end it for every copy of the cookie, on every
//! replica. A store outage is answered 503 by [`outage_is_unavailable`].

use std::collections::HashMap;
use std::sync::Arc;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore as CookieStorage, UpdateError};
use actix_web::ResponseError as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::time::Duration;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::middleware::Next;
use protocol::secrets::SecretHasher;
use shared::store::StoreError;
use shared::time::unix_now;

use super::session::Browser;
use crate::authorize::store::{SessionRecord, SessionStore};

/// Keyed-hash context of a session id: the store's handle for it.
const SESSION_ID_CONTEXT: &str = "session_id";

#[derive(Clone, Debug)]
pub struct ServerSessions {
    store: Arc<dyn SessionStore>,
    hasher: SecretHasher,
}

impl ServerSessions {
    pub fn new(store: Arc<dyn SessionStore>, hasher: SecretHasher) -> Self {
        Self { store, hasher }
    }

    fn handle(&self, key: &SessionKey) -> String {
        self.hasher.hash(SESSION_ID_CONTEXT, key.as_ref())
    }

    /// The record for `state`: its human, label and lifetime come from the [`Browser`]
    /// it holds (which began at sign-in), so no renewal of the cookie extends it.
    fn record(state: HashMap<String, String>, ttl: &Duration) -> SessionRecord {
        let now = unix_now();
        let browser = Browser::in_state(&state);
        let created_at = browser.as_ref().map_or(now, Browser::created_at);
        let who = browser.as_ref().and_then(|b| b.signed_in.clone());
        let who = who.as_ref();
        SessionRecord {
            human: who.map(|w| w.human.clone()),
            upstream: who.and_then(|w| w.upstream_human.clone().filter(|u| *u != w.human)),
            label: browser.map(|b| b.label).unwrap_or_default(),
            created_at,
            expires_at: created_at + ttl.whole_seconds(),
            state,
        }
    }
}

fn unavailable(error: StoreError) -> anyhow::Error {
    anyhow::Error::new(error)
}

impl CookieStorage for ServerSessions {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let record = self
            .store
            .session(&self.handle(key))
            .await
            .map_err(|e| LoadError::Other(unavailable(e)))?;
        Ok(record.filter(|r| r.expires_at > unix_now()).map(|r| r.state))
    }

    async fn save(&self, state: HashMap<String, String>, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let id = protocol::secrets::random_token(32);
        let key = SessionKey::try_from(id).map_err(|e| SaveError::Other(anyhow::Error::new(e)))?;
        self.store
            .put_session(&self.handle(&key), &Self::record(state, ttl))
            .await
            .map_err(|e| SaveError::Other(unavailable(e)))?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let handle = self.handle(&key);
        // A session ended elsewhere (logout on another tab, the account page) is not
        // brought back by a late write from a request that began before.
        let live = self
            .store
            .session(&handle)
            .await
            .map_err(|e| UpdateError::Other(unavailable(e)))?;
        if live.is_none() {
            return self
                .save(state, ttl)
                .await
                .map_err(|e| UpdateError::Other(anyhow::anyhow!("{e}")));
        }
        self.store
            .put_session(&handle, &Self::record(state, ttl))
            .await
            .map_err(|e| UpdateError::Other(unavailable(e)))?;
        Ok(key)
    }

    async fn update_ttl(&self, _key: &SessionKey, _ttl: &Duration) -> Result<(), anyhow::Error> {
        // The lifetime is absolute from sign-in: nothing extends it.
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        self.store.end_session(&self.handle(key)).await.map_err(unavailable)
    }
}

/// The session middleware turns a storage failure into a bare 500; a store outage is a
/// 503 with `Retry-After` everywhere else, so it is here too (DESIGN §6).
pub async fn outage_is_unavailable(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // Read before the call: the request cannot be shared while the router uses it.
    let issuer = request
        .app_data::<actix_web::web::Data<crate::authorize::Authorizations>>()
        .map(|auth| auth.issuer().to_owned())
        .unwrap_or_default();
    match next.call(request).await {
        Ok(response) => Ok(response.map_into_boxed_body()),
        Err(error) if is_storage_failure(&error) => {
            tracing::warn!(%error, "session store unavailable");
            let outage = crate::authorize::AuthorizeError::Unavailable("the session store".into());
            let page = super::authorize_page::ErrorPage::new(outage, &issuer);
            Err(InternalError::from_response("session store unavailable", page.error_response()).into())
        }
        Err(error) => Err(error),
    }
}

fn is_storage_failure(error: &actix_web::Error) -> bool {
    error.as_error::<InternalError<LoadError>>().is_some()
        || error.as_error::<InternalError<SaveError>>().is_some()
        || error.as_error::<InternalError<UpdateError>>().is_some()
        || error.as_error::<InternalError<anyhow::Error>>().is_some()
}
