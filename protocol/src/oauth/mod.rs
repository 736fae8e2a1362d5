//! OAuth wire names both public services speak, and the token endpoint's capabilities
//! as one settings section (`token_endpoint`) that token-service enforces and
//! identity-service's discovery document describes, so the two never disagree.
//!
//! - [`pkce`]: RFC 7636 code challenges, S256 only.
//! - [`redirect`]: which redirect URIs a client may register, and exact matching with
//!   RFC 8252's loopback port exception.

pub mod id_jag;
pub mod pkce;
pub mod redirect;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::InvalidSetting;

/// `grant_type` values.
pub mod grant_type {
    pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    pub const CLIENT_CREDENTIALS: &str = "client_credentials";
    pub const AUTHORIZATION_CODE: &str = "authorization_code";
    pub const REFRESH_TOKEN: &str = "refresh_token";
    /// RFC 8693 §2.1.
    pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
}

/// RFC 8693 §3 token type identifiers.
pub mod token_type {
    pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
    pub const REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
    pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
    pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
}

/// `token_endpoint_auth_method` values (RFC 7591 §2, RFC 8705 §2).
pub mod auth_method {
    pub const NONE: &str = "none";
    pub const CLIENT_SECRET_BASIC: &str = "client_secret_basic";
    pub const CLIENT_SECRET_POST: &str = "client_secret_post";
    pub const PRIVATE_KEY_JWT: &str = "private_key_jwt";
    pub const TLS_CLIENT_AUTH: &str = "tls_client_auth";
    pub const SELF_SIGNED_TLS_CLIENT_AUTH: &str = "self_signed_tls_client_auth";
    /// draft-ietf-oauth-spiffe-client-auth-02 §4: a SPIFFE JWT-SVID as client assertion.
    pub const SPIFFE_JWT: &str = "spiffe_jwt";
}

/// RFC 7523 §2.2 `client_assertion_type`.
pub const CLIENT_ASSERTION_JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// draft-ietf-oauth-spiffe-client-auth-02 §3.1: a SPIFFE JWT-SVID as client assertion.
pub const CLIENT_ASSERTION_JWT_SPIFFE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe";

/// The asymmetric JWS algorithms we verify from clients (never `none`, never HMAC).
/// `Ed25519` is RFC 9864's name for EdDSA on Ed25519, which oauth4webapi, jose and dpop
/// send; `EdDSA` stays for clients that know only the older name.
pub const ASYMMETRIC_ALGS: [&str; 5] = ["ES256", "Ed25519", "EdDSA", "RS256", "PS256"];

/// What the token endpoint accepts, beyond agents' `none`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEndpointSettings {
    /// Client authentication methods accepted. The two mTLS methods are offered only
    /// when `mtls.trusted_header` is set; `spiffe_jwt` (a SPIFFE JWT-SVID as client
    /// assertion) is not in the default list and goes in when a SPIFFE workload issuer
    /// is configured.
    pub auth_methods: Vec<String>,
    /// Algorithms accepted on `private_key_jwt` client assertions.
    pub auth_signing_algs: Vec<String>,
    /// Longest `exp - iat` (and furthest `exp`) of a client assertion.
    #[serde(with = "humantime_serde")]
    pub client_assertion_max_lifetime: Duration,
    pub dpop: DpopSettings,
    pub mtls: MtlsSettings,
    /// Enterprise identity providers whose ID-JAGs are jwt-bearer grants.
    #[serde(default)]
    pub id_jag: id_jag::IdJagSettings,
}

/// RFC 9449 DPoP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpopSettings {
    pub enabled: bool,
    pub signing_algs: Vec<String>,
    /// Proofs must carry a server nonce (`DPoP-Nonce`, `use_dpop_nonce`).
    pub require_nonce: bool,
    /// How far a proof's `iat` may be from now, either way.
    #[serde(with = "humantime_serde")]
    pub proof_window: Duration,
    /// How long a server nonce stays good.
    #[serde(with = "humantime_serde")]
    pub nonce_lifetime: Duration,
}

