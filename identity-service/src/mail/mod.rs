//! Outgoing mail: the claim link to the human. An SMTP sender (lettre) in production; a
//! file outbox (one `.eml` per message) as the development default.

mod outbox;
mod smtp;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, MIME_VERSION_1_0};
use serde::{Deserialize, Serialize};
use shared::settings::{SecretSetting, SettingsError};

use crate::email::Email;

pub use outbox::FileOutbox;
pub use smtp::SmtpMailer;

/// A plain-text message to one recipient.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Email,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The relay or outbox could not take the message now; the caller may retry.
    #[error("mail transport unavailable: {0}")]
    Unavailable(String),
    /// The relay refused the message for good (bad recipient, policy).
    #[error("mail rejected: {0}")]
    Rejected(String),
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailBackend {
    /// Write each message as `<dir>/<timestamp>-<id>.eml`.
    Outbox,
    Smtp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailSettings {
    pub backend: MailBackend,
    /// `From:` of every message, e.g. `agentauth <no-reply@example.com>`.
    pub from: String,
    pub outbox_dir: PathBuf,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP: only for a relay on loopback or inside the cluster.
    None,
    /// STARTTLS on the submission port (587).
    Starttls,
    /// Implicit TLS (465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Empty: no authentication.
    pub username: String,
    pub password: SecretSetting,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            backend: MailBackend::Outbox,
            from: "agentauth <no-reply@localhost.localdomain>".into(),
            outbox_dir: std::env::temp_dir().join("agentauth-outbox"),
            smtp: SmtpSettings {
                host: "localhost".into(),
                port: 587,
                security: SmtpSecurity::Starttls,
                username: String::new(),
                password: SecretSetting::default(),
                timeout: Duration::from_secs(10),
            },
        }
    }
}

/// Builds the configured mailer; errors name the bad setting.
pub fn from_settings(settings: &MailSettings) -> Result<Arc<dyn Mailer>, SettingsError> {
    Ok(match settings.backend {
        MailBackend::Outbox => Arc::new(FileOutbox::from_settings(settings)?),
        MailBackend::Smtp => Arc::new(SmtpMailer::from_settings(settings)?),
    })
}

fn parse_from(settings: &MailSettings) -> Result<Mailbox, SettingsError> {
    settings
        .from
        .parse()
        .map_err(|e| SettingsError::invalid("mail.from", format!("`{}`: {e}", settings.from)))
}

/// The RFC 5322 message both transports send; its envelope comes from From and To.
fn build_message(from: &Mailbox, mail: &Mail) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .as_str()
        .parse()
        .map_err(|e| MailError::Rejected(format!("recipient: {e}")))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.as_str())
        .date_now()
        .message_id(None)
        .header(MIME_VERSION_1_0)
        .header(ContentType::TEXT_PLAIN)
        // `body` picks 7bit, quoted-printable or base64; unlike `singlepart` it keeps the
        // text byte for byte (no extra trailing CRLF).
        .body(mail.text.clone())
        .map_err(|e| MailError::Rejected(format!("message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_key(settings: &MailSettings) -> String {
        match from_settings(settings) {
            Err(SettingsError::Invalid { key, .. }) => key,
            other => panic!("expected an invalid setting, got {other:?}"),
        }
    }

    fn smtp(change: impl FnOnce(&mut SmtpSettings)) -> MailSettings {
        let mut settings = MailSettings {
            backend: MailBackend::Smtp,
            ..MailSettings::default()
        };
        change(&mut settings.smtp);
        settings
    }

    #[test]
    fn an_unparsable_from_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        for backend in [MailBackend::Outbox, MailBackend::Smtp] {
            let settings = MailSettings {
                backend,
                from: "agentauth <not an address>".into(),
                outbox_dir: dir.path().to_owned(),
                ..MailSettings::default()
            };
            assert_eq!(invalid_key(&settings), "mail.from");
        }
    }

    #[test]
    fn bad_smtp_settings_are_named() {
        type Change = fn(&mut SmtpSettings);
        let cases: [(&str, Change); 6] = [
            ("mail.smtp.host", |s| s.host = " ".into()),
            ("mail.smtp.port", |s| s.port = 0),
            ("mail.smtp.timeout", |s| s.timeout = Duration::ZERO),
            ("mail.smtp.password", |s| s.username = "agentauth".into()),
            ("mail.smtp.username", |s| s.password.value = Some("hunter2".into())),
            ("mail.smtp.password.file", |s| {
                s.username = "agentauth".into();
                s.password.file = Some("/nonexistent/agentauth-smtp-password".into());
            }),
        ];
        for (key, change) in cases {
            assert_eq!(invalid_key(&smtp(change)), key);
        }
    }

    #[test]
    fn an_unusable_outbox_dir_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"").expect("write a plain file");
        let settings = MailSettings {
            outbox_dir: file.join("outbox"),
            ..MailSettings::default()
        };
        assert_eq!(invalid_key(&settings), "mail.outbox_dir");
    }

    #[test]
    fn defaults_build_both_backends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = MailSettings {
            outbox_dir: dir.path().join("outbox"),
            ..MailSettings::default()
        };
        from_settings(&settings).expect("outbox from defaults");
        from_settings(&smtp(|_| {})).expect("smtp from defaults");
    }
}
