//! `{"type":"anonymous"}`: a registration nobody vouches for yet, usable at once with its
//! pre-claim scopes, claimable by a human through its claim token.

use protocol::secrets::random_token;

use super::handle::{CLAIM_TOKEN_CONTEXT, SecretHandle};
use super::policy::RegistrationPath;
use super::record::{Registration, RegistrationType};
use super::registrations::Registrations;
use crate::error::IdentityError;

/// What the agent receives once; the claim token exists nowhere else in clear.
#[derive(Debug)]
pub struct AnonymousRegistration {
    pub registration: Registration,
    /// `<registration id>.<256-bit secret>`: the id locates the record, the secret proves
    /// possession and is stored only as a keyed hash.
    pub claim_token: String,
    pub identity_assertion: String,
    pub assertion_expires_at: i64,
}

impl Registrations {
    /// `binding`: the DPoP key the request proved, which its assertions are bound to.
    pub async fn register_anonymous(
        &self,
        now: i64,
        binding: Option<String>,
    ) -> Result<AnonymousRegistration, IdentityError> {
        self.policy.ensure_enabled(RegistrationPath::Anonymous)?;
        let secret = random_token(32);
        let scopes = (
            self.policy.pre_claim_scopes.clone(),
            self.policy.post_claim_scopes.clone(),
        );
        let mut registration = Registration::new(
            RegistrationType::Anonymous,
            now,
            self.policy.claim_window,
            scopes,
            self.hasher.hash(CLAIM_TOKEN_CONTEXT, &secret),
        );
        registration.jkt = binding;
        // Signed before storing, so a missing key leaves nothing behind.
        let (identity_assertion, assertion_expires_at) = self.mint_assertion(&registration, now)?;
        self.create(&registration).await?;
        Ok(AnonymousRegistration {
            claim_token: SecretHandle::new(&registration.id, &secret).to_string(),
            registration,
            identity_assertion,
            assertion_expires_at,
        })
    }
}