/// RFC 8705 mutual-TLS client authentication and certificate-bound tokens, behind an
/// ingress that terminates TLS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MtlsSettings {
    /// The request header the ingress puts the verified client certificate in
    /// (base64 DER or URL-encoded PEM). Unset: no certificate is ever trusted, since
    /// only an ingress that overwrites this header can vouch for it.
    #[serde(default)]
    pub trusted_header: Option<String>,
    /// The header the ingress puts its verdict on the certificate's chain in (HAProxy
    /// `%[ssl_c_verify]`: `0`; ingress-nginx `ssl-client-verify`: `SUCCESS`). When set,
    /// `tls_client_auth` requires a verified chain while `self_signed_tls_client_auth`,
    /// whose certificate has none, does not; unset, the ingress forwards only
    /// certificates it verified.
    #[serde(default)]
    pub verify_header: Option<String>,
    /// Base URL where the ingress asks for client certificates, if not the issuer's
    /// (RFC 8705 §5 `mtls_endpoint_aliases`).
    #[serde(default)]
    pub endpoint_base_url: Option<String>,
}

impl Default for TokenEndpointSettings {
    fn default() -> Self {
        use auth_method::*;
        Self {
            auth_methods: [
                CLIENT_SECRET_BASIC,
                CLIENT_SECRET_POST,
                PRIVATE_KEY_JWT,
                TLS_CLIENT_AUTH,
                SELF_SIGNED_TLS_CLIENT_AUTH,
            ]
            .map(str::to_owned)
            .to_vec(),
            auth_signing_algs: ASYMMETRIC_ALGS.map(str::to_owned).to_vec(),
            // An hour, as authlib's default assertions live and as Okta allows: longer
            // would mean remembering each `jti` longer, shorter would refuse stock clients.
            client_assertion_max_lifetime: Duration::from_secs(3600),
            dpop: DpopSettings {
                enabled: true,
                signing_algs: ASYMMETRIC_ALGS.map(str::to_owned).to_vec(),
                require_nonce: false,
                proof_window: Duration::from_secs(60),
                nonce_lifetime: Duration::from_secs(300),
            },
            mtls: MtlsSettings::default(),
            id_jag: id_jag::IdJagSettings::default(),
        }
    }
}

