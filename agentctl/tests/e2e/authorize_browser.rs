//! The authorization code flow with a real browser, against the all-in-one: a public
//! client registers (RFC 7591) with a loopback redirect URI served by this test;
//! headless Chromium signs in with the mailed code, consents, and is sent back with
//! `code`, `state` and `iss` (through the consent page's CSP `form-action`); the client
//! redeems the code; then the human revokes the consent on their account page and the
//! refresh token dies.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use protocol::oauth::pkce::CodeChallenge;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::{DevServer, str_field};

/// A loopback "native client": answers every request with a small page and reports
/// each request's target.
pub(crate) fn callback_server() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (sender, targets) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let target = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 28\r\nconnection: close\r\n\r\n<p id=\"done\">signed in</p>\r\n",
            );
            if sender.send(target).is_err() {
                break;
            }
        }
    });
    (port, targets)
}

#[tokio::test]
async fn a_human_signs_in_consents_and_later_revokes_in_a_real_browser() {
    let server = DevServer::start();
    let base = &server.http;
    let http = reqwest::Client::new();
    let (port, callbacks) = callback_server();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let registered: Value = http
        .post(format!("{base}/oauth2/register"))
        .json(&json!({
            "client_name": "Browser Test Client",
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        }))
        .send()
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    let client_id = str_field(&registered, "client_id").to_owned();

    let verifier = protocol::secrets::random_token(48);
    let state = protocol::secrets::random_token(12);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "agent:read")
        .append_pair("state", &state)
        .append_pair("code_challenge", &CodeChallenge::s256_of(&verifier))
        .append_pair("code_challenge_method", "S256")
        .finish();

    let browser = Browser::launch().await;
    browser.open(&format!("{base}/oauth2/authorize?{query}")).await;
    browser.type_into("#email", "ada@example.com").await;
    browser.click("#send").await;
    // The code page has loaded, so the mail it announces is in the outbox.
    browser.find("#code").await;
    let code = crate::outbox::latest_sign_in_code(server.outbox.path());
    browser.type_into("#code", &code).await;
    browser.click("#verify").await;
    assert_eq!(browser.text("#client").await, "Browser Test Client");
    assert_eq!(browser.text("#host").await, "127.0.0.1", "the redirect URI's host");
    browser.click("#allow").await;
    assert_eq!(
        browser.text("#done").await,
        "signed in",
        "the browser reached the client"
    );
    assert!(browser.current_url().await.starts_with(&redirect_uri));
    let target = callbacks.recv().expect("the redirect reached the client");
    let back: std::collections::HashMap<String, String> = url::Url::parse(&format!("http://client{target}"))
        .expect("target")
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(back["state"], state);
    assert_eq!(back["iss"], *base, "RFC 9207");

    let tokens: Value = http
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", back["code"].as_str()),
            ("client_id", client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    let refresh = str_field(&tokens, "refresh_token").to_owned();
    assert!(str_field(&tokens, "access_token").contains('.'));

    browser.open(&format!("{base}/agent/account")).await;
    assert!(browser.text("#grants").await.contains("Browser Test Client"));
    let source = browser.page_source().await;
    let at = source.find("id=\"revoke-gnt_").expect("a revoke button") + "id=\"".len();
    let button = &source[at..at + "revoke-gnt_".len() + 32];
    browser.click(&format!("#{button}")).await;
    assert!(browser.text("#notice").await.starts_with("Revoked"));
    assert!(browser.text("#grants").await.contains("revoked"));
    browser.close().await;

    let refused = http
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .expect("reachable");
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");
}
