//! What a token may carry: a requested `scope` narrows what may be granted (nothing
//! left is `invalid_scope`), and each RFC 8707 `resource` must be a configured protected
//! resource, becomes the token's `aud`, and narrows the scope to what it supports.

use protocol::oauth::ProtectedResource;
use protocol::scope::ScopeSet;

use super::request::Scoping;
use crate::error::OAuthError;

/// The protected resources this server issues tokens for.
#[derive(Debug)]
pub struct Resources {
    pub resources: Vec<ProtectedResource>,
}

impl Resources {
    /// RFC 8707 §2: the audiences the `resource` parameters select; none: the default.
    pub fn requested(&self, scoping: &Scoping) -> Result<Vec<String>, OAuthError> {
        let mut audiences: Vec<String> = Vec::new();
        for raw in &scoping.resources {
            let absolute = url::Url::parse(raw).is_ok_and(|u| u.fragment().is_none());
            if !absolute {
                return Err(OAuthError::InvalidTarget(
                    "`resource` must be an absolute URI without a fragment",
                ));
            }
            if !self.resources.iter().any(|r| r.resource == *raw) {
                return Err(OAuthError::InvalidTarget(
                    "the requested resource is not one this server issues tokens for",
                ));
            }
            if !audiences.contains(raw) {
                audiences.push(raw.clone());
            }
        }
        Ok(audiences)
    }

    /// `grantable` narrowed by the request's `scope`, if any (RFC 6749 §3.3), then by
    /// what each requested resource supports.
    pub fn narrow(
        &self,
        grantable: &ScopeSet,
        scoping: &Scoping,
        audiences: &[String],
    ) -> Result<ScopeSet, OAuthError> {
        let mut granted = match &scoping.scope {
            None => grantable.clone(),
            Some(raw) => {
                // The offending token is the client's input: described, never echoed.
                let requested = ScopeSet::parse(raw).map_err(|_| {
                    OAuthError::InvalidScope("`scope` must be scope tokens separated by single spaces".into())
                })?;
                grantable.intersection(&requested)
            }
        };
        for resource in self.resources.iter().filter(|r| audiences.contains(&r.resource)) {
            if !resource.scopes_supported.is_empty() {
                let supported = ScopeSet::from_tokens(&resource.scopes_supported)
                    .map_err(|e| OAuthError::ServerError(format!("protected resource scopes: {e}")))?;
                granted = granted.intersection(&supported);
            }
        }
        if granted.is_empty() {
            return Err(OAuthError::InvalidScope(
                "none of the requested scopes may be granted (for the requested resources)".into(),
            ));
        }
        Ok(granted)
    }

    /// RFC 8707 §2.2 for a human's grant: the token's audiences are the resources the
    /// human approved, or the fewer a token request names; never others.
    pub fn approved(&self, requested: Vec<String>, approved: &[String]) -> Result<Vec<String>, OAuthError> {
        let audiences = if requested.is_empty() {
            approved.to_vec()
        } else if requested.iter().all(|r| approved.contains(r)) {
            requested
        } else {
            return Err(OAuthError::InvalidTarget(
                "a requested resource is not one the human approved",
            ));
        };
        if !audiences
            .iter()
            .all(|a| self.resources.iter().any(|r| r.resource == *a))
        {
            return Err(OAuthError::InvalidTarget(
                "the approved resource is not one this server issues tokens for",
            ));
        }
        Ok(audiences)
    }
}
