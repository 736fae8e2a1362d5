//! Workload identity federation: a client stands for a workload, and the token the
//! workload already has (a Kubernetes projected service-account token, a SPIFFE
//! JWT-SVID) is its client assertion. The issuer is a stand-in for a cluster's API
//! server over https under a private CA, with OIDC discovery.

use std::time::Duration;

use proto::clients::v1 as pb;
use serde_json::{Value, json};
use shared::testing::TestWorkloadIssuer;
use shared::time::unix_now;
use token_service::client_auth::workload::settings::{WorkloadIssuerSettings, WorkloadKind};
use tonic::Code;

use crate::helpers::{ISSUER, JWT_BEARER, TestSystem, assert_oauth_error, assert_ok, claims_of, memory, spawn_all};
use crate::proofs::{ClientKey, TOKEN_ENDPOINT};

const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const JWT_SPIFFE_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe";
const TRUST_DOMAIN: &str = "agents.example";

/// `issuer` as a Kubernetes cluster's issuer: keys by discovery, its CA trusted.
fn cluster(issuer: &TestWorkloadIssuer) -> WorkloadIssuerSettings {
    WorkloadIssuerSettings {
        issuer: issuer.issuer.clone(),
        kind: WorkloadKind::Kubernetes,
        jwks_uri: None,
        audiences: Vec::new(),
        max_lifetime: Duration::from_secs(3600),
        ca_file: Some(issuer.ca_file()),
        bearer_token_file: None,
        require_pod_binding: true,
        trust_domain: None,
        single_use_jti: false,
    }
}

/// `issuer` as a SPIFFE trust domain's: keys at its JWKS, named explicitly.
fn trust_domain(issuer: &TestWorkloadIssuer) -> WorkloadIssuerSettings {
    WorkloadIssuerSettings {
        kind: WorkloadKind::Spiffe,
        jwks_uri: Some(issuer.jwks_uri.clone()),
        trust_domain: Some(TRUST_DOMAIN.into()),
        require_pod_binding: false,
        ..cluster(issuer)
    }
}

async fn system_trusting(issuers: Vec<WorkloadIssuerSettings>) -> TestSystem {
    spawn_all(
        memory(),
        |_| {},
        // Both services are given the same token_endpoint section: identity-service
        // publishes it.
        |identity| identity.token_endpoint.auth_methods.push("spiffe_jwt".into()),
        |token| {
            token.workload_identity.issuers = issuers;
            token.token_endpoint.auth_methods.push("spiffe_jwt".into());
        },
    )
    .await
}

/// A client with no secret that stands for `subject` (a prefix if `prefix`) of `issuer`.
async fn federated(system: &TestSystem, issuer: &str, subject: &str, prefix: bool) -> String {
    let client = system.create_client(&["reports:read"]).await;
    let info = federate(system, &client.id, issuer, subject, prefix)
        .await
        .expect("federated");
    assert_eq!(info.auth_method, "private_key_jwt");
    assert!(info.secrets.is_empty(), "a federated client keeps no secret");
    client.id
}

