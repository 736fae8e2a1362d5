//! Where identity-service's records live: Redis in production, memory for the all-in-one
//! runner and unit tests; both pass the contract suite in `tests/api/store_contract.rs`.
//! The traits belong to the domains that own the records (`registration::store`,
//! `authorize::store`); the replay cache of provider token ids is `shared`'s. This
//! module only implements them.

mod authorize_memory;
mod authorize_redis;
mod compact;
mod links_memory;
mod links_redis;
mod memory;
mod redis;
mod sessions_memory;
mod sessions_redis;

use std::sync::Arc;

use shared::settings::{StoreBackend, StoreSettings};
use shared::store::replay::{MemoryReplayCache, RedisReplayCache, ReplayCache};
use shared::store::{Connections, Keyspace, StoreError};

use crate::authorize::store::{AuthorizationStore, SessionStore};
use crate::registration::store::{DelegationStore, RegistrationStore, UserDirectory};

pub use self::authorize_memory::MemoryAuthorizations;
pub use self::authorize_redis::RedisAuthorizations;
pub use self::links_memory::MemoryLinks;
pub use self::links_redis::RedisLinks;
pub use self::memory::MemoryRegistrationStore;
pub use self::redis::RedisRegistrationStore;
pub use self::sessions_memory::MemorySessions;
pub use self::sessions_redis::RedisSessions;

/// Every store identity-service uses, from one backend.
#[derive(Debug, Clone)]
pub struct Stores {
    pub registrations: Arc<dyn RegistrationStore>,
    pub delegations: Arc<dyn DelegationStore>,
    pub users: Arc<dyn UserDirectory>,
    pub replay: Arc<dyn ReplayCache>,
    pub authorizations: Arc<dyn AuthorizationStore>,
    pub sessions: Arc<dyn SessionStore>,
}

/// The stores `settings` describe; Redis stores share the process's connection.
pub fn from_settings(settings: &StoreSettings, connections: &Connections) -> Result<Stores, StoreError> {
    Ok(match settings.backend {
        StoreBackend::Memory => {
            let links = Arc::new(MemoryLinks::default());
            Stores {
                registrations: Arc::new(MemoryRegistrationStore::default()),
                delegations: links.clone(),
                users: links,
                replay: Arc::new(MemoryReplayCache::default()),
                authorizations: Arc::new(MemoryAuthorizations::default()),
                sessions: Arc::new(MemorySessions::default()),
            }
        }
        StoreBackend::Redis => {
            let conn = connections.redis(settings)?;
            let links = Arc::new(RedisLinks::new(conn.clone(), settings));
            Stores {
                registrations: Arc::new(RedisRegistrationStore::new(conn.clone(), settings)),
                delegations: links.clone(),
                users: links,
                // The keys the replay cache of provider token ids always had.
                replay: Arc::new(RedisReplayCache::new(
                    conn.clone(),
                    Keyspace::new(&settings.key_prefix, "identity"),
                )),
                authorizations: Arc::new(RedisAuthorizations::new(conn.clone(), settings)),
                sessions: Arc::new(RedisSessions::new(conn, settings)),
            }
        }
    })
}
