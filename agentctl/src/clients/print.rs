//! What `agentctl clients` prints: a table, key/value lines, or with `--json` one JSON
//! document.

use std::time::{Duration, UNIX_EPOCH};

use proto::clients::v1 as pb;
use serde_json::{Value, json};

pub(super) fn client_ref(client_id: &str) -> pb::ClientRef {
    pb::ClientRef {
        client_id: client_id.to_owned(),
    }
}

pub(super) fn print_created(created: &pb::CreateClientResponse, as_json: bool) {
    if as_json {
        println!(
            "{}",
            json!({
                "client_id": created.client_id,
                "client_secret": created.client_secret,
                "secret_id": created.secret_id,
                "scopes": created.scopes,
            })
        );
        return;
    }
    println!("client_id:     {}", created.client_id);
    println!("client_secret: {}", created.client_secret);
    println!("secret_id:     {}", created.secret_id);
    println!("scopes:        {}", created.scopes.join(" "));
    eprintln!("the client secret is shown once; store it now");
}

pub(super) fn client_json(client: &pb::ClientInfo) -> Value {
    json!({
        "client_id": client.client_id,
        "name": client.name,
        "scopes": client.scopes,
        "auth_method": client.auth_method,
        "enabled": client.enabled,
        "created_at": when(client.created_at),
        "secrets": client.secrets.iter().map(|s| json!({ "secret_id": s.secret_id, "created_at": when(s.created_at) })).collect::<Vec<_>>(),
        "keys": (!client.keys.is_empty()).then_some(&client.keys),
        "certificate": (!client.certificate.is_empty()).then_some(&client.certificate),
        "requires_dpop": client.requires_dpop,
        "introspect": client.introspect,
        "may_act": client.may_act,
        "workloads": client.workloads.iter().map(|w| json!({
            "issuer": w.issuer,
            "subject": w.subject,
            "match": matching(w),
        })).collect::<Vec<_>>(),
    })
}

pub(super) fn print_client(client: &pb::ClientInfo, as_json: bool) {
    if as_json {
        println!("{}", client_json(client));
        return;
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("client_id:     {}", client.client_id);
    println!("name:          {}", client.name);
    println!("enabled:       {}", yes_no(client.enabled));
    println!("auth_method:   {}", client.auth_method);
    println!("scopes:        {}", client.scopes.join(" "));
    println!("created:       {}", when(client.created_at));
    for secret in &client.secrets {
        println!(
            "secret:        {} (created {})",
            secret.secret_id,
            when(secret.created_at)
        );
    }
    if !client.keys.is_empty() {
        println!("keys:          {}", client.keys);
    }
    if !client.certificate.is_empty() {
        println!("certificate:   {}", client.certificate);
    }
    for workload in &client.workloads {
        let star = if workload.prefix { "*" } else { "" };
        println!(
            "workload:      {} {}{star} ({})",
            workload.issuer,
            workload.subject,
            matching(workload)
        );
    }
    println!("requires_dpop: {}", yes_no(client.requires_dpop));
    println!("introspect:    {}", yes_no(client.introspect));
    if !client.may_act.is_empty() {
        println!("may_act:       {}", client.may_act.join(" "));
    }
}

pub(super) fn print_table(clients: &[pb::ClientInfo]) {
    println!(
        "{:<36} {:<16} {:<28} {:<8} {:<7} scopes",
        "client_id", "name", "auth_method", "enabled", "secrets"
    );
    for client in clients {
        println!(
            "{:<36} {:<16} {:<28} {:<8} {:<7} {}",
            client.client_id,
            truncate(&client.name, 16),
            if client.workloads.is_empty() {
                client.auth_method.clone()
            } else {
                format!("{} (workload)", client.auth_method)
            },
            if client.enabled { "yes" } else { "no" },
            client.secrets.len(),
            client.scopes.join(" ")
        );
    }
}

/// Exact unless the operator wrote a prefix; shown wherever a binding is.
fn matching(workload: &pb::WorkloadSubject) -> &'static str {
    if workload.prefix { "prefix" } else { "exact" }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

fn when(unix_secs: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(unix_secs.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}
