//! Key material and the published key set.

mod manager;
mod material;
mod sealing;

pub use manager::{KeyManager, Published};
pub use material::{StoredKey, generate};
pub use sealing::{Kek, KekRing, SealError, Sealed};
