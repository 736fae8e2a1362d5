//! What the operator's `ClientAdmin` API does to a client, as checks and changes on the
//! record; the gRPC layer only loads, calls one of these and stores.
//!
//! A client authenticates one way. Registering keys makes it a `private_key_jwt`
//! client, registering a certificate an mTLS client, and either drops its secrets,
//! which would otherwise stay valid beside the stronger method. A secret client holds
//! one or two secrets: adding the second starts a rotation, revoking the first ends it.

use protocol::jose::keys::KeySet;
use protocol::scope::ScopeSet;
use protocol::secrets::SecretHasher;
use serde_json::Value;
use shared::keys::remote::{Destinations, check_url};

use crate::error::AdminError;

use super::workload::{MAX_WORKLOADS, WorkloadBinding, WorkloadKind};
use super::{AuthMethod, CertificateBinding, Client, ClientKeys, IssuedSecret, MAX_SECRETS, issue_secret};

/// More keys than a rotating client ever publishes at once.
const MAX_KEYS: usize = 16;
/// A registered set is a few KiB at most.
const MAX_JWKS_BYTES: usize = 64 * 1024;

fn invalid(reason: impl Into<String>) -> AdminError {
    AdminError::Invalid(reason.into())
}

/// The changes `update` may make; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub scopes: Option<ScopeSet>,
    pub requires_dpop: Option<bool>,
    pub introspect: Option<bool>,
    pub may_act: Option<Vec<String>>,
}

/// The most actors one client may name.
const MAX_ACTORS: usize = 32;

