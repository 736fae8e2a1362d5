use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use proto::clients::v1::CreateClientRequest;
use proto::clients::v1::client_admin_client::ClientAdminClient;
use protocol::jose::SigningKey;
use serde_json::{Value, json};
use shared::settings::{ListenSettings, PeerSettings, Profile, StoreBackend, StoreSettings};
use shared::time::unix_now;

pub const ISSUER: &str = "https://agentauth.test";
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

use shared::testing::Running;

fn listen() -> ListenSettings {
    ListenSettings::new("127.0.0.1", 0)
}

fn peer(addr: SocketAddr, server_name: &str) -> PeerSettings {
    shared::testing::pki().peer(addr, server_name)
}

pub fn memory() -> StoreSettings {
    StoreSettings {
        backend: StoreBackend::Memory,
        ..StoreSettings::default()
    }
}

/// The three services, each a separate application with its own listeners.
pub struct TestSystem {
    pub token: Running,
    pub identity: Running,
    pub jwks: Running,
    /// The key the signers use, for crafting tokens and assertions in tests.
    pub signer: Arc<SigningKey>,
    pub http: reqwest::Client,
    /// Where identity-service's mail goes.
    pub outbox: tempfile::TempDir,
}

pub async fn spawn() -> TestSystem {
    spawn_with(memory()).await
}

pub async fn spawn_with(store: StoreSettings) -> TestSystem {
    spawn_configured(store, |_| {}).await
}

/// Like [`spawn_with`], with identity-service's settings adjusted by `tweak`.
pub async fn spawn_configured(
    store: StoreSettings,
    tweak: impl FnOnce(&mut identity_service::settings::Settings),
) -> TestSystem {
    spawn_tuned(store, |_| {}, tweak).await
}

/// The three services with jwks-service's and identity-service's settings adjusted.
pub async fn spawn_tuned(
    store: StoreSettings,
    tweak_jwks: impl FnOnce(&mut jwks_service::settings::Settings),
    tweak: impl FnOnce(&mut identity_service::settings::Settings),
) -> TestSystem {
    spawn_all(store, tweak_jwks, tweak, |_| {}).await
}

/// The three services, each one's settings adjusted.
pub async fn spawn_all(
    store: StoreSettings,
    tweak_jwks: impl FnOnce(&mut jwks_service::settings::Settings),
    tweak: impl FnOnce(&mut identity_service::settings::Settings),
    tweak_token: impl FnOnce(&mut token_service::settings::Settings),
) -> TestSystem {
    let mut jwks_settings = jwks_service::settings::Settings {
        common: shared::serve::CommonSettings {
            profile: Profile::Development,
            http: listen(),
            grpc: listen(),
            metrics: shared::telemetry::metrics::MetricsSettings::ephemeral(),
            store: store.clone(),
            internal_tls: shared::testing::pki().settings(&["identity-service", "token-service", "agentctl"]),
            ..jwks_service::settings::Settings::default().common
        },
        ..Default::default()
    };
    tweak_jwks(&mut jwks_settings);
    let jwks = jwks_service::startup::Application::build(jwks_settings)
        .await
        .expect("jwks builds");
    let jwks = Running::start(jwks);
    let outbox = tempfile::tempdir().expect("outbox dir");
    // identity-service asks token-service who a client is, and token-service starts
    // after it: its gRPC port is chosen first.
    let token_grpc = SocketAddr::from(([127, 0, 0, 1], shared::testing::reserve_port()));
    let mut identity_settings = identity_settings(store.clone(), jwks.grpc, outbox.path());
    identity_settings.token = peer(token_grpc, "token-service");
    tweak(&mut identity_settings);
    let identity = identity_service::startup::Application::build(identity_settings)
        .await
        .expect("identity builds");
    let identity_keys = identity.service().key_ring();
    let identity = Running::start(identity);
    let mut token_settings = token_settings(store, identity.grpc, jwks.grpc);
    token_settings.common.grpc = ListenSettings::new("127.0.0.1", token_grpc.port());
    tweak_token(&mut token_settings);
    let token = token_service::startup::Application::build(token_settings)
        .await
        .expect("token builds");
    let token_keys = token.service().key_ring();
    let token = Running::start(token);
    wait_for_key(identity_keys).await;
    let signer = wait_for_key(token_keys).await;
    TestSystem {
        token,
        identity,
        jwks,
        signer,
        http: reqwest::Client::new(),
        outbox,
    }
}

