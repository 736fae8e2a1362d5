//! A full flow through the running services that touches every audit event, keeping
//! every secret it sees so the test can look for them in the output.

use proto::clients::v1::CreateClientRequest;
use proto::clients::v1::client_admin_client::ClientAdminClient;
use proto::keys::v1::RotateRequest;
use proto::keys::v1::key_admin_client::KeyAdminClient;
use serde_json::{Value, json};
use shared::settings::PeerSettings;
use shared::testing::TestProvider;

use crate::system::System;
use crate::{exchange, http, register};

/// What the flow handled in secret, and the audit events it must have caused.
#[derive(Debug, Default)]
pub struct Secrets {
    pub assertions: Vec<String>,
    pub access_tokens: Vec<String>,
    pub client_secret: String,
    /// The secret of the client that registered itself.
    pub registered_secret: String,
    pub otp: String,
    pub claim_tokens: Vec<String>,
    pub view_token: String,
    /// (event, subject); `None` matches any subject.
    pub expected_events: Vec<(&'static str, Option<String>)>,
}

impl Secrets {
    pub fn values(&self) -> Vec<String> {
        let mut all = Vec::new();
        all.extend(self.assertions.iter().cloned());
        all.extend(self.access_tokens.iter().cloned());
        all.extend(self.claim_tokens.iter().cloned());
        all.push(self.client_secret.clone());
        all.push(self.registered_secret.clone());
        all.push(self.view_token.clone());
        // The code alone is six digits, which timestamps may contain; with its label it
        // is what a leak would look like.
        all.push(format!("\"{}\"", self.otp));
        // The secret part of each handle, on its own.
        for handle in self.claim_tokens.iter().chain([&self.view_token]) {
            if let Some((_, secret)) = handle.split_once('.') {
                all.push(secret.to_owned());
            }
        }
        all.retain(|s| s.len() >= 6);
        all
    }
}

fn channel(system: &System, port: u16, server_name: &str) -> tonic::transport::Channel {
    let tls = shared::tls::InternalTls::from_dir(&system.pki(), "agentctl", "test").expect("agentctl cert");
    let peer = PeerSettings {
        server_name: Some(server_name.to_owned()),
        ..PeerSettings::new(&format!("https://127.0.0.1:{port}"))
    };
    shared::grpc::unary_channel(&peer, "test", Some(&tls)).expect("channel")
}

fn view_token(system: &System) -> String {
    let dir = system.dir.path().join("outbox");
    let mail = std::fs::read_dir(&dir)
        .expect("outbox")
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path()).expect("mail"))
        .next()
        .expect("a claim mail");
    let joined = mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let start = joined.find("token=").expect("a link") + "token=".len();
    joined[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .collect()
}

