//! OpenID Connect Discovery 1.0 of an issuer an operator configured: the document at
//! `{issuer}/.well-known/openid-configuration`, which must name the issuer exactly
//! (§4.3), fetched on first use and kept; a failure is retried at most once per
//! cooldown, never once per request.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use crate::fetch::{Destinations, Fetcher, check_url};

/// A discovery document is a few KiB.
const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// An issuer's discovery document, as `T`, once fetched.
#[derive(Debug)]
pub struct Discovery<T> {
    issuer: String,
    document: OnceLock<T>,
    attempts: Mutex<Attempts>,
    cooldown: Duration,
}

#[derive(Debug, Default)]
struct Attempts {
    last: Option<Instant>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct Named {
    issuer: String,
}

impl<T: DeserializeOwned + Clone> Discovery<T> {
    pub fn new(issuer: &str, cooldown: Duration) -> Self {
        Self {
            issuer: issuer.to_owned(),
            document: OnceLock::new(),
            attempts: Mutex::new(Attempts::default()),
            cooldown,
        }
    }

    /// A document known without fetching (an operator's explicit endpoints).
    pub fn known(issuer: &str, document: T) -> Self {
        let discovery = Self::new(issuer, Duration::ZERO);
        let _ = discovery.document.set(document);
        discovery
    }

    /// The document: kept, or fetched through `fetcher` (one fetch at a time).
    pub async fn get(&self, fetcher: &Fetcher) -> Result<T, String> {
        if let Some(document) = self.document.get() {
            return Ok(document.clone());
        }
        let mut attempts = self.attempts.lock().await;
        if let Some(document) = self.document.get() {
            return Ok(document.clone());
        }
        if let (Some(at), Some(error)) = (attempts.last, &attempts.error)
            && at.elapsed() < self.cooldown
        {
            return Err(error.clone());
        }
        attempts.last = Some(Instant::now());
        match self.fetch(fetcher).await {
            Ok(document) => {
                attempts.error = None;
                Ok(self.document.get_or_init(|| document).clone())
            }
            Err(error) => {
                tracing::warn!(issuer = %self.issuer, %error, "discovery failed");
                attempts.error = Some(error.clone());
                Err(error)
            }
        }
    }

    async fn fetch(&self, fetcher: &Fetcher) -> Result<T, String> {
        let at = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let url: Url = check_url(&at, Destinations::Configured)?;
        let fetched = fetcher.get(&url, &["application/json"], MAX_DISCOVERY_BYTES).await?;
        let named: Named =
            serde_json::from_slice(&fetched.body).map_err(|e| format!("not a discovery document: {e}"))?;
        if named.issuer != self.issuer {
            return Err(format!(
                "the discovery document names issuer `{}`, not `{}`",
                named.issuer, self.issuer
            ));
        }
        serde_json::from_slice(&fetched.body).map_err(|e| format!("the discovery document lacks a field: {e}"))
    }
}
