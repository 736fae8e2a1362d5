//! Key material and the published key set.

mod manager;
mod material;

pub use manager::{KeyManager, Published};
pub use material::{StoredKey, generate};
