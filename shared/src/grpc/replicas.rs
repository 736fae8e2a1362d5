//! Every replica of a peer service, for clients that must not pin to one.
//!
//! A Kubernetes ClusterIP Service hands a long-lived HTTP/2 connection to one pod for
//! good, so clients dial the peer's *headless* Service instead: its DNS name resolves to
//! every ready pod. [`Replicas`] re-resolves that name every `resolve_interval`, keeps a
//! lazily connected channel per address, spreads calls round-robin, and sets aside an
//! address whose connection just failed so a retry lands on another replica.
//!
//! A caller on a single-threaded runtime (each actix worker is one) gets channels of its
//! own thread: their connection tasks run beside the request that uses them, so a call
//! does not hop to another thread and back twice. Callers on the multi-threaded runtime
//! share one channel per replica.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

/// How long an address that failed is passed over (it gets another chance after).
const EJECTION: Duration = Duration::from_secs(2);

/// The replicas of one peer, kept current by a background resolver.
#[derive(Debug)]
pub struct Replicas {
    inner: Arc<Inner>,
    resolver: JoinHandle<()>,
}

/// Where the replicas are now: DNS in production, a list a test controls.
pub type Resolve =
    Box<dyn Fn() -> futures_util::future::BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> + Send + Sync>;

struct Inner {
    /// `host:port` as configured (a headless Service name, or an address), for logs.
    target: String,
    resolve: Resolve,
    /// Builds the endpoint for one resolved address (scheme, TLS name, timeouts).
    template: EndpointTemplate,
    members: Mutex<Vec<Member>>,
    next: AtomicUsize,
    wake: Notify,
}

#[derive(Debug, Clone)]
struct Member {
    /// Unique in the process: names this member's channels in every thread's cache.
    id: u64,
    addr: SocketAddr,
    channel: Channel,
    ejected_until: Option<Instant>,
}

static MEMBER_IDS: AtomicU64 = AtomicU64::new(0);

/// A channel made on this thread's single-threaded runtime, with a token of that
/// runtime being alive: a task holds the other reference, and the runtime drops it when
/// it shuts down (a thread may run several runtimes in turn, as tests do).
struct LocalChannel {
    /// The [`Replicas`] it belongs to (its address), so pruning one spares the others.
    owner: usize,
    channel: Channel,
    alive: Arc<()>,
}

impl LocalChannel {
    fn is_alive(&self) -> bool {
        Arc::strong_count(&self.alive) > 1
    }
}

thread_local! {
    static LOCAL_CHANNELS: RefCell<HashMap<u64, LocalChannel>> = RefCell::new(HashMap::new());
}

/// How every replica's channel is made: TLS (verified against the service's name, not
/// the address dialled), timeouts, keep-alive.
#[derive(Debug, Clone)]
pub struct EndpointTemplate {
    pub tls: Option<tonic::transport::ClientTlsConfig>,
    pub connect_timeout: Duration,
    /// Bound on every call (unary channels); `None` for streams.
    pub request_timeout: Option<Duration>,
    /// HTTP/2 pings that detect a dead peer on a long-lived stream.
    pub keep_alive: bool,
}

impl Drop for Replicas {
    fn drop(&mut self) {
        self.resolver.abort();
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas").field("target", &self.target).finish()
    }
}

impl Replicas {
    /// Starts resolving `target` (`host:port`) through DNS every `every`.
    pub fn spawn(target: String, template: EndpointTemplate, every: Duration) -> Self {
        let name = target.clone();
        let resolve: Resolve = Box::new(move || {
            let name = name.clone();
            Box::pin(async move { Ok(tokio::net::lookup_host(name.as_str()).await?.collect()) })
        });
        Self::spawn_with(target, resolve, template, every)
    }

    /// Like [`Self::spawn`] with another source of addresses.
    pub fn spawn_with(target: String, resolve: Resolve, template: EndpointTemplate, every: Duration) -> Self {
        let inner = Arc::new(Inner {
            target,
            resolve,
            template,
            members: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
            wake: Notify::new(),
        });
        let resolver = tokio::spawn(resolve_forever(Arc::clone(&inner), every));
        Self { inner, resolver }
    }

