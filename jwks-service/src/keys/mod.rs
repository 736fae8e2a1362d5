//! Key material and the published key set.

mod lifecycle;
mod manager;
mod material;
mod sealing;
pub mod store;

pub use lifecycle::{KeyState, KeyView, Schedule};
pub use manager::{KeyManager, Published};
pub use material::{StoredKey, generate};
pub use sealing::{Kek, KekRing, SealError, Sealed};
