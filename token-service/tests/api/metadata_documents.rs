//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document): an https
//! `client_id` is resolved by fetching its document, SSRF-safe and cached by its HTTP
//! caching headers, and every rule of the draft is checked.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{App, HttpResponse, HttpServer, web};
use proto::clients::v1 as pb;
use serde_json::json;
use shared::fetch::Destinations;
use token_service::registration::metadata_document::{DocumentError, MetadataDocumentSettings, MetadataDocuments};

use crate::helpers::{memory, spawn, spawn_all};

/// Serves documents on loopback (allowed in development) and counts fetches.
struct DocumentHost {
    base: String,
    hits: Arc<AtomicUsize>,
    server: actix_web::dev::ServerHandle,
}

impl DocumentHost {
    async fn start() -> Self {
        Self::start_with_jwks(String::new()).await
    }

    /// With `jwks` (a JWK Set) served at `/jwks.json`, for documents that name it.
    async fn start_with_jwks(jwks: String) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = Arc::new(AtomicUsize::new(0));
        let (b, h, j) = (base.clone(), hits.clone(), Arc::new(jwks));
        let server = HttpServer::new(move || {
            let (base, hits, jwks) = (b.clone(), h.clone(), j.clone());
            App::new().route(
                "/{name}",
                web::get().to(move |name: web::Path<String>| {
                    let (base, hits, jwks) = (base.clone(), hits.clone(), jwks.clone());
                    async move {
                        hits.fetch_add(1, Ordering::SeqCst);
                        document(&base, &name, &jwks)
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base,
            hits,
            server: handle,
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }
}

fn document(base: &str, name: &str, jwks: &str) -> HttpResponse {
    let url = format!("{base}/{name}");
    let good = json!({
        "client_id": url,
        "client_name": "Doc Client",
        "redirect_uris": ["http://127.0.0.1:9999/callback"],
        "token_endpoint_auth_method": "none",
        "logo_uri": "https://client.example/logo.png",
        "unknown_member": "ignored",
    });
    let with = |key: &str, value: serde_json::Value| {
        let mut doc = good.clone();
        doc[key] = value;
        doc
    };
    let (body, cache) = match name {
        "good.json" => (good.to_string(), "max-age=300"),
        "uncached.json" => (good.to_string(), "no-store"),
        "mismatch.json" => (
            with("client_id", json!(format!("{base}/other.json"))).to_string(),
            "max-age=300",
        ),
        "secret.json" => (
            with("token_endpoint_auth_method", json!("client_secret_basic")).to_string(),
            "",
        ),
        "carries-secret.json" => (with("client_secret", json!("s3cret")).to_string(), ""),
        "no-redirect.json" => (with("redirect_uris", json!([])).to_string(), ""),
        "big.json" => (with("client_name", json!("x".repeat(6000))).to_string(), ""),
        "keyed.json" => (
            json!({
                "client_id": url,
                "client_name": "Keyed Doc Client",
                "redirect_uris": [crate::human::REDIRECT],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": format!("{base}/jwks.json"),
            })
            .to_string(),
            "max-age=300",
        ),
        "jwks.json" => (jwks.to_owned(), "max-age=300"),
        "html" => return HttpResponse::Ok().content_type("text/html").body("<html></html>"),
        _ => return HttpResponse::NotFound().finish(),
    };
    let mut response = HttpResponse::Ok();
    response.content_type("application/json");
    if !cache.is_empty() {
        response.insert_header(("Cache-Control", cache));
    }
    response.body(body)
}

#[tokio::test]
async fn a_document_client_resolves_and_is_cached_by_its_headers() {
    let host = DocumentHost::start().await;
    let system = spawn().await;
    let id = host.url("good.json");
    match system.resolve(&id).await {
        pb::resolve_client_response::Outcome::Client(client) => {
            assert_eq!(client.client_id, id);
            assert_eq!(client.name, "Doc Client");
            assert_eq!(client.redirect_uris, ["http://127.0.0.1:9999/callback"]);
            assert!(client.public);
            assert_eq!(client.logo_uri, "https://client.example/logo.png");
            assert_eq!(client.scopes, ["agent:read", "agent:write"]);
        }
        refused => panic!("the document resolves: {refused:?}"),
    }
    assert_eq!(host.hits.load(Ordering::SeqCst), 1);
    // max-age=300: the next lookups are answered from the cache, even with the host gone.
    host.server.stop(true).await;
    for _ in 0..3 {
        assert!(matches!(
            system.resolve(&id).await,
            pb::resolve_client_response::Outcome::Client(_)
        ));
    }
    assert_eq!(host.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_no_store_document_is_fetched_again() {
    let host = DocumentHost::start().await;
    let system = spawn_all(
        memory(),
        |_| {},
        |_| {},
        |token| token.clients.metadata_documents.min_cache = std::time::Duration::ZERO,
    )
    .await;
    for _ in 0..2 {
        assert!(matches!(
            system.resolve(&host.url("uncached.json")).await,
            pb::resolve_client_response::Outcome::Client(_)
        ));
    }
    assert_eq!(host.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn every_rule_of_the_draft_is_an_exact_refusal() {
    let host = DocumentHost::start().await;
    let system = spawn().await;
    let cases = [
        (host.url("mismatch.json"), "client_id is not the URL"),
        (host.url("secret.json"), "none or private_key_jwt"),
        (host.url("carries-secret.json"), "must not carry a client_secret"),
        (host.url("no-redirect.json"), "redirect_uris is required"),
        (host.url("big.json"), "larger than 5120 bytes"),
        (host.url("html"), "content type"),
        (host.url("missing.json"), "status 404"),
        (format!("{}/", host.base), "must have a path"),
        (format!("{}/a/../good.json", host.base), "no dot segments"),
        (format!("{}/good.json#x", host.base), "no fragment"),
        ("http://client.example/doc.json".to_owned(), "https URL"),
    ];
    for (id, expected) in cases {
        match system.resolve(&id).await {
            pb::resolve_client_response::Outcome::Refused(refusal) => {
                assert!(refusal.description.contains(expected), "{id}: {refusal:?}");
            }
            client => panic!("{id} must be refused: {client:?}"),
        }
    }
}

#[tokio::test]
async fn allowed_hosts_limit_which_hosts_may_be_clients() {
    let host = DocumentHost::start().await;
    let system = spawn_all(
        memory(),
        |_| {},
        |_| {},
        |token| token.clients.metadata_documents.allowed_hosts = vec!["*.clients.example".into()],
    )
    .await;
    match system.resolve(&host.url("good.json")).await {
        pb::resolve_client_response::Outcome::Refused(refusal) => {
            assert!(refusal.description.contains("may not be a client"), "{refusal:?}");
        }
        client => panic!("a host outside allowed_hosts is refused: {client:?}"),
    }
    assert_eq!(host.hits.load(Ordering::SeqCst), 0, "nothing is fetched from it");
}

#[tokio::test]
async fn outside_development_a_document_on_loopback_is_never_fetched() {
    let host = DocumentHost::start().await;
    let production = Destinations::Public { allow_loopback: false };
    let scopes = protocol::scope::ScopeSet::from_tokens(&["agent:read".to_owned()]).expect("scope");
    let documents =
        MetadataDocuments::new(&MetadataDocumentSettings::default(), scopes, production).expect("documents");
    let port = host.base.rsplit(':').next().expect("port");
    let literal = documents.resolve(&format!("https://127.0.0.1:{port}/good.json")).await;
    assert!(matches!(literal, Err(DocumentError::BadUrl(_))), "{literal:?}");
    // A name that resolves to loopback passes the URL check and is stopped by the resolver.
    let named = documents.resolve(&format!("https://localhost:{port}/good.json")).await;
    match named {
        Err(DocumentError::Unavailable(reason)) => assert!(reason.contains("no public address"), "{reason}"),
        other => panic!("localhost must not be reached: {other:?}"),
    }
    assert_eq!(host.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_document_client_with_keys_redeems_its_code_with_private_key_jwt() {
    use crate::human::{Authorization, Browser, authorize_fully, redeem, spawn_mcp};
    let key = crate::proofs::ClientKey::generate("doc-key");
    let host = DocumentHost::start_with_jwks(key.jwks()).await;
    let system = spawn_mcp().await;
    let client_id = host.url("keyed.json");
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let code = authorize_fully(&system, &mut browser, &authorization).await;

    // Its document registers keys: naming itself without proving it is refused, and the
    // code is left unspent.
    let unproven = redeem(&system, &authorization, &code, &authorization.verifier).await;
    crate::helpers::assert_oauth_error(unproven, 401, "invalid_client").await;
    let other = crate::proofs::ClientKey::generate("doc-key");
    let refused = redeem_asserted(&system, (&client_id, &code, &authorization.verifier), &other).await;
    crate::helpers::assert_oauth_error(refused, 400, "invalid_client").await;
    let redeemed = redeem_asserted(&system, (&client_id, &code, &authorization.verifier), &key).await;
    let body = crate::helpers::assert_ok(redeemed).await;
    let claims = crate::helpers::claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["client_id"], client_id.as_str());
}

/// A token request redeeming `code` with a client assertion signed by `key`.
async fn redeem_asserted(
    system: &crate::helpers::TestSystem,
    (client_id, code, verifier): (&str, &str, &str),
    key: &crate::proofs::ClientKey,
) -> reqwest::Response {
    let assertion = key.client_assertion(client_id);
    system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", crate::human::REDIRECT),
                ("code_verifier", verifier),
                ("client_assertion_type", protocol::oauth::CLIENT_ASSERTION_JWT_BEARER),
                ("client_assertion", assertion.as_str()),
            ],
        )
        .await
}