    /// A replica to call, round-robin over those not set aside (any of them if every one
    /// is), never `avoid` unless it is the only one; `None` while nothing resolved.
    pub fn pick(&self, avoid: Option<SocketAddr>) -> Option<(SocketAddr, Channel)> {
        let members = self.inner.lock();
        let count = members.len();
        if count == 0 {
            drop(members);
            self.inner.wake.notify_one();
            return None;
        }
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let in_turn = (0..count).map(|i| &members[(start + i) % count]);
        let rested = |m: &&Member| m.ejected_until.is_none_or(|until| until <= now);
        let chosen = in_turn
            .clone()
            .find(|m| rested(m) && Some(m.addr) != avoid)
            .or_else(|| in_turn.clone().find(|m| Some(m.addr) != avoid))
            .unwrap_or(&members[start % count]);
        let channel = self.channel_of(chosen, &members);
        Some((chosen.addr, channel))
    }

    /// `member`'s channel for this thread: its own on a single-threaded runtime, the
    /// shared one otherwise (or if a channel of its own cannot be made).
    fn channel_of(&self, member: &Member, members: &[Member]) -> Channel {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let single_threaded =
            Handle::try_current().is_ok_and(|handle| handle.runtime_flavor() == RuntimeFlavor::CurrentThread);
        if !single_threaded {
            return member.channel.clone();
        }
        LOCAL_CHANNELS.with_borrow_mut(|local| {
            if let Some(kept) = local.get(&member.id).filter(|kept| kept.is_alive()) {
                return kept.channel.clone();
            }
            let Ok(channel) = channel_for(&self.inner.template, member.addr) else {
                return member.channel.clone();
            };
            let alive = Arc::new(());
            let held = Arc::clone(&alive);
            tokio::spawn(async move {
                let _held = held;
                std::future::pending::<()>().await;
            });
            // This peer's members that left, and channels of runtimes that ended, go now.
            let owner = Arc::as_ptr(&self.inner) as usize;
            local.retain(|id, kept| kept.is_alive() && (kept.owner != owner || members.iter().any(|m| m.id == *id)));
            local.insert(
                member.id,
                LocalChannel {
                    owner,
                    channel: channel.clone(),
                    alive,
                },
            );
            channel
        })
    }

    /// Passes over `addr` for a moment: its connection just failed.
    pub fn set_aside(&self, addr: SocketAddr) {
        let mut members = self.inner.lock();
        if let Some(member) = members.iter_mut().find(|m| m.addr == addr) {
            member.ejected_until = Some(Instant::now() + EJECTION);
        }
    }

