//! `GET /oauth2/authorize`'s parameters, checked in the order RFC 6749 §4.1.2.1 forces:
//! first the client and its redirect URI (any failure is shown to the human, and
//! nothing is sent anywhere), then everything else (failures go back to the redirect
//! URI, with `state` and `iss`). Every parameter but `resource` appears at most once
//! (§3.1).

use protocol::oauth::pkce::CodeChallenge;
use protocol::scope::ScopeSet;

use super::{Authorizations, AuthorizeError, ErrorRedirect};
use crate::peers::token_service::AuthorizingClient;

/// OIDC-style `prompt` values MCP clients send; others are ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: fail rather than show the human anything.
    pub none: bool,
    /// `login`: sign in again even if signed in.
    pub login: bool,
    /// `consent`: ask again even if consent is remembered.
    pub consent: bool,
}

/// An authorization request that may be served: its client known, its redirect URI
/// registered, PKCE S256, and scope and resources allowed.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: AuthorizingClient,
    /// Where the response goes.
    pub redirect_uri: String,
    /// As the request sent it (empty when it sent none and the one registered URI
    /// applies): the token request must send the same (RFC 6749 §4.1.3).
    pub presented_redirect_uri: String,
    pub state: Option<String>,
    pub scopes: ScopeSet,
    pub resources: Vec<String>,
    pub challenge: CodeChallenge,
    pub prompt: Prompt,
    /// OIDC `max_age`: the human must have signed in within this many seconds.
    pub max_age: Option<u64>,
}

impl AuthorizationRequest {
    /// Whether `auth_time` is too long ago for this request (or `prompt=login` asks
    /// for a new sign-in anyway).
    pub fn wants_fresh_sign_in(&self, auth_time: i64, now: i64) -> bool {
        self.prompt.login
            || self
                .max_age
                .is_some_and(|max| now.saturating_sub(auth_time) > i64::try_from(max).unwrap_or(i64::MAX))
    }

    /// An error for the client at its (checked) redirect URI.
    pub fn refuse(&self, error: &'static str, description: impl Into<String>) -> AuthorizeError {
        Back {
            redirect_uri: &self.redirect_uri,
            state: self.state.as_deref(),
        }
        .refuse(error, description)
    }
}

/// Where errors go once the redirect URI is known good.
#[derive(Debug, Clone, Copy)]
struct Back<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
}

impl Back<'_> {
    fn refuse(self, error: &'static str, description: impl Into<String>) -> AuthorizeError {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: self.redirect_uri.to_owned(),
            state: self.state.map(str::to_owned),
            error,
            description: description.into(),
        })
    }
}

/// What the second stage checks.
struct Protocol {
    challenge: CodeChallenge,
    scopes: ScopeSet,
    resources: Vec<String>,
    prompt: Prompt,
    max_age: Option<u64>,
}

/// The query's pairs, decoded.
struct Params(Vec<(String, String)>);

