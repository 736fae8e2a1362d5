//! Sign-in by email and a one-time code, with the claim ceremony's machinery: the same
//! 6-digit codes, the same mailer, the same rate limiter. The human is named by their
//! address (see [`human_id`]), so whoever claimed agents with an address is the human
//! who signs in with it. Codes are kept hashed; an attempt dies after
//! `max_login_failures` codes tried or `login_code_ttl`, whichever comes first.

use serde::{Deserialize, Serialize};
use shared::audit::{self, Actor};

use super::record::{HumanId, LoginAttempt, LoginId, human_id, upstream_human_id};
use super::{Authorizations, AuthorizeError, LOGIN_CODE_CONTEXT};
use crate::email::Email;
use crate::mail::Mail;
use crate::upstream::UpstreamIdentity;

/// A human who signed in, as their session keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub human: HumanId,
    pub email: Email,
    /// Unix seconds of the sign-in (at the provider, when it said).
    pub auth_time: i64,
    /// The identity provider signed in at (`humans.identity_providers[].id`); none for
    /// an emailed code.
    #[serde(default)]
    pub provider: Option<String>,
    /// Whether the address is this human's own: proven by an emailed code, or verified
    /// by a provider the operator lets link by it. Only then do agents claimed with the
    /// address belong to this human.
    #[serde(default = "proven")]
    pub email_linked: bool,
    /// The human `(provider, sub)` names, when signed in at a provider (the same as
    /// `human` unless an address linked them).
    #[serde(default)]
    pub upstream_human: Option<HumanId>,
}

/// Sessions from before providers existed signed in by emailed code.
fn proven() -> bool {
    true
}

impl Authorizations {
    /// Mails a sign-in code to `email`, for `purpose`; the attempt is what the browser's
    /// session must remember to finish it.
    pub async fn start_login(
        &self,
        email: &str,
        (purpose, client_ip): (SignInPurpose, &str),
        now: i64,
    ) -> Result<LoginId, AuthorizeError> {
        let email = Email::parse(email).map_err(|_| AuthorizeError::InvalidEmail)?;
        let human = human_id(&self.hasher, &email);
        self.limits
            .enforce(&format!("login-ip:{client_ip}"), self.settings.logins_per_ip)
            .await?;
        self.limits
            .enforce(&format!("login-human:{human}"), self.settings.logins_per_email)
            .await?;
        let id = LoginId::random();
        let code = protocol::secrets::six_digit_code();
        let ttl = self.settings.login_code_ttl.as_secs() as i64;
        let attempt = LoginAttempt {
            code_hash: self.hasher.hash(LOGIN_CODE_CONTEXT, &format!("{id}:{code}")),
            id: id.clone(),
            email: email.clone(),
            expires_at: now + ttl,
        };
        // Mail first: a mail outage stores nothing.
        self.mailer
            .send(&Mail {
                to: email,
                subject: "Your sign-in code".into(),
                text: format!(
                    "Your code to sign in at {} {} is:\n\n    {code}\n\n\
                     It works for {} minutes. If you did not ask for it, ignore this message: \
                     nothing happens without the code.\n",
                    self.issuer,
                    purpose.reason(),
                    (ttl / 60).max(1),
                ),
            })
            .await
            .map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
        self.store.put_login(&attempt, attempt.expires_at).await?;
        tracing::info!(login_id = %id, "sign-in code mailed");
        Ok(id)
    }

    /// Checks `code` against the attempt; the right one ends it and signs the human in.
    /// Each try is counted before the code is checked (one atomic increment), so a burst
    /// of parallel guesses gets `max_login_failures` codes checked, no more.
    pub async fn finish_login(&self, id: &LoginId, code: &str, now: i64) -> Result<SignedIn, AuthorizeError> {
        let tries = self.store.count_login_try(id).await?;
        let max = self.settings.max_login_failures;
        if tries == 0 || tries > max {
            return Err(AuthorizeError::LoginExpired);
        }
        let Some((attempt, _)) = self.store.login(id).await? else {
            return Err(AuthorizeError::LoginExpired);
        };
        if now >= attempt.expires_at {
            return Err(AuthorizeError::LoginExpired);
        }
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        if !well_formed
            || !self
                .hasher
                .verify(LOGIN_CODE_CONTEXT, &format!("{id}:{code}"), &attempt.code_hash)
        {
            let human = human_id(&self.hasher, &attempt.email);
            audit::record("sign_in_failed", Actor::Human, human.as_str(), "wrong_code");
            return Err(if tries >= max {
                AuthorizeError::LoginExpired
            } else {
                AuthorizeError::WrongCode
            });
        }
        // Two tabs racing with the right code: one wins.
        if !self.store.take_login(id).await? {
            return Err(AuthorizeError::LoginExpired);
        }
        let human = human_id(&self.hasher, &attempt.email);
        self.store.remember_human(&human, now).await?;
        audit::record("signed_in", Actor::Human, human.as_str(), "success");
        Ok(SignedIn {
            human,
            email: attempt.email,
            auth_time: now,
            provider: None,
            email_linked: true,
            upstream_human: None,
        })
    }

    /// The human an identity provider signed in: `(provider, sub)`, or, only where the
    /// operator set `link_by_verified_email` and the provider says the address is
    /// verified, whoever used that address before. Never a silent link otherwise.
    pub async fn upstream_signed_in(&self, identity: UpstreamIdentity, now: i64) -> Result<SignedIn, AuthorizeError> {
        let email = Email::parse(&identity.email).map_err(|_| AuthorizeError::InvalidEmail)?;
        let linked = identity.link_by_verified_email && identity.email_verified;
        let (human, upstream) = self.human_named(&identity.provider, &identity.subject, linked.then_some(&email));
        self.store.remember_human(&human, now).await?;
        audit::record("signed_in", Actor::Human, human.as_str(), "success");
        tracing::info!(provider = %identity.provider, human = %human, "signed in at an identity provider");
        Ok(SignedIn {
            human,
            email,
            auth_time: identity.auth_time.unwrap_or(now).min(now),
            provider: Some(identity.provider),
            email_linked: linked,
            upstream_human: Some(upstream),
        })
    }
}

impl Authorizations {
    /// Who `(provider, subject)` is here, and who they are at the provider: the same
    /// human, or the one who used `linked` before (an address the provider verified, of
    /// a provider allowed to link by it). Sign-in and ID-JAGs both follow this rule.
    pub(super) fn human_named(&self, provider: &str, subject: &str, linked: Option<&Email>) -> (HumanId, HumanId) {
        let upstream = upstream_human_id(&self.hasher, provider, subject);
        let human = linked.map_or_else(|| upstream.clone(), |email| human_id(&self.hasher, email));
        (human, upstream)
    }
}

/// Why a human signs in, in words of our own. The mail names nothing a client chose (a
/// self-registered `client_name` could say anything, from our sender, to any address);
/// the consent page shows the client's name beside its redirect host instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInPurpose {
    /// The human's own page, `/agent/account`.
    Account,
    /// An application asks to act for the human (the authorization endpoint).
    Authorize,
}

impl SignInPurpose {
    fn reason(self) -> &'static str {
        match self {
            Self::Account => "to manage your agents and applications",
            Self::Authorize => "to review an application's request to act for you",
        }
    }
}
