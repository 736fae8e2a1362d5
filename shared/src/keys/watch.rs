//! Keeps a [`KeyRing`] current from jwks-service's `WatchSigningKeys` stream. When the
//! stream breaks, the last ring stays in use (signers keep signing) and the task
//! reconnects, to another jwks replica when there is one, with capped exponential
//! backoff.

use std::sync::Arc;
use std::time::Duration;

use crate::grpc::Replicas;
use crate::health::ReadinessCheck;
use proto::keys::v1::WatchSigningKeysRequest;
use proto::keys::v1::key_service_client::KeyServiceClient;
use protocol::jose::KeyRing;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Readers of the current key ring; cheap to clone, `borrow()` never blocks signers.
pub type KeyRingWatch = watch::Receiver<Arc<KeyRing>>;

/// The running watcher; dropping it stops the task.
#[derive(Debug)]
pub struct KeyWatcher {
    task: JoinHandle<()>,
}

impl Drop for KeyWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts following the stream from one of `replicas`.
pub fn spawn(replicas: Replicas) -> (KeyRingWatch, KeyWatcher) {
    let (tx, rx) = watch::channel(Arc::new(KeyRing::default()));
    let task = tokio::spawn(follow(replicas, tx));
    (rx, KeyWatcher { task })
}

async fn follow(replicas: Replicas, tx: watch::Sender<Arc<KeyRing>>) {
    let mut backoff = MIN_BACKOFF;
    let mut last = None;
    loop {
        let Some((replica, channel)) = replicas.pick(last) else {
            tracing::warn!("no jwks-service replica resolved yet");
            replicas.refresh().await;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            continue;
        };
        last = Some(replica);
        let mut client = KeyServiceClient::new(channel);
        match client.watch_signing_keys(WatchSigningKeysRequest {}).await {
            Ok(response) => {
                let mut stream = response.into_inner();
                loop {
                    match stream.message().await {
                        Ok(Some(set)) => match super::key_ring(&set) {
                            Ok(ring) => {
                                let kid = ring.signer().map(|k| k.kid().to_owned());
                                tracing::info!(kid = ?kid, "signing keys updated");
                                tx.send_replace(Arc::new(ring));
                                backoff = MIN_BACKOFF;
                            }
                            Err(error) => tracing::error!(%error, "rejected key set from jwks-service"),
                        },
                        Ok(None) => {
                            tracing::warn!(%replica, "key stream ended by jwks-service");
                            break;
                        }
                        Err(status) => {
                            tracing::warn!(%replica, code = ?status.code(), message = status.message(), "key stream broke");
                            break;
                        }
                    }
                }
            }
            Err(status) => {
                replicas.set_aside(replica);
                tracing::warn!(%replica, code = ?status.code(), message = status.message(), "cannot reach jwks-service")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Ready once a signing key has arrived.
#[derive(Debug)]
pub struct SigningKeyReady(pub KeyRingWatch);

#[async_trait::async_trait]
impl ReadinessCheck for SigningKeyReady {
    fn name(&self) -> &'static str {
        "signing_key"
    }

    async fn check(&self) -> Result<(), String> {
        let ring = self.0.borrow();
        match ring.signer() {
            None => Err("no signing key received from jwks-service yet".into()),
            Some(_) if ring.signer_retired(crate::time::unix_now()) => {
                Err("the signing key is past its retirement and jwks-service sent no successor".into())
            }
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::keys::v1::{KeySet, SigningKey as ProtoKey};

    fn ring_retiring_at(not_after: i64) -> KeyRingWatch {
        let key = crate::testing_key();
        let set = KeySet {
            active: Some(ProtoKey {
                kid: "k".into(),
                alg: "ES256".into(),
                private_key_pkcs8: key,
                not_after,
            }),
            published: Vec::new(),
        };
        watch::channel(Arc::new(crate::keys::key_ring(&set).expect("ring"))).1
    }

    #[tokio::test]
    async fn a_signer_cut_off_from_jwks_stays_ready_until_its_key_retires() {
        let now = crate::time::unix_now();
        assert!(SigningKeyReady(ring_retiring_at(now + 60)).check().await.is_ok());
        let retired = SigningKeyReady(ring_retiring_at(now - 1)).check().await;
        assert!(retired.expect_err("not ready").contains("retirement"));
        let empty = watch::channel(Arc::new(KeyRing::default())).1;
        assert!(SigningKeyReady(empty).check().await.is_err(), "no key yet");
    }
}
