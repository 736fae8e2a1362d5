//! The mailed link: a fresh attempt for one email, and the mail that carries it. The mail
//! goes out before the attempt is stored, so a mail outage leaves nothing behind to
//! withdraw.

use super::{ClaimCeremony, VIEW_TOKEN_CONTEXT};
use crate::email::Email;
use crate::error::IdentityError;
use crate::mail::Mail;
use crate::registration::{AttemptId, ClaimAttempt, RegistrationId, SecretHandle};

/// An attempt not stored yet, and the link handle that will open it.
#[derive(Debug, Clone)]
pub(super) struct NewAttempt {
    pub attempt: ClaimAttempt,
    pub view: SecretHandle,
}

impl ClaimCeremony {
    /// A new attempt for `email` on registration `id`.
    pub(super) fn new_attempt(&self, id: &RegistrationId, email: Email, now: i64) -> NewAttempt {
        let view = SecretHandle::generate(id);
        let attempt = ClaimAttempt {
            id: AttemptId::random(),
            email,
            view_token_hash: view.hash(&self.hasher, VIEW_TOKEN_CONTEXT),
            link_expires_at: now + self.settings.link_ttl.as_secs() as i64,
            otp: None,
        };
        NewAttempt { attempt, view }
    }

    /// Mails the attempt's link to its email.
    pub(super) async fn send_link(&self, new: &NewAttempt, id: &RegistrationId) -> Result<(), IdentityError> {
        let link = format!("{}?token={}", self.url("/agent/identity/claim/view"), new.view);
        let minutes = self.settings.link_ttl.as_secs().div_ceil(60);
        let mail = Mail {
            to: new.attempt.email.clone(),
            subject: "Confirm an AI agent for your account".into(),
            text: format!(
                "An AI agent (registration {id}) asked to be linked to this email address.\n\n\
                 If that was you, open this link within {minutes} minutes, press the button, and\n\
                 give the code it shows to your agent:\n\n{link}\n\n\
                 If you did not expect this, ignore this message: nothing happens without the code.\n"
            ),
        };
        self.mailer.send(&mail).await.map_err(|error| {
            tracing::warn!(registration_id = %id, %error, "claim link not sent");
            IdentityError::MailUnavailable(error.to_string())
        })
    }
}

/// Records that a claim attempt went out.
pub(super) fn audit_claim_started(id: &RegistrationId) {
    let registration_id = id.as_str();
    shared::audit::record(
        "claim_started",
        shared::audit::Actor::Registration(registration_id),
        registration_id,
        "success",
    );
}
