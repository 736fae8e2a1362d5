//! Provider key sets against a real provider: an actix-web server on port 0 serving a JWKS
//! of keys generated here, counting every request it receives.

mod helpers;

use std::sync::Arc;
use std::time::Duration;

use helpers::{FakeProvider, ISSUER, Key};
use identity_service::providers::{
    ProviderError, ProviderExpectations, ProviderKeySettings, ProviderKeys, ProviderSettings, Untyped,
};
use protocol::jose::Algorithm;
use serde_json::{Value, json};
use shared::time::unix_now;

const AUDIENCE: &str = "https://agentauth.test";
const TYP: &str = "oauth-id-jag+jwt";
const LONG: Duration = Duration::from_secs(3600);

fn claims() -> Value {
    let now = unix_now();
    json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "agent-1", "jti": "j1", "iat": now, "exp": now + 300 })
}

fn expect() -> ProviderExpectations {
    ProviderExpectations {
        audience: AUDIENCE.into(),
        typ: TYP,
        untyped: Untyped::AllowedIfProviderOptsIn,
        require_exp: true,
        max_lifetime: Some(Duration::from_secs(3600)),
        leeway: Duration::from_secs(30),
    }
}

#[tokio::test]
async fn a_valid_token_verifies() {
    let key = Key::new();
    let provider = FakeProvider::spawn(&[&key]);
    let keys = provider.keys(LONG, LONG);
    assert!(keys.is_trusted(ISSUER) && !keys.is_trusted("https://other.test"));
    let (header, claims) = keys
        .verify::<Value>(&key.sign(TYP, &claims()), &expect())
        .await
        .expect("verifies");
    assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
    assert_eq!(claims["sub"], "agent-1");
    // RFC 7515 §4.1.9: the `application/` prefix may be written out.
    let long_typ = key.sign(&format!("application/{TYP}"), &self::claims());
    keys.verify::<Value>(&long_typ, &expect())
        .await
        .expect("long typ verifies");
    assert_eq!(provider.requests(), 1);
}

#[tokio::test]
async fn an_untrusted_issuer_is_refused_without_a_fetch() {
    let key = Key::new();
    let provider = FakeProvider::spawn(&[&key]);
    let mut claims = claims();
    claims["iss"] = json!("https://evil.test");
    let refused = provider
        .keys(LONG, LONG)
        .verify::<Value>(&key.sign(TYP, &claims), &expect())
        .await;
    assert_eq!(refused, Err(ProviderError::UntrustedIssuer("https://evil.test".into())));
    assert_eq!(provider.requests(), 0);
}

