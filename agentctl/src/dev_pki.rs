//! The dev runner's ephemeral PKI: a fresh CA and certificates at every start, so the
//! services talk mTLS in development exactly as in production. The one gRPC port hosts
//! all three services, so it presents a certificate carrying all their names.

use std::path::Path;

use shared::pki::{MEMBERS, PkiError};
use shared::tls::InternalTls;

/// The name of the certificate the all-in-one gRPC port presents.
pub const DEV_SERVER: &str = "agentauth-dev";
const SERVICES: [&str; 3] = ["identity-service", "token-service", "jwks-service"];

/// Writes a fresh PKI into `dir` (replacing one a previous run left there) and returns
/// the server side of it.
pub fn prepare(dir: &Path) -> Result<InternalTls, PkiError> {
    let mut members: Vec<(&str, &[&str])> = MEMBERS.iter().map(|m| (*m, &[][..])).collect();
    members.push((DEV_SERVER, &SERVICES));
    for name in MEMBERS.iter().chain([&"ca", &DEV_SERVER]) {
        for file in [format!("{name}.pem"), format!("{name}-key.pem")] {
            match std::fs::remove_file(dir.join(&file)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(PkiError::Write {
                        path: dir.join(file),
                        source: e,
                    });
                }
                _ => {}
            }
        }
    }
    shared::pki::generate(&members, "agentauth", 30)?.write(dir)?;
    InternalTls::from_dir(dir, DEV_SERVER, "--tls-dir").map_err(|e| PkiError::Write {
        path: dir.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })
}
