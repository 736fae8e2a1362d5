//! Fault tests against the local production topology (`deploy/local/up.sh`): Redis with
//! AOF, two replicas of each service in their own network namespace, HAProxy as the TLS
//! ingress. Clients keep exchanging assertions of many distinct agents through the
//! ingress while a test breaks something; each test prints what it counted. Every wait
//! is bounded and all traffic stays on loopback (the namespace's and the host's).
//! They run one at a time (`.config/nextest.toml`, group `topology`). `mtls` checks
//! RFC 8705 client certificates through the same ingress.

mod forwarded;
mod load;
mod mtls;
mod topology;

use std::sync::Arc;
use std::time::{Duration, Instant};

use load::{JWT_BEARER, Load, register_agents};
use serde_json::Value;
use topology::{IDENTITY, JWKS, TOKEN, Topology};

/// What every replica of every fault test gets besides the production defaults: a
/// registration limit a load test does not trip, a drain scaled to the checks of the
/// ingress (it removes an unready replica within one 500 ms check), peers re-resolved
/// every second.
pub const COMMON: [&str; 5] = [
    "AGENTAUTH__RATE_LIMITS__ANONYMOUS_REGISTRATIONS_PER_IP__MAX=1000000",
    "AGENTAUTH__SHUTDOWN__DRAIN_DELAY=1500ms",
    "AGENTAUTH__SHUTDOWN__GRACE=10s",
    "AGENTAUTH__IDENTITY__RESOLVE_INTERVAL=1s",
    "AGENTAUTH__JWKS__RESOLVE_INTERVAL=1s",
];
const AGENTS: usize = 300;
const CONCURRENCY: usize = 8;

/// Runs blocking process control without stalling the load's tasks.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

