//! `IdentityService.ValidateAssertion` and `LookupRegistration` over real gRPC.

use identity_service::email::Email;
use identity_service::registration::ClaimAttempt;
use identity_service::registration::{Registration, RegistrationId, RegistrationType};
use identity_service::store::RedisRegistrationStore;
use identity_service::testing::put_registration;
use proto::identity::v1::validate_assertion_response::Outcome;
use proto::identity::v1::{RefusalReason, RegistrationStatus};
use serde_json::{Value, json};

use protocol::jose::SigningKey;
use shared::testing::RedisServer;
use shared::time::unix_now;

use crate::helpers::{ISSUER, TestApp, spawn, spawn_with};

fn refusal(outcome: Outcome) -> RefusalReason {
    match outcome {
        Outcome::Refused(refused) => {
            assert!(!refused.description.is_empty());
            RefusalReason::try_from(refused.reason).expect("known reason")
        }
        Outcome::Grantable(grant) => panic!("expected a refusal, got {grant:?}"),
    }
}

/// Claims of a well-formed assertion for `sub`, to be spoiled one field at a time.
fn claims(sub: &str) -> Value {
    let now = unix_now();
    json!({
        "iss": ISSUER, "aud": ISSUER, "sub": sub, "client_id": sub, "jti": "j1",
        "iat": now, "exp": now + 600, "registration_type": "anonymous",
    })
}

#[tokio::test]
async fn a_fresh_anonymous_assertion_is_grantable_with_pre_claim_scopes() {
    let app = spawn().await;
    let registered = app.register_anonymous().await;
    let Outcome::Grantable(grant) = app
        .validate(registered["identity_assertion"].as_str().expect("a"))
        .await
    else {
        panic!("expected grantable");
    };
    assert_eq!(grant.subject, registered["registration_id"].as_str().expect("id"));
    assert_eq!(grant.client_id, grant.subject);
    assert_eq!(grant.registration_type, "anonymous");
    assert_eq!(grant.status, RegistrationStatus::Unclaimed as i32);
    assert_eq!(grant.grantable_scopes, vec!["agent:read"]);
}

#[tokio::test]
async fn bad_assertions_are_refused_with_a_reason() {
    let app = spawn().await;
    let registered = app.register_anonymous().await;
    let id = registered["registration_id"].as_str().expect("id");
    let signer = app.signer();
    let spoiled = |field: &str, value: Value| {
        let mut c = claims(id);
        c[field] = value;
        signer.sign("oauth-id-jag+jwt", &c).expect("sign")
    };
    let now = unix_now();
    let other_key = other_key_with_kid(signer.kid());
    let cases = [
        ("garbage".to_owned(), RefusalReason::InvalidAssertion),
        (spoiled("exp", json!(now - 120)), RefusalReason::AssertionExpired),
        (
            spoiled("iss", json!("https://evil.test")),
            RefusalReason::ForeignAssertion,
        ),
        (
            spoiled("aud", json!("https://rs.test")),
            RefusalReason::ForeignAssertion,
        ),
        (spoiled("exp", json!(now + 7200)), RefusalReason::InvalidAssertion),
        (spoiled("iat", json!(now + 600)), RefusalReason::InvalidAssertion),
        (
            spoiled("client_id", json!("someone-else")),
            RefusalReason::InvalidAssertion,
        ),
        (
            spoiled("sub", json!("not-a-registration")),
            RefusalReason::InvalidAssertion,
        ),
        (
            signer.sign("JWT", &claims(id)).expect("sign"),
            RefusalReason::InvalidAssertion,
        ),
        (
            other_key.sign("oauth-id-jag+jwt", &claims(id)).expect("sign"),
            RefusalReason::InvalidAssertion,
        ),
        (unsigned(&claims(id)), RefusalReason::InvalidAssertion),
    ];
    for (i, (assertion, expected)) in cases.into_iter().enumerate() {
        assert_eq!(refusal(app.validate(&assertion).await), expected, "case {i}");
    }
}

#[tokio::test]
async fn an_assertion_for_an_unknown_registration_is_refused() {
    let app = spawn().await;
    let id = RegistrationId::random().to_string();
    let assertion = app.signer().sign("oauth-id-jag+jwt", &claims(&id)).expect("sign");
    assert_eq!(
        refusal(app.validate(&assertion).await),
        RefusalReason::UnknownRegistration
    );
}

/// A key nobody publishes, carrying our key's `kid`: only the signature can tell.
fn other_key_with_kid(kid: &str) -> SigningKey {
    shared::testing::TestKey::generate("other").signer_as(kid)
}

/// `alg: none` (RFC 7519 §6): must never pass.
fn unsigned(claims: &Value) -> String {
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "oauth-id-jag+jwt"})),
        b64(claims)
    )
}

