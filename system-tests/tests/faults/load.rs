//! Sustained jwt-bearer load through the ingress, cycling many distinct agents, and an
//! account of every answer: statuses, transport failures, the slowest request, and
//! whether each 503 carried `Retry-After`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::topology::Topology;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Registers `count` anonymous agents through the ingress; their assertions.
pub async fn register_agents(topology: &Topology, count: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    let per_task = count.div_ceil(8);
    for _ in 0..8 {
        let (http, url) = (topology.http.clone(), topology.url("/agent/identity"));
        tasks.spawn(async move {
            let mut assertions = Vec::new();
            for _ in 0..per_task {
                let response = http
                    .post(&url)
                    .json(&serde_json::json!({ "type": "anonymous" }))
                    .send()
                    .await
                    .expect("registration reaches the ingress");
                assert_eq!(response.status(), 200, "registration: {:?}", response.text().await);
                let body: Value = response.json().await.expect("json");
                assertions.push(body["identity_assertion"].as_str().expect("assertion").to_owned());
            }
            assertions
        });
    }
    let mut all: Vec<String> = tasks.join_all().await.into_iter().flatten().collect();
    all.truncate(count);
    all
}

/// What the load saw.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub by_status: BTreeMap<u16, usize>,
    /// Requests that got no HTTP answer at all (connection refused, reset, timeout).
    pub transport_errors: usize,
    pub unavailable_without_retry_after: usize,
    pub slowest: Duration,
    /// When each success happened, relative to the start (for recovery times).
    pub successes_at: Vec<Duration>,
    pub failures_at: Vec<Duration>,
}

impl Tally {
    pub fn requests(&self) -> usize {
        self.by_status.values().sum::<usize>() + self.transport_errors
    }

    pub fn failures(&self) -> usize {
        self.requests() - self.by_status.get(&200).copied().unwrap_or(0)
    }

    pub fn print(&self, what: &str) {
        println!(
            "{what}: {} requests, {} failed, by status {:?}, transport errors {}, slowest {:?}",
            self.requests(),
            self.failures(),
            self.by_status,
            self.transport_errors,
            self.slowest
        );
    }
}

/// Exchanges running until [`Load::stop`], `concurrency` at a time.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    started: Instant,
    tasks: tokio::task::JoinSet<()>,
}

impl Load {
    pub fn start(topology: &Topology, assertions: Arc<Vec<String>>, concurrency: usize) -> Self {
        let (stop, tally) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Tally::default())));
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (http, url) = (topology.http.clone(), topology.url("/oauth2/token"));
            let (stop, tally, next, assertions) = (stop.clone(), tally.clone(), next.clone(), assertions.clone());
            tasks.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let assertion = &assertions[next.fetch_add(1, Ordering::Relaxed) % assertions.len()];
                    let sent = Instant::now();
                    let outcome = http
                        .post(&url)
                        .form(&[("grant_type", JWT_BEARER), ("assertion", assertion.as_str())])
                        .send()
                        .await;
                    let took = sent.elapsed();
                    let mut tally = tally.lock().expect("tally");
                    tally.slowest = tally.slowest.max(took);
                    let at = started.elapsed();
                    match outcome {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            *tally.by_status.entry(status).or_default() += 1;
                            if status == 503 && !response.headers().contains_key("retry-after") {
                                tally.unavailable_without_retry_after += 1;
                            }
                            if status == 200 {
                                tally.successes_at.push(at);
                            } else {
                                tally.failures_at.push(at);
                            }
                        }
                        Err(_) => {
                            tally.transport_errors += 1;
                            tally.failures_at.push(at);
                        }
                    }
                }
            });
        }
        Self {
            stop,
            tally,
            started,
            tasks,
        }
    }

    /// Time since the load started, the clock of [`Tally`]'s instants.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// What was counted so far.
    pub fn snapshot(&self) -> Tally {
        self.tally.lock().expect("tally").clone()
    }

    pub async fn stop(mut self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        while self.tasks.join_next().await.is_some() {}
        self.snapshot()
    }
}
