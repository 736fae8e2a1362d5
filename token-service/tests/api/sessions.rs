//! Human sessions live in the store, so they can end (issue 21): logging out, signing in
//! as someone else and ending a session from the account page each end it for every copy
//! of the cookie, not just the browser's own.

use crate::helpers::TestSystem;
use crate::human::{Browser, EMAIL, csrf, latest_code, spawn_mcp};

/// Signs `browser` in at the account page as `email`; the signed-in page.
async fn signed_in(system: &TestSystem, browser: &mut Browser, email: &str) -> String {
    let form = page(browser).await;
    let sent = browser
        .post("/agent/account/login", &[("csrf", &csrf(&form)), ("email", email)])
        .await;
    assert_eq!(sent.status(), 200);
    let entry = sent.text().await.expect("page");
    let code = latest_code(system.outbox.path());
    let verified = browser
        .post("/agent/account/verify", &[("csrf", &csrf(&entry)), ("code", &code)])
        .await;
    assert_eq!(verified.status(), 303);
    let signed = page(browser).await;
    assert!(signed.contains(email), "signed in as {email}");
    signed
}

async fn page(browser: &mut Browser) -> String {
    let response = browser.get("/agent/account").await;
    assert_eq!(response.status(), 200);
    response.text().await.expect("page")
}

/// A second browser holding a copy of `browser`'s cookie, as a thief would.
fn copy_of(system: &TestSystem, browser: &Browser) -> Browser {
    let mut copy = Browser::new(system);
    copy.cookie.clone_from(&browser.cookie);
    copy
}

fn is_signed_out(page: &str) -> bool {
    page.contains("/agent/account/login") && !page.contains("Signed in as")
}

#[tokio::test]
async fn logging_out_ends_the_session_for_every_copy_of_the_cookie() {
    let system = spawn_mcp().await;
    let mut browser = Browser::new(&system);
    let account = signed_in(&system, &mut browser, EMAIL).await;
    let mut stolen = copy_of(&system, &browser);
    assert!(page(&mut stolen).await.contains(EMAIL), "the copy works before");

    let logout = browser
        .post("/agent/account/logout", &[("csrf", &csrf(&account))])
        .await;
    assert_eq!(logout.status(), 303);
    assert!(
        is_signed_out(&page(&mut stolen).await),
        "the copied cookie signs no one in"
    );
    assert!(is_signed_out(&page(&mut browser).await));
}

#[tokio::test]
async fn signing_in_as_someone_else_ends_the_first_session_everywhere() {
    let system = spawn_mcp().await;
    let mut browser = Browser::new(&system);
    signed_in(&system, &mut browser, EMAIL).await;
    let mut stolen = copy_of(&system, &browser);
    signed_in(&system, &mut browser, "other@example.com").await;
    let copy = page(&mut stolen).await;
    assert!(
        is_signed_out(&copy),
        "the old session is gone, not just replaced in one jar"
    );
}

#[tokio::test]
async fn a_human_sees_their_sessions_and_ends_another_one() {
    let system = spawn_mcp().await;
    let (mut laptop, mut phone) = (Browser::new(&system), Browser::new(&system));
    signed_in(&system, &mut phone, EMAIL).await;
    let account = signed_in(&system, &mut laptop, EMAIL).await;
    let rows = account.matches("<tr id=\"session-").count();
    assert_eq!(rows, 2, "both sessions listed:\n{account}");
    assert_eq!(account.matches("(this browser)").count(), 1);
    assert!(
        !account.contains(phone.cookie.as_deref().unwrap_or("none")),
        "no cookie on the page"
    );

    // The phone's row is the one not marked as this browser.
    let phone_label = account
        .split("<tr id=\"session-")
        .skip(1)
        .find(|row| !row.split("</tr>").next().unwrap_or_default().contains("(this browser)"))
        .and_then(|row| row.split('"').next())
        .expect("the other session's label")
        .to_owned();
    let ended = laptop
        .post(
            "/agent/account/sessions/end",
            &[("csrf", &csrf(&account)), ("id", &phone_label)],
        )
        .await;
    assert_eq!(ended.status(), 303);
    assert!(is_signed_out(&page(&mut phone).await), "the phone is signed out");
    let after = page(&mut laptop).await;
    assert!(after.contains(EMAIL), "the laptop stays signed in");
    assert_eq!(after.matches("<tr id=\"session-").count(), 1);

    // Another human's sessions cannot be named from here.
    let mut stranger = Browser::new(&system);
    let theirs = signed_in(&system, &mut stranger, "stranger@example.com").await;
    let own_label = after
        .split("<tr id=\"session-")
        .nth(1)
        .and_then(|row| row.split('"').next())
        .expect("label")
        .to_owned();
    let refused = stranger
        .post(
            "/agent/account/sessions/end",
            &[("csrf", &csrf(&theirs)), ("id", &own_label)],
        )
        .await;
    assert_eq!(refused.status(), 400);
    assert!(page(&mut laptop).await.contains(EMAIL), "still signed in");
}

#[tokio::test]
async fn a_session_store_outage_is_a_503_page_with_retry_after() {
    let mut redis = shared::testing::RedisServer::start();
    let system = crate::human::spawn_mcp_on(redis.store_settings()).await;
    let mut browser = Browser::new(&system);
    signed_in(&system, &mut browser, EMAIL).await;
    redis.kill();
    let response = browser.get("/agent/account").await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    let body = response.text().await.expect("page");
    assert!(
        !body.to_lowercase().contains("redis"),
        "5xx pages reveal nothing: {body}"
    );
}