/// An identity replica's settings: on `store`, keys from jwks at `jwks`, mail to `outbox`.
pub fn identity_settings(
    store: StoreSettings,
    jwks: SocketAddr,
    outbox: &std::path::Path,
) -> identity_service::settings::Settings {
    let mut settings = identity_service::settings::Settings {
        common: shared::serve::CommonSettings {
            profile: Profile::Development,
            http: listen(),
            grpc: listen(),
            metrics: shared::telemetry::metrics::MetricsSettings::ephemeral(),
            store,
            internal_tls: shared::testing::pki().settings(&["token-service", "agentctl"]),
            ..identity_service::settings::Settings::default().common
        },
        public_base_url: ISSUER.into(),
        jwks: peer(jwks, "jwks-service"),
        ..Default::default()
    };
    settings.mail.outbox_dir = outbox.to_owned();
    settings
}

pub fn token_settings(
    store: StoreSettings,
    identity: SocketAddr,
    jwks: SocketAddr,
) -> token_service::settings::Settings {
    token_service::settings::Settings {
        common: shared::serve::CommonSettings {
            profile: Profile::Development,
            http: listen(),
            grpc: listen(),
            metrics: shared::telemetry::metrics::MetricsSettings::ephemeral(),
            store,
            internal_tls: shared::testing::pki().settings(&["identity-service", "agentctl"]),
            ..token_service::settings::Settings::default().common
        },
        public_base_url: ISSUER.into(),
        identity: peer(identity, "identity-service"),
        jwks: peer(jwks, "jwks-service"),
        // One pepper for every replica a test starts, as a deployment shares one.
        hash_pepper: shared::settings::SecretSetting {
            value: Some("token-service test pepper".into()),
            file: None,
        },
        ..Default::default()
    }
}

pub async fn wait_for_key(mut keys: shared::keys::watch::KeyRingWatch) -> Arc<SigningKey> {
    let ring = tokio::time::timeout(Duration::from_secs(5), keys.wait_for(|ring| ring.signer().is_some()))
        .await
        .expect("signing key arrives from jwks-service")
        .expect("watcher alive")
        .clone();
    ring.signer().cloned().expect("signer")
}

/// A machine client created through the operator gRPC API.
#[derive(Clone)]
pub struct TestClient {
    pub id: String,
    pub secret: String,
}

impl TestSystem {
    pub fn token_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.token.http)
    }

    pub fn identity_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.identity.http)
    }

    pub async fn register_anonymous(&self) -> Value {
        let response = self
            .http
            .post(self.identity_url("/agent/identity"))
            .json(&json!({ "type": "anonymous" }))
            .send()
            .await
            .expect("identity reachable");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    pub async fn create_client(&self, scopes: &[&str]) -> TestClient {
        let mut admin = ClientAdminClient::new(shared::testing::pki().channel(self.token.grpc, "token-service"));
        let created = admin
            .create_client(CreateClientRequest {
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                name: "test".into(),
                // A resource server too, so tests can introspect with it.
                introspect: true,
                ..Default::default()
            })
            .await
            .expect("client created")
            .into_inner();
        TestClient {
            id: created.client_id,
            secret: created.client_secret,
        }
    }

    /// POSTs a form to a token-service endpoint.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.token_url(path))
            .form(form)
            .send()
            .await
            .expect("token-service reachable")
    }

    /// A fresh anonymous agent's access token and registration.
    pub async fn agent_token(&self) -> (String, Value) {
        let registered = self.register_anonymous().await;
        let assertion = registered["identity_assertion"].as_str().expect("assertion").to_owned();
        let response = self
            .post_form(
                "/oauth2/token",
                &[("grant_type", JWT_BEARER), ("assertion", &assertion)],
            )
            .await;
        let body = assert_ok(response).await;
        (body["access_token"].as_str().expect("token").to_owned(), registered)
    }

    /// Claims of an assertion or access token signed with the real key.
    pub fn sign(&self, typ: &str, claims: &Value) -> String {
        self.signer.sign(typ, claims).expect("sign")
    }
}