#[tokio::test]
async fn an_unknown_kid_is_refused_after_one_refetch() {
    let (known, unknown) = (Key::new(), Key::new());
    let provider = FakeProvider::spawn(&[&known]);
    let keys = provider.keys(LONG, Duration::ZERO);
    keys.verify::<Value>(&known.sign(TYP, &claims()), &expect())
        .await
        .expect("known key");
    let refused = keys.verify::<Value>(&unknown.sign(TYP, &claims()), &expect()).await;
    assert_eq!(refused, Err(ProviderError::UnknownKey(unknown.kid.clone())));
    assert_eq!(provider.requests(), 2);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_the_unknown_kid_refetch() {
    let (old, new) = (Key::new(), Key::new());
    let provider = FakeProvider::spawn(&[&old]);
    let keys = provider.keys(LONG, Duration::ZERO);
    keys.verify::<Value>(&old.sign(TYP, &claims()), &expect())
        .await
        .expect("old key");
    provider.publish(&[&new]);
    keys.verify::<Value>(&new.sign(TYP, &claims()), &expect())
        .await
        .expect("new key");
    assert_eq!(provider.requests(), 2);
}

#[tokio::test]
async fn unknown_kids_within_the_cooldown_do_not_refetch() {
    let (first, second) = (Key::new(), Key::new());
    let provider = FakeProvider::spawn(&[]);
    let keys = provider.keys(LONG, LONG);
    let refused = keys.verify::<Value>(&first.sign(TYP, &claims()), &expect()).await;
    assert_eq!(refused, Err(ProviderError::UnknownKey(first.kid.clone())));
    provider.publish(&[&second]);
    let refused = keys.verify::<Value>(&second.sign(TYP, &claims()), &expect()).await;
    assert_eq!(refused, Err(ProviderError::UnknownKey(second.kid.clone())));
    assert_eq!(provider.requests(), 1);
}

#[tokio::test]
async fn cache_control_max_age_keeps_the_set_fresh() {
    let key = Key::new();
    let token = key.sign(TYP, &claims());
    let provider = FakeProvider::spawn(&[&key]);
    provider.edit(|p| p.cache_control = Some("public, max-age=3600"));
    let keys = provider.keys(Duration::ZERO, LONG);
    for _ in 0..3 {
        keys.verify::<Value>(&token, &expect()).await.expect("verifies");
    }
    assert_eq!(provider.requests(), 1);
}

#[tokio::test]
async fn an_expired_set_is_refetched_and_used_stale_when_the_provider_fails() {
    let key = Key::new();
    let token = key.sign(TYP, &claims());
    let provider = FakeProvider::spawn(&[&key]);
    // No Cache-Control and no minimum: the set is stale as soon as it is fetched.
    let keys = provider.keys(Duration::ZERO, LONG);
    keys.verify::<Value>(&token, &expect()).await.expect("first fetch");
    keys.verify::<Value>(&token, &expect()).await.expect("refetched");
    assert_eq!(provider.requests(), 2);
    provider.edit(|p| p.down = true);
    keys.verify::<Value>(&token, &expect())
        .await
        .expect("stale keys still verify");
    assert_eq!(provider.requests(), 3);
}

#[tokio::test]
async fn a_provider_down_with_no_cache_means_keys_unavailable() {
    let key = Key::new();
    let provider = FakeProvider::spawn(&[&key]);
    provider.edit(|p| p.down = true);
    let keys = provider.keys(LONG, LONG);
    for _ in 0..2 {
        let refused = keys.verify::<Value>(&key.sign(TYP, &claims()), &expect()).await;
        assert!(matches!(refused, Err(ProviderError::KeysUnavailable(_))), "{refused:?}");
    }
    // The failed provider is not asked again within the cooldown.
    assert_eq!(provider.requests(), 1);
}

#[tokio::test]
async fn claims_and_signature_are_checked() {
    let (key, impostor) = (Key::new(), Key::new());
    let provider = FakeProvider::spawn(&[&key]);
    let keys = provider.keys(LONG, LONG);
    let verify = |token: String| {
        let keys = &keys;
        async move { keys.verify::<Value>(&token, &expect()).await.map(|_| ()) }
    };
    let with = |name: &str, value: Value| {
        let mut claims = claims();
        claims[name] = value;
        claims
    };
    let wrong_aud = key.sign(TYP, &with("aud", json!("https://elsewhere.test")));
    assert_eq!(verify(wrong_aud).await, Err(ProviderError::InvalidAudience));
    let expired = key.sign(TYP, &with("exp", json!(unix_now() - 3600)));
    assert_eq!(verify(expired).await, Err(ProviderError::Expired));
    let issued_later = key.sign(TYP, &with("iat", json!(unix_now() + 3600)));
    assert_eq!(verify(issued_later).await, Err(ProviderError::Expired));
    let forged = impostor.sign_as(&key.kid, TYP, &claims());
    assert_eq!(verify(forged).await, Err(ProviderError::InvalidSignature));
    assert_eq!(verify(key.sign("JWT", &claims())).await, Err(ProviderError::WrongType));
    assert_eq!(provider.requests(), 1);
}

#[tokio::test]
async fn a_missing_typ_is_refused_unless_the_provider_is_configured_to_omit_it() {
    let key = Key::new();
    let provider = FakeProvider::spawn(&[&key]);
    let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
    header.typ = None;
    header.kid = Some(key.kid.clone());
    let encoding_key = jsonwebtoken::EncodingKey::from_ec_der(&key.der);
    let untyped = jsonwebtoken::encode(&header, &claims(), &encoding_key).expect("encode");
    // ID-JAG draft §3, RFC 8725 §3.11: off by default.
    let refused = provider.keys(LONG, LONG).verify::<Value>(&untyped, &expect()).await;
    assert_eq!(refused.map(|_| ()), Err(ProviderError::WrongType));
    let lenient = provider.keys_allowing_untyped(LONG, LONG);
    lenient
        .verify::<Value>(&untyped, &expect())
        .await
        .expect("the provider opted in");
    let required = ProviderExpectations {
        untyped: Untyped::Refused,
        ..expect()
    };
    assert_eq!(
        lenient.verify::<Value>(&untyped, &required).await.map(|_| ()),
        Err(ProviderError::WrongType),
        "never for a token that must be typed (a SET)"
    );
}

#[tokio::test]
async fn critical_headers_are_refused_whatever_they_name() {
    let key = Key::new();
    let provider = FakeProvider::spawn(&[&key]);
    let keys = provider.keys(LONG, LONG);
    let encoding_key = jsonwebtoken::EncodingKey::from_ec_der(&key.der);
    for crit in [vec!["urn:example:unknown".to_owned()], vec![], vec!["exp".to_owned()]] {
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.typ = Some(TYP.into());
        header.kid = Some(key.kid.clone());
        header.crit = Some(crit.clone());
        header.extras.insert("urn:example:unknown", true);
        let token = jsonwebtoken::encode(&header, &claims(), &encoding_key).expect("encode");
        let refused = keys.verify::<Value>(&token, &expect()).await.map(|_| ());
        assert_eq!(
            refused,
            Err(ProviderError::UnsupportedCritical),
            "RFC 7515 §4.1.11: {crit:?}"
        );
    }
}

#[tokio::test]
async fn time_claims_are_range_checked_and_the_lifetime_bounded() {
    let key = Key::new();
    let provider = FakeProvider::spawn(&[&key]);
    let keys = provider.keys(LONG, LONG);
    let now = unix_now();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut claims = claims();
        edit(&mut claims);
        key.sign(TYP, &claims)
    };
    let cases: [(&str, String, ProviderError); 4] = [
        (
            "exp past i64 arithmetic",
            with(&|c| c["exp"] = json!(i64::MAX)),
            ProviderError::Malformed(String::new()),
        ),
        (
            "30-day lifetime",
            with(&|c| c["exp"] = json!(now + 30 * 24 * 3600)),
            ProviderError::LifetimeTooLong,
        ),
        (
            "no iat",
            with(&|c| c["iat"] = Value::Null),
            ProviderError::Malformed(String::new()),
        ),
        (
            "negative iat",
            with(&|c| c["iat"] = json!(-5)),
            ProviderError::Malformed(String::new()),
        ),
    ];
    for (what, token, expected) in cases {
        let refused = keys.verify::<Value>(&token, &expect()).await.expect_err(what);
        assert_eq!(
            std::mem::discriminant(&refused),
            std::mem::discriminant(&expected),
            "{what}: {refused:?}"
        );
    }
    let fractional = with(&|c| c["exp"] = json!(now as f64 + 3599.5));
    keys.verify::<Value>(&fractional, &expect())
        .await
        .expect("a fractional exp is a NumericDate");
}

