use redis::AsyncCommands;
use shared::store::RedisConnection;
use shared::store::{Keyspace, Reachable, StoreError, decode_json, encode_json};

use crate::clients::ClientStore;
use crate::clients::{Client, ClientId, WorkloadBinding};
use crate::revocation::DenylistStore;

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

/// `{prefix}token:client:<client_id>` holding the client as JSON, and the set
/// `{prefix}token:clients:all` of every client id, for listing. Each command touches one
/// key, so the store works the same on a Redis Cluster.
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

    fn index(&self) -> String {
        self.keys.key("clients", "all")
    }

    /// One hash per issuer and kind of match: subject (or prefix) → client id.
    fn workloads(&self, issuer: &str, prefix: bool) -> String {
        let kind = if prefix { "workload_prefix" } else { "workload" };
        self.keys.key(kind, issuer)
    }
}

/// `HDEL` only if the field still names this client.
const UNBIND: &str =
    r"if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

#[async_trait::async_trait]
impl ClientStore for RedisClientStore {
    async fn create(&self, client: &Client) -> Result<(), StoreError> {
        let key = self.keys.key("client", client.client_id.as_str());
        let created: bool = self.conn.clone().set_nx(&key, encode_json(client)).await?;
        if created {
            // After the record: a client is never listed before it exists. A crash
            // between the two leaves a working client that `list` misses until it is
            // next updated.
            let _: i64 = self.conn.clone().sadd(self.index(), client.client_id.as_str()).await?;
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
        Ok(raw
            .map(|raw| decode_json::<Client>(&key, &raw))
            .transpose()?
            .map(Client::upgraded))
    }

    async fn update(&self, client: &Client) -> Result<bool, StoreError> {
        let key = self.keys.key("client", client.client_id.as_str());
        // XX: only if it still exists.
        let written: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(encode_json(client))
            .arg("XX")
            .query_async(&mut self.conn.clone())
            .await?;
        if written.is_some() {
            let _: i64 = self.conn.clone().sadd(self.index(), client.client_id.as_str()).await?;
        }
        Ok(written.is_some())
    }

    async fn list(&self) -> Result<Vec<Client>, StoreError> {
        let ids: Vec<String> = self.conn.clone().smembers(self.index()).await?;
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            let Ok(id) = ClientId::parse(&id) else { continue };
            // One GET per client: the records may live on different Cluster nodes.
            if let Some(client) = self.get(&id).await? {
                all.push(client);
            }
        }
        all.sort_by(|a, b| (a.created_at, a.client_id.as_str()).cmp(&(b.created_at, b.client_id.as_str())));
        Ok(all)
    }

    async fn delete(&self, id: &ClientId) -> Result<bool, StoreError> {
        let removed: i64 = self.conn.clone().del(self.keys.key("client", id.as_str())).await?;
        let _: i64 = self.conn.clone().srem(self.index(), id.as_str()).await?;
        Ok(removed > 0)
    }

    async fn bind_workload(&self, binding: &WorkloadBinding, id: &ClientId) -> Result<Option<ClientId>, StoreError> {
        let key = self.workloads(&binding.issuer, binding.prefix);
        let mut conn = self.conn.clone();
        let set: bool = conn.hset_nx(&key, &binding.subject, id.as_str()).await?;
        if set {
            return Ok(None);
        }
        let holder: Option<String> = conn.hget(&key, &binding.subject).await?;
        Ok(holder
            .and_then(|holder| ClientId::parse(&holder).ok())
            .filter(|holder| holder != id))
    }

    async fn rebind_workload(&self, binding: &WorkloadBinding, id: &ClientId) -> Result<(), StoreError> {
        let key = self.workloads(&binding.issuer, binding.prefix);
        let _: i64 = self.conn.clone().hset(&key, &binding.subject, id.as_str()).await?;
        Ok(())
    }

    async fn unbind_workload(&self, binding: &WorkloadBinding, id: &ClientId) -> Result<(), StoreError> {
        let key = self.workloads(&binding.issuer, binding.prefix);
        let _: i64 = redis::Script::new(UNBIND)
            .key(&key)
            .arg(&binding.subject)
            .arg(id.as_str())
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn workload_client(&self, issuer: &str, subject: &str) -> Result<Option<ClientId>, StoreError> {
        let mut conn = self.conn.clone();
        let exact: Option<String> = conn.hget(self.workloads(issuer, false), subject).await?;
        let found = match exact {
            Some(id) => Some(id),
            None => {
                // Prefix bindings are few per issuer (one per namespace or path).
                let prefixes: std::collections::HashMap<String, String> =
                    conn.hgetall(self.workloads(issuer, true)).await?;
                prefixes
                    .into_iter()
                    .filter(|(prefix, _)| subject.len() > prefix.len() && subject.starts_with(prefix.as_str()))
                    .max_by_key(|(prefix, _)| prefix.len())
                    .map(|(_, id)| id)
            }
        };
        Ok(found.and_then(|id| ClientId::parse(&id).ok()))
    }
}

#[async_trait::async_trait]
impl Reachable for RedisDenylist {
    async fn ping(&self) -> Result<(), StoreError> {
        shared::store::ping(&self.conn).await
    }
}
