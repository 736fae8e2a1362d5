//! A stand-in for a cluster's API server as service-account issuer: its own key, OIDC
//! discovery and a JWKS over https under a private CA, and tokens shaped exactly like
//! Kubernetes 1.30+ projected service-account tokens, or like SPIFFE JWT-SVIDs.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{Value, json};

use super::TestKey;

/// A workload issuer over https on loopback, trusted through [`Self::ca_file`].
#[derive(Debug)]
pub struct TestWorkloadIssuer {
    /// `https://localhost:<port>`: the tokens' `iss`.
    pub issuer: String,
    pub jwks_uri: String,
    key: TestKey,
    jwks_fetches: Arc<AtomicUsize>,
    dir: tempfile::TempDir,
    server: actix_web::dev::ServerHandle,
}

impl TestWorkloadIssuer {
    /// Generates a CA, a server certificate for `localhost` and a signing key, and
    /// serves `/.well-known/openid-configuration` and `/openid/v1/jwks` (the API
    /// server's paths).
    ///
    /// # Panics
    /// When a key or certificate cannot be made, or no port can be bound.
    #[allow(clippy::expect_used)]
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let tls = tls_for_localhost(&dir.path().join("ca.pem"));
        let key = TestKey::generate(&format!("sa-{}", protocol::secrets::random_token(6)));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let issuer = format!("https://localhost:{}", listener.local_addr().expect("addr").port());
        let jwks_uri = format!("{issuer}/openid/v1/jwks");
        let discovery = json!({
            "issuer": issuer,
            "jwks_uri": jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
        .to_string();
        let jwks = json!({ "keys": [key.jwk.clone()] }).to_string();
        let jwks_fetches = Arc::new(AtomicUsize::new(0));
        let server = serve(listener, tls, discovery, jwks, jwks_fetches.clone());
        Self {
            issuer,
            jwks_uri,
            key,
            jwks_fetches,
            dir,
            server,
        }
    }

    /// The private CA's certificate (PEM): what `ca_file` trusts.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The public JWK of the issuer's signing key.
    pub fn jwk(&self) -> &Value {
        &self.key.jwk
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }

    /// The claims of a projected service-account token of `namespace`/`account` for
    /// `audience`, living `lifetime` seconds from now, bound to a pod on a node (as
    /// Kubernetes 1.30+ issues them, `jti` included).
    pub fn service_account_claims(&self, namespace: &str, account: &str, audience: &str, lifetime: i64) -> Value {
        let now = crate::time::unix_now();
        let uid = uuidish;
        json!({
            "aud": [audience],
            "exp": now + lifetime,
            "iat": now,
            "nbf": now,
            "iss": self.issuer,
            "jti": uid(),
            "sub": format!("system:serviceaccount:{namespace}:{account}"),
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": { "name": account, "uid": uid() },
                "pod": { "name": format!("{account}-7c9f8d6b5-x2x9q"), "uid": uid() },
                "node": { "name": "node-a", "uid": uid() },
            },
        })
    }

    /// The claims of a JWT-SVID for `spiffe_id` and `audience` (`iss` as a SPIRE OIDC
    /// discovery provider sets it; a test may remove it).
    pub fn svid_claims(&self, spiffe_id: &str, audience: &str, lifetime: i64) -> Value {
        let now = crate::time::unix_now();
        json!({ "sub": spiffe_id, "aud": [audience], "exp": now + lifetime, "iat": now, "iss": self.issuer })
    }

    /// Signs `claims` as the issuer does: ES256 under its `kid`, no `typ` (the API
    /// server sets none).
    #[allow(clippy::expect_used)]
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256), claims)
    }

    /// Signs under a header the test shapes; `alg` and `kid` are the issuer key's
    /// unless the header sets a `kid`.
    #[allow(clippy::expect_used)]
    pub fn sign_with_header(&self, mut header: jsonwebtoken::Header, claims: &Value) -> String {
        header.alg = jsonwebtoken::Algorithm::ES256;
        header.typ = header.typ.filter(|typ| typ != "JWT");
        if header.kid.is_none() {
            header.kid = Some(self.key.kid.clone());
        }
        let key = jsonwebtoken::EncodingKey::from_ec_der(&self.key.pkcs8);
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }
}

/// Serves the discovery document and the JWKS (counting its fetches) over TLS.
#[allow(clippy::expect_used)]
fn serve(
    listener: std::net::TcpListener,
    tls: rustls::ServerConfig,
    discovery: String,
    jwks: String,
    fetches: Arc<AtomicUsize>,
) -> actix_web::dev::ServerHandle {
    let server = actix_web::HttpServer::new(move || {
        let (discovery, jwks, fetches) = (discovery.clone(), jwks.clone(), fetches.clone());
        actix_web::App::new()
            .route(
                "/.well-known/openid-configuration",
                actix_web::web::get().to(move || {
                    let discovery = discovery.clone();
                    async move {
                        actix_web::HttpResponse::Ok()
                            .content_type("application/json")
                            .body(discovery)
                    }
                }),
            )
            .route(
                "/openid/v1/jwks",
                actix_web::web::get().to(move || {
                    let (jwks, fetches) = (jwks.clone(), fetches.clone());
                    async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        actix_web::HttpResponse::Ok()
                            .content_type("application/jwk-set+json")
                            .insert_header(("Cache-Control", "max-age=3600"))
                            .body(jwks)
                    }
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen_rustls_0_23(listener, tls)
    .expect("listen")
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    handle
}

/// A server certificate for `localhost` under a fresh private CA, whose certificate is
/// written to `ca_file`.
#[allow(clippy::expect_used)]
fn tls_for_localhost(ca_file: &std::path::Path) -> rustls::ServerConfig {
    let pki = crate::pki::generate(&[("workload-issuer", &["localhost"])], "test", 2).expect("test PKI");
    std::fs::write(ca_file, &pki.ca.cert_pem).expect("write CA");
    let member = &pki.members[0];
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(member.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("certificate PEM");
    let private = PrivateKeyDer::from_pem_slice(member.key_pem.as_bytes()).expect("key PEM");
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .expect("server certificate")
}

/// A random id in the shape Kubernetes gives uids.
fn uuidish() -> String {
    let hex: String = protocol::secrets::random_bytes(16)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl Drop for TestWorkloadIssuer {
    fn drop(&mut self) {
        let handle = self.server.clone();
        drop(handle.stop(false));
    }
}
