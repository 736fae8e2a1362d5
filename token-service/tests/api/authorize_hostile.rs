//! What the authorization endpoint refuses, each an exact error: before the client and
//! its redirect URI are known good, a page that sends the browser nowhere; after, an RFC
//! 6749 §4.1.2.1 error at the redirect URI with `state` and `iss`. Then the sign-in and
//! session defences: CSRF, session fixation, wrong codes, rate limits.

use crate::helpers::ISSUER;
use crate::human::{Authorization, Browser, EMAIL, csrf, decide, public_client, redirect_params, sign_in, spawn_mcp};

#[tokio::test]
async fn errors_before_the_redirect_uri_is_trusted_are_pages_and_never_redirects() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    for (case, extra) in [
        (
            "a redirect URI one character off",
            vec![("redirect_uri", "http://127.0.0.1:33418/callbacks")],
        ),
        ("an open redirect", vec![("redirect_uri", "https://evil.example/steal")]),
        (
            "an unknown client",
            vec![("client_id", "cli_00000000000000000000000000000000")],
        ),
        ("no client", vec![("client_id", "")]),
    ] {
        let response = browser.authorize(&Authorization::with(&client_id, &extra)).await;
        assert_eq!(response.status(), 400, "{case}");
        assert!(
            response.headers().get("location").is_none(),
            "{case}: never sent anywhere"
        );
        assert!(
            response.text().await.expect("page").contains("Cannot continue"),
            "{case}"
        );
    }
}

#[tokio::test]
async fn protocol_errors_go_back_to_the_client_with_state_and_iss() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    for (extra, error) in [
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("scope", "admin")], "invalid_scope"),
        (vec![("resource", "https://elsewhere.example/api")], "invalid_target"),
        (vec![("prompt", "none")], "login_required"),
    ] {
        let authorization = Authorization::with(&client_id, &extra);
        let response = browser.authorize(&authorization).await;
        let params = redirect_params(&response);
        assert_eq!(params["error"], error, "{extra:?}");
        assert_eq!(params["state"], authorization.state);
        assert_eq!(params["iss"], ISSUER);
        assert!(!params.contains_key("code"));
    }
    let authorization = Authorization::with(&client_id, &[("code_challenge_method", "plain")]);
    let params = redirect_params(&browser.authorize(&authorization).await);
    assert!(params["error_description"].contains("S256"), "{params:?}");
}

#[tokio::test]
async fn denying_sends_access_denied_and_a_forged_consent_is_refused() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let consent = sign_in(&system, &mut browser, &authorization, EMAIL).await;
    let page = consent.text().await.expect("page");

    // CSRF: the human's own session, but a token the page never gave.
    let forged = browser
        .post(
            "/oauth2/authorize/consent",
            &[
                ("request", &authorization.query),
                ("csrf", "forged"),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("location").is_none());
    // Another browser with no session at all, posting the real token.
    let mut stranger = Browser::new(&system);
    let token = csrf(&page);
    let forged = stranger
        .post(
            "/oauth2/authorize/consent",
            &[
                ("request", &authorization.query),
                ("csrf", &token),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(forged.status(), 403);

    let denied = decide(&mut browser, &authorization, &page, "deny").await;
    let params = redirect_params(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], authorization.state);
}

#[tokio::test]
async fn a_session_cookie_from_before_sign_in_is_never_signed_in() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    // The cookie an attacker could plant: the one the login page set.
    let login = browser.authorize(&authorization).await;
    assert_eq!(login.status(), 200);
    let planted = browser.cookie.clone().expect("a session cookie");
    let consent = sign_in(&system, &mut browser, &authorization, EMAIL).await;
    assert_eq!(consent.status(), 200);
    assert_ne!(
        browser.cookie.as_deref(),
        Some(planted.as_str()),
        "signing in renews the session"
    );

    let mut attacker = Browser::new(&system);
    attacker.cookie = Some(planted);
    let page = attacker.authorize(&authorization).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("page");
    assert!(
        html.contains("Sign in") && !html.contains("Allow access?"),
        "still signed out"
    );
}

