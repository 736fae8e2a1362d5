//! RFC 7591 dynamic client registration at `/oauth2/register`, and the
//! `ClientDirectory` lookup identity-service's authorization endpoint makes of what was
//! registered.

use proto::clients::v1 as pb;
use proto::clients::v1::client_directory_client::ClientDirectoryClient;
use serde_json::{Value, json};
use token_service::settings::ClientRegistrationPolicy;

use crate::helpers::{TestSystem, assert_oauth_error, memory, spawn, spawn_all};

const MCP_CLIENT: &str = r#"{
    "client_name": "Inspector",
    "redirect_uris": ["http://127.0.0.1:33418/callback", "https://app.example.com/cb"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
    "scope": "agent:read",
    "resource": "https://mcp.example.com/mcp",
    "software_statement_extra": {"anything": true}
}"#;

impl TestSystem {
    pub(crate) async fn register_client(&self, body: &str, bearer: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.token_url("/oauth2/register"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("token-service reachable")
    }

    pub(crate) async fn resolve(&self, client_id: &str) -> pb::resolve_client_response::Outcome {
        let channel = shared::testing::pki().channel(self.token.grpc, "token-service");
        ClientDirectoryClient::new(channel)
            .resolve_client(pb::ResolveClientRequest {
                client_id: client_id.to_owned(),
            })
            .await
            .expect("resolve answers")
            .into_inner()
            .outcome
            .expect("an outcome")
    }
}

async fn created(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    response.json().await.expect("JSON body")
}

#[tokio::test]
async fn a_public_mcp_client_registers_and_is_found_by_the_directory() {
    let system = spawn().await;
    let registered = created(system.register_client(MCP_CLIENT, None).await).await;
    let id = registered["client_id"].as_str().expect("client_id");
    assert!(id.starts_with("cli_"), "{registered}");
    assert_eq!(registered["token_endpoint_auth_method"], "none");
    assert!(
        registered.get("client_secret").is_none(),
        "a public client gets no secret"
    );
    assert_eq!(registered["scope"], "agent:read");
    assert_eq!(registered["response_types"], json!(["code"]));
    assert_eq!(
        registered["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(registered["client_name"], "Inspector");
    assert!(registered["client_id_issued_at"].as_i64().is_some_and(|t| t > 0));
    assert!(
        registered.get("resource").is_none(),
        "unknown metadata is ignored, not kept"
    );

    match system.resolve(id).await {
        pb::resolve_client_response::Outcome::Client(client) => {
            assert!(client.public);
            assert_eq!(client.name, "Inspector");
            assert_eq!(
                client.redirect_uris,
                ["http://127.0.0.1:33418/callback", "https://app.example.com/cb"]
            );
            assert_eq!(client.scopes, ["agent:read"]);
        }
        refused => panic!("a registered client resolves: {refused:?}"),
    }
}

#[tokio::test]
async fn a_confidential_client_gets_a_secret_once_but_no_client_credentials() {
    let system = spawn().await;
    let body = json!({
        "redirect_uris": ["https://app.example.com/cb"],
        "client_name": "Web app",
    });
    let registered = created(system.register_client(&body.to_string(), None).await).await;
    assert_eq!(registered["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(registered["client_secret_expires_at"], 0);
    assert_eq!(
        registered["scope"], "agent:read agent:write",
        "no scope: all a registered client may get"
    );
    let client = crate::helpers::TestClient {
        id: registered["client_id"].as_str().expect("id").to_owned(),
        secret: registered["client_secret"].as_str().expect("secret").to_owned(),
    };
    // The secret authenticates (the grant, not the credentials, is what is refused).
    let response = system.client_credentials(&client, &[]).await;
    assert_oauth_error(response, 400, "unauthorized_client").await;
    let wrong = crate::helpers::TestClient {
        secret: "wrong".into(),
        ..client
    };
    assert_oauth_error(system.client_credentials(&wrong, &[]).await, 401, "invalid_client").await;
}

#[tokio::test]
async fn operator_clients_and_unknown_ids_are_refused_by_the_directory() {
    let system = spawn().await;
    let machine = system.create_client(&["agent:read"]).await;
    for (id, expected) in [
        (machine.id.as_str(), "no redirect URI"),
        ("cli_0123456789abcdef0123456789abcdef", "unknown client"),
        ("https://unreachable.invalid/client.json", "cannot be fetched"),
    ] {
        match system.resolve(id).await {
            pb::resolve_client_response::Outcome::Refused(refusal) => {
                assert!(refusal.description.contains(expected), "{id}: {refusal:?}");
            }
            client => panic!("{id} must be refused: {client:?}"),
        }
    }
}

#[tokio::test]
async fn bad_metadata_gets_the_exact_rfc_7591_error() {
    let system = spawn().await;
    let with = |patch: Value| {
        let mut body: Value = serde_json::from_str(MCP_CLIENT).expect("sample parses");
        for (key, value) in patch.as_object().expect("object") {
            body[key] = value.clone();
        }
        body.to_string()
    };
    let cases = [
        (with(json!({"redirect_uris": []})), "invalid_redirect_uri"),
        (
            with(json!({"redirect_uris": ["https://app.example.com/cb#frag"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["http://app.example.com/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["javascript:alert(1)"]})),
            "invalid_redirect_uri",
        ),
        (
            with(json!({"redirect_uris": ["https://user:pw@app.example.com/cb"]})),
            "invalid_redirect_uri",
        ),
        (with(json!({"redirect_uris": ["/relative"]})), "invalid_redirect_uri"),
        (
            with(json!({"grant_types": ["client_credentials"]})),
            "invalid_client_metadata",
        ),
        (with(json!({"grant_types": ["implicit"]})), "invalid_client_metadata"),
        (with(json!({"response_types": ["token"]})), "invalid_client_metadata"),
        (
            with(json!({"token_endpoint_auth_method": "client_secret_jwt"})),
            "invalid_client_metadata",
        ),
        (
            with(json!({"token_endpoint_auth_method": "private_key_jwt"})),
            "invalid_client_metadata",
        ),
        (with(json!({"scope": "admin"})), "invalid_client_metadata"),
        (
            with(json!({"logo_uri": "http://app.example.com/logo.png"})),
            "invalid_client_metadata",
        ),
        (with(json!({"client_name": "a\u{0}b"})), "invalid_client_metadata"),
        (
            with(json!({"redirect_uris": "https://app.example.com/cb"})),
            "invalid_client_metadata",
        ),
        ("not json".to_owned(), "invalid_client_metadata"),
    ];
    for (body, code) in cases {
        let response = system.register_client(&body, None).await;
        let error = assert_oauth_error(response, 400, code).await;
        assert!(
            error["error_description"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}: {error}"
        );
    }
    // Private-use schemes for native apps are fine.
    let native = with(json!({"redirect_uris": ["com.example.app:/oauth/callback"]}));
    created(system.register_client(&native, None).await).await;
}

#[tokio::test]
async fn a_registration_must_be_json() {
    let system = spawn().await;
    let response = system
        .http
        .post(system.token_url("/oauth2/register"))
        .form(&[("redirect_uris", "https://app.example.com/cb")])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(response, 400, "invalid_client_metadata").await;
}

#[tokio::test]
async fn the_token_policy_needs_the_initial_access_token() {
    let system = spawn_all(
        memory(),
        |_| {},
        |_| {},
        |token| {
            token.client_registration.policy = ClientRegistrationPolicy::Token;
            token.client_registration.initial_access_token.value = Some("let-me-register".into());
        },
    )
    .await;
    for bearer in [None, Some("guess")] {
        let response = system.register_client(MCP_CLIENT, bearer).await;
        assert_eq!(
            response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()),
            Some("Bearer error=\"invalid_token\"")
        );
        assert_oauth_error(response, 401, "invalid_token").await;
    }
    created(system.register_client(MCP_CLIENT, Some("let-me-register")).await).await;
}

#[tokio::test]
async fn a_disabled_policy_registers_nothing() {
    let system = spawn_all(
        memory(),
        |_| {},
        |_| {},
        |token| token.client_registration.policy = ClientRegistrationPolicy::Disabled,
    )
    .await;
    let response = system.register_client(MCP_CLIENT, None).await;
    assert_oauth_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn registrations_are_rate_limited_per_address() {
    let system = spawn_all(
        memory(),
        |_| {},
        |_| {},
        |token| token.client_registration.per_ip.max = 2,
    )
    .await;
    for _ in 0..2 {
        created(system.register_client(MCP_CLIENT, None).await).await;
    }
    let response = system.register_client(MCP_CLIENT, None).await;
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    assert_oauth_error(response, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_key_based_client_registers_public_keys_only() {
    let system = spawn().await;
    let key = shared::testing::TestKey::generate("dcr-key");
    let public = serde_json::to_value(&key.jwk).expect("jwk");
    let mut private = public.clone();
    private["d"] = json!("c2VjcmV0LXNjYWxhcg");
    let body = |jwk: &Value| {
        json!({
            "redirect_uris": ["https://app.example.com/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": { "keys": [jwk] },
        })
        .to_string()
    };
    let refused = system.register_client(&body(&private), None).await;
    let error = assert_oauth_error(refused, 400, "invalid_client_metadata").await;
    assert!(
        error["error_description"].as_str().is_some_and(|d| d.contains("jwks")),
        "{error}"
    );
    let registered = created(system.register_client(&body(&public), None).await).await;
    assert_eq!(registered["token_endpoint_auth_method"], "private_key_jwt");
    assert!(registered.get("client_secret").is_none());
}
