use std::sync::Arc;
use std::time::Duration;

use shared::jose::{Algorithm, unix_now};
use shared::store::StoreError;
use tokio::sync::watch;

use super::material::{StoredKey, generate};
use super::sealing::KekRing;
use crate::store::KeyStore;

/// What is published right now: the active key (its private half opened once) and the
/// JWKS document built from it.
pub struct Published {
    pub active: StoredKey,
    pub private_key_der: Vec<u8>,
    /// `/.well-known/jwks.json`, serialized once per change.
    pub jwks_json: String,
}

impl std::fmt::Debug for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Published")
            .field("active", &self.active)
            .field("private_key_der", &"[redacted]")
            .finish()
    }
}

/// Holds the published key set and tells every subscriber (the gRPC stream) when it
/// changes.
#[derive(Debug)]
pub struct KeyManager {
    store: Arc<dyn KeyStore>,
    algorithm: Algorithm,
    keks: KekRing,
    tx: watch::Sender<Option<Arc<Published>>>,
}

impl KeyManager {
    pub fn new(store: Arc<dyn KeyStore>, algorithm: Algorithm, keks: KekRing) -> Self {
        let (tx, _) = watch::channel(None);
        Self {
            store,
            algorithm,
            keks,
            tx,
        }
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
                let candidate =
                    generate(self.algorithm, unix_now(), &self.keks.current).map_err(|e| StoreError::Corrupt {
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
        self.publish(active)
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

    fn publish(&self, active: StoredKey) -> Result<(), StoreError> {
        let unchanged = self.tx.borrow().as_ref().is_some_and(|p| p.active.kid == active.kid);
        if unchanged {
            return Ok(());
        }
        // Opened once here; signers get the DER over the stream, never re-reading Redis.
        let private_key_der = active.private_key_der(&self.keks).map_err(|e| StoreError::Corrupt {
            key: format!("signing key {}", active.kid),
            reason: e.to_string(),
        })?;
        let jwks_json = serde_json::json!({ "keys": [active.public_jwk] }).to_string();
        self.tx.send_replace(Some(Arc::new(Published {
            active,
            private_key_der,
            jwks_json,
        })));
        Ok(())
    }
}