/// `may_act` as an operator gave it: client ids and registration ids, each once.
pub fn actors(given: &[String]) -> Result<Vec<String>, AdminError> {
    if given.len() > MAX_ACTORS {
        return Err(invalid(format!("name at most {MAX_ACTORS} actors")));
    }
    let mut actors: Vec<String> = Vec::new();
    for actor in given {
        let registration = actor
            .strip_prefix("reg_")
            .is_some_and(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !registration && super::ClientId::parse(actor).is_err() {
            return Err(invalid(
                "an actor is a client id (cli_…) or an agent's registration id (reg_…)",
            ));
        }
        if !actors.contains(actor) {
            actors.push(actor.clone());
        }
    }
    Ok(actors)
}

pub fn update(client: &mut Client, changes: Changes) {
    if let Some(name) = changes.name {
        client.name = name;
    }
    if let Some(scopes) = changes.scopes {
        client.allowed_scopes = scopes;
    }
    if let Some(requires_dpop) = changes.requires_dpop {
        client.requires_dpop = requires_dpop;
    }
    if let Some(introspect) = changes.introspect {
        client.introspect = introspect;
    }
    if let Some(may_act) = changes.may_act {
        client.may_act = may_act;
    }
}

/// A second secret for a rotation; refused while two are active.
pub fn add_secret(client: &mut Client, hasher: &SecretHasher, now: i64) -> Result<IssuedSecret, AdminError> {
    if client.auth_method != AuthMethod::ClientSecret {
        return Err(AdminError::Conflict(format!(
            "this client authenticates with {}; a secret would never be accepted",
            client.auth_method.as_str()
        )));
    }
    if client.secrets.len() >= MAX_SECRETS {
        return Err(AdminError::Conflict(format!(
            "the client already has {MAX_SECRETS} active secrets; revoke one first"
        )));
    }
    let issued = issue_secret(hasher, now);
    client.secrets.push(issued.secret.clone());
    Ok(issued)
}

/// Ends a secret at once. The last secret stays: a client without one could never
/// authenticate again, which is what `disable` is for.
pub fn revoke_secret(client: &mut Client, secret_id: &str) -> Result<(), AdminError> {
    let Some(index) = client.secrets.iter().position(|s| s.id == secret_id) else {
        return Err(AdminError::NotFound(format!("the client has no secret `{secret_id}`")));
    };
    if client.secrets.len() == 1 {
        return Err(AdminError::Conflict(
            "this is the client's only secret; add another first, or disable the client".into(),
        ));
    }
    client.secrets.remove(index);
    Ok(())
}

/// Makes the client a `private_key_jwt` client with these keys.
pub fn set_keys(client: &mut Client, keys: ClientKeys, destinations: Destinations) -> Result<(), AdminError> {
    match &keys {
        ClientKeys::Jwks(json) => check_jwks(json)?,
        ClientKeys::JwksUri(uri) => {
            check_url(uri, destinations).map_err(|reason| invalid(format!("jwks_uri: {reason}")))?;
        }
    }
    client.auth_method = AuthMethod::PrivateKeyJwt;
    client.keys = Some(keys);
    client.certificate = None;
    client.secrets.clear();
    client.workloads.clear();
    Ok(())
}

/// Makes the client an mTLS client recognised by `binding`.
pub fn set_certificate(client: &mut Client, binding: CertificateBinding) -> Result<(), AdminError> {
    client.auth_method = match &binding {
        CertificateBinding::SubjectDn(dn) if !dn.contains('=') => {
            return Err(invalid("subject_dn must be an RFC 4514 DN, e.g. CN=reporter,O=Example"));
        }
        CertificateBinding::SanDns(name) if name.is_empty() || name.contains(char::is_whitespace) => {
            return Err(invalid("san_dns must be a DNS name"));
        }
        CertificateBinding::SubjectDn(_) | CertificateBinding::SanDns(_) => AuthMethod::TlsClientAuth,
        CertificateBinding::SelfSigned { .. } => AuthMethod::SelfSignedTlsClientAuth,
    };
    client.certificate = Some(binding);
    client.keys = None;
    client.secrets.clear();
    client.workloads.clear();
    Ok(())
}

/// Binds the client to a workload of an issuer of `kind`: it becomes a federated client,
/// and its secrets, keys and certificate go. Binding one it has is no change.
pub fn federate(client: &mut Client, binding: WorkloadBinding, kind: WorkloadKind) -> Result<(), AdminError> {
    binding.check(kind).map_err(invalid)?;
    if client.self_registered {
        return Err(AdminError::Conflict(
            "a self-registered client cannot stand for a workload; create a client for it".into(),
        ));
    }
    if client.workloads.contains(&binding) {
        return Ok(());
    }
    if client.workloads.len() >= MAX_WORKLOADS {
        return Err(AdminError::Conflict(format!(
            "the client already stands for {MAX_WORKLOADS} workloads"
        )));
    }
    client.auth_method = AuthMethod::Workload;
    client.workloads.push(binding);
    client.secrets.clear();
    client.keys = None;
    client.certificate = None;
    Ok(())
}

/// Unbinds a workload. The last one stays, as the last secret does: a client with no
/// credential could never authenticate again, which is what `disable` is for.
pub fn unfederate(client: &mut Client, binding: &WorkloadBinding) -> Result<(), AdminError> {
    let Some(index) = client.workloads.iter().position(|b| b == binding) else {
        return Err(AdminError::NotFound(format!(
            "the client is not bound to {}",
            binding.display()
        )));
    };
    if client.workloads.len() == 1 {
        return Err(AdminError::Conflict(
            "this is the client's only workload; federate another first, or disable the client".into(),
        ));
    }
    client.workloads.remove(index);
    Ok(())
}

/// A JWK Set of public signing keys we can verify with, and nothing else.
pub fn check_jwks(json: &str) -> Result<(), AdminError> {
    if json.len() > MAX_JWKS_BYTES {
        return Err(invalid("the JWK Set is too large"));
    }
    let value: Value = serde_json::from_str(json).map_err(|_| invalid("jwks is not JSON"))?;
    let keys = value
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("jwks must be a JWK Set: {\"keys\": [...]}"))?;
    if keys.is_empty() || keys.len() > MAX_KEYS {
        return Err(invalid(format!("jwks must hold between 1 and {MAX_KEYS} keys")));
    }
    for key in keys {
        let Some(members) = key.as_object() else {
            return Err(invalid("every key in jwks must be a JSON object"));
        };
        if protocol::jose::JWK_PRIVATE_MEMBERS
            .iter()
            .any(|m| members.contains_key(*m))
        {
            return Err(invalid(
                "jwks must hold public keys only: register the public half, never the private key",
            ));
        }
    }
    let usable = KeySet::parse(json.as_bytes()).map_err(invalid)?;
    if let Some((kid, refusal)) = usable.refusals().next() {
        return Err(invalid(format!("key `{kid}`: {refusal}")));
    }
    if usable.len() != keys.len() {
        return Err(invalid(
            "every key must be an ES256, Ed25519 (EdDSA), RS256 or PS256 signing key with a distinct kid",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::new_client;
    use protocol::secrets::Secret;

    fn client() -> (Client, SecretHasher) {
        let hasher = SecretHasher::new(&Secret::new(vec![1; 32]));
        let scopes = ScopeSet::parse("a").expect("scope");
        (new_client(&hasher, "t", scopes, 0).client, hasher)
    }

    #[test]
    fn a_rotation_holds_two_secrets_at_most_and_never_drops_the_last() {
        let (mut client, hasher) = client();
        let first = client.secrets[0].id.clone();
        let second = add_secret(&mut client, &hasher, 1).expect("second");
        assert!(matches!(
            add_secret(&mut client, &hasher, 2),
            Err(AdminError::Conflict(_))
        ));
        revoke_secret(&mut client, &first).expect("revoke the old one");
        assert_eq!(client.secrets.len(), 1);
        assert!(matches!(
            revoke_secret(&mut client, &second.secret.id),
            Err(AdminError::Conflict(_))
        ));
        assert!(matches!(
            revoke_secret(&mut client, "sec_nope"),
            Err(AdminError::NotFound(_))
        ));
    }

    #[test]
    fn registered_key_sets_must_be_public_signing_keys() {
        let public = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"a","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
        check_jwks(public).expect("public EC key");
        let private = public.replace(
            r#""kid":"a","#,
            r#""kid":"a","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI","#,
        );
        assert!(check_jwks(&private).is_err());
        assert!(check_jwks(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
        assert!(check_jwks(r#"{"keys":[]}"#).is_err());
        assert!(check_jwks("[]").is_err());
    }

    #[test]
    fn key_based_methods_drop_the_secrets() {
        let (mut client, hasher) = client();
        set_certificate(&mut client, CertificateBinding::SubjectDn("CN=reporter".into())).expect("dn");
        assert_eq!(client.auth_method, AuthMethod::TlsClientAuth);
        assert!(client.secrets.is_empty());
        assert!(add_secret(&mut client, &hasher, 1).is_err());
        let forbidden = set_keys(
            &mut client,
            ClientKeys::JwksUri("https://10.0.0.1/jwks".into()),
            Destinations::Public { allow_loopback: false },
        );
        assert!(forbidden.is_err(), "a private address is refused at registration too");
    }
}
