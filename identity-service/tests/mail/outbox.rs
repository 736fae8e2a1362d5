use identity_service::mail::{FileOutbox, MailBackend, Mailer};

use crate::eml::Parsed;
use crate::{FROM, LINK, files_in, mail, settings};

#[tokio::test]
async fn outbox_writes_one_complete_eml_per_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let outbox = FileOutbox::from_settings(&settings(MailBackend::Outbox, tmp.path())).expect("outbox");
    assert!(outbox.dir().is_dir(), "the outbox dir is created up front");

    let short = mail(
        "ada@example.com",
        "Claim your agent",
        "Hello Ada,\nyour agent is waiting.\n",
    );
    let long = mail(
        "grace@example.org",
        "Your claim link",
        &format!("Open {LINK} to claim it.\n"),
    );
    outbox.send(&short).await.expect("first send");
    outbox.send(&long).await.expect("second send");

    let files = files_in(outbox.dir());
    assert_eq!(files.len(), 2, "one file per message, no temp leftovers: {files:?}");
    let mut seen = Vec::new();
    for file in &files {
        let name = file.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
        let (millis, rest) = name.split_once('-').expect("<millis>-<random>.eml");
        assert!(millis.parse::<u64>().is_ok() && rest.ends_with(".eml"), "{name}");
        let parsed = Parsed::new(&std::fs::read_to_string(file).expect("read eml"));
        assert_eq!(parsed.header("From").as_deref(), Some(FROM));
        for required in ["Date", "Message-ID", "Content-Type", "MIME-Version"] {
            assert!(parsed.header(required).is_some(), "{required} missing in {name}");
        }
        seen.push((parsed.header("To"), parsed.header("Subject"), parsed.body));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (
                Some("ada@example.com".into()),
                Some("Claim your agent".into()),
                "Hello Ada,\nyour agent is waiting.\n".into()
            ),
            (
                Some("grace@example.org".into()),
                Some("Your claim link".into()),
                format!("Open {LINK} to claim it.\n")
            ),
        ]
    );
}

#[tokio::test]
async fn outbox_recreates_a_removed_dir() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let outbox = FileOutbox::from_settings(&settings(MailBackend::Outbox, tmp.path())).expect("outbox");
    std::fs::remove_dir(outbox.dir()).expect("remove outbox");
    outbox
        .send(&mail("ada@example.com", "Hi", "Hi.\n"))
        .await
        .expect("send");
    assert_eq!(files_in(outbox.dir()).len(), 1);
}
