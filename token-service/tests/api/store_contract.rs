//! The contracts of token-service's stores, run against memory and a real Redis.

use std::sync::Arc;

use protocol::scope::ScopeSet;
use protocol::secrets::{Secret, SecretHasher};
use shared::store::replay::{MemoryReplayCache, ReplayCache};
use shared::testing::RedisServer;
use shared::time::unix_now;
use token_service::access_token::{AccessTokenClaims, Audience};
use token_service::clients::{ClientId, ClientStore, WorkloadBinding, new_client};
use token_service::delegations::{DelegationLog, MOST_KEPT};
use token_service::refresh::{RefreshFamily, RefreshTokenStore};
use token_service::revocation::DenylistStore;
use token_service::store::{
    MemoryClientStore, MemoryDelegationLog, MemoryDenylist, MemoryRefreshTokens, Stores, from_settings,
};

async fn denylist_contract(denylist: Arc<dyn DenylistStore>) {
    denylist.ping().await.expect("ping");
    assert!(!denylist.is_denied("jti-1").await.expect("read"));
    denylist.deny("jti-1", unix_now() + 600).await.expect("deny");
    assert!(denylist.is_denied("jti-1").await.expect("read"));
    assert!(!denylist.is_denied("jti-2").await.expect("read"));
    denylist.deny("jti-3", unix_now() - 1).await.expect("deny");
    assert!(
        !denylist.is_denied("jti-3").await.expect("read"),
        "entries end with the token"
    );
}

fn delegated(sub: &str, jti: &str, iat: i64) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: "https://issuer.test".into(),
        sub: sub.into(),
        aud: Audience::One("https://api.test".into()),
        client_id: "cli_holder".into(),
        scope: "a".into(),
        iat,
        exp: iat + 300,
        jti: jti.into(),
        cnf: None,
        grant_id: Some("gnt_1".into()),
        act: None,
        delegated_from: vec!["root".into()],
    }
}

async fn delegation_log_contract(log: Arc<dyn DelegationLog>) {
    log.ping().await.expect("ping");
    let now = unix_now();
    for (jti, iat) in [("old", now - 100), ("middle", now - 50), ("new", now)] {
        log.record(&delegated("usr_a", jti, iat), now - 1000)
            .await
            .expect("record");
    }
    log.record(&delegated("usr_b", "other", now), now - 1000)
        .await
        .expect("record");
    let jtis = |listed: Vec<AccessTokenClaims>| listed.into_iter().map(|c| c.jti).collect::<Vec<_>>();
    let listed = log.list("usr_a", now - 1000).await.expect("list");
    assert_eq!(listed[0].delegated_from, ["root"], "the claims come back whole");
    assert_eq!(
        jtis(listed),
        ["new", "middle", "old"],
        "newest first, the subject's own"
    );
    assert_eq!(
        jtis(log.list("usr_a", now - 60).await.expect("list")),
        ["new", "middle"]
    );
    assert!(log.list("usr_c", 0).await.expect("list").is_empty());
    // A write drops what is older than its window.
    log.record(&delegated("usr_a", "newer", now + 1), now - 60)
        .await
        .expect("record");
    assert_eq!(
        jtis(log.list("usr_a", 0).await.expect("list")),
        ["newer", "new", "middle"]
    );
    // And all but the newest MOST_KEPT.
    for i in 0..MOST_KEPT + 3 {
        let iat = now + 10 + i64::try_from(i).expect("small");
        log.record(&delegated("usr_d", &format!("d{i}"), iat), now - 60)
            .await
            .expect("record");
    }
    let kept = jtis(log.list("usr_d", 0).await.expect("list"));
    assert_eq!(kept.len(), MOST_KEPT);
    assert_eq!(kept.last().map(String::as_str), Some("d3"), "the oldest went first");
}

