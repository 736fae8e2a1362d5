//! RFC 8705 client certificates: what a client registered, what the ingress says the
//! client presented (only from the header `token_endpoint.mtls.trusted_header` names),
//! and whether they match. The `x5t#S256` thumbprint binds access tokens (§3.1).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use serde::{Deserialize, Serialize};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;

/// How a client's certificate is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateBinding {
    /// `tls_client_auth`: a certificate from the trusted CA with this subject DN
    /// (attributes compared as a set, types case-insensitively).
    SubjectDn(String),
    /// `tls_client_auth`: a certificate from the trusted CA naming this DNS SAN.
    SanDns(String),
    /// `self_signed_tls_client_auth`: exactly this certificate (its `x5t#S256`).
    SelfSigned { x5t_s256: String },
}

impl CertificateBinding {
    /// Registers a PEM certificate for `self_signed_tls_client_auth`.
    pub fn self_signed(pem: &str) -> Result<Self, String> {
        let (_, pem) =
            x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|_| "not a PEM certificate".to_owned())?;
        let presented = PresentedCertificate::from_der(pem.contents)?;
        Ok(Self::SelfSigned {
            x5t_s256: presented.x5t_s256,
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Self::SubjectDn(dn) => dn.clone(),
            Self::SanDns(name) => format!("dNSName={name}"),
            Self::SelfSigned { x5t_s256 } => format!("x5t#S256={x5t_s256}"),
        }
    }
}

/// A certificate the ingress verified and forwarded.
#[derive(Debug, Clone)]
pub struct PresentedCertificate {
    der: Vec<u8>,
    /// base64url SHA-256 of the DER: the token's `cnf.x5t#S256`.
    pub x5t_s256: String,
}

impl PresentedCertificate {
    /// The header's value: base64 DER (HAProxy `%[ssl_c_der,base64]`), or PEM, plain or
    /// URL-encoded (ingress-nginx `ssl-client-cert`).
    pub fn from_header(value: &str) -> Result<Self, String> {
        let value = value.trim();
        // Neither base64 nor PEM holds a `%`: its presence means URL-encoded PEM.
        let pem = if value.contains('%') {
            Some(
                percent_encoding::percent_decode_str(value)
                    .decode_utf8()
                    .map_err(|_| "the certificate header is not UTF-8".to_owned())?
                    .into_owned(),
            )
        } else if value.starts_with("-----BEGIN") {
            Some(value.to_owned())
        } else {
            None
        };
        let der = match pem {
            Some(pem) => {
                let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
                    .map_err(|_| "the certificate header is not PEM".to_owned())?;
                pem.contents
            }
            None => STANDARD
                .decode(value)
                .map_err(|_| "the certificate header is not base64 DER".to_owned())?,
        };
        Self::from_der(der)
    }

    fn from_der(der: Vec<u8>) -> Result<Self, String> {
        X509Certificate::from_der(&der).map_err(|_| "not an X.509 certificate".to_owned())?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
        Ok(Self {
            x5t_s256: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            der,
        })
    }

    fn parsed(&self) -> Option<X509Certificate<'_>> {
        X509Certificate::from_der(&self.der).ok().map(|(_, cert)| cert)
    }

    /// Whether the certificate is within its validity period at `now` (Unix seconds).
    pub fn valid_at(&self, now: i64) -> bool {
        self.parsed().is_some_and(|cert| {
            let validity = cert.validity();
            validity.not_before.timestamp() <= now && now <= validity.not_after.timestamp()
        })
    }

    /// Whether this is the certificate (or for `self_signed`, the key) `binding` names.
    pub fn matches(&self, binding: &CertificateBinding) -> bool {
        let Some(cert) = self.parsed() else {
            return false;
        };
        match binding {
            CertificateBinding::SubjectDn(dn) => same_dn(&cert.subject().to_string(), dn),
            CertificateBinding::SanDns(name) => cert.subject_alternative_name().ok().flatten().is_some_and(|san| {
                san.value
                    .general_names
                    .iter()
                    .any(|g| matches!(g, GeneralName::DNSName(n) if n.eq_ignore_ascii_case(name)))
            }),
            CertificateBinding::SelfSigned { x5t_s256 } => {
                aws_lc_rs::constant_time::verify_slices_are_equal(self.x5t_s256.as_bytes(), x5t_s256.as_bytes()).is_ok()
            }
        }
    }

    /// `self_signed_tls_client_auth` against a registered JWK: the certificate carries
    /// that public key (RFC 8705 §2.2: "or a JWK").
    pub fn carries_key(&self, jwk: &Jwk) -> bool {
        let Some(cert) = self.parsed() else {
            return false;
        };
        let spki = cert.public_key();
        let decode = |v: &str| URL_SAFE_NO_PAD.decode(v).ok();
        match (&jwk.algorithm, spki.parsed()) {
            (AlgorithmParameters::EllipticCurve(ec), Ok(PublicKey::EC(point))) if ec.curve == EllipticCurve::P256 => {
                let (Some(x), Some(y)) = (decode(&ec.x), decode(&ec.y)) else {
                    return false;
                };
                let mut uncompressed = vec![4u8];
                uncompressed.extend(x);
                uncompressed.extend(y);
                point.data() == uncompressed.as_slice()
            }
            (AlgorithmParameters::RSA(rsa), Ok(PublicKey::RSA(key))) => {
                let strip = |b: &[u8]| b.iter().skip_while(|x| **x == 0).copied().collect::<Vec<u8>>();
                decode(&rsa.n).is_some_and(|n| strip(&n) == strip(key.modulus))
                    && decode(&rsa.e).is_some_and(|e| strip(&e) == strip(key.exponent))
            }
            (AlgorithmParameters::OctetKeyPair(okp), _) if okp.curve == EllipticCurve::Ed25519 => {
                decode(&okp.x).is_some_and(|x| x.as_slice() == spki.subject_public_key.data.as_ref())
            }
            _ => false,
        }
    }
}

/// RFC 4514 DNs compared as sets of `type=value` pairs: the certificate's order and a
/// human's order of writing them (RFC 4514 reverses it) both match.
fn same_dn(certificate: &str, registered: &str) -> bool {
    let pairs = |dn: &str| {
        let mut pairs: Vec<(String, String)> = dn
            .split(',')
            .filter_map(|part| {
                let (kind, value) = part.split_once('=')?;
                Some((kind.trim().to_ascii_uppercase(), value.trim().to_owned()))
            })
            .collect();
        pairs.sort();
        pairs
    };
    let (a, b) = (pairs(certificate), pairs(registered));
    !a.is_empty() && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_compare_as_attribute_sets() {
        assert!(same_dn("C=US, O=Example, CN=reporter", "CN=reporter,O=Example,C=US"));
        assert!(same_dn("cn=reporter", "CN=reporter"));
        assert!(!same_dn("CN=reporter, O=Example", "CN=reporter"));
        assert!(!same_dn("", ""));
    }
}
