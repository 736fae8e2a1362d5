//! One function per `agentctl clients` command: one `ClientAdmin` call, then its output.

use std::path::PathBuf;

use proto::clients::v1 as pb;
use serde_json::json;

use super::print::{client_json, client_ref, print_client, print_created, print_table};
use super::{
    ClientArgs, ClientsError, Common, CreateArgs, RevokeSecretArgs, SetCertArgs, SetKeysArgs, UpdateArgs, connect,
    refused,
};

fn read(path: &PathBuf) -> Result<String, ClientsError> {
    std::fs::read_to_string(path).map_err(|e| ClientsError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

pub(super) async fn create(args: CreateArgs) -> Result<(), ClientsError> {
    let created = connect(&args.common)
        .await?
        .create_client(pb::CreateClientRequest {
            scopes: args.scopes,
            name: args.name,
            requires_dpop: args.requires_dpop,
            introspect: args.introspect,
            may_act: args.may_act,
        })
        .await
        .map_err(refused)?
        .into_inner();
    print_created(&created, args.common.json);
    Ok(())
}

pub(super) async fn list(common: Common) -> Result<(), ClientsError> {
    let clients = connect(&common)
        .await?
        .list_clients(pb::ListClientsRequest {})
        .await
        .map_err(refused)?
        .into_inner()
        .clients;
    if common.json {
        println!("{}", json!(clients.iter().map(client_json).collect::<Vec<_>>()));
    } else {
        print_table(&clients);
    }
    Ok(())
}

pub(super) async fn show(args: ClientArgs) -> Result<(), ClientsError> {
    let client = connect(&args.common)
        .await?
        .get_client(client_ref(&args.client_id))
        .await
        .map_err(refused)?
        .into_inner();
    print_client(&client, args.common.json);
    Ok(())
}

pub(super) async fn update(args: UpdateArgs) -> Result<(), ClientsError> {
    let client = connect(&args.common)
        .await?
        .update_client(pb::UpdateClientRequest {
            client_id: args.client_id,
            name: args.name,
            scopes: args.scopes,
            requires_dpop: args.requires_dpop,
            introspect: args.introspect,
            may_act: (args.no_actors || !args.may_act.is_empty()).then_some(pb::Actors { actors: args.may_act }),
        })
        .await
        .map_err(refused)?
        .into_inner();
    print_client(&client, args.common.json);
    Ok(())
}

pub(super) async fn delete(args: ClientArgs) -> Result<(), ClientsError> {
    connect(&args.common)
        .await?
        .delete_client(client_ref(&args.client_id))
        .await
        .map_err(refused)?;
    if args.common.json {
        println!("{}", json!({ "client_id": args.client_id, "deleted": true }));
    } else {
        println!("deleted {}", args.client_id);
    }
    Ok(())
}

pub(super) async fn add_secret(args: ClientArgs) -> Result<(), ClientsError> {
    let added = connect(&args.common)
        .await?
        .add_secret(client_ref(&args.client_id))
        .await
        .map_err(refused)?
        .into_inner();
    if args.common.json {
        println!(
            "{}",
            json!({ "client_id": args.client_id, "secret_id": added.secret_id, "client_secret": added.client_secret })
        );
    } else {
        println!("secret_id:     {}", added.secret_id);
        println!("client_secret: {}", added.client_secret);
        eprintln!("the client secret is shown once; store it now. Revoke the old one once the client uses this one.");
    }
    Ok(())
}

pub(super) async fn revoke_secret(args: RevokeSecretArgs) -> Result<(), ClientsError> {
    let client = connect(&args.common)
        .await?
        .revoke_secret(pb::RevokeSecretRequest {
            client_id: args.client_id,
            secret_id: args.secret_id,
        })
        .await
        .map_err(refused)?
        .into_inner();
    print_client(&client, args.common.json);
    Ok(())
}

pub(super) async fn set_keys(args: SetKeysArgs) -> Result<(), ClientsError> {
    let source = match (&args.jwks, args.jwks_uri) {
        (Some(path), _) => pb::set_keys_request::Source::JwksJson(read(path)?),
        (None, Some(uri)) => pb::set_keys_request::Source::JwksUri(uri),
        (None, None) => return Err(ClientsError::Refused("give --jwks or --jwks-uri".into())),
    };
    let client = connect(&args.common)
        .await?
        .set_keys(pb::SetKeysRequest {
            client_id: args.client_id,
            source: Some(source),
        })
        .await
        .map_err(refused)?
        .into_inner();
    print_client(&client, args.common.json);
    Ok(())
}

pub(super) async fn set_cert(args: SetCertArgs) -> Result<(), ClientsError> {
    use pb::set_certificate_request::Binding;
    let binding = match (args.subject_dn, args.san_dns, &args.cert) {
        (Some(dn), _, _) => Binding::SubjectDn(dn),
        (None, Some(name), _) => Binding::SanDns(name),
        (None, None, Some(path)) => Binding::CertificatePem(read(path)?),
        (None, None, None) => {
            return Err(ClientsError::Refused("give --subject-dn, --san-dns or --cert".into()));
        }
    };
    let client = connect(&args.common)
        .await?
        .set_certificate(pb::SetCertificateRequest {
            client_id: args.client_id,
            binding: Some(binding),
        })
        .await
        .map_err(refused)?
        .into_inner();
    print_client(&client, args.common.json);
    Ok(())
}

pub(super) async fn set_enabled(args: ClientArgs, enabled: bool) -> Result<(), ClientsError> {
    let client = connect(&args.common)
        .await?
        .set_client_enabled(pb::SetClientEnabledRequest {
            client_id: args.client_id,
            enabled,
        })
        .await
        .map_err(refused)?
        .into_inner();
    print_client(&client, args.common.json);
    Ok(())
}
