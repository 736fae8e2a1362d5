//! The key set every replica publishes, recomputed from the store on each tick; and the
//! schedule only the lease holder acts on (generate the next key ahead of its slot,
//! remove retired keys).

use std::sync::Arc;

use shared::audit::{self, Actor};
use std::time::Duration;

use protocol::jose::Algorithm;
use shared::store::StoreError;
use shared::time::{unix_now, unix_now_ms};
use tokio::sync::watch;

use super::lifecycle::{KeyState, KeyView, Schedule};
use super::material::{StoredKey, generate};
use super::sealing::KekRing;
use super::store::KeyStore;

/// What is published right now.
pub struct Published {
    /// The key signers must sign with, its private half opened once.
    pub active: StoredKey,
    pub private_key_der: Vec<u8>,
    /// Unix seconds past which the active key is retired even without a successor.
    pub not_after: i64,
    /// Every key verifiers must accept (next, active, retiring).
    pub published: Vec<StoredKey>,
    /// `/.well-known/jwks.json`, serialized once per change.
    pub jwks_json: String,
}

impl std::fmt::Debug for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Published")
            .field("active", &self.active.kid)
            .field("published", &self.published.iter().map(|k| &k.kid).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct KeyManager {
    store: Arc<dyn KeyStore>,
    algorithm: Algorithm,
    keks: KekRing,
    schedule: Schedule,
    tx: watch::Sender<Option<Arc<Published>>>,
}

fn seal_failure(kid: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: format!("signing key {kid}"),
        reason: error.to_string(),
    }
}

impl KeyManager {
    pub fn new(store: Arc<dyn KeyStore>, algorithm: Algorithm, keks: KekRing, schedule: Schedule) -> Self {
        let (tx, _) = watch::channel(None);
        Self {
            store,
            algorithm,
            keks,
            schedule,
            tx,
        }
    }

    pub fn current(&self) -> Option<Arc<Published>> {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Published>>> {
        self.tx.subscribe()
    }

    /// Every stored key with its state now.
    pub async fn view(&self) -> Result<KeyView, StoreError> {
        Ok(KeyView::at(self.store.all().await?, unix_now_ms(), &self.schedule))
    }

    /// Reloads the key set and publishes it if it changed.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let view = self.view().await?;
        let Some(active) = view.active() else {
            return Ok(());
        };
        let published: Vec<StoredKey> = view.published().cloned().collect();
        let lifetime = self.schedule.rotation_period + self.schedule.retire_after;
        self.record_gauges(&view, active, published.len());
        let previous = self.tx.borrow().as_ref().map(|p| p.active.kid.clone());
        let unchanged = self.tx.borrow().as_ref().is_some_and(|p| {
            p.active.kid == active.kid && p.published.iter().map(|k| &k.kid).eq(published.iter().map(|k| &k.kid))
        });
        if unchanged {
            return Ok(());
        }
        if previous.as_deref() != Some(active.kid.as_str()) {
            audit::record("key_activated", Actor::System, &active.kid, "success");
        }
        let private_key_der = active
            .private_key_der(&self.keks)
            .map_err(|e| seal_failure(&active.kid, e))?;
        let jwks_json = serde_json::json!({ "keys": published.iter().map(|k| &k.public_jwk).collect::<Vec<_>>() });
        tracing::info!(kid = %active.kid, published = published.len(), "key set published");
        self.tx.send_replace(Some(Arc::new(Published {
            // Rounded up: a signer never stops before the key's true retirement.
            not_after: (active.activate_at_ms + lifetime.as_millis() as i64 + 999).div_euclid(1000),
            active: active.clone(),
            private_key_der,
            published,
            jwks_json: jwks_json.to_string(),
        })));
        Ok(())
    }