#[tokio::test]
async fn wrong_sign_in_codes_are_counted_and_the_attempt_dies() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let token = crate::human::send_code(&mut browser, &authorization, EMAIL).await;
    let right = crate::human::latest_code(system.outbox.path());
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let form = |code: &str| {
        vec![
            ("request".to_owned(), authorization.query.clone()),
            ("csrf".to_owned(), token.clone()),
            ("code".to_owned(), code.to_owned()),
        ]
    };
    for n in 1..=5 {
        let fields = form(wrong);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let response = browser.post("/oauth2/authorize/verify", &pairs).await;
        assert_eq!(response.status(), 400, "wrong code {n}");
        let page = response.text().await.expect("page");
        let expected = if n < 5 { "not right" } else { "expired or was used" };
        assert!(page.contains(expected), "wrong code {n}: {page}");
    }
    let fields = form(&right);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let response = browser.post("/oauth2/authorize/verify", &pairs).await;
    assert_eq!(
        response.status(),
        400,
        "even the right code is refused after five wrong ones"
    );
    assert!(response.text().await.expect("page").contains("expired or was used"));
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_gets_five_codes_checked_and_no_more() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let token = crate::human::send_code(&mut browser, &authorization, EMAIL).await;
    let right = crate::human::latest_code(system.outbox.path());
    let cookie = browser.cookie.clone().expect("the session");
    let url = system.identity_url("/oauth2/authorize/verify");
    let guesses: Vec<_> = (0..40)
        .map(|n| format!("{:06}", (n * 7919) % 1_000_000))
        .filter(|guess| *guess != right)
        .take(30)
        .map(|guess| {
            let (url, cookie, query, token) = (url.clone(), cookie.clone(), authorization.query.clone(), token.clone());
            tokio::spawn(async move {
                let response = reqwest::Client::new()
                    .post(url)
                    .header("cookie", cookie)
                    .form(&[("request", query.as_str()), ("csrf", &token), ("code", &guess)])
                    .send()
                    .await
                    .expect("reachable");
                response.text().await.expect("page").contains("not right")
            })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        checked += usize::from(guess.await.expect("task"));
    }
    println!("30 parallel guesses: {checked} told the code was wrong, the rest that the attempt is over");
    assert!(
        checked <= 4,
        "at most four wrong codes are checked before the fifth ends it: {checked}"
    );
    let response = browser
        .post(
            "/oauth2/authorize/verify",
            &[("request", &authorization.query), ("csrf", &token), ("code", &right)],
        )
        .await;
    assert!(response.text().await.expect("page").contains("expired or was used"));
}

#[tokio::test]
async fn one_human_gets_a_bounded_number_of_codes() {
    let system = crate::human::spawn_mcp_with(crate::helpers::memory(), |identity| {
        identity.authorize.authorizations_per_human.max = 3;
    })
    .await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    crate::human::authorize_fully(&system, &mut browser, &Authorization::new(&client_id)).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = browser.authorize(&Authorization::new(&client_id)).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [303, 303, 429], "the fourth code in the window is refused");
}

#[tokio::test]
async fn a_loopback_redirect_may_change_its_port_and_nothing_else() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let moved = "http://127.0.0.1:50999/callback";
    let authorization = Authorization::with(&client_id, &[("redirect_uri", moved)]);
    let login = browser.authorize(&authorization).await;
    assert_eq!(login.status(), 200, "RFC 8252 §7.3: any port");
    let elsewhere = Authorization::with(&client_id, &[("redirect_uri", "http://127.0.0.1:50999/other")]);
    assert_eq!(browser.authorize(&elsewhere).await.status(), 400);
    let localhost = Authorization::with(&client_id, &[("redirect_uri", "http://localhost:33418/callback")]);
    assert_eq!(
        browser.authorize(&localhost).await.status(),
        400,
        "another host is another URI"
    );
}

#[tokio::test]
async fn sign_in_codes_are_rate_limited_per_address() {
    let system = spawn_mcp().await;
    let client_id = public_client(&system, "Inspector").await;
    let mut browser = Browser::new(&system);
    let authorization = Authorization::new(&client_id);
    let login = browser.authorize(&authorization).await;
    let token = csrf(&login.text().await.expect("page"));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let sent = browser
            .post(
                "/oauth2/authorize/login",
                &[("request", &authorization.query), ("csrf", &token), ("email", EMAIL)],
            )
            .await;
        statuses.push(sent.status().as_u16());
        if sent.status() == 429 {
            assert!(sent.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 429],
        "five codes per address per window"
    );
}