impl Params {
    /// The one value of `name`; `Err` when it appears more than once.
    fn single(&self, name: &str) -> Result<Option<&str>, String> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(format!("`{name}` appears more than once"));
        }
        Ok(first)
    }

    fn all<'p>(&'p self, name: &'p str) -> impl Iterator<Item = &'p str> {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl Authorizations {
    /// The request `query` (as sent, undecoded) describes, or why it may not be served.
    pub async fn check_request(&self, query: &str) -> Result<AuthorizationRequest, AuthorizeError> {
        let params = Params(url::form_urlencoded::parse(query.as_bytes()).into_owned().collect());
        let client_id = params
            .single("client_id")
            .map_err(AuthorizeError::InvalidRequest)?
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                AuthorizeError::InvalidRequest("the request does not say which application it is for".into())
            })?;
        let client = self.directory.resolve(client_id).await?;
        let presented = params
            .single("redirect_uri")
            .map_err(|_| AuthorizeError::InvalidRedirectUri)?;
        let redirect_uri = match presented {
            Some(uri) if protocol::oauth::redirect::matches(client.redirect_uris.iter().map(String::as_str), uri) => {
                uri.to_owned()
            }
            // OAuth 2.1 §2.3.2: optional when exactly one is registered.
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            _ => return Err(AuthorizeError::InvalidRedirectUri),
        };
        let state = params.single("state").ok().flatten().map(str::to_owned);
        let back = Back {
            redirect_uri: &redirect_uri,
            state: state.as_deref(),
        };
        let protocol = self.check_protocol(&params, &client, back)?;
        Ok(AuthorizationRequest {
            presented_redirect_uri: presented.unwrap_or_default().to_owned(),
            client,
            redirect_uri,
            state,
            scopes: protocol.scopes,
            resources: protocol.resources,
            challenge: protocol.challenge,
            prompt: protocol.prompt,
            max_age: protocol.max_age,
        })
    }

    /// The checks whose failures go back to the client.
    fn check_protocol(
        &self,
        params: &Params,
        client: &AuthorizingClient,
        back: Back<'_>,
    ) -> Result<Protocol, AuthorizeError> {
        let invalid = |message: String| back.refuse("invalid_request", message);
        for name in [
            "state",
            "response_type",
            "response_mode",
            "code_challenge",
            "code_challenge_method",
            "scope",
            "prompt",
            "max_age",
        ] {
            params.single(name).map_err(invalid)?;
        }
        if params.single("request").ok().flatten().is_some() {
            return Err(back.refuse("request_not_supported", "request objects are not supported"));
        }
        if params.single("request_uri").ok().flatten().is_some() {
            return Err(back.refuse("request_uri_not_supported", "request_uri is not supported"));
        }
        match params.single("response_type").ok().flatten() {
            None => return Err(invalid("`response_type` is required".into())),
            Some("code") => {}
            Some(_) => {
                return Err(back.refuse("unsupported_response_type", "only response_type=code is supported"));
            }
        }
        if params
            .single("response_mode")
            .ok()
            .flatten()
            .is_some_and(|mode| mode != "query")
        {
            return Err(invalid("only response_mode=query is supported".into()));
        }
        let challenge = params
            .single("code_challenge")
            .ok()
            .flatten()
            .ok_or_else(|| invalid("`code_challenge` is required: PKCE with S256 (OAuth 2.1 §4.1.1)".into()))?;
        Ok(Protocol {
            challenge: CodeChallenge::parse(challenge, params.single("code_challenge_method").ok().flatten())
                .map_err(|e| invalid(e.to_string()))?,
            scopes: self.requested_scopes(params, client, back)?,
            resources: self.requested_resources(params, back)?,
            prompt: prompt(params.single("prompt").ok().flatten()).map_err(invalid)?,
            max_age: params
                .single("max_age")
                .ok()
                .flatten()
                .map(|raw| raw.parse::<u64>())
                .transpose()
                .map_err(|_| invalid("`max_age` must be a number of seconds".into()))?,
        })
    }

    /// RFC 6749 §3.3: the requested scope (or, with none, all the client may have),
    /// within what the client may have.
    fn requested_scopes(
        &self,
        params: &Params,
        client: &AuthorizingClient,
        back: Back<'_>,
    ) -> Result<ScopeSet, AuthorizeError> {
        let allowed = client.scopes.intersection(&self.scopes_supported);
        let granted = match params.single("scope").ok().flatten() {
            None => allowed,
            Some(raw) => {
                let requested = ScopeSet::parse(raw).map_err(|_| {
                    back.refuse(
                        "invalid_scope",
                        "`scope` must be scope tokens separated by single spaces",
                    )
                })?;
                if !requested.is_subset(&self.scopes_supported) {
                    return Err(back.refuse("invalid_scope", "a requested scope is not one this server knows"));
                }
                requested.intersection(&allowed)
            }
        };
        if granted.is_empty() {
            return Err(back.refuse(
                "invalid_scope",
                "none of the requested scopes may be granted to this application",
            ));
        }
        Ok(granted)
    }

    /// RFC 8707 §2: each `resource` an absolute URI without a fragment, and one we issue
    /// tokens for.
    fn requested_resources(&self, params: &Params, back: Back<'_>) -> Result<Vec<String>, AuthorizeError> {
        let mut resources: Vec<String> = Vec::new();
        for raw in params.all("resource") {
            let absolute = url::Url::parse(raw).is_ok_and(|u| u.fragment().is_none()) && !raw.contains('#');
            if !absolute {
                return Err(back.refuse(
                    "invalid_target",
                    "`resource` must be an absolute URI without a fragment",
                ));
            }
            if !self.resources.iter().any(|r| r == raw) {
                return Err(back.refuse(
                    "invalid_target",
                    "the requested resource is not one this server issues tokens for",
                ));
            }
            if !resources.iter().any(|r| r == raw) {
                resources.push(raw.to_owned());
            }
        }
        Ok(resources)
    }
}

fn prompt(raw: Option<&str>) -> Result<Prompt, String> {
    let mut prompt = Prompt::default();
    for value in raw.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            _ => {}
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err("`prompt=none` cannot be combined with other values".into());
    }
    Ok(prompt)
}
