//! `agentctl clients federate|unfederate`: bind a client to a workload, or unbind it.

use proto::clients::v1 as pb;

use super::print::print_client;
use super::{ClientsError, WorkloadArgs, connect, refused};

pub(super) async fn federate(args: WorkloadArgs, bind: bool) -> Result<(), ClientsError> {
    let (subject, prefix) = match (args.subject, args.subject_prefix) {
        (Some(subject), None) => (subject, false),
        (None, Some(prefix)) => (prefix, true),
        _ => return Err(ClientsError::Refused("give --subject or --subject-prefix".into())),
    };
    let request = pb::WorkloadRequest {
        client_id: args.client_id,
        workload: Some(pb::WorkloadSubject {
            issuer: args.issuer,
            subject,
            prefix,
        }),
    };
    let mut admin = connect(&args.common).await?;
    let client = if bind {
        admin.federate_client(request).await
    } else {
        admin.unfederate_client(request).await
    }
    .map_err(refused)?
    .into_inner();
    print_client(&client, args.common.json);
    Ok(())
}
