//! The contract of the authorization endpoint's store (sign-ins, codes, grants), run
//! against memory, a real Redis, and (from `store_contract`) a Redis Cluster, Sentinel
//! and TLS.

use std::sync::Arc;

use identity_service::authorize::record::{Grant, GrantId, HumanId, IssuedCode, LoginAttempt, LoginId, TakenCode};
use identity_service::authorize::store::{AuthorizationStore, MAX_SESSIONS_PER_HUMAN, SessionRecord, SessionStore};
use identity_service::email::Email;
use identity_service::store::{MemoryAuthorizations, MemorySessions, RedisAuthorizations, RedisSessions};
use protocol::oauth::pkce::CodeChallenge;
use protocol::scope::ScopeSet;
use shared::testing::RedisServer;
use shared::time::unix_now;

fn human() -> HumanId {
    HumanId::from_digest(&protocol::secrets::random_bytes(16))
}

fn code(grant: &GrantId, subject: &HumanId) -> IssuedCode {
    let challenge = CodeChallenge::s256_of(&protocol::secrets::random_token(48));
    IssuedCode {
        grant_id: grant.clone(),
        subject: subject.clone(),
        client_id: "cli_0123456789abcdef0123456789abcdef".into(),
        redirect_uri: "http://127.0.0.1/cb".into(),
        challenge: CodeChallenge::parse(&challenge, Some("S256")).expect("challenge"),
        scopes: ScopeSet::parse("agent:read").expect("scope"),
        resources: vec!["https://mcp.example.com/mcp".into()],
        auth_time: 7,
        expires_at: unix_now() + 60,
    }
}

fn grant(subject: &HumanId, client_id: &str, granted_at: i64) -> Grant {
    Grant {
        id: GrantId::random(),
        subject: subject.clone(),
        client_id: client_id.into(),
        client_name: "Inspector".into(),
        scopes: ScopeSet::parse("agent:read").expect("scope"),
        resources: vec![],
        granted_at,
        revoked_at: None,
        via: None,
        upstream: None,
        delegable: false,
        delegable_scopes: None,
    }
}

pub async fn contract(store: Arc<dyn AuthorizationStore>) {
    logins(store.as_ref()).await;
    codes(store.as_ref()).await;
    grants(store.as_ref()).await;
    provider_grants(store.as_ref()).await;
    humans(store.as_ref()).await;
}

async fn logins(store: &dyn AuthorizationStore) {
    let attempt = LoginAttempt {
        id: LoginId::random(),
        email: Email::parse("ada@example.com").expect("email"),
        code_hash: "hash".into(),
        expires_at: unix_now() + 600,
    };
    store.put_login(&attempt, attempt.expires_at).await.expect("put");
    assert_eq!(store.login(&attempt.id).await.expect("get"), Some((attempt.clone(), 0)));
    assert_eq!(store.count_login_try(&attempt.id).await.expect("count"), 1);
    assert_eq!(store.count_login_try(&attempt.id).await.expect("count"), 2);
    assert_eq!(store.login(&attempt.id).await.expect("get").map(|(_, f)| f), Some(2));
    assert!(
        store.take_login(&attempt.id).await.expect("take"),
        "the first take ends it"
    );
    assert!(
        !store.take_login(&attempt.id).await.expect("take"),
        "and only the first"
    );
    assert_eq!(store.login(&attempt.id).await.expect("get"), None);
    assert_eq!(
        store.count_login_try(&attempt.id).await.expect("count"),
        0,
        "a try on a gone attempt brings nothing back"
    );
    assert_eq!(store.login(&attempt.id).await.expect("get"), None);

    let expired = LoginAttempt {
        id: LoginId::random(),
        ..attempt
    };
    store.put_login(&expired, unix_now() - 1).await.expect("put");
    assert_eq!(
        store.login(&expired.id).await.expect("get"),
        None,
        "forgotten at its time"
    );
}

