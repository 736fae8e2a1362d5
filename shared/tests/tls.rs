//! Internal mTLS over real sockets: a gRPC server accepts exactly the clients it should,
//! and refuses the others at the handshake.

use std::net::SocketAddr;

use shared::pki::{MEMBERS, Pki};
use shared::tls::InternalTls;
use tonic::transport::{ClientTlsConfig, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A CA (shared::pki, as `agentctl certs init` makes it) and its members' certificates.
struct Ca {
    pki: Pki,
}

impl Ca {
    fn new() -> Self {
        let members: Vec<(&str, &[&str])> = MEMBERS.iter().map(|m| (*m, &[][..])).collect();
        Self {
            pki: shared::pki::generate(&members, "test", 1).expect("pki"),
        }
    }

    fn member(&self, name: &str) -> InternalTls {
        let issued = self.pki.members.iter().find(|m| m.name == name).expect("a member");
        InternalTls::from_pem(&self.pki.ca.cert_pem, &issued.cert_pem, &issued.key_pem)
    }
}

/// A gRPC server (health only) for `name`, callable by `allowed` clients.
async fn serve(ca: &Ca, name: &str, allowed: &[&str]) -> SocketAddr {
    let config = ca.member(name).server_config(allowed).expect("server config");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let routes = tonic::service::RoutesBuilder::default().routes();
    tokio::spawn(shared::grpc::serve(
        listener,
        routes,
        Some(config),
        std::future::pending(),
    ));
    addr
}

async fn call(addr: SocketAddr, tls: ClientTlsConfig) -> Result<(), String> {
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .map_err(|e| e.to_string())?
        .tls_config(tls)
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    HealthClient::new(channel)
        .check(HealthCheckRequest { service: String::new() })
        .await
        .map(|_| ())
        .map_err(|status| format!("call: {status:?}"))
}

#[tokio::test]
async fn an_allowed_service_with_a_certificate_from_the_ca_gets_through() {
    let ca = Ca::new();
    let addr = serve(&ca, "jwks-service", &["identity-service", "token-service"]).await;
    call(addr, ca.member("identity-service").client_config("jwks-service"))
        .await
        .expect("allowed client is served");
}

#[tokio::test]
async fn everything_else_is_refused_at_the_handshake() {
    let ca = Ca::new();
    let addr = serve(&ca, "jwks-service", &["identity-service"]).await;
    let stranger = Ca::new();
    let no_certificate = ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&ca.pki.ca.cert_pem))
        .domain_name("jwks-service");
    let cases = [
        (
            "a valid certificate for another service",
            ca.member("agentctl").client_config("jwks-service"),
        ),
        ("no client certificate", no_certificate),
        (
            "a certificate from another CA",
            stranger.member("identity-service").client_config("jwks-service"),
        ),
        (
            "a server that is not the one dialled",
            ca.member("identity-service").client_config("token-service"),
        ),
    ];
    for (case, tls) in cases {
        assert!(call(addr, tls).await.is_err(), "{case} must be refused");
    }
}
