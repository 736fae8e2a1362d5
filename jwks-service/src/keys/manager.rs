use std::sync::Arc;
use std::time::Duration;

use shared::jose::{Algorithm, unix_now};
use shared::store::StoreError;
use tokio::sync::watch;

use super::material::{StoredKey, generate};
use crate::store::KeyStore;

/// What is published right now: the active key and the JWKS document built from it.
#[derive(Debug)]
pub struct Published {
    pub active: StoredKey,
    /// `/.well-known/jwks.json`, serialized once per change.
    pub jwks_json: String,
}

/// Holds the published key set and tells every subscriber (the gRPC stream) when it
/// changes.
#[derive(Debug)]
pub struct KeyManager {
    store: Arc<dyn KeyStore>,
    algorithm: Algorithm,
    tx: watch::Sender<Option<Arc<Published>>>,
}

impl KeyManager {
    pub fn new(store: Arc<dyn KeyStore>, algorithm: Algorithm) -> Self {
        let (tx, _) = watch::channel(None);
        Self { store, algorithm, tx }
    }

    pub fn current(&self) -> Option<Arc<Published>> {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Published>>> {
        self.tx.subscribe()
    }

    /// Loads the active key, generating and storing one first if the store has none.
    /// Replicas starting together agree on one key: the store keeps the first activation.
    pub async fn ensure_active_key(&self) -> Result<(), StoreError> {
        let active = match self.store.active().await? {
            Some(key) => key,
            None => {
                let candidate = generate(self.algorithm, unix_now()).map_err(|e| StoreError::Corrupt {
                    key: "new signing key".into(),
                    reason: e.to_string(),
                })?;
                let active = self.store.activate_first(candidate.clone()).await?;
                if active.kid == candidate.kid {
                    tracing::info!(kid = %active.kid, alg = %active.alg, "signing key generated");
                }
                active
            }
        };
        self.publish(active);
        Ok(())
    }

    /// Retries [`Self::ensure_active_key`] until it succeeds, so a replica started before
    /// Redis is reachable recovers on its own (it stays not ready meanwhile).
    pub async fn load_until_ready(self: Arc<Self>) {
        let mut delay = Duration::from_millis(100);
        while let Err(error) = self.ensure_active_key().await {
            tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "cannot load signing key");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    fn publish(&self, active: StoredKey) {
        let jwks_json = serde_json::json!({ "keys": [active.public_jwk] }).to_string();
        let unchanged = self.tx.borrow().as_ref().is_some_and(|p| p.active.kid == active.kid);
        if !unchanged {
            self.tx.send_replace(Some(Arc::new(Published { active, jwks_json })));
        }
    }
}
