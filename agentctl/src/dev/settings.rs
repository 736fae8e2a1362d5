//! The settings the all-in-one runner gives each service.

use shared::serve::CommonSettings;
use shared::settings::{PeerSettings, Profile, StoreBackend, StoreSettings};

use super::DevArgs;

/// Each service's settings in the development profile: one store, the runner's internal
/// TLS, and the peers all on the one gRPC port.
pub(super) fn dev_settings(
    args: &DevArgs,
    issuer: &str,
    grpc: std::net::SocketAddr,
) -> (
    jwks_service::settings::Settings,
    identity_service::settings::Settings,
    token_service::settings::Settings,
) {
    let peer = |name: &str| PeerSettings {
        server_name: Some(name.to_owned()),
        ..PeerSettings::new(&format!("https://{}", grpc))
    };
    let internal_tls = shared::tls::InternalTlsSettings {
        dir: Some(args.tls_dir.clone()),
        allowed_clients: Vec::new(),
    };
    let store = match &args.redis_url {
        Some(url) => StoreSettings {
            backend: StoreBackend::Redis,
            redis_url: url.clone(),
            ..StoreSettings::default()
        },
        None => StoreSettings {
            backend: StoreBackend::Memory,
            ..StoreSettings::default()
        },
    };

    // Every service in development, on one store, with the runner's internal TLS.
    let common = CommonSettings {
        profile: Profile::Development,
        store,
        internal_tls,
        ..CommonSettings::allowing(&[])
    };
    let mut jwks = jwks_service::settings::Settings {
        common: common.clone(),
        ..Default::default()
    };
    jwks.keys.kek.file = args.kek_file.clone();
    let mut identity = identity_service::settings::Settings {
        common: common.clone(),
        public_base_url: issuer.to_owned(),
        jwks: peer("jwks-service"),
        token: peer("token-service"),
        ..Default::default()
    };
    if let Some(outbox) = &args.outbox {
        identity.mail.outbox_dir = outbox.clone();
    }
    let token = token_service::settings::Settings {
        common,
        public_base_url: issuer.to_owned(),
        identity: peer("identity-service"),
        jwks: peer("jwks-service"),
        ..Default::default()
    };
    (jwks, identity, token)
}
