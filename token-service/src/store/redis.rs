use redis::AsyncCommands;
use shared::store::RedisConnection;
use shared::store::{Keyspace, Reachable, StoreError, decode_json, encode_json};

use super::{ClientStore, DenylistStore};
use crate::clients::{Client, ClientId};

/// `{prefix}token:deny:<jti>`, expiring when the token would have.
#[derive(Clone)]
pub struct RedisDenylist {
    conn: RedisConnection,
    keys: Keyspace,
}

impl std::fmt::Debug for RedisDenylist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDenylist").field("keys", &self.keys).finish()
    }
}

impl RedisDenylist {
    pub fn new(conn: RedisConnection, prefix: &str) -> Self {
        Self {
            conn,
            keys: Keyspace::new(prefix, "token"),
        }
    }
}

#[async_trait::async_trait]
impl DenylistStore for RedisDenylist {
    async fn deny(&self, jti: &str, until: i64) -> Result<(), StoreError> {
        let _: () = redis::cmd("SET")
            .arg(self.keys.key("deny", jti))
            .arg(1)
            .arg("EXAT")
            .arg(until)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn is_denied(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self.conn.clone().exists(self.keys.key("deny", jti)).await?)
    }
}

/// `{prefix}token:client:<client_id>` holding the client as JSON.
#[derive(Clone)]
pub struct RedisClientStore {
    conn: RedisConnection,
    keys: Keyspace,
}

impl std::fmt::Debug for RedisClientStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisClientStore").field("keys", &self.keys).finish()
    }
}

impl RedisClientStore {
    pub fn new(conn: RedisConnection, prefix: &str) -> Self {
        Self {
            conn,
            keys: Keyspace::new(prefix, "token"),
        }
    }
}

#[async_trait::async_trait]
impl ClientStore for RedisClientStore {
    async fn create(&self, client: &Client) -> Result<(), StoreError> {
        let key = self.keys.key("client", client.client_id.as_str());
        let created: bool = self.conn.clone().set_nx(&key, encode_json(client)).await?;
        if created {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                key,
                reason: "client id already exists".into(),
            })
        }
    }

    async fn get(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let key = self.keys.key("client", id.as_str());
        let raw: Option<String> = self.conn.clone().get(&key).await?;
        raw.map(|raw| decode_json(&key, &raw)).transpose()
    }
}

#[async_trait::async_trait]
impl Reachable for RedisDenylist {
    async fn ping(&self) -> Result<(), StoreError> {
        shared::store::ping(&self.conn).await
    }
}