async fn federate(
    system: &TestSystem,
    client_id: &str,
    issuer: &str,
    subject: &str,
    prefix: bool,
) -> Result<pb::ClientInfo, tonic::Status> {
    let request = pb::WorkloadRequest {
        client_id: client_id.into(),
        workload: Some(pb::WorkloadSubject {
            issuer: issuer.into(),
            subject: subject.into(),
            prefix,
        }),
    };
    system
        .admin()
        .federate_client(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn client_credentials(
    system: &TestSystem,
    kind: &str,
    token: &str,
    client_id: Option<&str>,
    dpop: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", kind),
        ("client_assertion", token),
    ];
    form.extend(client_id.map(|id| ("client_id", id)));
    let mut request = system.http.post(system.token_url("/oauth2/token")).form(&form);
    if let Some(proof) = dpop {
        request = request.header("DPoP", proof);
    }
    request.send().await.expect("token-service reachable")
}

/// Refused with `invalid_client`, the description naming `why` and echoing nothing of
/// the token's subject.
async fn refused(system: &TestSystem, token: &str, client_id: Option<&str>, why: &str) {
    let response = client_credentials(system, JWT_BEARER_ASSERTION, token, client_id, None).await;
    let body = assert_oauth_error(response, 400, "invalid_client").await;
    let description = body["error_description"].as_str().expect("text");
    assert!(description.contains(why), "expected `{why}`, got {body}");
    let subject = serde_json::from_slice::<Value>(&base64_part(token, 1))
        .ok()
        .and_then(|c| c["sub"].as_str().map(str::to_owned));
    if let Some(subject) = subject {
        assert!(!description.contains(&subject), "no input echoed: {body}");
    }
    println!("refused as expected: {description}");
}

#[tokio::test]
async fn a_pods_service_account_token_authenticates_the_client_that_stands_for_it() {
    let cluster_issuer = TestWorkloadIssuer::start().await;
    let system = system_trusting(vec![cluster(&cluster_issuer)]).await;
    let subject = "system:serviceaccount:agents:reporter";
    let id = federated(&system, &cluster_issuer.issuer, subject, false).await;
    let token = cluster_issuer.sign(&cluster_issuer.service_account_claims("agents", "reporter", ISSUER, 600));

    // With client_id, and without: the workload finds its client.
    for named in [Some(id.as_str()), None] {
        let body = assert_ok(client_credentials(&system, JWT_BEARER_ASSERTION, &token, named, None).await).await;
        let claims = claims_of(body["access_token"].as_str().expect("token"));
        assert_eq!(
            (claims["client_id"].as_str(), claims["sub"].as_str()),
            (Some(id.as_str()), Some(id.as_str()))
        );
        assert_eq!(body["scope"], "reports:read");
    }
    // The same token again: a projected token is read from its file for most of its
    // life, so it is reusable until it expires (no jti rule by default).
    assert_ok(client_credentials(&system, JWT_BEARER_ASSERTION, &token, None, None).await).await;
    // Audience our token endpoint, too.
    let at_endpoint =
        cluster_issuer.sign(&cluster_issuer.service_account_claims("agents", "reporter", TOKEN_ENDPOINT, 600));
    assert_ok(client_credentials(&system, JWT_BEARER_ASSERTION, &at_endpoint, Some(&id), None).await).await;
    assert_eq!(
        cluster_issuer.jwks_fetches(),
        1,
        "keys fetched once, by discovery, and cached"
    );

    let info = system
        .admin()
        .get_client(pb::ClientRef { client_id: id.clone() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(info.workloads.len(), 1);
    assert_eq!(
        (info.workloads[0].subject.as_str(), info.workloads[0].prefix),
        (subject, false)
    );
    // Its secret went when it was federated: the one create printed is dead.
}

#[tokio::test]
async fn a_dpop_proof_binds_a_federated_clients_token() {
    let cluster_issuer = TestWorkloadIssuer::start().await;
    let system = system_trusting(vec![cluster(&cluster_issuer)]).await;
    let id = federated(
        &system,
        &cluster_issuer.issuer,
        "system:serviceaccount:agents:reporter",
        false,
    )
    .await;
    let token = cluster_issuer.sign(&cluster_issuer.service_account_claims("agents", "reporter", ISSUER, 600));
    let key = ClientKey::generate("dpop");
    let body = assert_ok(
        client_credentials(
            &system,
            JWT_BEARER_ASSERTION,
            &token,
            Some(&id),
            Some(&key.dpop_proof()),
        )
        .await,
    )
    .await;
    assert_eq!(body["token_type"], "DPoP");
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["cnf"]["jkt"], key.thumbprint().as_str());
}

#[tokio::test]
async fn hostile_workload_tokens_are_refused_each_saying_which_rule_failed() {
    let cluster_issuer = TestWorkloadIssuer::start().await;
    let stranger = TestWorkloadIssuer::start().await;
    let system = system_trusting(vec![cluster(&cluster_issuer)]).await;
    let id = federated(
        &system,
        &cluster_issuer.issuer,
        "system:serviceaccount:agents:reporter",
        false,
    )
    .await;
    let claims = || cluster_issuer.service_account_claims("agents", "reporter", ISSUER, 600);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims();
        change(&mut claims);
        cluster_issuer.sign(&claims)
    };

    let wrong_audience = with(&|c| c["aud"] = json!(["https://kubernetes.default.svc"]));
    refused(&system, &wrong_audience, Some(&id), "aud must name this server").await;
    let also_elsewhere = with(&|c| c["aud"] = json!([ISSUER, "https://vault.example"]));
    refused(&system, &also_elsewhere, Some(&id), "and nothing else").await;
    let other_namespace =
        cluster_issuer.sign(&cluster_issuer.service_account_claims("payments", "reporter", ISSUER, 600));
    refused(&system, &other_namespace, Some(&id), "not bound to this workload").await;
    refused(&system, &other_namespace, None, "no client stands for this workload").await;
    let prefix_of_exact =
        cluster_issuer.sign(&cluster_issuer.service_account_claims("agents", "reporter-2", ISSUER, 600));
    refused(&system, &prefix_of_exact, Some(&id), "not bound to this workload").await;
    let expired = with(&|c| {
        c["iat"] = json!(unix_now() - 1200);
        c["nbf"] = json!(unix_now() - 1200);
        c["exp"] = json!(unix_now() - 600);
    });
    refused(&system, &expired, Some(&id), "has expired").await;
    let too_long = cluster_issuer.sign(&cluster_issuer.service_account_claims("agents", "reporter", ISSUER, 7200));
    refused(&system, &too_long, Some(&id), "longer than this issuer's max_lifetime").await;
    let not_yet = with(&|c| c["nbf"] = json!(unix_now() + 600));
    refused(&system, &not_yet, Some(&id), "not valid yet").await;
    let unconfigured = stranger.sign(&stranger.service_account_claims("agents", "reporter", ISSUER, 600));
    refused(&system, &unconfigured, Some(&id), "not from a trusted workload issuer").await;
    refused(
        &system,
        &unconfigured,
        None,
        "neither a client_id nor a trusted workload issuer",
    )
    .await;
    // The stranger's key, under our issuer's name: its kid is unknown here, and with our
    // kid forged, the signature fails.
    let mut forged = claims();
    forged["iss"] = cluster_issuer.issuer.clone().into();
    refused(
        &system,
        &stranger.sign(&forged),
        Some(&id),
        "kid names none of its issuer's keys",
    )
    .await;
    let jwks_fetches = cluster_issuer.jwks_fetches();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(claims_of_kid(&cluster_issuer.sign(&claims())));
    refused(
        &system,
        &stranger.sign_with_header(header, &forged),
        Some(&id),
        "signature is invalid",
    )
    .await;
    // An unknown kid costs no fetch per request (one refetch per cooldown at most).
    for _ in 0..5 {
        refused(&system, &stranger.sign(&forged), Some(&id), "kid names none").await;
    }
    assert!(
        cluster_issuer.jwks_fetches() <= jwks_fetches + 1,
        "refetches bounded by the cooldown"
    );

    let unsigned = unsigned_token(&claims(), "none");
    refused(&system, &unsigned, Some(&id), "alg none").await;
    let hmac = hmac_token(&claims());
    refused(&system, &hmac, Some(&id), "HMAC-signed").await;
    let mut typed = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    typed.typ = Some("at+jwt".into());
    refused(
        &system,
        &cluster_issuer.sign_with_header(typed, &claims()),
        Some(&id),
        "typ must be JWT",
    )
    .await;
    let no_pod = with(&|c| {
        c["kubernetes.io"]
            .as_object_mut()
            .expect("object")
            .retain(|k, _| k != "pod")
    });
    refused(&system, &no_pod, Some(&id), "only pod-bound tokens").await;
    let mismatched = with(&|c| c["kubernetes.io"]["namespace"] = "payments".into());
    refused(&system, &mismatched, Some(&id), "names another service account").await;
    let not_a_service_account = with(&|c| c["sub"] = "admin".into());
    refused(&system, &not_a_service_account, Some(&id), "not system:serviceaccount").await;
    let no_audience = with(&|c| {
        c.as_object_mut().expect("object").remove("aud");
    });
    refused(&system, &no_audience, Some(&id), "lacks sub, aud or exp").await;

    // A disabled client's workload gets nothing.
    system
        .admin()
        .set_client_enabled(pb::SetClientEnabledRequest {
            client_id: id.clone(),
            enabled: false,
        })
        .await
        .expect("disabled");
    refused(
        &system,
        &cluster_issuer.sign(&claims()),
        None,
        "this client is disabled",
    )
    .await;
}

/// Part `n` of a compact JWS, decoded (empty if it is not base64url).
fn base64_part(token: &str, n: usize) -> Vec<u8> {
    use base64::Engine as _;
    let part = token.split('.').nth(n).unwrap_or("");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_default()
}

/// The `kid` of a token, unverified.
fn claims_of_kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("header").kid.expect("kid")
}

