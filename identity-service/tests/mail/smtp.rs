use std::net::TcpListener;
use std::time::{Duration, Instant};

use identity_service::mail::{MailBackend, MailError, from_settings};

use crate::eml::Parsed;
use crate::sink::SmtpSink;
use crate::{FROM, LINK, mail, settings};

#[tokio::test]
async fn smtp_delivers_to_a_real_server() {
    let sink = SmtpSink::start();
    let mut settings = settings(MailBackend::Smtp, sink.tmp.path());
    settings.smtp.port = sink.port;
    let mailer = from_settings(&settings).expect("smtp mailer");

    let text = format!("Hello Ada,\nopen {LINK} to claim your agent.\n");
    mailer
        .send(&mail("ada@example.com", "Claim your agent", &text))
        .await
        .expect("send");

    // The server answers 250 to DATA only after the handler stored the message.
    let delivered = sink.delivered();
    assert_eq!(delivered.len(), 1);
    let parsed = Parsed::new(&delivered[0]);
    assert_eq!(parsed.header("X-RcptTo").as_deref(), Some("ada@example.com"));
    assert_eq!(parsed.header("X-MailFrom").as_deref(), Some("no-reply@agentauth.test"));
    assert_eq!(parsed.header("To").as_deref(), Some("ada@example.com"));
    assert_eq!(parsed.header("From").as_deref(), Some(FROM));
    assert_eq!(parsed.header("Subject").as_deref(), Some("Claim your agent"));
    // lettre ends DATA with CRLF.CRLF even after a final CRLF: one blank line more, which
    // readers and DKIM canonicalization both ignore.
    assert_eq!(parsed.body, format!("{text}\n"));
}

#[tokio::test]
async fn smtp_refusal_is_rejected_not_unavailable() {
    let sink = SmtpSink::start();
    let mut settings = settings(MailBackend::Smtp, sink.tmp.path());
    settings.smtp.port = sink.port;
    let mailer = from_settings(&settings).expect("smtp mailer");

    let error = mailer
        .send(&mail("bounce@example.com", "Hi", "Hi.\n"))
        .await
        .expect_err("550 on RCPT");
    assert!(matches!(error, MailError::Rejected(_)), "{error:?}");
    assert!(sink.delivered().is_empty());
}

async fn assert_unavailable_within(port: u16, timeout: Duration) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut settings = settings(MailBackend::Smtp, tmp.path());
    settings.smtp.port = port;
    settings.smtp.timeout = timeout;
    let mailer = from_settings(&settings).expect("smtp mailer");

    let started = Instant::now();
    let error = mailer
        .send(&mail("ada@example.com", "Hi", "Hi.\n"))
        .await
        .expect_err("no relay");
    assert!(matches!(error, MailError::Unavailable(_)), "{error:?}");
    assert!(
        started.elapsed() < timeout + Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn smtp_to_a_closed_port_is_unavailable() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    assert_unavailable_within(port, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn smtp_to_a_silent_server_times_out_as_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Accepts (the kernel backlog does it) but never sends the 220 greeting.
    assert_unavailable_within(port, Duration::from_millis(500)).await;
    drop(listener);
}
