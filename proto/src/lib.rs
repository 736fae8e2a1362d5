//! Wire contract between the agentauth services: every `.proto` file, compiled at build
//! time. Generated types stop at the gRPC edge; each service converts them into its own
//! domain types in one place.

#![allow(missing_debug_implementations, clippy::unwrap_used)]

/// Registrations and identity assertions, served by identity-service.
pub mod identity {
    pub mod v1 {
        tonic::include_proto!("agentauth.identity.v1");
    }
}

/// Signing-key distribution, served by jwks-service.
pub mod keys {
    pub mod v1 {
        tonic::include_proto!("agentauth.keys.v1");
    }
}

/// Machine-client administration, served by token-service.
pub mod clients {
    pub mod v1 {
        tonic::include_proto!("agentauth.clients.v1");
    }
}

/// Delegations made by token exchange, served by token-service.
pub mod tokens {
    pub mod v1 {
        tonic::include_proto!("agentauth.tokens.v1");
    }
}
