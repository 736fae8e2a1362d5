//! `KeyService` streams the key set to signers; `KeyAdmin` serves operators. Generated
//! protobuf types stop here.

mod admin;

pub use admin::KeyAdminGrpc;

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt as _, future};
use proto::keys::v1::key_service_server::{KeyService, KeyServiceServer};
use proto::keys::v1::{KeySet, PublicKey, SigningKey, WatchSigningKeysRequest};
use shared::shutdown::Draining;
use tokio_stream::wrappers::WatchStream;
use tonic::{Request, Response, Status};

use crate::keys::{KeyManager, Published};

#[derive(Debug, Clone)]
pub struct KeyServiceImpl {
    keys: Arc<KeyManager>,
    /// Streams end when the replica drains, so signers reconnect to another replica
    /// and the server's graceful shutdown is not held open by them.
    draining: Draining,
}

impl KeyServiceImpl {
    pub fn server(keys: Arc<KeyManager>, draining: Draining) -> KeyServiceServer<Self> {
        KeyServiceServer::new(Self { keys, draining })
    }
}

type KeySetStream = Pin<Box<dyn Stream<Item = Result<KeySet, Status>> + Send>>;

#[tonic::async_trait]
impl KeyService for KeyServiceImpl {
    type WatchSigningKeysStream = KeySetStream;

    async fn watch_signing_keys(
        &self,
        _request: Request<WatchSigningKeysRequest>,
    ) -> Result<Response<Self::WatchSigningKeysStream>, Status> {
        // The current set first (if loaded), then every change.
        let draining = self.draining.clone();
        let stream = WatchStream::new(self.keys.subscribe())
            .filter_map(|published| future::ready(published.map(|p| Ok(to_key_set(&p)))))
            .take_until(async move { draining.stopping().await });
        Ok(Response::new(Box::pin(stream)))
    }
}

fn to_key_set(published: &Published) -> KeySet {
    let active = &published.active;
    KeySet {
        active: Some(SigningKey {
            kid: active.kid.clone(),
            alg: active.alg.clone(),
            private_key_pkcs8: published.private_key_der.clone(),
            not_after: published.not_after,
        }),
        published: published
            .published
            .iter()
            .map(|key| PublicKey {
                kid: key.kid.clone(),
                alg: key.alg.clone(),
                jwk_json: key.public_jwk.to_string(),
            })
            .collect(),
    }
}