impl TokenEndpointSettings {
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        use auth_method::*;
        for method in &self.auth_methods {
            let known = [
                CLIENT_SECRET_BASIC,
                CLIENT_SECRET_POST,
                PRIVATE_KEY_JWT,
                TLS_CLIENT_AUTH,
                SELF_SIGNED_TLS_CLIENT_AUTH,
                SPIFFE_JWT,
            ];
            if !known.contains(&method.as_str()) {
                return Err(InvalidSetting::invalid(
                    "token_endpoint.auth_methods",
                    format!("unknown method `{method}`"),
                ));
            }
        }
        for (key, algs) in [
            ("token_endpoint.auth_signing_algs", &self.auth_signing_algs),
            ("token_endpoint.dpop.signing_algs", &self.dpop.signing_algs),
        ] {
            if let Some(bad) = algs.iter().find(|a| !ASYMMETRIC_ALGS.contains(&a.as_str())) {
                return Err(InvalidSetting::invalid(
                    key,
                    format!("`{bad}`: only ES256, Ed25519, EdDSA, RS256 and PS256"),
                ));
            }
        }
        for (key, header) in [
            ("token_endpoint.mtls.trusted_header", &self.mtls.trusted_header),
            ("token_endpoint.mtls.verify_header", &self.mtls.verify_header),
        ] {
            let bad = header.as_deref().is_some_and(invalid_header_name);
            if bad {
                return Err(InvalidSetting::invalid(key, "must be a header name"));
            }
        }
        self.id_jag.validate()
    }

    /// `auth_signing_algs`, parsed (validated names always parse).
    pub fn auth_algorithms(&self) -> Vec<crate::jose::alg::JwsAlg> {
        parse_algorithms(&self.auth_signing_algs)
    }

    /// `dpop.signing_algs`, parsed.
    pub fn dpop_algorithms(&self) -> Vec<crate::jose::alg::JwsAlg> {
        parse_algorithms(&self.dpop.signing_algs)
    }

    /// Whether `method` is accepted now (mTLS methods need a trusted certificate header).
    pub fn accepts(&self, method: &str) -> bool {
        let mtls = [auth_method::TLS_CLIENT_AUTH, auth_method::SELF_SIGNED_TLS_CLIENT_AUTH].contains(&method);
        self.auth_methods.iter().any(|m| m == method) && (!mtls || self.mtls.trusted_header.is_some())
    }

    /// The token endpoint's entries of the RFC 8414 document (and RFC 9449 §5.1, RFC 8705 §3.3, §5).
    pub fn metadata(&self, issuer: &str) -> Map<String, Value> {
        let mut methods = vec![auth_method::NONE.to_owned()];
        methods.extend(self.auth_methods.iter().filter(|m| self.accepts(m)).cloned());
        let mut out = Map::new();
        out.insert("token_endpoint_auth_methods_supported".into(), json!(methods));
        // RFC 8414 §2: each endpoint that lists private_key_jwt must list its algorithms.
        if self.accepts(auth_method::PRIVATE_KEY_JWT) {
            for endpoint in ["token", "revocation", "introspection"] {
                out.insert(
                    format!("{endpoint}_endpoint_auth_signing_alg_values_supported"),
                    json!(self.auth_signing_algs),
                );
            }
        }
        let authenticated: Vec<&String> = methods.iter().filter(|m| *m != auth_method::NONE).collect();
        out.insert("revocation_endpoint_auth_methods_supported".into(), json!(methods));
        out.insert(
            "introspection_endpoint_auth_methods_supported".into(),
            json!(authenticated),
        );
        if self.dpop.enabled {
            out.insert(
                "dpop_signing_alg_values_supported".into(),
                json!(self.dpop.signing_algs),
            );
        }
        let mtls = self.mtls.trusted_header.is_some();
        out.insert("tls_client_certificate_bound_access_tokens".into(), json!(mtls));
        if !self.id_jag.issuers.is_empty() {
            out.insert(
                "authorization_grant_profiles_supported".into(),
                json!([id_jag::GRANT_PROFILE]),
            );
        }
        if mtls {
            let base = self.mtls.endpoint_base_url.as_deref().unwrap_or(issuer);
            out.insert(
                "mtls_endpoint_aliases".into(),
                json!({
                    "token_endpoint": format!("{base}/oauth2/token"),
                    "revocation_endpoint": format!("{base}/oauth2/revoke"),
                    "introspection_endpoint": format!("{base}/oauth2/introspect"),
                }),
            );
        }
        out
    }
}

fn parse_algorithms(names: &[String]) -> Vec<crate::jose::alg::JwsAlg> {
    names
        .iter()
        .filter_map(|name| crate::jose::alg::JwsAlg::parse(name))
        .collect()
}

/// RFC 9110 §5.1: a header name is a non-empty token.
fn invalid_header_name(name: &str) -> bool {
    name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A resource server that accepts our access tokens (RFC 9728 metadata is published for
/// it; RFC 8707 `resource` selects it as a token's audience).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResource {
    /// The resource identifier (an absolute URL without fragment): the token's `aud`.
    pub resource: String,
    /// The scopes a token for it may carry; empty: any scope the grant allows.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
}

/// Checks a `protected_resources` list, naming the bad entry.
pub fn validate_resources(resources: &[ProtectedResource]) -> Result<(), InvalidSetting> {
    for (i, resource) in resources.iter().enumerate() {
        let ok = url::Url::parse(&resource.resource).is_ok_and(|u| u.has_host() && u.fragment().is_none());
        if !ok {
            let key = format!("protected_resources[{i}].resource");
            return Err(InvalidSetting::invalid(key, "must be an absolute URL without fragment"));
        }
        crate::scope::ScopeSet::from_tokens(&resource.scopes_supported).map_err(|e| {
            InvalidSetting::invalid(format!("protected_resources[{i}].scopes_supported"), e.to_string())
        })?;
    }
    Ok(())
}