fn unsigned_token(claims: &Value, alg: &str) -> String {
    use base64::Engine as _;
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", encode(&json!({ "alg": alg, "kid": "x" })), encode(claims))
}

fn hmac_token(claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(b"the issuer's public key, as an HMAC secret");
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), claims, &key).expect("sign")
}

#[tokio::test]
async fn a_subject_prefix_is_explicit_matches_whole_segments_and_an_exact_binding_wins() {
    let cluster_issuer = TestWorkloadIssuer::start().await;
    let system = system_trusting(vec![cluster(&cluster_issuer)]).await;
    let namespace = federated(&system, &cluster_issuer.issuer, "system:serviceaccount:team-a:", true).await;
    let exact = federated(
        &system,
        &cluster_issuer.issuer,
        "system:serviceaccount:team-a:auditor",
        false,
    )
    .await;
    let token =
        |ns: &str, account: &str| cluster_issuer.sign(&cluster_issuer.service_account_claims(ns, account, ISSUER, 600));
    let client_of = |body: Value| claims_of(body["access_token"].as_str().expect("token"))["client_id"].clone();

    let any =
        assert_ok(client_credentials(&system, JWT_BEARER_ASSERTION, &token("team-a", "builder"), None, None).await)
            .await;
    assert_eq!(client_of(any), namespace.as_str());
    let auditor =
        assert_ok(client_credentials(&system, JWT_BEARER_ASSERTION, &token("team-a", "auditor"), None, None).await)
            .await;
    assert_eq!(client_of(auditor), exact.as_str(), "an exact binding before a prefix");
    refused(
        &system,
        &token("team-ab", "builder"),
        None,
        "no client stands for this workload",
    )
    .await;
    refused(
        &system,
        &token("team-ab", "builder"),
        Some(&namespace),
        "not bound to this workload",
    )
    .await;

    let info = system
        .admin()
        .get_client(pb::ClientRef {
            client_id: namespace.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert!(info.workloads[0].prefix, "shown as a prefix");
}

#[tokio::test]
async fn the_operator_api_checks_every_binding() {
    let cluster_issuer = TestWorkloadIssuer::start().await;
    let system = system_trusting(vec![
        cluster(&cluster_issuer),
        trust_domain_of(&TestWorkloadIssuer::start().await),
    ])
    .await;
    let iss = cluster_issuer.issuer.as_str();
    let client = system.create_client(&["reports:read"]).await;
    let code = |result: Result<pb::ClientInfo, tonic::Status>| result.map(|_| Code::Ok).unwrap_or_else(|s| s.code());

    assert_eq!(
        code(
            federate(
                &system,
                &client.id,
                "https://unknown.example",
                "system:serviceaccount:a:b",
                false
            )
            .await
        ),
        Code::InvalidArgument
    );
    for bad in ["system:serviceaccount:a", "admin", "spiffe://agents.example/x"] {
        assert_eq!(
            code(federate(&system, &client.id, iss, bad, false).await),
            Code::InvalidArgument,
            "{bad}"
        );
    }
    assert_eq!(
        code(federate(&system, &client.id, iss, "system:serviceaccount:a", true).await),
        Code::InvalidArgument,
        "a prefix ends where a segment does"
    );
    federate(&system, &client.id, iss, "system:serviceaccount:a:b", false)
        .await
        .expect("federated");
    federate(&system, &client.id, iss, "system:serviceaccount:c:d", false)
        .await
        .expect("a second cluster's");
    let other = system.create_client(&["reports:read"]).await;
    assert_eq!(
        code(federate(&system, &other.id, iss, "system:serviceaccount:a:b", false).await),
        Code::FailedPrecondition,
        "one client per workload"
    );

    // Unbinding keeps the last; deleting the client frees its workloads.
    let unbind = |subject: &str| pb::WorkloadRequest {
        client_id: client.id.clone(),
        workload: Some(pb::WorkloadSubject {
            issuer: iss.into(),
            subject: subject.into(),
            prefix: false,
        }),
    };
    system
        .admin()
        .unfederate_client(unbind("system:serviceaccount:c:d"))
        .await
        .expect("unbound");
    let last = system
        .admin()
        .unfederate_client(unbind("system:serviceaccount:a:b"))
        .await;
    assert_eq!(
        last.map(|_| Code::Ok).unwrap_or_else(|s| s.code()),
        Code::FailedPrecondition
    );
    system
        .admin()
        .delete_client(pb::ClientRef {
            client_id: client.id.clone(),
        })
        .await
        .expect("deleted");
    federate(&system, &other.id, iss, "system:serviceaccount:a:b", false)
        .await
        .expect("free again");
}

fn trust_domain_of(issuer: &TestWorkloadIssuer) -> WorkloadIssuerSettings {
    trust_domain(issuer)
}

#[tokio::test]
async fn a_jwt_svid_authenticates_by_the_spiffe_assertion_type_and_by_its_trust_domain() {
    let spire = TestWorkloadIssuer::start().await;
    let system = system_trusting(vec![trust_domain(&spire)]).await;
    let spiffe_id = format!("spiffe://{TRUST_DOMAIN}/ns/agents/sa/reporter");
    let id = federated(&system, &spire.issuer, &spiffe_id, false).await;

    // draft-ietf-oauth-spiffe-client-auth-02 §3.1: the jwt-spiffe type, no client_id,
    // and an SVID without `iss` (matched by its trust domain).
    let mut claims = spire.svid_claims(&spiffe_id, ISSUER, 300);
    claims.as_object_mut().expect("object").remove("iss");
    let svid = spire.sign(&claims);
    // A JWT-SVID by the SPIFFE library's own rules (signature by the trust domain's
    // bundle, audience, exp, header), so these tests hold us to real SVIDs.
    let mut bundle = spiffe::JwtBundle::new(spiffe::TrustDomain::new(TRUST_DOMAIN).expect("trust domain"));
    bundle
        .add_jwk_authority_json(spire.jwk().to_string().as_bytes())
        .expect("authority");
    let mut bundles = spiffe::JwtBundleSet::new();
    bundles.add_bundle(bundle);
    let parsed = spiffe::JwtSvid::parse_and_validate(&svid, &bundles, &[ISSUER]).expect("a valid JWT-SVID");
    assert_eq!(parsed.spiffe_id().to_string(), spiffe_id);
    let body = assert_ok(client_credentials(&system, JWT_SPIFFE_ASSERTION, &svid, None, None).await).await;
    assert_eq!(
        claims_of(body["access_token"].as_str().expect("token"))["client_id"],
        id.as_str()
    );
    // As an RFC 7523 client assertion too.
    assert_ok(
        client_credentials(
            &system,
            JWT_BEARER_ASSERTION,
            &spire.sign(&spire.svid_claims(&spiffe_id, ISSUER, 300)),
            Some(&id),
            None,
        )
        .await,
    )
    .await;

    // §4: the discovery document names the method.
    let metadata: Value = system
        .http
        .get(system.identity_url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("identity-service reachable")
        .json()
        .await
        .expect("metadata");
    let methods = &metadata["token_endpoint_auth_methods_supported"];
    for method in ["private_key_jwt", "spiffe_jwt"] {
        assert!(
            methods.as_array().expect("list").iter().any(|m| m == method),
            "{method} in {methods}"
        );
    }

    let other_domain = spire.sign(&spire.svid_claims("spiffe://elsewhere.example/ns/agents/sa/reporter", ISSUER, 300));
    refused(&system, &other_domain, Some(&id), "another trust domain").await;
    let not_canonical = spire.sign(&spire.svid_claims(&format!("spiffe://{TRUST_DOMAIN}/ns//x"), ISSUER, 300));
    refused(&system, &not_canonical, Some(&id), "not a SPIFFE ID").await;
    let response = client_credentials(
        &system,
        JWT_SPIFFE_ASSERTION,
        &other_domain.replace('.', ","),
        None,
        None,
    )
    .await;
    assert_oauth_error(response, 400, "invalid_client").await;
}

#[tokio::test]
async fn a_federated_client_exchanges_an_agents_assertion_and_the_token_names_it() {
    let cluster_issuer = TestWorkloadIssuer::start().await;
    let system = system_trusting(vec![cluster(&cluster_issuer)]).await;
    let id = federated(
        &system,
        &cluster_issuer.issuer,
        "system:serviceaccount:agents:runtime",
        false,
    )
    .await;
    let registered = system.register_anonymous().await;
    let assertion = registered["identity_assertion"].as_str().expect("assertion");
    let token = cluster_issuer.sign(&cluster_issuer.service_account_claims("agents", "runtime", ISSUER, 600));
    let response = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", assertion),
                ("client_assertion_type", JWT_BEARER_ASSERTION),
                ("client_assertion", &token),
            ],
        )
        .await;
    let body = assert_ok(response).await;
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["client_id"], id.as_str(), "issued to the federated client");
    assert_eq!(claims["sub"], registered["registration_id"], "for the agent");
    // A workload bound to no client gets no exchange.
    let stray = cluster_issuer.sign(&cluster_issuer.service_account_claims("agents", "stray", ISSUER, 600));
    let response = system
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", assertion),
                ("client_assertion_type", JWT_BEARER_ASSERTION),
                ("client_assertion", &stray),
            ],
        )
        .await;
    assert_oauth_error(response, 400, "invalid_client").await;
}

