//! Internal mTLS for gRPC between the services: TLS 1.3 only, both sides present a
//! certificate from the internal CA (`agentctl certs init`), and each side checks the
//! other is the service it must be: clients by the server name they dial, servers by
//! the list of client names allowed to call them. A wrong or missing certificate fails
//! the handshake, before any request is read.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
};

pub use rustls::ServerConfig as TlsServerConfig;

use crate::settings::SettingsError;

/// This replica's place in the internal PKI: the CA, its certificate and key (PEM).
#[derive(Clone)]
pub struct InternalTls {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

impl fmt::Debug for InternalTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InternalTls").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("internal TLS: {0}")]
pub struct TlsError(String);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl InternalTls {
    pub fn from_pem(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Self {
        Self {
            ca_pem: ca_pem.to_owned(),
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
        }
    }

    /// Reads `ca.pem`, `<name>.pem` and `<name>-key.pem` from `dir` (the layout of
    /// `agentctl certs init`); `setting` names the setting in errors.
    pub fn from_dir(dir: &Path, name: &str, setting: &str) -> Result<Self, SettingsError> {
        let read = |file: String| {
            std::fs::read_to_string(dir.join(&file))
                .map_err(|e| SettingsError::invalid(setting, format!("cannot read {}: {e}", dir.join(&file).display())))
        };
        let tls = Self::from_pem(
            &read("ca.pem".into())?,
            &read(format!("{name}.pem"))?,
            &read(format!("{name}-key.pem"))?,
        );
        tls.server_config(&[])
            .map_err(|e| SettingsError::invalid(setting, e.to_string()))?;
        let now = crate::time::unix_now();
        for (file, expires) in [
            (format!("{name}.pem"), tls.expires_at()),
            ("ca.pem".into(), tls.ca_expires_at()),
        ] {
            match expires {
                Some(at) if at <= now => {
                    return Err(SettingsError::invalid(
                        setting,
                        format!(
                            "{file} expired at {}: renew it (agentctl certs renew)",
                            crate::time::rfc3339(at)
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    return Err(SettingsError::invalid(
                        setting,
                        format!("{file} is not an X.509 certificate"),
                    ));
                }
            }
        }
        tls.record_expiry();
        Ok(tls)
    }

    /// When this replica's certificate stops being valid (Unix seconds).
    pub fn expires_at(&self) -> Option<i64> {
        not_after(&self.cert_pem).into_iter().min()
    }

    /// When the first of the trusted CA certificates stops being valid (a bundle holds
    /// the old and the new CA while a CA is replaced).
    pub fn ca_expires_at(&self) -> Option<i64> {
        not_after(&self.ca_pem).into_iter().min()
    }

    /// Certificates are read once, at start: the gauge tells an operator (and the
    /// `AgentauthInternalCertificateExpiring` alert) how long this replica has left.
    fn record_expiry(&self) {
        crate::telemetry::metrics::handle();
        for (certificate, at) in [("service", self.expires_at()), ("ca", self.ca_expires_at())] {
            if let Some(at) = at {
                metrics::gauge!(crate::telemetry::metrics::INTERNAL_CERTIFICATE_EXPIRY, "certificate" => certificate)
                    .set(at as f64);
            }
        }
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            let cert = cert.map_err(|e| TlsError(format!("CA certificate: {e}")))?;
            roots.add(cert).map_err(|e| TlsError(format!("CA certificate: {e}")))?;
        }
        Ok(Arc::new(roots))
    }

    /// A server that only completes handshakes with clients whose certificate comes from
    /// the CA and names one of `allowed_clients`.
    pub fn server_config(&self, allowed_clients: &[&str]) -> Result<Arc<ServerConfig>, TlsError> {
        let inner = WebPkiClientVerifier::builder_with_provider(self.roots()?, provider())
            .build()
            .map_err(|e| TlsError(e.to_string()))?;
        let allowed = allowed_clients
            .iter()
            .map(|name| {
                ServerName::try_from(name.to_string()).map_err(|e| TlsError(format!("client name `{name}`: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let chain = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError(format!("certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|e| TlsError(format!("key: {e}")))?;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TlsError(e.to_string()))?
            .with_client_cert_verifier(Arc::new(NamedClients { inner, allowed }))
            .with_single_cert(chain, key)
            .map_err(|e| TlsError(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }

    /// Client TLS for dialling the service whose certificate names `server_name`.
    pub fn client_config(&self, server_name: &str) -> tonic::transport::ClientTlsConfig {
        tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(&self.ca_pem))
            .identity(tonic::transport::Identity::from_pem(&self.cert_pem, &self.key_pem))
            .domain_name(server_name)
    }
}

/// The CA's verdict, then the name check: a valid certificate for another service is
/// still refused.
#[derive(Debug)]
struct NamedClients {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<ServerName<'static>>,
}

impl ClientCertVerifier for NamedClients {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner.verify_client_cert(end_entity, intermediates, now)?;
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if self
            .allowed
            .iter()
            .any(|name| cert.verify_is_valid_for_subject_name(name).is_ok())
        {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Where a service finds its part of the internal PKI, and who may call it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct InternalTlsSettings {
    /// A directory in `agentctl certs init` layout. Unset: plaintext gRPC, which only the
    /// development profile accepts.
    pub dir: Option<std::path::PathBuf>,
    /// Service names whose client certificates this service's gRPC port accepts.
    pub allowed_clients: Vec<String>,
}

impl InternalTlsSettings {
    pub fn allowing(clients: &[&str]) -> Self {
        Self {
            dir: None,
            allowed_clients: clients.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    /// This service's TLS material (`name` is the certificate it presents), or `None` for
    /// plaintext, which production refuses.
    pub fn load(&self, name: &str, profile: crate::settings::Profile) -> Result<Option<InternalTls>, SettingsError> {
        match &self.dir {
            Some(dir) => InternalTls::from_dir(dir, name, "internal_tls.dir").map(Some),
            None if profile == crate::settings::Profile::Production => Err(plaintext_refused()),
            None => Ok(None),
        }
    }

    /// Production refuses plaintext gRPC (the files themselves are read by [`Self::load`]).
    pub fn validate(&self, profile: crate::settings::Profile) -> Result<(), SettingsError> {
        if self.dir.is_none() && profile == crate::settings::Profile::Production {
            return Err(plaintext_refused());
        }
        Ok(())
    }

    /// The gRPC server config of a service presenting `tls`.
    pub fn server_config(&self, tls: Option<&InternalTls>) -> Result<Option<Arc<ServerConfig>>, SettingsError> {
        let Some(tls) = tls else { return Ok(None) };
        let allowed: Vec<&str> = self.allowed_clients.iter().map(String::as_str).collect();
        tls.server_config(&allowed)
            .map(Some)
            .map_err(|e| SettingsError::invalid("internal_tls", e.to_string()))
    }
}

/// `notAfter` of every certificate in a PEM bundle, in Unix seconds.
fn not_after(pem: &str) -> Vec<i64> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .filter_map(|der| {
            x509_parser::parse_x509_certificate(&der)
                .ok()
                .map(|(_, cert)| cert.validity().not_after.timestamp())
        })
        .collect()
}

fn plaintext_refused() -> SettingsError {
    SettingsError::invalid(
        "internal_tls.dir",
        "production refuses plaintext gRPC: point it at an `agentctl certs init` directory",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki_dir(days: i64) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        crate::pki::generate(&[("token-service", &[])], "agentauth", days)
            .and_then(|pki| pki.write(dir.path()))
            .expect("pki");
        dir
    }

    #[test]
    fn a_replica_reports_when_its_certificates_expire() {
        let dir = pki_dir(30);
        let tls = InternalTls::from_dir(dir.path(), "token-service", "internal_tls.dir").expect("loads");
        let now = crate::time::unix_now();
        let expires = tls.expires_at().expect("service certificate");
        assert!((expires - (now + 30 * 86_400)).abs() < 120, "{expires} vs {now}");
        assert!(tls.ca_expires_at().expect("ca") > expires);
        let scrape = crate::telemetry::metrics::render();
        assert!(
            scrape.contains(&format!(
                "agentauth_internal_certificate_expires_at_seconds{{certificate=\"service\"}} {expires}"
            )),
            "{scrape}"
        );
    }

    #[test]
    fn an_expired_certificate_is_refused_at_start_by_name() {
        let dir = pki_dir(-1);
        let error = InternalTls::from_dir(dir.path(), "token-service", "internal_tls.dir").expect_err("expired");
        let text = error.to_string();
        assert!(
            text.contains("internal_tls.dir") && text.contains("token-service.pem expired at"),
            "{text}"
        );
    }

    #[test]
    fn renewed_certificates_chain_to_the_same_ca() {
        let dir = pki_dir(1);
        let renewed = tempfile::tempdir().expect("temp dir");
        let written = crate::pki::renew(dir.path(), &[("token-service", &[])], "agentauth", 90)
            .and_then(|pki| pki.write(renewed.path()))
            .expect("renewed");
        assert!(
            !written.iter().any(|p| p.ends_with("ca-key.pem")),
            "the CA key stays offline"
        );
        let old = InternalTls::from_dir(dir.path(), "token-service", "internal_tls.dir").expect("old");
        let new = InternalTls::from_dir(renewed.path(), "token-service", "internal_tls.dir").expect("new");
        assert_eq!(old.ca_pem, new.ca_pem);
        assert!(new.expires_at().expect("new") > old.expires_at().expect("old") + 80 * 86_400);
        assert_ne!(old.key_pem, new.key_pem);
    }
}