pub async fn full(system: &System, provider: &TestProvider) -> Secrets {
    let mut secrets = Secrets::default();
    let jwks: Value = http()
        .get(system.jwks.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let genesis = jwks["keys"][0]["kid"].as_str().expect("a key").to_owned();
    secrets.expected_events.push(("key_generated", Some(genesis.clone())));
    secrets.expected_events.push(("key_activated", Some(genesis)));

    // An anonymous agent: registered, exchanged, its token introspected and revoked.
    let agent = register(system).await;
    let id = agent["registration_id"].as_str().expect("id").to_owned();
    let assertion = agent["identity_assertion"].as_str().expect("assertion").to_owned();
    let claim_token = agent["claim_token"].as_str().expect("claim token").to_owned();
    secrets.assertions.push(assertion.clone());
    secrets.claim_tokens.push(claim_token.clone());
    let (status, body) = exchange(system, &assertion, None).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token").to_owned();
    secrets.access_tokens.push(token.clone());
    let refused = http()
        .post(system.token.url("/oauth2/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("token");
    assert_eq!(refused.status(), 400);

    let mut clients = ClientAdminClient::new(channel(system, system.token.grpc, "token-service"));
    let created = clients
        .create_client(CreateClientRequest {
            scopes: vec!["audit".into()],
            name: "auditor".into(),
            introspect: true,
            ..Default::default()
        })
        .await
        .expect("client created")
        .into_inner();
    secrets.client_secret = created.client_secret.clone();
    let introspected: Value = http()
        .post(system.token.url("/oauth2/introspect"))
        .basic_auth(&created.client_id, Some(&created.client_secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("introspect")
        .json()
        .await
        .expect("json");
    assert_eq!(introspected["active"], true);
    let revoked = http()
        .post(system.token.url("/oauth2/revoke"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), 200);

    // An MCP client registers itself (RFC 7591); its secret must never reach a log.
    let registered: Value = http()
        .post(system.token.url("/oauth2/register"))
        .json(&json!({ "redirect_uris": ["https://app.example.com/cb"], "client_name": "observed" }))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let registered_id = registered["client_id"].as_str().expect("client_id").to_owned();
    secrets.registered_secret = registered["client_secret"].as_str().expect("secret").to_owned();

    // The claim ceremony: started, a premature completion, the human's code, confirmed.
    let started = http()
        .post(system.identity.url("/agent/identity/claim"))
        .json(&json!({ "claim_token": claim_token, "email": "ada@example.com" }))
        .send()
        .await
        .expect("claim");
    assert_eq!(started.status(), 200);
    let complete = |otp: String| {
        let (url, claim_token) = (
            system.identity.url("/agent/identity/claim/complete"),
            claim_token.clone(),
        );
        async move {
            http()
                .post(url)
                .json(&json!({ "claim_token": claim_token, "otp": otp }))
                .send()
                .await
                .expect("complete")
        }
    };
    assert_eq!(complete("123456".into()).await.status(), 400, "no code minted yet");
    secrets.view_token = view_token(system);
    let page = http()
        .post(system.identity.url("/agent/identity/claim/attempt/challenge"))
        .form(&[("token", secrets.view_token.as_str())])
        .send()
        .await
        .expect("challenge")
        .text()
        .await
        .expect("page");
    let at = page.find("id=\"otp\">").expect("the code") + "id=\"otp\">".len();
    secrets.otp = page[at..at + 6].to_owned();
    assert_eq!(complete(secrets.otp.clone()).await.status(), 200);

    // A provider's agent, then the provider's revocation of it.
    let id_jag = provider.sign(
        "oauth-id-jag+jwt",
        &provider.id_jag_claims(&system_issuer(system), "user-1", "zoe@example.com"),
    );
    secrets.assertions.push(id_jag.clone());
    let delegated: Value = http()
        .post(system.identity.url("/agent/identity"))
        .json(&json!({ "type": "identity_assertion", "assertion_type": "urn:ietf:params:oauth:token-type:id-jag", "assertion": id_jag }))
        .send()
        .await
        .expect("id-jag")
        .json()
        .await
        .expect("json");
    let delegated_id = delegated["registration_id"].as_str().expect("registered").to_owned();
    secrets
        .assertions
        .push(delegated["identity_assertion"].as_str().expect("assertion").to_owned());
    let event = http()
        .post(system.identity.url("/agent/event/notify"))
        .header("content-type", "application/secevent+jwt")
        .body(provider.revocation_event(&system_issuer(system), "user-1"))
        .send()
        .await
        .expect("event");
    assert_eq!(event.status(), 202);

    // An operator's rotation.
    let mut keys = KeyAdminClient::new(channel(system, system.jwks.grpc, "jwks-service"));
    let rotated = keys
        .rotate(RotateRequest { immediate: true })
        .await
        .expect("rotated")
        .into_inner();

    let events: [(&'static str, &str); 16] = [
        ("registration_created", &id),
        ("assertion_issued", &id),
        ("token_issued", &id),
        ("token_refused", "unsupported"),
        ("client_created", &created.client_id),
        ("client_registered", &registered_id),
        ("operator_command", "agentauth.clients.v1.ClientAdmin/CreateClient"),
        ("introspection", &id),
        ("token_revoked", &id),
        ("claim_started", &id),
        ("claim_failed", &id),
        ("claim_confirmed", &id),
        ("registration_created", &delegated_id),
        ("registration_revoked", &delegated_id),
        ("operator_command", "agentauth.keys.v1.KeyAdmin/Rotate"),
        ("key_generated", &rotated.kid),
    ];
    secrets.expected_events.extend(
        events
            .iter()
            .map(|(event, subject)| (*event, Some((*subject).to_owned()))),
    );
    secrets.expected_events.push(("key_activated", Some(rotated.kid)));
    secrets
}

fn system_issuer(system: &System) -> String {
    format!("http://127.0.0.1:{}", system.identity.http)
}
