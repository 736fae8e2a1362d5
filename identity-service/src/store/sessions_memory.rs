use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use shared::store::StoreError;
use shared::time::unix_now;

use crate::authorize::record::HumanId;
use crate::authorize::store::{MAX_SESSIONS_PER_HUMAN, SessionRecord, SessionStore};

/// Sessions of the all-in-one runner and unit tests. Expired ones are swept whenever one
/// is stored: humans start sessions at human speed.
#[derive(Debug, Default)]
pub struct MemorySessions {
    sessions: Mutex<HashMap<String, SessionRecord>>,
}

impl MemorySessions {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionRecord>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let now = unix_now();
        sessions.retain(|_, record| record.expires_at > now);
        sessions
    }
}

#[async_trait::async_trait]
impl SessionStore for MemorySessions {
    async fn put_session(&self, handle: &str, record: &SessionRecord) -> Result<(), StoreError> {
        let mut sessions = self.live();
        sessions.insert(handle.to_owned(), record.clone());
        if let Some(human) = &record.human {
            let mut own: Vec<(String, i64)> = sessions
                .iter()
                .filter(|(_, r)| r.human.as_ref() == Some(human))
                .map(|(h, r)| (h.clone(), r.created_at))
                .collect();
            own.sort_by_key(|(h, created)| (std::cmp::Reverse(*created), h != handle));
            for (oldest, _) in own.into_iter().skip(MAX_SESSIONS_PER_HUMAN) {
                sessions.remove(&oldest);
            }
        }
        Ok(())
    }

    async fn session(&self, handle: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.live().get(handle).cloned())
    }

    async fn end_session(&self, handle: &str) -> Result<(), StoreError> {
        self.live().remove(handle);
        Ok(())
    }

    async fn sessions_of(&self, human: &HumanId) -> Result<Vec<(String, SessionRecord)>, StoreError> {
        let mut own: Vec<(String, SessionRecord)> = self
            .live()
            .iter()
            .filter(|(_, r)| r.human.as_ref() == Some(human) || r.upstream.as_ref() == Some(human))
            .map(|(h, r)| (h.clone(), r.clone()))
            .collect();
        own.sort_by_key(|(_, r)| std::cmp::Reverse(r.created_at));
        Ok(own)
    }
}
