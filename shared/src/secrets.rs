//! Secret files: a pepper or a key as Kubernetes mounts it. The secrets themselves, and
//! their keyed hashes, are `protocol::secrets`'.

use std::path::Path;

use protocol::secrets::Secret;

/// Reads a secret file (trailing newline trimmed, as `kubectl create secret` leaves one).
pub fn read_secret(path: &Path) -> std::io::Result<Secret> {
    let mut bytes = std::fs::read(path)?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "secret file is empty",
        ));
    }
    Ok(Secret::new(bytes))
}

/// A PKCS#8 private key from a PEM file (`-----BEGIN PRIVATE KEY-----`), as DER.
pub fn read_pkcs8_pem(path: &Path) -> Result<Secret, String> {
    use rustls::pki_types::PrivatePkcs8KeyDer;
    use rustls::pki_types::pem::PemObject as _;
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let der = PrivatePkcs8KeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("{}: not a PKCS#8 private key in PEM: {e}", path.display()))?;
    Ok(Secret::new(der.secret_pkcs8_der().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_lose_their_trailing_newline_and_debug_hides_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pepper");
        std::fs::write(&path, "abc\n").expect("write");
        let secret = read_secret(&path).expect("read");
        assert_eq!(secret.expose(), b"abc");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        std::fs::write(&path, "\n").expect("write");
        assert!(read_secret(&path).is_err());
    }
}
