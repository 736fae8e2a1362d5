//! The account page's table of delegations: what was handed on in the human's name or
//! their agents' names in the last day (who acts, for which resource, with what scope,
//! when), each with a revoke button while it still works.

use super::account_forms::{date, revoke_form};
use super::html::escape;
use crate::authorize::DelegationView;
use crate::authorize::record::Grant;

pub fn rows(delegations: Option<&[DelegationView]>, grants: &[&Grant], csrf: &str) -> String {
    let Some(delegations) = delegations else {
        return "<tr><td colspan=\"7\" class=\"empty\" id=\"delegations-unavailable\">What was handed on \
                cannot be listed right now. Try again in a moment; revoking an agent or an \
                application above ends what was handed on in its name too.</td></tr>"
            .to_owned();
    };
    if delegations.is_empty() {
        return "<tr><td colspan=\"7\" class=\"empty\" id=\"no-delegations\">Nothing was handed on in your \
                name or your agents' names in the last day. When an application or agent you allowed \
                hands its work on to another agent, it appears here, and you can revoke it.</td></tr>"
            .to_owned();
    }
    delegations
        .iter()
        .map(|d| {
            let (status, action) = if d.active {
                ("active", revoke_form(csrf, "delegation", &d.jti))
            } else {
                ("ended", String::new())
            };
            format!(
                "<tr id=\"delegation-{jti}\"><td>{name}</td><td class=\"actors\">{actors}</td>\
                 <td>{audiences}</td><td><code>{scope}</code></td><td>{issued}</td>\
                 <td class=\"status\">{status}</td><td>{action}</td></tr>",
                jti = escape(&d.jti),
                name = in_the_name_of(d, grants),
                actors = actors(&d.actors),
                audiences = d.audiences.iter().map(|a| escape(a)).collect::<Vec<_>>().join("<br>"),
                scope = escape(&d.scope),
                issued = date(d.issued_at),
            )
        })
        .collect()
}

/// "You, through <application>" for the human's own consent; the agent's id for an agent.
fn in_the_name_of(delegation: &DelegationView, grants: &[&Grant]) -> String {
    let grant = delegation
        .grant_id
        .as_deref()
        .and_then(|id| grants.iter().find(|g| g.id.as_str() == id));
    match grant {
        Some(grant) => format!("You, through {}", escape(&grant.client_name)),
        None if delegation.subject.starts_with("usr_") => "You".to_owned(),
        None => format!("<code>{}</code>", escape(&delegation.subject)),
    }
}

/// The actor now, then who it acts through, newest first.
fn actors(chain: &[(String, String)]) -> String {
    let mut names = chain.iter().map(|(sub, _)| format!("<code>{}</code>", escape(sub)));
    let newest = names.next().unwrap_or_default();
    let earlier: Vec<String> = names.collect();
    if earlier.is_empty() {
        newest
    } else {
        format!("{newest} <span class=\"through\">through {}</span>", earlier.join(", "))
    }
}
