//! Compiles every `.proto` under `proto/` with `protox`, so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/agentauth/identity/v1/identity.proto",
        "proto/agentauth/keys/v1/keys.proto",
        "proto/agentauth/clients/v1/clients.proto",
        "proto/agentauth/tokens/v1/delegations.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
