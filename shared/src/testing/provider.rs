//! Test keys, and a trusted agent provider with its JWKS served over real HTTP.

/// A fresh P-256 key for tests: its PKCS#8 private half and its public JWK under `kid`.
#[derive(Debug, Clone)]
pub struct TestKey {
    pub kid: String,
    pub jwk: serde_json::Value,
    pub pkcs8: Vec<u8>,
}

impl TestKey {
    /// # Panics
    /// When the OS cannot supply randomness.
    #[allow(clippy::expect_used)]
    pub fn generate(kid: &str) -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;

        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("parse");
        let point = pair.public_key().as_ref();
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Self {
            kid: kid.to_owned(),
            jwk,
            pkcs8: pkcs8.as_ref().to_vec(),
        }
    }

    pub fn signer(&self) -> protocol::jose::SigningKey {
        self.signer_as(&self.kid)
    }

    /// A signer carrying another `kid` in its headers (to forge "our" kid in tests).
    #[allow(clippy::expect_used)]
    pub fn signer_as(&self, kid: &str) -> protocol::jose::SigningKey {
        protocol::jose::SigningKey::from_pkcs8(kid, protocol::jose::Algorithm::ES256, &self.pkcs8).expect("signing key")
    }
}

/// A trusted agent provider for tests: its own P-256 key, its JWKS served over real HTTP
/// on a free port, and helpers to sign ID-JAGs and security event tokens with it.
#[derive(Debug)]
pub struct TestProvider {
    /// `http://127.0.0.1:<port>`: the provider's `iss`.
    pub issuer: String,
    pub jwks_uri: String,
    signer: protocol::jose::SigningKey,
    key: TestKey,
    server: actix_web::dev::ServerHandle,
}

impl TestProvider {
    /// Generates a key and starts serving `/jwks.json`.
    ///
    /// # Panics
    /// When the key cannot be generated or no port can be bound.
    #[allow(clippy::expect_used)]
    pub async fn start() -> Self {
        let kid = format!("test-{}", protocol::secrets::random_token(6));
        let key = TestKey::generate(&kid);
        let signer = key.signer();
        let jwks = serde_json::json!({ "keys": [key.jwk.clone()] }).to_string();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let server = actix_web::HttpServer::new(move || {
            let jwks = jwks.clone();
            actix_web::App::new().route(
                "/jwks.json",
                actix_web::web::get().to(move || {
                    let jwks = jwks.clone();
                    async move {
                        actix_web::HttpResponse::Ok()
                            .content_type("application/json")
                            .insert_header(("Cache-Control", "max-age=300"))
                            .body(jwks)
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
            jwks_uri: format!("{issuer}/jwks.json"),
            issuer,
            signer,
            key,
            server: handle,
        }
    }

    /// Signs `claims` with the provider's key under header `typ`.
    #[allow(clippy::expect_used)]
    pub fn sign(&self, typ: &str, claims: &serde_json::Value) -> String {
        self.signer.sign(typ, claims).expect("sign")
    }

    /// Signs `claims` under a header the test shapes (say, with `crit`); `alg` and `kid`
    /// are the provider key's.
    #[allow(clippy::expect_used)]
    pub fn sign_with_header(&self, mut header: jsonwebtoken::Header, claims: &serde_json::Value) -> String {
        header.alg = jsonwebtoken::Algorithm::ES256;
        header.kid = Some(self.key.kid.clone());
        let key = jsonwebtoken::EncodingKey::from_ec_der(&self.key.pkcs8);
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }

    /// Claims of a valid ID-JAG for `sub` with a verified `email`, meant for `audience`.
    pub fn id_jag_claims(&self, audience: &str, sub: &str, email: &str) -> serde_json::Value {
        let now = crate::time::unix_now();
        serde_json::json!({
            "iss": self.issuer, "sub": sub, "aud": audience, "iat": now, "exp": now + 300,
            "jti": protocol::secrets::random_token(12), "email": email, "email_verified": true,
            "client_id": "test-agent",
        })
    }

    /// A signed Security Event Token revoking `sub`'s delegation, meant for `audience`.
    pub fn revocation_event(&self, audience: &str, sub: &str) -> String {
        let claims = serde_json::json!({
            "iss": self.issuer, "aud": audience, "iat": crate::time::unix_now(),
            "jti": protocol::secrets::random_token(12),
            "events": {
                "https://schemas.workos.com/events/agent/auth/identity/assertion/revoked": {
                    "subject": {"format": "iss_sub", "iss": self.issuer, "sub": sub}
                }
            },
        });
        self.sign("secevent+jwt", &claims)
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let handle = self.server.clone();
        drop(handle.stop(false));
    }
}