async fn codes(store: &dyn AuthorizationStore) {
    let issued = code(&GrantId::random(), &human());
    let hash = protocol::secrets::random_token(32);
    store.put_code(&hash, &issued, unix_now() + 600).await.expect("put");
    assert_eq!(
        store.take_code(&hash).await.expect("take"),
        TakenCode::Fresh(issued.clone())
    );
    assert_eq!(
        store.take_code(&hash).await.expect("take"),
        TakenCode::Spent {
            code: issued.clone(),
            redeemed: false
        },
        "every later take is a replay"
    );
    store.mark_code_redeemed(&hash).await.expect("mark");
    assert_eq!(
        store.take_code(&hash).await.expect("take"),
        TakenCode::Spent {
            code: issued.clone(),
            redeemed: true
        },
        "and says whether the first use redeemed"
    );
    store.mark_code_redeemed("forgotten").await.expect("mark");
    assert_eq!(
        store.take_code("forgotten").await.expect("take"),
        TakenCode::Unknown,
        "marking brings nothing back"
    );
    assert_eq!(store.take_code("unknown").await.expect("take"), TakenCode::Unknown);
    let gone = protocol::secrets::random_token(32);
    store.put_code(&gone, &issued, unix_now() - 1).await.expect("put");
    assert_eq!(store.take_code(&gone).await.expect("take"), TakenCode::Unknown);

    // Racing takes: exactly one is fresh.
    let raced = protocol::secrets::random_token(32);
    store.put_code(&raced, &issued, unix_now() + 600).await.expect("put");
    let takes = futures_util::future::join_all((0..8).map(|_| store.take_code(&raced))).await;
    let fresh = takes.iter().filter(|t| matches!(t, Ok(TakenCode::Fresh(_)))).count();
    assert_eq!(fresh, 1, "{takes:?}");
}

async fn grants(store: &dyn AuthorizationStore) {
    let subject = human();
    let first = grant(&subject, "client-a", 10);
    let second = grant(&subject, "client-b", 20);
    assert!(store.put_grant(&first).await.expect("put"));
    assert!(store.put_grant(&second).await.expect("put"));
    assert_eq!(store.grant(&first.id).await.expect("get"), Some(first.clone()));
    assert_eq!(store.grant(&GrantId::random()).await.expect("get"), None);
    assert_eq!(
        store.consent(&subject, "client-a").await.expect("consent"),
        Some(first.clone())
    );
    assert_eq!(store.consent(&subject, "client-c").await.expect("consent"), None);
    assert_eq!(store.consent(&human(), "client-a").await.expect("consent"), None);
    assert_eq!(
        store.grants_of(&subject).await.expect("list"),
        vec![second.clone(), first.clone()],
        "newest first"
    );

    let mut revoked = first.clone();
    revoked.revoked_at = Some(unix_now());
    assert!(store.put_grant(&revoked).await.expect("replace"));
    assert_eq!(store.grant(&first.id).await.expect("get"), Some(revoked.clone()));
    let mut widened = first.clone();
    widened.scopes = ScopeSet::parse("agent:read agent:write").expect("scope");
    assert!(
        !store.put_grant(&widened).await.expect("refused"),
        "a consent racing a revocation never undoes it"
    );
    assert_eq!(store.grant(&first.id).await.expect("get"), Some(revoked.clone()));
    let replacement = grant(&subject, "client-a", 40);
    assert!(store.put_grant(&replacement).await.expect("put"));
    assert_eq!(
        store.consent(&subject, "client-a").await.expect("consent"),
        Some(replacement.clone()),
        "the newest grant is the consent"
    );
    assert_eq!(store.grants_of(&subject).await.expect("list").len(), 3);
}

/// A grant an identity provider gave for its user, linked by address to another human,
/// is listed under both: the human's page shows it, the provider's events find it.
async fn provider_grants(store: &dyn AuthorizationStore) {
    let (subject, upstream) = (human(), human());
    let linked = Grant {
        via: Some("corp".into()),
        upstream: Some(upstream.clone()),
        ..grant(&subject, "client-a", 10)
    };
    assert!(store.put_grant(&linked).await.expect("put"));
    assert_eq!(store.grants_of(&subject).await.expect("list"), vec![linked.clone()]);
    assert_eq!(store.grants_of(&upstream).await.expect("list"), vec![linked.clone()]);
    assert_eq!(store.grants_of(&human()).await.expect("list"), vec![]);
    assert_eq!(store.grant(&linked.id).await.expect("get"), Some(linked));
}

async fn humans(store: &dyn AuthorizationStore) {
    let someone = human();
    assert!(!store.human_known(&someone).await.expect("known"));
    assert!(
        store.remember_human(&someone, 5).await.expect("remember"),
        "the first time"
    );
    assert!(!store.remember_human(&someone, 6).await.expect("remember"), "not twice");
    assert!(store.human_known(&someone).await.expect("known"));
    assert!(!store.human_known(&human()).await.expect("known"));
}

