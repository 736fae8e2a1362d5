//! The production mailer: hands each message to an SMTP relay (lettre, rustls).

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::{self, AsyncSmtpTransport};
use lettre::{AsyncTransport, Tokio1Executor};
use shared::settings::SettingsError;

use super::{Mail, MailError, MailSettings, Mailer, SmtpSecurity, SmtpSettings, build_message, parse_from};

const PASSWORD_KEY: &str = "mail.smtp.password";

/// One connection per message: claim mail is rare, and a fresh connection survives relay
/// restarts without a pool to heal.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    security: SmtpSecurity,
    timeout: Duration,
}

impl SmtpMailer {
    pub fn from_settings(settings: &MailSettings) -> Result<Self, SettingsError> {
        let from = parse_from(settings)?;
        let smtp = &settings.smtp;
        let host = smtp.host.trim();
        if host.is_empty() {
            return Err(SettingsError::invalid("mail.smtp.host", "must not be empty"));
        }
        if smtp.port == 0 {
            return Err(SettingsError::invalid("mail.smtp.port", "must not be 0"));
        }
        if smtp.timeout.is_zero() {
            return Err(SettingsError::invalid("mail.smtp.timeout", "must be positive"));
        }
        let mut builder = match smtp.security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| SettingsError::invalid("mail.smtp.security", e.to_string()))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| SettingsError::invalid("mail.smtp.security", e.to_string()))?,
        }
        .port(smtp.port)
        .timeout(Some(smtp.timeout));
        if let Some(credentials) = credentials(smtp)? {
            builder = builder.credentials(credentials);
        }
        Ok(Self {
            transport: builder.build(),
            from,
            host: host.to_owned(),
            port: smtp.port,
            security: smtp.security,
            timeout: smtp.timeout,
        })
    }
}

/// A username needs a password and the reverse: either alone is a typo, not a choice.
fn credentials(smtp: &SmtpSettings) -> Result<Option<Credentials>, SettingsError> {
    let password = smtp.password.resolve(PASSWORD_KEY)?;
    match (smtp.username.is_empty(), password) {
        (true, None) => Ok(None),
        (true, Some(_)) => Err(SettingsError::invalid(
            "mail.smtp.username",
            "empty while mail.smtp.password is set",
        )),
        (false, None) => Err(SettingsError::invalid(
            PASSWORD_KEY,
            "required when mail.smtp.username is set",
        )),
        (false, Some(secret)) => {
            let password = String::from_utf8(secret.expose().to_vec())
                .map_err(|_| SettingsError::invalid(PASSWORD_KEY, "not UTF-8"))?;
            Ok(Some(Credentials::new(smtp.username.clone(), password)))
        }
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail)?;
        // lettre's async transport bounds only the TCP connect; a relay that stalls after
        // accepting would hold the caller forever, so the timeout covers the whole exchange.
        let outcome = tokio::time::timeout(self.timeout, self.transport.send(message)).await;
        let error = match outcome {
            Ok(Ok(response)) => {
                tracing::info!(code = %response.code(), "mail accepted by relay");
                return Ok(());
            }
            Ok(Err(e)) => classify(&e),
            Err(_) => MailError::Unavailable(format!("no reply from the relay within {:?}", self.timeout)),
        };
        tracing::warn!(host = %self.host, port = self.port, %error, "mail not sent");
        Err(error)
    }
}

/// Only a 5xx reply is final; connection, TLS, timeout and 4xx failures may pass on retry.
fn classify(e: &smtp::Error) -> MailError {
    if e.is_permanent() {
        MailError::Rejected(e.to_string())
    } else {
        MailError::Unavailable(e.to_string())
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("timeout", &self.timeout)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}