/// Claims of a well-formed access token, to be spoiled in tests.
pub fn access_claims(sub: &str) -> Value {
    let now = unix_now();
    json!({
        "iss": ISSUER, "aud": ISSUER, "sub": sub, "client_id": sub, "scope": "agent:read",
        "iat": now, "exp": now + 600, "jti": protocol::secrets::random_token(16),
    })
}

/// RFC 6749 §5.1 and our rule: every `/oauth2` response is uncacheable.
pub fn assert_no_store(response: &reqwest::Response) {
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
}

pub async fn assert_ok(response: reqwest::Response) -> Value {
    assert_no_store(&response);
    let status = response.status();
    let body: Value = response.json().await.expect("json body");
    assert_eq!(status, 200, "{body}");
    body
}

/// Asserts an RFC 6749 §5.2 error: status, `error` code, description, no-store headers.
pub async fn assert_oauth_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_no_store(&response);
    let got = response.status();
    let headers = response.headers().clone();
    if got != status {
        let body = response.text().await.unwrap_or_default();
        panic!("expected {status} {code}, got {got}: {body}");
    }
    if status == 401 {
        assert!(headers.contains_key("www-authenticate"), "401 needs a challenge");
    }
    if status == 503 {
        assert!(headers.contains_key("retry-after"), "503 needs Retry-After");
    }
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"], code, "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(!description.is_empty(), "{body}");
    // RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E, on every error a test sees.
    assert!(
        description
            .chars()
            .all(|c| matches!(c, ' ' | '!' | '#'..='[' | ']'..='~')),
        "{body}"
    );
    body
}

pub type Admin = ClientAdminClient<tonic::transport::Channel>;

impl TestSystem {
    /// The operator's `ClientAdmin` client on this system's token-service.
    pub fn admin(&self) -> Admin {
        ClientAdminClient::new(shared::testing::pki().channel(self.token.grpc, "token-service"))
    }

    /// Another token-service replica on the same store and peers, with `tweak` applied.
    pub async fn token_replica(
        &self,
        store: StoreSettings,
        tweak: impl FnOnce(&mut token_service::settings::Settings),
    ) -> Running {
        let mut settings = token_settings(store, self.identity.grpc, self.jwks.grpc);
        tweak(&mut settings);
        let token = token_service::startup::Application::build(settings)
            .await
            .expect("token builds");
        let keys = token.service().key_ring();
        let token = Running::start(token);
        wait_for_key(keys).await;
        token
    }

    /// A `client_credentials` request with HTTP Basic.
    pub async fn client_credentials(&self, client: &TestClient, extra: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        self.http
            .post(self.token_url("/oauth2/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&form)
            .send()
            .await
            .expect("token-service reachable")
    }

    /// Introspects `token` as `resource_server`.
    pub async fn introspect(&self, resource_server: &TestClient, token: &str) -> Value {
        let response = self
            .http
            .post(self.token_url("/oauth2/introspect"))
            .basic_auth(&resource_server.id, Some(&resource_server.secret))
            .form(&[("token", token)])
            .send()
            .await
            .expect("token-service reachable");
        assert_ok(response).await
    }
}

/// The claims of a JWT, unverified: for looking at what a test was issued.
pub fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("a JWS has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
