//! The fake provider: an actix-web server on port 0 publishing a JWKS that a test edits,
//! and keys to sign with.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use identity_service::providers::{ProviderKeySettings, ProviderKeys, ProviderSettings};
use protocol::jose::{Algorithm, SigningKey};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://provider.test";

#[derive(Default)]
pub struct Published {
    pub keys: Vec<Value>,
    pub cache_control: Option<&'static str>,
    pub down: bool,
    /// Holds each response back, so concurrent verifies overlap one fetch.
    pub delay: Duration,
}

#[derive(Clone)]
pub struct FakeProvider {
    published: Arc<Mutex<Published>>,
    requests: Arc<AtomicUsize>,
    jwks_uri: String,
}

impl FakeProvider {
    pub fn spawn(keys: &[&Key]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind provider");
        let provider = Self {
            published: Arc::default(),
            requests: Arc::default(),
            jwks_uri: format!("http://{}/jwks", listener.local_addr().expect("provider addr")),
        };
        provider.publish(keys);
        let data = web::Data::new(provider.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).route("/jwks", web::get().to(jwks)))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listen")
            .run();
        tokio::spawn(server);
        provider
    }

    pub fn publish(&self, keys: &[&Key]) {
        self.edit(|p| p.keys = keys.iter().map(|k| k.jwk.clone()).collect());
    }

    pub fn edit(&self, change: impl FnOnce(&mut Published)) {
        change(&mut self.published.lock().expect("published lock"));
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn keys(&self, min_cache: Duration, refetch_cooldown: Duration) -> ProviderKeys {
        self.keys_with(min_cache, refetch_cooldown, false)
    }

    /// Keys of a provider configured with `allow_untyped_id_jag`.
    pub fn keys_allowing_untyped(&self, min_cache: Duration, refetch_cooldown: Duration) -> ProviderKeys {
        self.keys_with(min_cache, refetch_cooldown, true)
    }

    fn keys_with(&self, min_cache: Duration, refetch_cooldown: Duration, allow_untyped_id_jag: bool) -> ProviderKeys {
        let providers = [ProviderSettings {
            issuer: ISSUER.into(),
            jwks_uri: self.jwks_uri.clone(),
            allow_untyped_id_jag,
        }];
        let settings = ProviderKeySettings {
            min_cache,
            max_cache: Duration::from_secs(3600),
            refetch_cooldown,
            fetch_timeout: Duration::from_secs(5),
        };
        ProviderKeys::new(&providers, &settings).expect("valid provider settings")
    }
}

async fn jwks(provider: web::Data<FakeProvider>) -> HttpResponse {
    provider.requests.fetch_add(1, Ordering::SeqCst);
    let (keys, cache_control, down, delay) = {
        let p = provider.published.lock().expect("published lock");
        (p.keys.clone(), p.cache_control, p.down, p.delay)
    };
    tokio::time::sleep(delay).await;
    if down {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let mut response = HttpResponse::Ok();
    response.content_type("application/jwk-set+json");
    if let Some(value) = cache_control {
        response.insert_header(("cache-control", value));
    }
    response.json(json!({ "keys": keys }))
}

pub struct Key {
    pub kid: String,
    jwk: Value,
    pub der: Vec<u8>,
}

impl Key {
    pub fn new() -> Self {
        let key = shared::testing::TestKey::generate(&format!("k-{}", protocol::secrets::random_token(6)));
        Self {
            kid: key.kid,
            jwk: key.jwk,
            der: key.pkcs8,
        }
    }

    pub fn sign(&self, typ: &str, claims: &Value) -> String {
        self.sign_as(&self.kid, typ, claims)
    }

    /// Signs under another key's `kid`.
    pub fn sign_as(&self, kid: &str, typ: &str, claims: &Value) -> String {
        let signer = SigningKey::from_pkcs8(kid, Algorithm::ES256, &self.der).expect("signing key");
        signer.sign(typ, claims).expect("sign")
    }
}
