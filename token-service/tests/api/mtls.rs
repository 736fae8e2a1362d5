//! RFC 8705 behind an ingress: the client certificate arrives in the header
//! `token_endpoint.mtls.trusted_header` names (with the ingress's chain verdict in
//! `verify_header`), authenticates `tls_client_auth` and `self_signed_tls_client_auth`
//! clients, and binds their tokens (`cnf.x5t#S256`). Without a trusted header no
//! certificate is believed.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proto::clients::v1 as pb;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair};
use serde_json::Value;

use crate::helpers::{TestSystem, assert_oauth_error, assert_ok, claims_of, memory, spawn, spawn_all};

const CERT_HEADER: &str = "x-client-cert";
const VERIFY_HEADER: &str = "x-client-verify";

struct Cert {
    der: Vec<u8>,
    pem: String,
}

impl Cert {
    fn header(&self) -> String {
        STANDARD.encode(&self.der)
    }

    fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der))
    }
}

fn params(cn: &str, days: (i64, i64)) -> CertificateParams {
    let mut params = CertificateParams::new(vec![format!("{cn}.example")]).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "Example");
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(days.0);
    params.not_after = now + time::Duration::days(days.1);
    params
}

/// A client CA, and certificates it issues.
struct ClientCa(CertifiedIssuer<'static, KeyPair>);

impl ClientCa {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        Self(CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca"))
    }

    fn issue(&self, cn: &str, days: (i64, i64)) -> Cert {
        let cert = params(cn, days)
            .signed_by(&KeyPair::generate().expect("key"), &self.0)
            .expect("issue");
        Cert {
            der: cert.der().to_vec(),
            pem: cert.pem(),
        }
    }
}

fn self_signed(cn: &str) -> Cert {
    let cert = params(cn, (-1, 30))
        .self_signed(&KeyPair::generate().expect("key"))
        .expect("self-signed");
    Cert {
        der: cert.der().to_vec(),
        pem: cert.pem(),
    }
}

async fn mtls_system() -> TestSystem {
    spawn_all(
        memory(),
        |_| {},
        |_| {},
        |token| {
            token.token_endpoint.mtls.trusted_header = Some(CERT_HEADER.into());
            token.token_endpoint.mtls.verify_header = Some(VERIFY_HEADER.into());
        },
    )
    .await
}

async fn cert_client(system: &TestSystem, binding: pb::set_certificate_request::Binding) -> String {
    let client = system.create_client(&["reports:read"]).await;
    let info = system
        .admin()
        .set_certificate(pb::SetCertificateRequest {
            client_id: client.id.clone(),
            binding: Some(binding),
        })
        .await
        .expect("certificate set")
        .into_inner();
    assert!(info.secrets.is_empty());
    client.id
}

async fn with_cert(system: &TestSystem, client_id: &str, cert: &Cert, verdict: &str) -> reqwest::Response {
    system
        .http
        .post(system.token_url("/oauth2/token"))
        .header(CERT_HEADER, cert.header())
        .header(VERIFY_HEADER, verdict)
        .form(&[("grant_type", "client_credentials"), ("client_id", client_id)])
        .send()
        .await
        .expect("reachable")
}

#[tokio::test]
async fn tls_client_auth_by_subject_dn_or_san_binds_the_token_to_the_certificate() {
    let system = mtls_system().await;
    let ca = ClientCa::new();
    let cert = ca.issue("reporter", (-1, 30));
    let by_dn = cert_client(
        &system,
        pb::set_certificate_request::Binding::SubjectDn("CN=reporter,O=Example".into()),
    )
    .await;
    let body = assert_ok(with_cert(&system, &by_dn, &cert, "0").await).await;
    assert_eq!(
        body["token_type"], "Bearer",
        "a certificate-bound token is still presented as a bearer token"
    );
    let token = body["access_token"].as_str().expect("token");
    assert_eq!(claims_of(token)["cnf"]["x5t#S256"], cert.thumbprint());

    let by_san = cert_client(
        &system,
        pb::set_certificate_request::Binding::SanDns("reporter.example".into()),
    )
    .await;
    assert_ok(with_cert(&system, &by_san, &cert, "SUCCESS").await).await;

    // The ingress says the chain did not verify; another subject; an expired certificate.
    let why = |body: Value| body["error_description"].as_str().expect("text").to_owned();
    let failed_chain = assert_oauth_error(with_cert(&system, &by_dn, &cert, "21").await, 400, "invalid_client").await;
    assert!(why(failed_chain).contains("not the one registered"));
    let other = ca.issue("intruder", (-1, 30));
    assert_oauth_error(with_cert(&system, &by_dn, &other, "0").await, 400, "invalid_client").await;
    let expired = ca.issue("reporter", (-30, -1));
    let body = assert_oauth_error(with_cert(&system, &by_dn, &expired, "0").await, 400, "invalid_client").await;
    assert!(why(body).contains("expired"));
    let garbage = system
        .http
        .post(system.token_url("/oauth2/token"))
        .header(CERT_HEADER, "bm90IGEgY2VydGlmaWNhdGU=")
        .form(&[("grant_type", "client_credentials"), ("client_id", by_dn.as_str())])
        .send()
        .await
        .expect("reachable");
    assert_oauth_error(garbage, 400, "invalid_client").await;
}

#[tokio::test]
async fn self_signed_tls_client_auth_matches_the_registered_certificate_only() {
    let system = mtls_system().await;
    let mine = self_signed("device");
    let id = cert_client(
        &system,
        pb::set_certificate_request::Binding::CertificatePem(mine.pem.clone()),
    )
    .await;
    // A self-signed certificate has no chain to verify: the verdict does not matter.
    let body = assert_ok(with_cert(&system, &id, &mine, "18").await).await;
    assert_eq!(
        claims_of(body["access_token"].as_str().expect("token"))["cnf"]["x5t#S256"],
        mine.thumbprint()
    );
    let lookalike = self_signed("device");
    assert_oauth_error(with_cert(&system, &id, &lookalike, "18").await, 400, "invalid_client").await;
    // PEM in the header (URL-encoded, as ingress-nginx forwards it) is read too.
    let encoded: String = url::form_urlencoded::byte_serialize(mine.pem.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let response = system
        .http
        .post(system.token_url("/oauth2/token"))
        .header(CERT_HEADER, encoded)
        .form(&[("grant_type", "client_credentials"), ("client_id", id.as_str())])
        .send()
        .await
        .expect("reachable");
    assert_ok(response).await;
}

#[tokio::test]
async fn without_a_trusted_header_a_forged_certificate_header_authenticates_nothing() {
    let system = spawn().await;
    let cert = ClientCa::new().issue("reporter", (-1, 30));
    let id = cert_client(
        &system,
        pb::set_certificate_request::Binding::SubjectDn("CN=reporter,O=Example".into()),
    )
    .await;
    let body = assert_oauth_error(with_cert(&system, &id, &cert, "0").await, 401, "invalid_client").await;
    assert!(
        body["error_description"].as_str().expect("text").contains("required"),
        "{body}"
    );
    // And a secret client sending the header gets no certificate binding.
    let client = system.create_client(&["reports:read"]).await;
    let response = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .header(CERT_HEADER, cert.header())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("reachable");
    let body = assert_ok(response).await;
    assert!(
        claims_of(body["access_token"].as_str().expect("token"))
            .get("cnf")
            .is_none()
    );
}

#[tokio::test]
async fn a_certificate_bound_token_is_exchanged_only_over_its_certificate() {
    const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
    const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
    let system = mtls_system().await;
    let mine = self_signed("orchestrator");
    let holder = cert_client(
        &system,
        pb::set_certificate_request::Binding::CertificatePem(mine.pem.clone()),
    )
    .await;
    let actor = system.create_client(&["reports:read"]).await;
    system
        .admin()
        .update_client(pb::UpdateClientRequest {
            client_id: holder.clone(),
            may_act: Some(pb::Actors {
                actors: vec![actor.id.clone()],
            }),
            ..Default::default()
        })
        .await
        .expect("may_act set");
    let bound = assert_ok(with_cert(&system, &holder, &mine, "18").await).await;
    let bound = bound["access_token"].as_str().expect("token").to_owned();
    let actor_own = assert_ok(system.client_credentials(&actor, &[]).await).await;
    let actor_own = actor_own["access_token"].as_str().expect("token").to_owned();
    // The actor, named in may_act but without the certificate: refused.
    let by_actor = system
        .http
        .post(system.token_url("/oauth2/token"))
        .basic_auth(&actor.id, Some(&actor.secret))
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", bound.as_str()),
            ("subject_token_type", ACCESS_TOKEN),
        ])
        .send()
        .await
        .expect("reachable");
    let refused = assert_oauth_error(by_actor, 400, "invalid_request").await;
    let why = refused["error_description"].as_str().expect("text");
    assert!(why.contains("certificate"), "{refused}");
    // The holder over its certificate: the delegated token is bound to it too.
    let by_holder = system
        .http
        .post(system.token_url("/oauth2/token"))
        .header(CERT_HEADER, mine.header())
        .header(VERIFY_HEADER, "18")
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("client_id", holder.as_str()),
            ("subject_token", bound.as_str()),
            ("subject_token_type", ACCESS_TOKEN),
            ("actor_token", actor_own.as_str()),
            ("actor_token_type", ACCESS_TOKEN),
        ])
        .send()
        .await
        .expect("reachable");
    let claims = claims_of(assert_ok(by_holder).await["access_token"].as_str().expect("token"));
    assert_eq!(claims["cnf"]["x5t#S256"], mine.thumbprint());
    assert_eq!(claims["act"]["sub"], actor.id.as_str());
}