#[tokio::test]
async fn concurrent_verifies_on_a_cold_cache_share_one_fetch() {
    let key = Key::new();
    let token = key.sign(TYP, &claims());
    let provider = FakeProvider::spawn(&[&key]);
    provider.edit(|p| p.delay = Duration::from_millis(100));
    let keys = Arc::new(provider.keys(LONG, Duration::ZERO));
    let mut verifies = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (keys, token) = (Arc::clone(&keys), token.clone());
        verifies.spawn(async move { keys.verify::<Value>(&token, &expect()).await.map(|_| ()) });
    }
    while let Some(verified) = verifies.join_next().await {
        verified.expect("task").expect("verifies");
    }
    assert_eq!(provider.requests(), 1);
}

#[test]
fn settings_errors_name_the_provider() {
    let provider = |n: u8, jwks_uri: &str| ProviderSettings {
        issuer: format!("https://p{n}.test"),
        jwks_uri: jwks_uri.into(),
        allow_untyped_id_jag: false,
    };
    let settings = ProviderKeySettings::default();
    for bad in ["not a url", "ftp://keys.test/jwks", "http://keys.test/jwks"] {
        let providers = [provider(0, "https://keys.test/jwks"), provider(1, bad)];
        let error = ProviderKeys::new(&providers, &settings).expect_err(bad).to_string();
        assert!(error.contains("providers[1].jwks_uri"), "{error}");
    }
    let local = [
        provider(0, "http://127.0.0.1:1/jwks"),
        provider(1, "https://keys.test/jwks"),
    ];
    ProviderKeys::new(&local, &settings).expect("https, or http on loopback");
}