async fn client_contract(clients: Arc<dyn ClientStore>) {
    let hasher = SecretHasher::new(&Secret::new(b"pepper".to_vec()));
    let created = new_client(&hasher, "reports", ScopeSet::parse("a b").expect("scope"), 7);
    clients.create(&created.client).await.expect("create");
    let read = clients
        .get(&created.client.client_id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(read, created.client);
    let stored = &read.secrets[0];
    assert!(hasher.verify(
        token_service::clients::CLIENT_SECRET_CONTEXT,
        &created.secret.value,
        &stored.hash
    ));
    assert!(!stored.hash.contains(&created.secret.value), "only the hash is stored");
    assert!(clients.create(&created.client).await.is_err(), "never overwritten");
    assert_eq!(clients.get(&ClientId::random()).await.expect("get"), None);

    let second = new_client(&hasher, "billing", ScopeSet::parse("b").expect("scope"), 9);
    clients.create(&second.client).await.expect("create");
    let listed: Vec<ClientId> = clients
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(
        listed,
        [created.client.client_id.clone(), second.client.client_id.clone()],
        "by creation time"
    );

    let mut changed = read.clone();
    changed.disabled = true;
    assert!(clients.update(&changed).await.expect("update"));
    assert_eq!(
        clients.get(&changed.client_id).await.expect("get"),
        Some(changed.clone())
    );

    assert!(clients.delete(&changed.client_id).await.expect("delete"));
    assert!(!clients.delete(&changed.client_id).await.expect("delete again"));
    assert_eq!(clients.get(&changed.client_id).await.expect("get"), None);
    assert!(
        !clients.update(&changed).await.expect("update"),
        "an update never revives a deleted client"
    );
    assert_eq!(clients.get(&changed.client_id).await.expect("get"), None);
    let listed: Vec<ClientId> = clients
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&second.client.client_id));
}

/// The workload index: one holder per binding, exact before the longest prefix.
async fn workload_contract(clients: Arc<dyn ClientStore>) {
    const ISSUER: &str = "https://k8s.example";
    let binding = |subject: &str, prefix: bool| WorkloadBinding {
        issuer: ISSUER.into(),
        subject: subject.into(),
        prefix,
    };
    let (a, b, c) = (ClientId::random(), ClientId::random(), ClientId::random());
    let exact = binding("system:serviceaccount:ns:agent", false);
    let namespace = binding("system:serviceaccount:ns:", true);
    let everyone = binding("system:serviceaccount:", true);
    assert_eq!(
        clients.workload_client(ISSUER, &exact.subject).await.expect("read"),
        None
    );
    assert_eq!(clients.bind_workload(&exact, &a).await.expect("bind"), None);
    assert_eq!(
        clients.bind_workload(&exact, &a).await.expect("bind again"),
        None,
        "its own"
    );
    assert_eq!(
        clients.bind_workload(&exact, &b).await.expect("bind"),
        Some(a.clone()),
        "held"
    );
    assert_eq!(clients.bind_workload(&namespace, &b).await.expect("bind"), None);
    assert_eq!(clients.bind_workload(&everyone, &c).await.expect("bind"), None);
    let find = |subject: &'static str| {
        let clients = clients.clone();
        async move { clients.workload_client(ISSUER, subject).await.expect("read") }
    };
    assert_eq!(
        find("system:serviceaccount:ns:agent").await,
        Some(a.clone()),
        "exact first"
    );
    assert_eq!(
        find("system:serviceaccount:ns:other").await,
        Some(b.clone()),
        "longest prefix"
    );
    assert_eq!(find("system:serviceaccount:ns2:other").await, Some(c.clone()));
    assert_eq!(
        find("system:serviceaccount:ns:").await,
        Some(c.clone()),
        "a prefix is not its own match"
    );
    assert_eq!(
        clients
            .workload_client("https://other.example", &exact.subject)
            .await
            .expect("read"),
        None,
        "per issuer"
    );
    clients.unbind_workload(&exact, &b).await.expect("not b's");
    assert_eq!(
        find("system:serviceaccount:ns:agent").await,
        Some(a.clone()),
        "only its holder unbinds"
    );
    clients.unbind_workload(&exact, &a).await.expect("unbind");
    assert_eq!(
        find("system:serviceaccount:ns:agent").await,
        Some(b.clone()),
        "then the prefix"
    );
    clients.rebind_workload(&namespace, &a).await.expect("rebind");
    assert_eq!(find("system:serviceaccount:ns:agent").await, Some(a));
}

async fn replay_contract(replay: Arc<dyn ReplayCache>) {
    let until = unix_now() + 600;
    assert!(replay.first_use("dpop:k1", "jti-1", until).await.expect("first"));
    assert!(
        !replay.first_use("dpop:k1", "jti-1", until).await.expect("again"),
        "a replay"
    );
    assert!(
        replay.first_use("dpop:k2", "jti-1", until).await.expect("other key"),
        "namespaces are apart"
    );
    assert!(replay.first_use("dpop:k1", "jti-2", until).await.expect("other jti"));
    // Already past its end: accepted once, then refused until the store forgets it.
    assert!(
        replay
            .first_use("client_assertion:c", "old", unix_now() - 5)
            .await
            .expect("first")
    );
    // Many single uses at once: exactly one wins.
    let racers = (0..16).map(|_| {
        let replay = Arc::clone(&replay);
        tokio::spawn(async move { replay.first_use("race", "jti", until).await.expect("use") })
    });
    let mut wins = 0;
    for racer in racers {
        wins += usize::from(racer.await.expect("task"));
    }
    assert_eq!(wins, 1, "one of 16 concurrent uses wins");
}