#[tokio::test]
async fn memory_authorizations_meet_the_contract() {
    contract(Arc::new(MemoryAuthorizations::default())).await;
}

#[tokio::test]
async fn redis_authorizations_meet_the_contract() {
    let redis = RedisServer::start();
    contract(Arc::new(
        RedisAuthorizations::connect(&redis.store_settings()).expect("connect"),
    ))
    .await;
}

fn session(human: Option<&HumanId>, label: &str, created_at: i64) -> SessionRecord {
    SessionRecord {
        upstream: None,
        state: [("browser".to_owned(), format!("{{\"label\":\"{label}\"}}"))].into(),
        human: human.cloned(),
        label: label.into(),
        created_at,
        expires_at: created_at + 3600,
    }
}

/// Browser sessions: stored and read whole by handle, listed per human newest first,
/// ended for good, forgotten at their end, and at most `MAX_SESSIONS_PER_HUMAN` each.
pub async fn session_contract(store: Arc<dyn SessionStore>) {
    let now = unix_now();
    let (alice, bob) = (human(), human());
    let anonymous = session(None, "anon", now);
    store.put_session("h-anon", &anonymous).await.expect("put");
    assert_eq!(store.session("h-anon").await.expect("get"), Some(anonymous));
    assert_eq!(store.session("h-none").await.expect("get"), None);

    store
        .put_session("h-a1", &session(Some(&alice), "a1", now - 10))
        .await
        .expect("put");
    store
        .put_session("h-a2", &session(Some(&alice), "a2", now))
        .await
        .expect("put");
    store
        .put_session("h-b1", &session(Some(&bob), "b1", now))
        .await
        .expect("put");
    let labels = |list: Vec<(String, SessionRecord)>| list.into_iter().map(|(_, r)| r.label).collect::<Vec<_>>();
    assert_eq!(labels(store.sessions_of(&alice).await.expect("list")), ["a2", "a1"]);
    assert_eq!(labels(store.sessions_of(&bob).await.expect("list")), ["b1"]);

    // An update (a page view) keeps the handle; ending it ends it everywhere.
    let mut updated = session(Some(&alice), "a1", now - 10);
    updated.state.insert("extra".into(), "1".into());
    store.put_session("h-a1", &updated).await.expect("update");
    assert_eq!(store.session("h-a1").await.expect("get"), Some(updated));
    store.end_session("h-a1").await.expect("end");
    assert_eq!(store.session("h-a1").await.expect("get"), None);
    assert_eq!(labels(store.sessions_of(&alice).await.expect("list")), ["a2"]);
    store.end_session("h-a1").await.expect("ending twice is no error");

    // Past its end it is gone, whatever its human's list said.
    let mut over = session(Some(&bob), "b0", now - 7200);
    over.expires_at = now - 1;
    store.put_session("h-b0", &over).await.expect("put");
    assert_eq!(store.session("h-b0").await.expect("get"), None);
    assert_eq!(labels(store.sessions_of(&bob).await.expect("list")), ["b1"]);

    // A human who signs in again and again keeps the newest few sessions.
    let carol = human();
    for n in 0..MAX_SESSIONS_PER_HUMAN + 3 {
        let record = session(Some(&carol), &format!("c{n}"), now - 1000 + n as i64);
        store.put_session(&format!("h-c{n}"), &record).await.expect("put");
    }
    let kept = store.sessions_of(&carol).await.expect("list");
    assert_eq!(kept.len(), MAX_SESSIONS_PER_HUMAN);
    assert_eq!(kept[0].1.label, format!("c{}", MAX_SESSIONS_PER_HUMAN + 2));
    assert_eq!(store.session("h-c0").await.expect("get"), None, "the oldest ended");
}

#[tokio::test]
async fn memory_sessions_meet_the_contract() {
    session_contract(Arc::new(MemorySessions::default())).await;
}

#[tokio::test]
async fn redis_sessions_meet_the_contract() {
    let redis = RedisServer::start();
    session_contract(Arc::new(
        RedisSessions::connect(&redis.store_settings()).expect("connect"),
    ))
    .await;
}
