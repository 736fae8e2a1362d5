//! The internal PKI for mTLS between the services (`agentctl certs init`, the dev runner
//! and tests): an internal CA and one certificate + key per member, valid for its
//! Kubernetes service names and localhost, written in the layout the services read
//! (`ca.pem`, `<name>.pem`, `<name>-key.pem`).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SigningKey,
};

/// Everything that speaks internal gRPC, by the name its certificate is issued to.
pub const MEMBERS: [&str; 4] = ["identity-service", "token-service", "jwks-service", "agentctl"];

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0} already exists; refusing to overwrite a PKI")]
    Exists(PathBuf),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0} is not the internal CA's certificate and key")]
    NotACa(PathBuf),
}

/// A PEM certificate and its PEM private key.
#[derive(Debug)]
pub struct Issued {
    pub name: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// The CA (certificate and key) and everything it issued.
#[derive(Debug)]
pub struct Pki {
    pub ca: Issued,
    pub members: Vec<Issued>,
}

/// The names a member's certificate is valid for.
pub fn subject_names(name: &str, namespace: &str) -> Vec<String> {
    vec![
        name.to_owned(),
        format!("{name}.{namespace}"),
        format!("{name}.{namespace}.svc"),
        format!("{name}.{namespace}.svc.cluster.local"),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
    ]
}

/// A CA and certificates for `members`: each `(name, extra names)`.
pub fn generate(members: &[(&str, &[&str])], namespace: &str, days: i64) -> Result<Pki, PkiError> {
    let now = time::OffsetDateTime::now_utc();
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.distinguished_name = named("agentauth internal CA");
    ca_params.not_before = now - time::Duration::hours(1);
    ca_params.not_after = now + time::Duration::days(days * 10);
    let ca_key = KeyPair::generate()?;
    let ca_key_pem = ca_key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let members = issue(&ca, members, namespace, days)?;
    Ok(Pki {
        ca: Issued {
            name: "ca".into(),
            cert_pem: ca.pem(),
            key_pem: ca_key_pem,
        },
        members,
    })
}

/// New certificates and keys for `members`, signed by `issuer`, valid for `days`.
fn issue<S: SigningKey>(
    issuer: &Issuer<'_, S>,
    members: &[(&str, &[&str])],
    namespace: &str,
    days: i64,
) -> Result<Vec<Issued>, PkiError> {
    let now = time::OffsetDateTime::now_utc();
    members
        .iter()
        .map(|(name, extra)| {
            let mut names = subject_names(name, namespace);
            names.extend(extra.iter().map(|n| (*n).to_owned()));
            let mut params = CertificateParams::new(names)?;
            params.distinguished_name = named(name);
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
            params.not_before = now - time::Duration::hours(1);
            params.not_after = now + time::Duration::days(days);
            let key = KeyPair::generate()?;
            let cert = params.signed_by(&key, issuer)?;
            Ok(Issued {
                name: (*name).to_owned(),
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            })
        })
        .collect()
}

/// Renews the members' certificates under the existing CA in `ca_dir` (`ca.pem`,
/// `ca-key.pem`): every replica keeps trusting peers that still present the old
/// certificates, so replicas can be restarted one at a time. Returns the CA certificate
/// (unchanged) and the new certificates.
pub fn renew(ca_dir: &Path, members: &[(&str, &[&str])], namespace: &str, days: i64) -> Result<Pki, PkiError> {
    let read = |file: &str| {
        let path = ca_dir.join(file);
        std::fs::read_to_string(&path).map_err(|source| PkiError::Read { path, source })
    };
    let (ca_pem, ca_key_pem) = (read("ca.pem")?, read("ca-key.pem")?);
    let not_a_ca = |_| PkiError::NotACa(ca_dir.to_owned());
    let key = KeyPair::from_pem(&ca_key_pem).map_err(not_a_ca)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, key).map_err(not_a_ca)?;
    let members = issue(&issuer, members, namespace, days)?;
    Ok(Pki {
        ca: Issued {
            name: "ca".into(),
            cert_pem: ca_pem,
            key_pem: String::new(),
        },
        members,
    })
}

fn named(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "agentauth");
    name.push(DnType::CommonName, common_name);
    name
}

impl Pki {
    /// Writes `ca.pem`, `ca-key.pem` and `<name>.pem` + `<name>-key.pem` per member; keys
    /// are readable by their owner only.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, PkiError> {
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Write {
            path: dir.to_owned(),
            source,
        })?;
        let mut written = Vec::new();
        for issued in std::iter::once(&self.ca).chain(&self.members) {
            written.push(write_new(
                &dir.join(format!("{}.pem", issued.name)),
                &issued.cert_pem,
                0o644,
            )?);
            // A renewal carries no CA key: it stays where it was, offline.
            if issued.key_pem.is_empty() {
                continue;
            }
            written.push(write_new(
                &dir.join(format!("{}-key.pem", issued.name)),
                &issued.key_pem,
                0o600,
            )?);
        }
        Ok(written)
    }
}

fn write_new(path: &Path, contents: &str, mode: u32) -> Result<PathBuf, PkiError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let fail = |source| PkiError::Write {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => PkiError::Exists(path.to_owned()),
            _ => fail(e),
        })?;
    file.write_all(contents.as_bytes()).map_err(fail)?;
    Ok(path.to_owned())
}
