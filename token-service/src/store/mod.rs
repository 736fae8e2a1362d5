//! token-service's stores: the revocation denylist, the delegation log, machine clients, the replay cache of
//! client assertion and DPoP proof `jti`s, and refresh token families. Redis in
//! production, memory for the all-in-one runner and unit tests; both pass the contract
//! suite in `tests/api/store_contract.rs`. The traits belong to the domains that own the
//! records ([`ClientStore`], [`RefreshTokenStore`], [`DenylistStore`]); this module only
//! implements them.

mod delegations;
mod memory;
mod redis;
mod refresh_memory;
mod refresh_redis;

use std::sync::Arc;

use shared::settings::{StoreBackend, StoreSettings};
use shared::store::replay::{MemoryReplayCache, RedisReplayCache, ReplayCache};
use shared::store::{Keyspace, StoreError};

use crate::clients::ClientStore;
use crate::delegations::DelegationLog;
use crate::refresh::RefreshTokenStore;
use crate::revocation::DenylistStore;

pub use self::delegations::{MemoryDelegationLog, RedisDelegationLog};
pub use self::memory::{MemoryClientStore, MemoryDenylist};
pub use self::redis::{RedisClientStore, RedisDenylist};
pub use self::refresh_memory::MemoryRefreshTokens;
pub use self::refresh_redis::RedisRefreshTokens;

#[derive(Debug)]
pub struct Stores {
    pub denylist: Arc<dyn DenylistStore>,
    pub delegations: Arc<dyn DelegationLog>,
    pub clients: Arc<dyn ClientStore>,
    pub replay: Arc<dyn ReplayCache>,
    pub refresh: Arc<dyn RefreshTokenStore>,
}

/// The stores `settings` describe; Redis stores share the process's connection.
pub fn from_settings(settings: &StoreSettings, connections: &shared::store::Connections) -> Result<Stores, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Memory => Stores {
            denylist: Arc::new(MemoryDenylist::default()),
            delegations: Arc::new(MemoryDelegationLog::default()),
            clients: Arc::new(MemoryClientStore::default()),
            replay: Arc::new(MemoryReplayCache::default()),
            refresh: Arc::new(MemoryRefreshTokens::default()),
        },
        StoreBackend::Redis => {
            let conn = connections.redis(settings)?;
            Stores {
                denylist: Arc::new(RedisDenylist::new(conn.clone(), &settings.key_prefix)),
                delegations: Arc::new(RedisDelegationLog::new(conn.clone(), &settings.key_prefix)),
                clients: Arc::new(RedisClientStore::new(conn.clone(), &settings.key_prefix)),
                replay: Arc::new(RedisReplayCache::new(
                    conn.clone(),
                    Keyspace::new(&settings.key_prefix, "token"),
                )),
                refresh: Arc::new(RedisRefreshTokens::new(conn, &settings.key_prefix)),
            }
        }
    })
}