async fn refresh_contract(store: Arc<dyn RefreshTokenStore>) {
    let now = unix_now();
    let family = RefreshFamily {
        id: protocol::secrets::random_token(16),
        client_id: "cli_0123456789abcdef0123456789abcdef".into(),
        subject: "usr_0123456789abcdef0123456789abcdef".into(),
        grant_id: "gnt_0123456789abcdef0123456789abcdef".into(),
        scopes: ScopeSet::parse("agent:read").expect("scope"),
        resources: vec!["https://mcp.example.com/mcp".into()],
        jkt: Some("thumbprint".into()),
        current_hash: "h1".into(),
        created_at: now,
        expires_at: now + 3600,
        last_used_at: now,
        revoked_at: None,
    };
    store.create(&family, now + 3600).await.expect("create");
    assert_eq!(store.get(&family.id).await.expect("get"), Some(family.clone()));
    assert!(store.create(&family, now + 3600).await.is_err(), "never overwritten");
    assert_eq!(store.get("unknown").await.expect("get"), None);

    let rotated = RefreshFamily {
        current_hash: "h2".into(),
        ..family.clone()
    };
    assert!(store.replace_if_current(&rotated, "h1", now + 3600).await.expect("cas"));
    assert!(
        !store.replace_if_current(&rotated, "h1", now + 3600).await.expect("cas"),
        "the old hash no longer rotates"
    );
    assert_eq!(store.get(&family.id).await.expect("get"), Some(rotated.clone()));

    // Racing rotations from one hash: exactly one wins.
    let racers: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            let next = RefreshFamily {
                current_hash: format!("h3-{i}"),
                ..rotated.clone()
            };
            tokio::spawn(async move { store.replace_if_current(&next, "h2", now + 3600).await.expect("cas") })
        })
        .collect();
    let mut wins = 0;
    for racer in racers {
        wins += usize::from(racer.await.expect("task"));
    }
    assert_eq!(wins, 1, "one of 16 concurrent rotations wins");

    let revoked = RefreshFamily {
        revoked_at: Some(now),
        ..rotated.clone()
    };
    store.put(&revoked, now + 3600).await.expect("put");
    assert_eq!(store.get(&family.id).await.expect("get"), Some(revoked.clone()));
    let current = store.get(&family.id).await.expect("get").expect("stored").current_hash;
    let resurrected = RefreshFamily {
        current_hash: "h4".into(),
        ..rotated.clone()
    };
    assert!(
        !store
            .replace_if_current(&resurrected, &current, now + 3600)
            .await
            .expect("cas"),
        "a rotation never undoes a revocation"
    );
    assert_eq!(store.get(&family.id).await.expect("get"), Some(revoked));

    let short = RefreshFamily {
        id: protocol::secrets::random_token(16),
        ..family
    };
    store.create(&short, now - 1).await.expect("create");
    assert_eq!(store.get(&short.id).await.expect("get"), None, "forgotten at its time");
    assert!(!store.replace_if_current(&short, "h1", now + 3600).await.expect("cas"));
}

#[tokio::test]
async fn memory_stores_meet_the_contracts() {
    denylist_contract(Arc::new(MemoryDenylist::default())).await;
    delegation_log_contract(Arc::new(MemoryDelegationLog::default())).await;
    client_contract(Arc::new(MemoryClientStore::default())).await;
    workload_contract(Arc::new(MemoryClientStore::default())).await;
    replay_contract(Arc::new(MemoryReplayCache::default())).await;
    refresh_contract(Arc::new(MemoryRefreshTokens::default())).await;
}

#[tokio::test]
async fn redis_stores_meet_the_contracts() {
    let redis = RedisServer::start();
    let Stores {
        denylist,
        delegations,
        clients,
        replay,
        refresh,
    } = from_settings(&redis.store_settings(), &Default::default()).expect("connect");
    denylist_contract(denylist).await;
    delegation_log_contract(delegations).await;
    client_contract(clients.clone()).await;
    workload_contract(clients).await;
    replay_contract(replay).await;
    refresh_contract(refresh).await;
}

#[tokio::test]
async fn redis_cluster_stores_meet_the_contracts() {
    let cluster = shared::testing::RedisCluster::start();
    let Stores {
        denylist,
        delegations,
        clients,
        replay,
        refresh,
    } = from_settings(&cluster.store_settings(), &Default::default()).expect("connect");
    denylist_contract(denylist).await;
    delegation_log_contract(delegations).await;
    client_contract(clients.clone()).await;
    workload_contract(clients).await;
    replay_contract(replay).await;
    refresh_contract(refresh).await;
    println!("keys per cluster node: {:?}", cluster.keys_per_node());
}