async fn settle(duration: Duration) {
    tokio::time::sleep(duration).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_an_identity_replica_under_load_fails_no_request() {
    let topology = blocking(|| Topology::up(&COMMON));
    let agents = Arc::new(register_agents(&topology, AGENTS).await);
    let load = Load::start(&topology, agents, CONCURRENCY);
    settle(Duration::from_secs(2)).await;
    let before = load.snapshot().requests();
    blocking(|| topology.stop(IDENTITY, 1, "KILL"));
    let killed_at = load.elapsed();
    settle(Duration::from_secs(4)).await;
    let tally = load.stop().await;
    tally.print("identity-service-1 killed with SIGKILL");
    println!("{before} requests before the kill at {killed_at:?}");
    assert!(tally.requests() > 200, "the load ran");
    assert!(
        tally
            .successes_at
            .iter()
            .any(|at| *at > killed_at + Duration::from_secs(1)),
        "served after the kill"
    );
    assert_eq!(tally.failures(), 0, "in-flight calls are retried on the other replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_of_every_service_under_load_fails_no_request() {
    let topology = blocking(|| Topology::up(&COMMON));
    let agents = Arc::new(register_agents(&topology, AGENTS).await);
    let load = Load::start(&topology, agents, CONCURRENCY);
    settle(Duration::from_secs(1)).await;
    let started = Instant::now();
    for service in [JWKS, IDENTITY, TOKEN] {
        for n in 1..=2 {
            blocking(|| {
                topology.stop(service, n, "TERM");
                topology.start(service, n);
            });
            println!("restarted {service}-{n} at {:?}", started.elapsed());
        }
    }
    settle(Duration::from_secs(1)).await;
    let tally = load.stop().await;
    tally.print(&format!("rolling restart of 6 replicas in {:?}", started.elapsed()));
    assert!(tally.requests() > 500, "the load ran");
    assert_eq!(
        tally.failures(),
        0,
        "drain, ingress checks and gRPC retries hide every restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_outage_is_a_bounded_503_and_nothing_is_lost() {
    let topology = blocking(|| Topology::up(&COMMON));
    let agents = Arc::new(register_agents(&topology, AGENTS).await);
    let issued = exchange(&topology, &agents[0]).await;
    assert_eq!(issued.0, 200);
    let load = Load::start(&topology, agents.clone(), CONCURRENCY);
    // Every registration is older than one AOF fsync (everysec) when Redis dies.
    settle(Duration::from_secs(2)).await;
    let down_at = load.elapsed();
    blocking(|| topology.redis("kill"));
    settle(Duration::from_millis(500)).await;

    // Tokens already issued keep verifying: the JWKS is served from memory.
    let jwks: Value = topology
        .http
        .get(topology.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("ingress")
        .json()
        .await
        .expect("JWKS during the outage");
    verify(&issued.1, &jwks, &topology.issuer);
    settle(Duration::from_millis(4500)).await;

    blocking(|| {
        topology.redis("start");
        topology.redis("wait");
    });
    let up_at = load.elapsed();
    settle(Duration::from_secs(3)).await;
    let tally = load.stop().await;
    tally.print("Redis down for 5 s");
    let during: Vec<_> = tally
        .failures_at
        .iter()
        .filter(|at| **at >= down_at && **at <= up_at)
        .collect();
    let outside: Vec<_> = tally
        .failures_at
        .iter()
        .filter(|at| **at < down_at || **at > up_at)
        .collect();
    println!("down at {down_at:?}, up at {up_at:?}, failures outside the outage at {outside:?}");
    let recovered = tally.successes_at.iter().find(|at| **at > up_at).map(|at| *at - up_at);
    println!(
        "failures while down {}, recovery {recovered:?} after Redis answered, slowest {:?}",
        during.len(),
        tally.slowest
    );
    let statuses: Vec<u16> = tally.by_status.keys().copied().collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "only 200 and 503: {:?}",
        tally.by_status
    );
    assert_eq!(tally.transport_errors, 0);
    assert_eq!(
        tally.unavailable_without_retry_after, 0,
        "every 503 says when to come back"
    );
    assert!(tally.by_status.get(&503).is_some_and(|n| *n > 0), "the outage was seen");
    assert!(
        tally.slowest < Duration::from_secs(3),
        "no hang past the store timeouts: {:?}",
        tally.slowest
    );
    assert!(
        tally
            .failures_at
            .iter()
            .all(|at| *at >= down_at && *at <= up_at + Duration::from_secs(2)),
        "failures only during the outage and the 2 s after it"
    );
    assert!(
        recovered.is_some_and(|r| r <= Duration::from_secs(2)),
        "recovered within 2 s: {recovered:?}"
    );

    // Redis restarted from its AOF: every registration made before the outage exchanges.
    let mut lost = 0;
    for assertion in agents.iter() {
        if exchange(&topology, assertion).await.0 != 200 {
            lost += 1;
        }
    }
    println!(
        "{} registrations exchanged after the restart, {lost} lost",
        agents.len() - lost
    );
    assert_eq!(lost, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_every_jwks_replica_down_signers_sign_until_their_key_retires() {
    // A key schedule scaled down (a key signs 8 s and is published 2 s after), as the
    // rotation test does; the outage outlasts the key.
    const ROTATION: i64 = 8;
    const RETIRE_AFTER: i64 = 2;
    let mut env = COMMON.to_vec();
    env.extend([
        "AGENTAUTH__KEYS__ROTATION_PERIOD=8s",
        "AGENTAUTH__KEYS__PUBLISH_AHEAD=1s",
        "AGENTAUTH__KEYS__RETIRE_AFTER=2s",
        "AGENTAUTH__KEYS__JWKS_MAX_AGE=1s",
        "AGENTAUTH__KEYS__SCHEDULER_TICK=100ms",
        "AGENTAUTH__KEYS__LEASE_TTL=1s",
    ]);
    let topology = blocking(|| Topology::up(&env));
    // Stop jwks-service just after a key took over, so the outage spans most of its life.
    let first = blocking(|| active_key_activation(&topology));
    let mut activated = first;
    let deadline = Instant::now() + Duration::from_secs(15);
    while activated == first {
        assert!(Instant::now() < deadline, "the scaled schedule rotates");
        settle(Duration::from_millis(250)).await;
        activated = blocking(|| active_key_activation(&topology));
    }
    let retires = activated + ROTATION + RETIRE_AFTER;
    println!("a key took over {} s ago", shared::time::unix_now() - activated);
    // Assertions signed with that key, which stays published throughout.
    let registering = Instant::now();
    let agents = Arc::new(register_agents(&topology, 100).await);
    println!("100 agents registered in {:?}", registering.elapsed());
    let stopping = Instant::now();
    blocking(|| {
        topology.stop(JWKS, 1, "KILL");
        topology.stop(JWKS, 2, "KILL");
    });
    println!("jwks replicas stopped in {:?}", stopping.elapsed());
    let stopped = shared::time::unix_now();
    println!(
        "every jwks replica stopped; the active key retires in {} s",
        retires - stopped
    );
    let load = Load::start(&topology, agents, 4);
    let epoch = Instant::now() - load.elapsed();
    let mut ready_until = None;
    while shared::time::unix_now() <= retires + 2 {
        let ready = blocking(|| {
            [1, 2]
                .iter()
                .all(|n| topology.ready(TOKEN, *n) && topology.ready(IDENTITY, *n))
        });
        if ready {
            ready_until = Some(shared::time::unix_now());
        }
        settle(Duration::from_millis(200)).await;
    }
    let tally = load.stop().await;
    tally.print("every jwks replica down");
    let retired_at = epoch + Duration::from_secs((retires - stopped).max(0) as u64);
    let first_failure = tally.failures_at.first().map(|at| epoch + *at);
    println!(
        "signers ready until {:?} s after the stop, first failed request {:?} after it",
        ready_until.map(|t| t - stopped),
        first_failure.map(|f| f.saturating_duration_since(retired_at))
    );
    assert!(
        tally.successes_at.len() > 50,
        "signing went on without jwks-service: {:?}",
        tally.by_status
    );
    assert!(
        first_failure.is_none_or(|f| f + Duration::from_secs(1) >= retired_at),
        "no request failed before the key retired"
    );
    let ready_until = ready_until.expect("ready during the outage");
    assert!(
        ready_until >= retires - 1,
        "ready until the key retires ({ready_until} < {retires})"
    );
    assert!(
        blocking(|| !topology.ready(TOKEN, 1) && !topology.ready(IDENTITY, 1)),
        "not ready once it retired"
    );
    // jwks-service back: a new key, and the signers are ready again.
    blocking(|| {
        topology.start(JWKS, 1);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(topology.ready(TOKEN, 1) && topology.ready(IDENTITY, 1)) {
            assert!(
                Instant::now() < deadline,
                "signers ready again after jwks-service returned"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
}

/// `activate_at` (Unix seconds) of the key signing now, as `agentctl keys list` reports it.
fn active_key_activation(topology: &Topology) -> i64 {
    let tls = topology.secrets().join("internal-tls");
    let agentctl = std::env::current_exe()
        .expect("exe")
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target dir")
        .join("agentctl");
    let output = topology.in_ns(&[
        &agentctl.display().to_string(),
        "keys",
        "list",
        "--jwks-grpc",
        "http://jwks-service:50051",
        "--tls-dir",
        &tls.display().to_string(),
    ]);
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = listing
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some("active"))
        .unwrap_or_else(|| panic!("an active key in:\n{listing}"));
    let signs_from = line.split_whitespace().last().expect("signs from");
    humantime::parse_rfc3339(signs_from)
        .expect("RFC 3339")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs() as i64
}

/// One exchange through the ingress: (status, access token or body).
async fn exchange(topology: &Topology, assertion: &str) -> (u16, String) {
    let response = topology
        .http
        .post(topology.url("/oauth2/token"))
        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion)])
        .send()
        .await
        .expect("ingress");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    let token = body["access_token"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| body.to_string());
    (status, token)
}

/// Verifies an access token against a JWKS the way a resource server would.
fn verify(token: &str, jwks: &Value, issuer: &str) {
    let header = jsonwebtoken::decode_header(token).expect("header");
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).expect("JWK set");
    let jwk = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("the token's key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).expect("the token verifies");
}