#[tokio::test]
async fn the_mcp_extension_form_takes_the_workload_token_as_the_jwt_bearer_grant_itself() {
    let cluster_issuer = TestWorkloadIssuer::start().await;
    let system = system_trusting(vec![cluster(&cluster_issuer)]).await;
    let id = federated(
        &system,
        &cluster_issuer.issuer,
        "system:serviceaccount:agents:reporter",
        false,
    )
    .await;
    // SEP-1933: grant_type jwt-bearer, the workload token as `assertion`, no client
    // credentials, `aud` our token endpoint.
    let token = cluster_issuer.sign(&cluster_issuer.service_account_claims("agents", "reporter", TOKEN_ENDPOINT, 600));
    let grant = |assertion: &str| {
        vec![
            ("grant_type", JWT_BEARER.to_owned()),
            ("assertion", assertion.to_owned()),
        ]
    };
    let body = assert_ok(system.post_form("/oauth2/token", &as_refs(&grant(&token))).await).await;
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(
        (claims["client_id"].as_str(), claims["sub"].as_str()),
        (Some(id.as_str()), Some(id.as_str()))
    );
    assert_eq!(body["scope"], "reports:read");

    // A token the client-assertion rules refuse is a refused grant.
    let stray = cluster_issuer.sign(&cluster_issuer.service_account_claims("agents", "stray", TOKEN_ENDPOINT, 600));
    let body = assert_oauth_error(
        system.post_form("/oauth2/token", &as_refs(&grant(&stray))).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .expect("text")
            .contains("no client stands for this workload"),
        "{body}"
    );
    // The token is the grant or the client authentication, never both.
    let mut both = grant(&token);
    both.push(("client_assertion_type", JWT_BEARER_ASSERTION.into()));
    both.push(("client_assertion", token.clone()));
    assert_oauth_error(
        system.post_form("/oauth2/token", &as_refs(&both)).await,
        400,
        "invalid_request",
    )
    .await;
}

fn as_refs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