    /// The addresses currently known.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.inner.lock().iter().map(|m| m.addr).collect()
    }

    /// Resolves once now, without waiting for the interval.
    pub async fn refresh(&self) {
        refresh(&self.inner).await;
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Member>> {
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn resolve_forever(inner: Arc<Inner>, every: Duration) {
    loop {
        refresh(&inner).await;
        let _ = tokio::time::timeout(every, inner.wake.notified()).await;
    }
}

/// Replaces the member list with what the name resolves to now, keeping the channels of
/// addresses that stay (their connections and ejections survive).
async fn refresh(inner: &Inner) {
    let resolved: Vec<SocketAddr> = match (inner.resolve)().await {
        Ok(addrs) => addrs,
        Err(error) => {
            tracing::warn!(target = %inner.target, %error, "cannot resolve peer replicas, keeping the last set");
            return;
        }
    };
    if resolved.is_empty() {
        return;
    }
    let mut members = inner.lock();
    let mut old: HashMap<SocketAddr, Member> = members.drain(..).map(|m| (m.addr, m)).collect();
    let mut changed = false;
    for addr in resolved {
        if let Some(kept) = old.remove(&addr) {
            members.push(kept);
            continue;
        }
        match channel_for(&inner.template, addr) {
            Ok(channel) => {
                changed = true;
                members.push(Member {
                    id: MEMBER_IDS.fetch_add(1, Ordering::Relaxed),
                    addr,
                    channel,
                    ejected_until: None,
                });
            }
            Err(error) => tracing::warn!(%addr, %error, "cannot build a channel for a peer replica"),
        }
    }
    if changed || !old.is_empty() {
        let addresses: Vec<String> = members.iter().map(|m| m.addr.to_string()).collect();
        tracing::info!(target = %inner.target, replicas = ?addresses, "peer replicas changed");
    }
}

fn channel_for(template: &EndpointTemplate, addr: SocketAddr) -> Result<Channel, tonic::transport::Error> {
    let scheme = if template.tls.is_some() { "https" } else { "http" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))?
        .connect_timeout(template.connect_timeout)
        .tcp_nodelay(true);
    if let Some(tls) = &template.tls {
        endpoint = endpoint.tls_config(tls.clone())?;
    }
    if let Some(timeout) = template.request_timeout {
        endpoint = endpoint.timeout(timeout);
    }
    if template.keep_alive {
        endpoint = endpoint
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
    }
    Ok(endpoint.connect_lazy())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> EndpointTemplate {
        EndpointTemplate {
            tls: None,
            connect_timeout: Duration::from_millis(200),
            request_timeout: Some(Duration::from_millis(200)),
            keep_alive: false,
        }
    }

    fn controlled() -> (Replicas, Arc<Mutex<Vec<SocketAddr>>>) {
        let answer = Arc::new(Mutex::new(Vec::new()));
        let source = Arc::clone(&answer);
        let resolve: Resolve = Box::new(move || {
            let addrs = source.lock().unwrap_or_else(PoisonError::into_inner).clone();
            Box::pin(async move { Ok(addrs) })
        });
        let replicas = Replicas::spawn_with("peer:1".into(), resolve, plain(), Duration::from_secs(3600));
        (replicas, answer)
    }

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, last], 50051))
    }

    #[tokio::test]
    async fn calls_go_round_robin_and_skip_what_was_set_aside_or_avoided() {
        let (replicas, answer) = controlled();
        *answer.lock().expect("lock") = vec![addr(2), addr(3), addr(4)];
        replicas.refresh().await;
        let picks: Vec<SocketAddr> = (0..6).map(|_| replicas.pick(None).expect("a replica").0).collect();
        for a in [addr(2), addr(3), addr(4)] {
            assert_eq!(picks.iter().filter(|p| **p == a).count(), 2, "{picks:?}");
        }
        replicas.set_aside(addr(3));
        for _ in 0..6 {
            let (picked, _) = replicas.pick(Some(addr(2))).expect("a replica");
            assert_eq!(picked, addr(4), "neither set aside nor avoided");
        }
    }

    #[tokio::test]
    async fn a_new_resolution_replaces_the_set() {
        let (replicas, answer) = controlled();
        assert!(replicas.pick(None).is_none(), "nothing resolved yet");
        *answer.lock().expect("lock") = vec![addr(2)];
        replicas.refresh().await;
        assert_eq!(replicas.addresses(), vec![addr(2)]);
        *answer.lock().expect("lock") = vec![addr(3), addr(4)];
        replicas.refresh().await;
        assert_eq!(replicas.addresses(), vec![addr(3), addr(4)]);
        answer.lock().expect("lock").clear();
        replicas.refresh().await;
        assert_eq!(
            replicas.addresses(),
            vec![addr(3), addr(4)],
            "an empty answer keeps the last set"
        );
    }

    /// A gRPC server (health only) on loopback, served by a runtime of its own for the whole test.
    fn health_server() -> (tokio::runtime::Runtime, SocketAddr) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        runtime.spawn(async move {
            // `serve` adds grpc.health.v1 to whatever routes it is given.
            let routes = tonic::service::Routes::default();
            let _ = crate::grpc::serve(listener, routes, None, std::future::pending()).await;
        });
        (runtime, addr)
    }

    async fn healthy(channel: Channel) -> bool {
        use tonic_health::pb::HealthCheckRequest;
        use tonic_health::pb::health_client::HealthClient;
        HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .is_ok()
    }

    #[test]
    fn each_single_threaded_runtime_calls_through_a_channel_of_its_own_that_outlives_none() {
        let (server, addr) = health_server();
        let (replicas, answer) = server.block_on(async { controlled() });
        *answer.lock().expect("lock") = vec![addr];
        server.block_on(replicas.refresh());
        let shared = server.block_on(async { replicas.pick(None).expect("a replica").1 });
        assert!(server.block_on(healthy(shared)), "the shared channel answers");
        // Two runtimes in turn on this thread, as a test or an actix worker restart
        // makes: the second must not get the first one's channel, whose tasks died with it.
        for round in 0..2 {
            let local = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            local.block_on(async {
                let (_, first) = replicas.pick(None).expect("a replica");
                let (_, again) = replicas.pick(None).expect("a replica");
                assert!(healthy(first).await, "round {round}: this runtime's channel answers");
                assert!(healthy(again).await, "round {round}: and is kept for the next call");
                let kept = LOCAL_CHANNELS.with_borrow(|local| local.values().filter(|c| c.is_alive()).count());
                assert_eq!(kept, 1, "round {round}: one live channel of this thread");
            });
        }
        drop(replicas);
        server.shutdown_background();
    }
}
