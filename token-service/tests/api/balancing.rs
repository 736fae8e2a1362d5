//! token-service's calls to identity-service spread over every identity replica, and a
//! replica that dies mid-call costs no request: the call is retried on another.
//! Each identity replica sits behind a TCP relay the test counts traffic on and can cut,
//! the way `kill -9` cuts a pod's connections.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use shared::testing::{RedisServer, Running};
use token_service::peers::identity::IdentityClient;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::helpers::{identity_settings, spawn_with, wait_for_key};

/// A TCP relay to one replica: counts the bytes clients send through it; `cut` drops
/// every connection and refuses new ones.
struct Relay {
    addr: SocketAddr,
    sent: Arc<AtomicUsize>,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl Relay {
    async fn to(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("addr");
        let sent = Arc::new(AtomicUsize::new(0));
        let tasks = Arc::new(Mutex::new(JoinSet::new()));
        let (counter, connections) = (Arc::clone(&sent), Arc::clone(&tasks));
        tasks.lock().expect("tasks").spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                connections
                    .lock()
                    .expect("tasks")
                    .spawn(async move { relay(client, target, counter).await });
            }
        });
        Self { addr, sent, tasks }
    }

    fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }

    fn cut(&self) {
        self.tasks.lock().expect("tasks").abort_all();
    }
}

async fn relay(mut client: TcpStream, target: SocketAddr, sent: Arc<AtomicUsize>) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upstream = async {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let n = match tokio::io::AsyncReadExt::read(&mut client_read, &mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            sent.fetch_add(n, Ordering::SeqCst);
            if server_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    };
    let downstream = tokio::io::copy(&mut server_read, &mut client_write);
    tokio::select! {
        () = upstream => {}
        _ = downstream => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validations_spread_over_identity_replicas_and_a_dying_one_fails_no_call() {
    let redis = RedisServer::start();
    // One key prefix: two replicas of one deployment.
    let store = redis.store_settings();
    let system = spawn_with(store.clone()).await;
    let outbox = tempfile::tempdir().expect("outbox");
    let second =
        identity_service::startup::Application::build(identity_settings(store, system.jwks.grpc, outbox.path()))
            .await
            .expect("second identity replica");
    wait_for_key(second.service().key_ring()).await;
    let second = Running::start(second);
    let (one, two) = (Relay::to(system.identity.grpc).await, Relay::to(second.grpc).await);
    let resolved = Arc::new(Mutex::new(vec![one.addr, two.addr]));
    let client = Arc::new(IdentityClient::new(shared::testing::pki().replicas(
        resolved,
        "token-service",
        "identity-service",
    )));
    client.validate("warm.up.call").await.ok();

    let registered = system.register_anonymous().await;
    let assertion: Arc<str> = registered["identity_assertion"].as_str().expect("assertion").into();
    let run = |calls: usize| {
        let (client, assertion) = (Arc::clone(&client), Arc::clone(&assertion));
        async move {
            let mut tasks = JoinSet::new();
            for _ in 0..8 {
                let (client, assertion) = (Arc::clone(&client), Arc::clone(&assertion));
                tasks.spawn(async move {
                    let mut failures = 0;
                    for _ in 0..calls / 8 {
                        if let Err(error) = client.validate(&assertion).await {
                            eprintln!("validation failed: {error:?}");
                            failures += 1;
                        }
                    }
                    failures
                });
            }
            tasks.join_all().await.into_iter().sum::<usize>()
        }
    };
    let failed = run(200).await;
    let (before_one, before_two) = (one.sent(), two.sent());
    println!("bytes to replica one {before_one}, to replica two {before_two}; failed {failed}");
    assert_eq!(failed, 0);
    assert!(before_one > 2_000 && before_two > 2_000, "both replicas served calls");

    // Cut replica one in the middle of a second run: its in-flight calls are retried.
    let load = tokio::spawn(run(400));
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    one.cut();
    let failed = load.await.expect("load");
    let (after_one, after_two) = (one.sent(), two.sent());
    println!("after the cut: bytes to replica one {after_one}, to replica two {after_two}; failed {failed}");
    assert_eq!(failed, 0, "no call failed when a replica died under load");
    assert!(after_two > before_two, "replica two took over");
}
