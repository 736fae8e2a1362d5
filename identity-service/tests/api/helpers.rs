use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use identity_service::settings::Settings;
use identity_service::startup::Application;
use proto::identity::v1::identity_service_client::IdentityServiceClient;
use proto::identity::v1::{ValidateAssertionRequest, validate_assertion_response::Outcome};
use protocol::jose::SigningKey;
use shared::settings::{ListenSettings, Profile, StoreBackend, StoreSettings};

pub const ISSUER: &str = "https://agentauth.test";

pub use shared::testing::Running;

/// identity-service with its jwks-service peer.
pub struct TestApp {
    pub identity: Running,
    /// The development mail outbox this instance writes to.
    pub outbox: tempfile::TempDir,
    pub _jwks: Running,
    /// The key identity-service signs with, as a test-side signer for crafted assertions.
    pub signer: Option<Arc<SigningKey>>,
    pub http: reqwest::Client,
}

pub fn memory() -> StoreSettings {
    StoreSettings {
        backend: StoreBackend::Memory,
        ..StoreSettings::default()
    }
}

pub async fn spawn_jwks() -> Running {
    let settings = jwks_service::settings::Settings {
        common: shared::serve::CommonSettings {
            profile: Profile::Development,
            http: ListenSettings::new("127.0.0.1", 0),
            grpc: ListenSettings::new("127.0.0.1", 0),
            metrics: shared::telemetry::metrics::MetricsSettings::ephemeral(),
            store: memory(),
            internal_tls: shared::testing::pki().settings(&["identity-service", "token-service", "agentctl"]),
            ..jwks_service::settings::Settings::default().common
        },
        ..Default::default()
    };
    let app = jwks_service::startup::Application::build(settings)
        .await
        .expect("jwks builds");
    Running::start(app)
}

pub fn settings(jwks_grpc: SocketAddr, store: StoreSettings) -> Settings {
    Settings {
        common: shared::serve::CommonSettings {
            profile: Profile::Development,
            http: ListenSettings::new("127.0.0.1", 0),
            grpc: ListenSettings::new("127.0.0.1", 0),
            metrics: shared::telemetry::metrics::MetricsSettings::ephemeral(),
            store,
            internal_tls: shared::testing::pki().settings(&["token-service", "agentctl"]),
            ..Settings::default().common
        },
        public_base_url: ISSUER.into(),
        jwks: shared::testing::pki().peer(jwks_grpc, "jwks-service"),
        ..Settings::default()
    }
}

/// Spawns jwks-service and identity-service (settings adjusted by `tweak`) and waits
/// until identity-service holds the signing key.
pub async fn spawn_with(store: StoreSettings, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let jwks = spawn_jwks().await;
    let outbox = tempfile::tempdir().expect("outbox dir");
    let mut settings = settings(jwks.grpc, store);
    settings.mail.outbox_dir = outbox.path().to_owned();
    tweak(&mut settings);
    let app = Application::build(settings).await.expect("identity builds");
    let mut keys = app.service().key_ring();
    let ring = tokio::time::timeout(Duration::from_secs(5), keys.wait_for(|ring| ring.signer().is_some()))
        .await
        .expect("signing key arrives from jwks-service")
        .expect("watcher alive")
        .clone();
    TestApp {
        identity: Running::start(app),
        outbox,
        _jwks: jwks,
        signer: ring.signer().cloned(),
        http: reqwest::Client::new(),
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(memory(), |_| {}).await
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.identity.http)
    }

    /// POSTs JSON to an identity-service path.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("reachable")
    }

    pub fn signer(&self) -> &SigningKey {
        self.signer.as_deref().expect("signing key")
    }

    pub async fn register_anonymous(&self) -> serde_json::Value {
        let response = self
            .http
            .post(self.url("/agent/identity"))
            .json(&serde_json::json!({ "type": "anonymous" }))
            .send()
            .await
            .expect("reachable");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    /// `LookupRegistration`: what token-service asks after verifying an assertion itself.
    pub async fn lookup(&self, subject: &str, client_id: &str) -> Outcome {
        let mut client =
            IdentityServiceClient::new(shared::testing::pki().channel(self.identity.grpc, "identity-service"));
        client
            .lookup_registration(proto::identity::v1::LookupRegistrationRequest {
                subject: subject.to_owned(),
                client_id: client_id.to_owned(),
            })
            .await
            .expect("lookup answers")
            .into_inner()
            .outcome
            .expect("an outcome")
    }

    pub async fn validate(&self, assertion: &str) -> Outcome {
        let mut client =
            IdentityServiceClient::new(shared::testing::pki().channel(self.identity.grpc, "identity-service"));
        client
            .validate_assertion(ValidateAssertionRequest {
                assertion: assertion.to_owned(),
            })
            .await
            .expect("validation answers")
            .into_inner()
            .outcome
            .expect("an outcome")
    }
}

/// Asserts the `/agent/*` error shape.
pub async fn assert_agent_error(response: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(response.status(), status);
    let body: serde_json::Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    body
}
