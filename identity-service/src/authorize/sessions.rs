//! A human's browser sessions, as their account page shows them: each by a label of
//! its own (never its id), when it began and ends, and which one is this browser's.
//! Ending one ends it for every copy of its cookie.

use super::record::upstream_human_id;
use super::{Authorizations, AuthorizeError, SignedIn};

/// Where the session middleware keeps the browser's state (`crate::http::session`).
const BROWSER_STATE: &str = "browser";

/// One live session of a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub label: String,
    pub started_at: i64,
    pub ends_at: i64,
    /// The identity provider it was signed in at (its id); none for an emailed code.
    pub signed_in_with: Option<String>,
}

/// The identity provider a stored session was signed in at, from the browser state the
/// session middleware keeps in it.
fn signed_in_with(record: &super::store::SessionRecord) -> Option<String> {
    record
        .state
        .get(BROWSER_STATE)
        .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw).ok())
        .and_then(|browser| browser["signed_in"]["provider"].as_str().map(str::to_owned))
}

impl Authorizations {
    /// The human's live sessions, newest first.
    pub async fn sessions_of(&self, who: &SignedIn) -> Result<Vec<SessionView>, AuthorizeError> {
        Ok(self
            .sessions
            .sessions_of(&who.human)
            .await?
            .into_iter()
            .map(|(_, record)| SessionView {
                signed_in_with: signed_in_with(&record),
                label: record.label,
                started_at: record.created_at,
                ends_at: record.expires_at,
            })
            .collect())
    }

    /// Ends the human's session labelled `label`; `false` when they have none by that
    /// label (another human's sessions are never found this way).
    pub async fn end_own_session(&self, who: &SignedIn, label: &str) -> Result<bool, AuthorizeError> {
        let own = self.sessions.sessions_of(&who.human).await?;
        let Some((handle, _)) = own
            .into_iter()
            .find(|(_, record)| !label.is_empty() && record.label == label)
        else {
            return Ok(false);
        };
        self.sessions.end_session(&handle).await?;
        tracing::info!(human = %who.human, "session ended from the account page");
        Ok(true)
    }

    /// OpenID Connect Back-Channel Logout: ends, on every replica, each session in which
    /// `subject` signed in at `provider` (and no session of the same human begun another
    /// way); how many.
    pub async fn end_upstream_sessions(&self, provider: &str, subject: &str) -> Result<usize, AuthorizeError> {
        let upstream = upstream_human_id(&self.hasher, provider, subject);
        let mut ended = 0;
        for (handle, record) in self.sessions.sessions_of(&upstream).await? {
            if signed_in_with(&record).as_deref() == Some(provider) {
                self.sessions.end_session(&handle).await?;
                ended += 1;
            }
        }
        shared::audit::record(
            "signed_out",
            shared::audit::Actor::Provider(provider),
            upstream.as_str(),
            "success",
        );
        tracing::info!(%provider, human = %upstream, ended, "back-channel logout");
        Ok(ended)
    }
}
