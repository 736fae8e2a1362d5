//! The machine client lifecycle through the operator API (`ClientAdmin`): create, list,
//! show, update, disable, enable, delete, and secret rotation with overlap, on real
//! Redis with two token-service replicas where "every replica" is claimed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proto::clients::v1 as pb;
use shared::testing::RedisServer;
use tonic::Code;

use crate::helpers::{TestClient, assert_oauth_error, assert_ok, spawn, spawn_with};

fn client_ref(id: &str) -> pb::ClientRef {
    pb::ClientRef {
        client_id: id.to_owned(),
    }
}

#[tokio::test]
async fn list_show_update_disable_enable_delete() {
    let system = spawn().await;
    let mut admin = system.admin();
    let reporter = system.create_client(&["reports:read", "reports:write"]).await;
    let other = system.create_client(&["audit"]).await;

    let listed = admin
        .list_clients(pb::ListClientsRequest {})
        .await
        .expect("list")
        .into_inner()
        .clients;
    let ids: Vec<&str> = listed.iter().map(|c| c.client_id.as_str()).collect();
    assert!(
        ids.contains(&reporter.id.as_str()) && ids.contains(&other.id.as_str()),
        "{ids:?}"
    );
    let shown = admin
        .get_client(client_ref(&reporter.id))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(shown.auth_method, "client_secret_basic");
    assert!(shown.enabled);
    assert_eq!(shown.secrets.len(), 1);
    assert!(shown.secrets[0].secret_id.starts_with("sec_"));
    assert!(
        !format!("{shown:?}").contains(&reporter.secret),
        "no secret is ever shown again"
    );

    let updated = admin
        .update_client(pb::UpdateClientRequest {
            client_id: reporter.id.clone(),
            name: Some("reporter".into()),
            scopes: vec!["reports:read".into()],
            ..Default::default()
        })
        .await
        .expect("update")
        .into_inner();
    assert_eq!(
        (updated.name.as_str(), updated.scopes.as_slice()),
        ("reporter", &["reports:read".to_owned()][..])
    );
    let body = assert_ok(system.client_credentials(&reporter, &[]).await).await;
    assert_eq!(body["scope"], "reports:read", "the narrowed scopes apply at once");
    let live_token = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(system.introspect(&other, &live_token).await["active"], true);

    admin
        .set_client_enabled(pb::SetClientEnabledRequest {
            client_id: reporter.id.clone(),
            enabled: false,
        })
        .await
        .expect("disable");
    let refused = assert_oauth_error(system.client_credentials(&reporter, &[]).await, 401, "invalid_client").await;
    assert!(
        refused["error_description"]
            .as_str()
            .expect("text")
            .contains("disabled"),
        "{refused}"
    );
    assert_eq!(
        system.introspect(&other, &live_token).await,
        serde_json::json!({ "active": false }),
        "a disabled client's live tokens are inactive"
    );
    admin
        .set_client_enabled(pb::SetClientEnabledRequest {
            client_id: reporter.id.clone(),
            enabled: true,
        })
        .await
        .expect("enable");
    assert_ok(system.client_credentials(&reporter, &[]).await).await;

    admin.delete_client(client_ref(&reporter.id)).await.expect("delete");
    assert_oauth_error(system.client_credentials(&reporter, &[]).await, 401, "invalid_client").await;
    assert_eq!(
        system.introspect(&other, &live_token).await,
        serde_json::json!({ "active": false })
    );
    let gone = admin.get_client(client_ref(&reporter.id)).await.expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
    let again = admin
        .delete_client(client_ref(&reporter.id))
        .await
        .expect_err("deleted twice");
    assert_eq!(again.code(), Code::NotFound);
    let bad = admin
        .get_client(client_ref("not-a-client"))
        .await
        .expect_err("malformed id");
    assert_eq!(bad.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn only_resource_servers_may_introspect() {
    let system = spawn().await;
    let resource_server = system.create_client(&["audit"]).await;
    let mut admin = system.admin();
    let plain = admin
        .create_client(pb::CreateClientRequest {
            scopes: vec!["reports:read".into()],
            name: "plain".into(),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let plain = TestClient {
        id: plain.client_id,
        secret: plain.client_secret,
    };
    let token = assert_ok(system.client_credentials(&plain, &[]).await).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let response = system
        .http
        .post(system.token_url("/oauth2/introspect"))
        .basic_auth(&plain.id, Some(&plain.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("reachable");
    let body = assert_oauth_error(response, 403, "insufficient_scope").await;
    assert!(
        body["error_description"]
            .as_str()
            .expect("text")
            .contains("resource server"),
        "{body}"
    );
    assert_eq!(system.introspect(&resource_server, &token).await["active"], true);
}

#[tokio::test]
async fn a_rotation_overlaps_and_a_revoked_secret_fails_at_once_on_every_replica() {
    let redis = RedisServer::start();
    let store = redis.store_settings();
    let system = spawn_with(store.clone()).await;
    let replica = system.token_replica(store, |_| {}).await;
    let mut admin = system.admin();
    let client = system.create_client(&["reports:read"]).await;
    let shown = admin
        .get_client(client_ref(&client.id))
        .await
        .expect("get")
        .into_inner();
    let first_id = shown.secrets[0].secret_id.clone();

    let added = admin
        .add_secret(client_ref(&client.id))
        .await
        .expect("add")
        .into_inner();
    let second = TestClient {
        id: client.id.clone(),
        secret: added.client_secret.clone(),
    };
    let third = admin.add_secret(client_ref(&client.id)).await.expect_err("two at most");
    assert_eq!(third.code(), Code::FailedPrecondition);
    let on_replica = |c: &TestClient| {
        system
            .http
            .post(format!("http://{}/oauth2/token", replica.http))
            .basic_auth(&c.id, Some(&c.secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    for c in [&client, &second] {
        assert_ok(system.client_credentials(c, &[]).await).await;
        assert_ok(on_replica(c).await.expect("replica reachable")).await;
    }

    admin
        .revoke_secret(pb::RevokeSecretRequest {
            client_id: client.id.clone(),
            secret_id: first_id.clone(),
        })
        .await
        .expect("revoke");
    assert_oauth_error(system.client_credentials(&client, &[]).await, 401, "invalid_client").await;
    assert_oauth_error(
        on_replica(&client).await.expect("replica reachable"),
        401,
        "invalid_client",
    )
    .await;
    assert_ok(on_replica(&second).await.expect("replica reachable")).await;
    let last = admin
        .revoke_secret(pb::RevokeSecretRequest {
            client_id: client.id.clone(),
            secret_id: added.secret_id,
        })
        .await
        .expect_err("the last secret stays");
    assert_eq!(last.code(), Code::FailedPrecondition);
    let unknown = admin
        .revoke_secret(pb::RevokeSecretRequest {
            client_id: client.id.clone(),
            secret_id: first_id,
        })
        .await
        .expect_err("already revoked");
    assert_eq!(unknown.code(), Code::NotFound);
}

/// Workers request tokens nonstop over two replicas while the operator adds a secret,
/// the workers move to it, and the old one is revoked: no request may fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_rotation_under_load_fails_no_request() {
    const WORKERS: usize = 8;
    const MAX_REQUESTS: usize = 20_000;
    let redis = RedisServer::start();
    let store = redis.store_settings();
    let system = Arc::new(spawn_with(store.clone()).await);
    let replica = system.token_replica(store, |_| {}).await;
    let client = system.create_client(&["reports:read"]).await;
    let urls = [
        system.token_url("/oauth2/token"),
        format!("http://{}/oauth2/token", replica.http),
    ];
    let secret = Arc::new(std::sync::RwLock::new(client.secret.clone()));
    let (ok, failed, stop) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (system, secret, ok, failed, stop) =
                (system.clone(), secret.clone(), ok.clone(), failed.clone(), stop.clone());
            let (url, id) = (urls[i % 2].clone(), client.id.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed)
                    && ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < MAX_REQUESTS
                {
                    let current = secret.read().expect("lock").clone();
                    let response = system
                        .http
                        .post(&url)
                        .basic_auth(&id, Some(&current))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut admin = system.admin();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_add = ok.load(Ordering::Relaxed);
    let first_id = admin
        .get_client(client_ref(&client.id))
        .await
        .expect("get")
        .into_inner()
        .secrets[0]
        .secret_id
        .clone();
    let added = admin
        .add_secret(client_ref(&client.id))
        .await
        .expect("add")
        .into_inner();
    tokio::time::sleep(Duration::from_millis(300)).await;
    *secret.write().expect("lock") = added.client_secret;
    // Every worker has finished any request it began with the old secret.
    tokio::time::sleep(Duration::from_millis(300)).await;
    admin
        .revoke_secret(pb::RevokeSecretRequest {
            client_id: client.id.clone(),
            secret_id: first_id,
        })
        .await
        .expect("revoke");
    let at_revoke = ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("worker");
    }
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "rotation under load: {ok} tokens issued, {failed} failed, over {:?} ({before_add} before the new secret, {} after the old one was revoked)",
        started.elapsed(),
        ok - at_revoke
    );
    assert!(before_add > 0 && ok > at_revoke, "load ran through every step");
    assert_eq!(failed, 0);
}
