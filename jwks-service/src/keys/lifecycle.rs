//! Key lifecycle `next → active → retiring → retired`, derived from each key's activation
//! time, never stored: every replica computes the same states from the same records.
//!
//! - *next*: published, not signing yet (activation in the future). Published at least
//!   `publish_ahead` before it signs, so verifier caches hold it in time.
//! - *active*: the most recently activated key; every signer signs with it.
//! - *retiring*: superseded, still published for `retire_after` (longest token or
//!   assertion lifetime + JWKS max-age + skew) so tokens it signed keep verifying.
//! - *retired*: removed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::StoredKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Next,
    Active,
    Retiring,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }
}

/// The rotation rules an operator configures.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub rotation_period: Duration,
    pub publish_ahead: Duration,
    pub retire_after: Duration,
    pub max_published: usize,
}

/// Every key with its state at one instant, oldest activation first.
#[derive(Debug, Clone)]
pub struct KeyView {
    pub keys: Vec<(StoredKey, KeyState)>,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl KeyView {
    pub fn at(mut keys: Vec<StoredKey>, now_ms: i64, schedule: &Schedule) -> Self {
        keys.sort_by_key(|k| (k.activate_at_ms, k.kid.clone()));
        let active_index = keys.iter().rposition(|k| k.activate_at_ms <= now_ms);
        let states = keys
            .iter()
            .enumerate()
            .map(|(i, key)| match active_index {
                Some(a) if i == a => KeyState::Active,
                _ if key.activate_at_ms > now_ms => KeyState::Next,
                // Superseded: retiring until its successor has signed for `retire_after`.
                _ => {
                    let successor_since = keys[i + 1].activate_at_ms;
                    if now_ms < successor_since + ms(schedule.retire_after) {
                        KeyState::Retiring
                    } else {
                        KeyState::Retired
                    }
                }
            })
            .collect::<Vec<_>>();
        let mut view = Self {
            keys: keys.into_iter().zip(states).collect(),
        };
        view.cap_published(schedule.max_published);
        view
    }

    /// Beyond `max_published`, the oldest retiring keys retire early.
    fn cap_published(&mut self, max: usize) {
        let mut excess = self.published().count().saturating_sub(max.max(2));
        for (_, state) in &mut self.keys {
            if excess > 0 && *state == KeyState::Retiring {
                *state = KeyState::Retired;
                excess -= 1;
            }
        }
    }

    pub fn active(&self) -> Option<&StoredKey> {
        self.with_state(KeyState::Active).next()
    }

    pub fn next_key(&self) -> Option<&StoredKey> {
        self.with_state(KeyState::Next).next()
    }

    pub fn with_state(&self, state: KeyState) -> impl Iterator<Item = &StoredKey> {
        self.keys.iter().filter(move |(_, s)| *s == state).map(|(k, _)| k)
    }

    /// What verifiers must accept: next, active and retiring keys.
    pub fn published(&self) -> impl Iterator<Item = &StoredKey> {
        self.keys
            .iter()
            .filter(|(_, s)| *s != KeyState::Retired)
            .map(|(k, _)| k)
    }

    /// When the next key must activate to keep the period, if none is scheduled yet and
    /// the time to publish it has come. It is generated two publish-ahead periods before
    /// its slot, so a scheduler that only wakes every tick still publishes it at least
    /// `publish_ahead` early without pushing the slot (rotations do not drift); only a
    /// scheduler that was down past that moves the slot out.
    pub fn next_slot_due(&self, now_ms: i64, schedule: &Schedule) -> Option<i64> {
        if self.next_key().is_some() {
            return None;
        }
        let Some(active) = self.active() else {
            return Some(now_ms);
        };
        let slot = active.activate_at_ms + ms(schedule.rotation_period);
        let ahead = ms(schedule.publish_ahead);
        (now_ms >= slot - 2 * ahead).then(|| slot.max(now_ms + ahead))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Kek, generate};

    fn schedule() -> Schedule {
        Schedule {
            rotation_period: Duration::from_millis(1000),
            publish_ahead: Duration::from_millis(200),
            retire_after: Duration::from_millis(300),
            max_published: 4,
        }
    }

    fn key(activate_at_ms: i64) -> StoredKey {
        let mut key = generate(protocol::jose::Algorithm::ES256, 0, &Kek::ephemeral()).expect("key");
        key.activate_at_ms = activate_at_ms;
        key
    }

    fn states(view: &KeyView) -> Vec<KeyState> {
        view.keys.iter().map(|(_, s)| *s).collect()
    }

    #[test]
    fn states_follow_activation_times() {
        let keys = vec![key(0), key(1000), key(2000)];
        use KeyState::*;
        assert_eq!(
            states(&KeyView::at(keys.clone(), 500, &schedule())),
            [Active, Next, Next]
        );
        assert_eq!(
            states(&KeyView::at(keys.clone(), 1100, &schedule())),
            [Retiring, Active, Next]
        );
        assert_eq!(
            states(&KeyView::at(keys.clone(), 1300, &schedule())),
            [Retired, Active, Next]
        );
        assert_eq!(
            states(&KeyView::at(keys, 2100, &schedule())),
            [Retired, Retiring, Active]
        );
    }

    #[test]
    fn the_next_slot_is_due_publish_ahead_before_rotation() {
        let s = schedule();
        assert_eq!(
            KeyView::at(vec![], 50, &s).next_slot_due(50, &s),
            Some(50),
            "first key at once"
        );
        let view = KeyView::at(vec![key(0)], 500, &s);
        assert_eq!(view.next_slot_due(500, &s), None, "not yet");
        assert_eq!(view.next_slot_due(600, &s), Some(1000), "published early, slot kept");
        assert_eq!(
            view.next_slot_due(790, &s),
            Some(1000),
            "a late tick keeps the slot too"
        );
        assert_eq!(view.next_slot_due(1500, &s), Some(1700), "late: still published ahead");
        let scheduled = KeyView::at(vec![key(0), key(1000)], 900, &s);
        assert_eq!(scheduled.next_slot_due(900, &s), None, "already scheduled");
    }

    #[test]
    fn published_keys_are_capped_by_retiring_the_oldest_early() {
        let mut s = schedule();
        s.retire_after = Duration::from_secs(60);
        s.max_published = 3;
        let view = KeyView::at(vec![key(0), key(100), key(200), key(300)], 350, &s);
        assert_eq!(view.published().count(), 3);
        assert_eq!(states(&view)[0], KeyState::Retired);
    }
}