/// Registrations in states the HTTP surface cannot produce yet, written straight into
/// the same Redis the service reads.
#[tokio::test]
async fn registration_status_decides_what_is_granted() {
    let redis = RedisServer::start();
    let store_settings = redis.store_settings();
    let app = spawn_with(store_settings.clone(), |_| {}).await;
    let store = RedisRegistrationStore::connect(&store_settings).expect("connect");
    let now = unix_now();

    let claimed = put_registration(&store, RegistrationType::Anonymous, |r| r.claimed_at = Some(now)).await;
    let Outcome::Grantable(grant) = app.validate(&assertion(&app, &claimed)).await else {
        panic!("claimed is grantable");
    };
    assert_eq!(grant.status, RegistrationStatus::Claimed as i32);
    assert_eq!(grant.grantable_scopes, vec!["agent:read", "agent:write"]);

    let pending = put_registration(&store, RegistrationType::Anonymous, |r| {
        r.claim_attempt = Some(attempt(now + 600))
    })
    .await;
    let Outcome::Grantable(grant) = app.validate(&assertion(&app, &pending)).await else {
        panic!("pending claim stays grantable");
    };
    assert_eq!(grant.status, RegistrationStatus::PendingClaim as i32);
    assert_eq!(grant.grantable_scopes, vec!["agent:read"], "pending claim stays capped");

    let cases = [
        (
            put_registration(&store, RegistrationType::Anonymous, |r| r.claim_expires_at = now - 1).await,
            RefusalReason::RegistrationExpired,
        ),
        (
            put_registration(&store, RegistrationType::Anonymous, |r| r.revoked_at = Some(now)).await,
            RefusalReason::RegistrationRevoked,
        ),
        (
            put_registration(&store, RegistrationType::EmailVerification, |_| {}).await,
            RefusalReason::UserAuthenticationRequired,
        ),
    ];
    for (registration, expected) in cases {
        assert_eq!(refusal(app.validate(&assertion(&app, &registration)).await), expected);
    }
}

fn attempt(link_expires_at: i64) -> ClaimAttempt {
    ClaimAttempt {
        id: identity_service::registration::AttemptId::random(),
        email: Email::parse("human@example.com").expect("email"),
        view_token_hash: "hash".into(),
        link_expires_at,
        otp: None,
    }
}

fn assertion(app: &TestApp, registration: &Registration) -> String {
    let mut c = claims(registration.id.as_str());
    c["registration_type"] = json!(registration.registration_type.as_str());
    app.signer().sign("oauth-id-jag+jwt", &c).expect("sign")
}

/// The exchange's one call since token-service verifies assertions itself: the
/// registration's state by id, with no assertion and no signature check.
#[tokio::test]
async fn lookup_answers_the_registrations_state_by_id() {
    let redis = RedisServer::start();
    let store_settings = redis.store_settings();
    let app = spawn_with(store_settings.clone(), |_| {}).await;
    let store = RedisRegistrationStore::connect(&store_settings).expect("connect");
    let registered = app.register_anonymous().await;
    let id = registered["registration_id"].as_str().expect("id");
    let Outcome::Grantable(grant) = app.lookup(id, id).await else {
        panic!("expected grantable");
    };
    assert_eq!((grant.subject.as_str(), grant.client_id.as_str()), (id, id));
    assert_eq!(grant.grantable_scopes, vec!["agent:read"]);
    assert!(grant.bound_jkt.is_empty());

    assert_eq!(
        refusal(app.lookup(id, "someone-else").await),
        RefusalReason::InvalidAssertion
    );
    let unknown = RegistrationId::random().to_string();
    assert_eq!(
        refusal(app.lookup(&unknown, &unknown).await),
        RefusalReason::UnknownRegistration
    );
    assert_eq!(
        refusal(app.lookup("garbage", "garbage").await),
        RefusalReason::InvalidAssertion
    );

    let now = unix_now();
    let revoked = put_registration(&store, RegistrationType::Anonymous, |r| r.revoked_at = Some(now)).await;
    let revoked_id = revoked.id.to_string();
    assert_eq!(
        refusal(app.lookup(&revoked_id, &revoked_id).await),
        RefusalReason::RegistrationRevoked
    );
    let bound = put_registration(&store, RegistrationType::Anonymous, |r| {
        r.jkt = Some("thumbprint".into())
    })
    .await;
    let bound_id = bound.id.to_string();
    let Outcome::Grantable(grant) = app.lookup(&bound_id, &bound_id).await else {
        panic!("expected grantable");
    };
    assert_eq!(grant.bound_jkt, "thumbprint", "the registration's own key binding");
}
