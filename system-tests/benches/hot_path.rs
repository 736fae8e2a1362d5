//! Micro-benchmarks of the exchange's parts (`cargo bench -p system-tests`): what one
//! jwt-bearer exchange pays for besides HTTP. `bench/bench.py` measures the whole.
//!
//! - assertion verification: identity-service's check of an identity assertion (one
//!   ES256 verification, the claims and the time rules);
//! - access-token minting: token-service's claims and one ES256 signature;
//! - form parsing: the token request body, as `/oauth2/token` reads it;
//! - the gRPC round trip: one unary call over loopback mutual TLS (grpc.health.v1, so
//!   the transport alone is measured).

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use identity_service::assertion::{Assertions, Subject};
use proto::keys::v1::{KeySet, PublicKey, SigningKey as ProtoKey};
use protocol::jose::{KeyRing, SigningKey};
use protocol::scope::ScopeSet;
use shared::time::unix_now;
use token_service::access_token::{AccessTokens, Confirmation, TokenRequest};
use token_service::http::form::FormParams;

const ISSUER: &str = "https://auth.example.test";

fn key_ring() -> (KeyRing, SigningKey) {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("key");
    let point = pair.public_key().as_ref();
    let jwk = serde_json::json!({ "kty": "EC", "crv": "P-256", "kid": "k1",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]) });
    let ring = shared::keys::key_ring(&KeySet {
        active: Some(ProtoKey {
            kid: "k1".into(),
            alg: "ES256".into(),
            private_key_pkcs8: pkcs8.as_ref().to_vec(),
            not_after: 0,
        }),
        published: vec![PublicKey {
            kid: "k1".into(),
            alg: "ES256".into(),
            jwk_json: jwk.to_string(),
        }],
    })
    .expect("ring");
    let signer = SigningKey::from_pkcs8("k1", jsonwebtoken::Algorithm::ES256, pkcs8.as_ref()).expect("signer");
    (ring, signer)
}

/// An identity assertion of ours, the verifier that accepts it and its keys.
fn minted_assertion() -> (KeyRing, Assertions, String) {
    let (ring, signer) = key_ring();
    let hour = Duration::from_secs(3600);
    let assertions = Assertions::new(ISSUER, hour, hour, Duration::from_secs(30));
    let subject = Subject {
        registration_id: "reg_7d707eaabc3d0882f76e9f18b07b53db",
        client_id: "agent_7d707eaabc3d0882f76e9f18b07b53db",
        registration_type: "anonymous",
        jkt: None,
    };
    let (assertion, _) = assertions.mint(&signer, subject, unix_now()).expect("mint");
    (ring, assertions, assertion)
}

fn assertion_verification(c: &mut Criterion) {
    let (ring, assertions, assertion) = minted_assertion();
    c.bench_function("assertion verification", |b| {
        b.iter(|| {
            assertions
                .verify(&ring, std::hint::black_box(&assertion), unix_now())
                .expect("valid")
        })
    });
}

fn access_token_minting(c: &mut Criterion) {
    let (_, signer) = key_ring();
    let tokens = AccessTokens::new(
        ISSUER,
        "https://api.example.test",
        &[],
        Duration::from_secs(900),
        Duration::from_secs(30),
    );
    let scope = ScopeSet::parse("agent:read agent:write").expect("scope");
    c.bench_function("access-token minting", |b| {
        b.iter(|| {
            let request = TokenRequest {
                subject: "reg_7d707eaabc3d0882f76e9f18b07b53db",
                client_id: "agent_7d707eaabc3d0882f76e9f18b07b53db",
                scope: scope.clone(),
                audiences: Vec::new(),
                cnf: Confirmation::default(),
                grant_id: None,
            };
            tokens.mint(&signer, request, unix_now()).expect("minted")
        })
    });
}

fn form_parsing(c: &mut Criterion) {
    let (_, _, assertion) = minted_assertion();
    let body = format!("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}");
    let request = actix_web::test::TestRequest::post()
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .to_http_request();
    c.bench_function("form parsing", |b| {
        b.iter(|| FormParams::parse(&request, std::hint::black_box(body.as_bytes())).expect("form"))
    });
}

fn grpc_round_trip(c: &mut Criterion) {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    // The test PKI and the channel the services' own tests use (mTLS, TCP_NODELAY).
    let pki = shared::testing::pki();
    let server = pki
        .settings(&["agentctl"])
        .load("identity-service", shared::settings::Profile::Production)
        .expect("server certificate")
        .expect("mutual TLS");
    let config = server.server_config(&["agentctl"]).expect("server tls");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    runtime.spawn(async move {
        let routes = tonic::service::Routes::default();
        let _ = shared::grpc::serve(listener, routes, Some(config), std::future::pending()).await;
    });
    let channel = runtime.block_on(async { pki.channel(addr, "identity-service") });
    let health = HealthClient::new(channel);
    c.bench_function("gRPC round trip (loopback mTLS)", |b| {
        b.to_async(&runtime).iter(|| {
            let mut health = health.clone();
            async move { health.check(HealthCheckRequest::default()).await.expect("answered") }
        })
    });
}

criterion_group!(
    hot_path,
    assertion_verification,
    access_token_minting,
    form_parsing,
    grpc_round_trip
);
criterion_main!(hot_path);
