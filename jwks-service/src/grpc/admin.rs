//! `KeyAdmin`: `agentctl keys rotate` and `agentctl keys list`, on the internal port.

use std::sync::Arc;

use proto::keys::v1::key_admin_server::{KeyAdmin, KeyAdminServer};
use proto::keys::v1::{KeyInfo, ListKeysRequest, ListKeysResponse, RewrapRequest, RewrapResponse, RotateRequest};
use tonic::{Request, Response, Status};

use crate::error::JwksError;
use crate::keys::{KeyManager, KeyState, StoredKey};

#[derive(Debug, Clone)]
pub struct KeyAdminGrpc {
    keys: Arc<KeyManager>,
}

impl KeyAdminGrpc {
    pub fn server(keys: Arc<KeyManager>) -> KeyAdminServer<Self> {
        KeyAdminServer::new(Self { keys })
    }
}

fn info(key: &StoredKey, state: KeyState) -> KeyInfo {
    KeyInfo {
        kid: key.kid.clone(),
        alg: key.alg.clone(),
        state: state.as_str().to_owned(),
        created_at_ms: key.created_at * 1000,
        activate_at_ms: key.activate_at_ms,
    }
}

#[tonic::async_trait]
impl KeyAdmin for KeyAdminGrpc {
    async fn rotate(&self, request: Request<RotateRequest>) -> Result<Response<KeyInfo>, Status> {
        let immediate = request.into_inner().immediate;
        let key = self.keys.rotate(immediate).await.map_err(JwksError::from)?;
        let state = if immediate { KeyState::Active } else { KeyState::Next };
        Ok(Response::new(info(&key, state)))
    }

    async fn rewrap(&self, _request: Request<RewrapRequest>) -> Result<Response<RewrapResponse>, Status> {
        let rewrapped = self.keys.rewrap().await.map_err(JwksError::from)?;
        Ok(Response::new(RewrapResponse {
            rewrapped: u32::try_from(rewrapped).unwrap_or(u32::MAX),
            kek_id: self.keys.current_kek_id().to_owned(),
        }))
    }

    async fn list_keys(&self, _request: Request<ListKeysRequest>) -> Result<Response<ListKeysResponse>, Status> {
        let view = self.keys.view().await.map_err(JwksError::from)?;
        let keys = view
            .keys
            .iter()
            .filter(|(_, state)| *state != KeyState::Retired)
            .map(|(key, state)| info(key, *state))
            .collect();
        Ok(Response::new(ListKeysResponse { keys }))
    }
}
