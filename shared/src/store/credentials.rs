//! What [`StoreSettings`] points at (a CA file, a password secret), read by the store, so
//! settings stay below the store and never import it.

use super::StoreError;
use crate::settings::StoreSettings;

impl StoreSettings {
    /// The private CA for `rediss://`, if configured.
    pub fn tls_certificates(&self) -> Result<Option<redis::TlsCertificates>, StoreError> {
        let Some(path) = &self.tls_ca_file else {
            return Ok(None);
        };
        let pem = std::fs::read(path)
            .map_err(|e| StoreError::Unavailable(format!("store.tls_ca_file `{}`: {e}", path.display())))?;
        Ok(Some(redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        }))
    }

    /// The AUTH password from `store.password`, if configured.
    pub fn password(&self) -> Result<Option<String>, StoreError> {
        let secret = self
            .password
            .resolve("store.password")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(secret.map(|s| String::from_utf8_lossy(s.expose()).trim().to_owned()))
    }
}
