//! Mail transports against real sinks: the file outbox in a temp dir, and SMTP against a
//! real `aiosmtpd` server (a Python subprocess) delivering into a maildir.

mod eml;
mod outbox;
mod sink;
mod smtp;

use std::path::{Path, PathBuf};
use std::time::Duration;

use identity_service::email::Email;
use identity_service::mail::{Mail, MailBackend, MailSettings, SmtpSecurity};

pub const FROM: &str = "agentauth <no-reply@agentauth.test>";
/// Over 76 characters on one line, so lettre picks quoted-printable.
pub const LINK: &str = "https://agentauth.test/claim?registration=reg_0123456789abcdef&code=Zm9vYmFyYmF6cXV4cXV1eA";

pub fn mail(to: &str, subject: &str, text: &str) -> Mail {
    Mail {
        to: Email::parse(to).expect("test address"),
        subject: subject.into(),
        text: text.into(),
    }
}

pub fn settings(backend: MailBackend, dir: &Path) -> MailSettings {
    let mut settings = MailSettings {
        backend,
        from: FROM.into(),
        outbox_dir: dir.join("outbox"),
        ..MailSettings::default()
    };
    settings.smtp.security = SmtpSecurity::None;
    settings.smtp.host = "127.0.0.1".into();
    settings.smtp.timeout = Duration::from_secs(5);
    settings
}

pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| entry.expect("dir entry").path())
        .collect();
    files.sort();
    files
}
