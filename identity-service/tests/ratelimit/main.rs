//! The contract every `RateLimiter` meets, run against memory and a real Redis. Each
//! case gets two limiters sharing one state: for Redis two connections, as two replicas.
//! Both read one manual clock, so windows pass when a case says so, not by sleeping.

use std::sync::Arc;
use std::time::Duration;

use identity_service::ratelimit::{
    self, Clock, Decision, Limit, ManualClock, MemoryRateLimiter, RateLimiter, RedisRateLimiter,
};
use shared::settings::StoreSettings;
use shared::testing::RedisServer;
use tokio::task::JoinSet;

struct Replicas {
    one: Arc<dyn RateLimiter>,
    two: Arc<dyn RateLimiter>,
    clock: ManualClock,
    _redis: Option<RedisServer>,
    _cluster: Option<shared::testing::RedisCluster>,
}

impl Replicas {
    fn memory() -> Self {
        let clock = ManualClock::default();
        let limiter: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::with_clock(Clock::Manual(clock.clone())));
        Self {
            one: limiter.clone(),
            two: limiter,
            clock,
            _redis: None,
            _cluster: None,
        }
    }

    fn redis() -> Self {
        let server = RedisServer::start();
        let settings = server.store_settings();
        let clock = ManualClock::default();
        Self {
            one: redis_replica(&settings, &clock),
            two: redis_replica(&settings, &clock),
            clock,
            _redis: Some(server),
            _cluster: None,
        }
    }

    fn redis_cluster() -> Self {
        let cluster = shared::testing::RedisCluster::start();
        let settings = cluster.store_settings();
        let clock = ManualClock::default();
        Self {
            one: redis_replica(&settings, &clock),
            two: redis_replica(&settings, &clock),
            clock,
            _redis: None,
            _cluster: Some(cluster),
        }
    }
}

/// A replica's limiter: its own connection, the shared manual clock.
fn redis_replica(settings: &StoreSettings, clock: &ManualClock) -> Arc<dyn RateLimiter> {
    let conn = shared::store::connect_redis(settings).expect("redis connection");
    Arc::new(RedisRateLimiter::new(conn, settings, "identity").with_clock(Clock::Manual(clock.clone())))
}

fn limit(max: u32, window_ms: u64) -> Limit {
    Limit {
        max,
        window: Duration::from_millis(window_ms),
    }
}

async fn hit(limiter: &Arc<dyn RateLimiter>, bucket: &str, limit: Limit) -> Decision {
    limiter.hit(bucket, limit).await.expect("store reachable")
}

fn retry_after(decision: Decision) -> Duration {
    match decision {
        Decision::Limited { retry_after } => retry_after,
        Decision::Allowed => panic!("expected Limited, got Allowed"),
    }
}

async fn allows_max_hits_then_limits(r: Replicas) {
    let limit = limit(3, 60_000);
    for limiter in [&r.one, &r.two, &r.one] {
        assert_eq!(hit(limiter, "client", limit).await, Decision::Allowed);
    }
    for limiter in [&r.one, &r.two] {
        let wait = retry_after(hit(limiter, "client", limit).await);
        assert!(wait > Duration::ZERO && wait <= limit.window, "retry after {wait:?}");
    }
}

async fn buckets_are_independent(r: Replicas) {
    let limit = limit(1, 60_000);
    assert_eq!(hit(&r.one, "a", limit).await, Decision::Allowed);
    retry_after(hit(&r.two, "a", limit).await);
    assert_eq!(hit(&r.two, "b", limit).await, Decision::Allowed);
}

async fn hits_are_allowed_again_once_the_window_passed(r: Replicas) {
    let limit = limit(2, 60_000);
    assert_eq!(hit(&r.one, "client", limit).await, Decision::Allowed);
    assert_eq!(hit(&r.two, "client", limit).await, Decision::Allowed);
    retry_after(hit(&r.one, "client", limit).await);
    r.clock.advance(limit.window - Duration::from_millis(1));
    retry_after(hit(&r.two, "client", limit).await);
    r.clock.advance(Duration::from_millis(1));
    assert_eq!(hit(&r.two, "client", limit).await, Decision::Allowed);
    assert_eq!(hit(&r.one, "client", limit).await, Decision::Allowed);
    retry_after(hit(&r.two, "client", limit).await);
}

async fn refused_hits_are_not_recorded(r: Replicas) {
    let limit = limit(1, 60_000);
    assert_eq!(hit(&r.one, "client", limit).await, Decision::Allowed);
    r.clock.advance(Duration::from_millis(100));
    // Had this refusal been recorded, it would still be in the window after `wait`.
    let wait = retry_after(hit(&r.two, "client", limit).await);
    assert_eq!(
        wait,
        limit.window - Duration::from_millis(100),
        "the first hit is 100 ms old"
    );
    r.clock.advance(wait);
    assert_eq!(hit(&r.one, "client", limit).await, Decision::Allowed);
}

async fn concurrent_hits_never_exceed_max(r: Replicas) {
    let limit = limit(5, 60_000);
    let mut hits = JoinSet::new();
    for i in 0..20 {
        let limiter = if i % 2 == 0 { r.one.clone() } else { r.two.clone() };
        hits.spawn(async move { hit(&limiter, "client", limit).await });
    }
    let allowed = hits
        .join_all()
        .await
        .into_iter()
        .filter(|d| *d == Decision::Allowed)
        .count();
    assert_eq!(allowed, 5);
}

async fn a_disabled_limit_always_allows(r: Replicas) {
    for limit in [limit(0, 60_000), limit(3, 0)] {
        for _ in 0..5 {
            assert_eq!(hit(&r.one, "client", limit).await, Decision::Allowed);
            assert_eq!(ratelimit::allow(&*r.two, "client", limit).await, Decision::Allowed);
        }
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Replicas::memory()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Replicas::redis()).await;
                }
            )*
        }
    };
}

contract!(
    allows_max_hits_then_limits,
    buckets_are_independent,
    hits_are_allowed_again_once_the_window_passed,
    refused_hits_are_not_recorded,
    concurrent_hits_never_exceed_max,
    a_disabled_limit_always_allows,
);

#[tokio::test]
async fn a_redis_outage_fails_open() {
    let mut server = RedisServer::start();
    let limiter =
        ratelimit::from_settings(&server.store_settings(), &Default::default(), "identity").expect("redis limiter");
    let limit = limit(1, 60_000);
    assert_eq!(ratelimit::allow(&*limiter, "client", limit).await, Decision::Allowed);
    assert!(matches!(
        limiter.hit("client", limit).await,
        Ok(Decision::Limited { .. })
    ));

    server.kill();
    assert!(limiter.hit("client", limit).await.is_err(), "hit reports the outage");
    assert_eq!(ratelimit::allow(&*limiter, "client", limit).await, Decision::Allowed);
    let disabled = Limit { max: 0, ..limit };
    assert_eq!(
        limiter
            .hit("client", disabled)
            .await
            .expect("a disabled limit touches no store"),
        Decision::Allowed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_replicas_on_a_redis_cluster() {
    concurrent_hits_never_exceed_max(Replicas::redis_cluster()).await;
}
