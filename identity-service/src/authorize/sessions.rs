//! A human's browser sessions, as their account page shows them: each by a label of
//! its own (never its id), when it began and ends, and which one is this browser's.
//! Ending one ends it for every copy of its cookie.

use super::{Authorizations, AuthorizeError, SignedIn};

/// One live session of a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub label: String,
    pub started_at: i64,
    pub ends_at: i64,
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
}