    /// The lease holder's duty: the next key generated ahead of its slot (the first key
    /// at once), retired keys removed.
    pub async fn schedule_if_due(&self) -> Result<(), StoreError> {
        let now_ms = unix_now_ms();
        let view = self.view().await?;
        if let Some(activate_at_ms) = view.next_slot_due(now_ms, &self.schedule) {
            // The first key's slot is fixed, so racing schedulers can only make one.
            let slot = if view.keys.is_empty() {
                "genesis".to_owned()
            } else {
                activate_at_ms.to_string()
            };
            self.add_key(&slot, activate_at_ms).await?;
        }
        for key in view.with_state(KeyState::Retired) {
            self.store.remove(&key.kid).await?;
            audit::record("key_retired", Actor::System, &key.kid, "success");
        }
        Ok(())
    }

    /// An operator's rotation: a new key, signing after `publish_ahead` (or at once).
    pub async fn rotate(&self, immediate: bool) -> Result<StoredKey, StoreError> {
        let ahead = if immediate {
            Duration::ZERO
        } else {
            self.schedule.publish_ahead
        };
        let activate_at_ms = unix_now_ms() + i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX);
        let key = self
            .add_key(&format!("manual-{activate_at_ms}"), activate_at_ms)
            .await?;
        self.refresh().await?;
        Ok(key)
    }

    /// Re-seals every key sealed under an older KEK with the current one; returns how
    /// many were re-sealed.
    pub async fn rewrap(&self) -> Result<usize, StoreError> {
        let mut rewrapped = 0;
        for key in self.store.all().await? {
            if key.kek_id() == self.keks.current.id() {
                continue;
            }
            let sealed = key.rewrapped(&self.keks).map_err(|e| seal_failure(&key.kid, e))?;
            if self.store.replace(&sealed).await? {
                rewrapped += 1;
                tracing::info!(kid = %key.kid, kek_id = self.keks.current.id(), "signing key re-sealed");
                audit::record("key_rewrapped", Actor::Operator, &key.kid, "success");
            }
        }
        Ok(rewrapped)
    }

    /// The key lifecycle gauges, as of this refresh.
    fn record_gauges(&self, view: &KeyView, active: &StoredKey, published: usize) {
        use shared::telemetry::metrics as m;
        let now_ms = unix_now_ms();
        let secs = |ms: i64| ms as f64 / 1000.0;
        let rotation = self.schedule.rotation_period.as_millis() as i64;
        let retire = self.schedule.retire_after.as_millis() as i64;
        metrics::gauge!(m::SIGNING_KEY_AGE).set(secs(now_ms - active.activate_at_ms));
        metrics::gauge!(m::SIGNING_KEY_ROTATES_IN).set(secs(active.activate_at_ms + rotation - now_ms));
        metrics::gauge!(m::SIGNING_KEY_RETIRES_IN).set(secs(active.activate_at_ms + rotation + retire - now_ms));
        let next = view.with_state(KeyState::Next).next().is_some();
        metrics::gauge!(m::SIGNING_KEY_NEXT_PUBLISHED).set(if next { 1.0 } else { 0.0 });
        metrics::gauge!(m::SIGNING_KEYS_PUBLISHED).set(published as f64);
    }

    pub fn current_kek_id(&self) -> &str {
        self.keks.current.id()
    }

    async fn add_key(&self, slot: &str, activate_at_ms: i64) -> Result<StoredKey, StoreError> {
        let mut key = generate(self.algorithm, unix_now(), &self.keks.current).map_err(|e| seal_failure("new", e))?;
        key.activate_at_ms = activate_at_ms;
        if self.store.insert_for_slot(slot, &key).await? {
            tracing::info!(kid = %key.kid, activate_at_ms, "signing key scheduled");
            audit::record("key_generated", Actor::System, &key.kid, "success");
        }
        Ok(key)
    }

    /// Runs until dropped: every `tick`, the lease holder schedules, every replica
    /// refreshes. Store errors are logged and retried on the next tick.
    pub async fn run(self: Arc<Self>, holder: String, tick: Duration, lease_ttl: Duration) {
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = self.run_once(&holder, lease_ttl).await {
                tracing::warn!(%error, "key schedule tick failed");
            }
        }
    }

    pub async fn run_once(&self, holder: &str, lease_ttl: Duration) -> Result<(), StoreError> {
        if self.store.lease(holder, lease_ttl).await? {
            self.schedule_if_due().await?;
        }
        self.refresh().await
    }
}
