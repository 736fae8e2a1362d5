//! Every replica of a peer service, for clients that must not pin to one.
//!
//! A Kubernetes ClusterIP Service hands a long-lived HTTP/2 connection to one pod for
//! good, so clients dial the peer's *headless* Service instead: its DNS name resolves to
//! every ready pod. [`Replicas`] re-resolves that name every `resolve_interval`, keeps a
//! lazily connected channel per address, spreads calls round-robin, and sets aside an
//! address whose connection just failed so a retry lands on another replica.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    addr: SocketAddr,
    channel: Channel,
    ejected_until: Option<Instant>,
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
        Some((chosen.addr, chosen.channel.clone()))
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
}
