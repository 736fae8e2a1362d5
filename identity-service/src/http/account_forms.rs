//! What every table of the account page shares: the session's CSRF field, the revoke
//! form, and how a time is shown.

use protocol::scope::ScopeSet;

use super::html::escape;

pub(super) fn csrf_field(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(csrf))
}

/// The form that revokes one registration, grant or delegation.
pub(super) fn revoke_form(csrf: &str, kind: &str, id: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/agent/account/revoke\">{csrf}\
         <input type=\"hidden\" name=\"kind\" value=\"{kind}\">\
         <input type=\"hidden\" name=\"id\" value=\"{id}\">\
         <button type=\"submit\" class=\"revoke\" id=\"revoke-{id}\">Revoke</button></form>",
        csrf = csrf_field(csrf),
        kind = escape(kind),
        id = escape(id),
    )
}

/// The form that sets what a claimed agent or an allowed application may hand on to
/// other agents (RFC 8693 token exchange): one box per scope it holds, `chosen` ticked;
/// none ticked: nothing.
pub(super) fn hand_on_form(csrf: &str, (kind, id): (&str, &str), offered: &ScopeSet, chosen: &ScopeSet) -> String {
    let boxes: String = offered
        .to_strings()
        .iter()
        .map(|scope| {
            let scope_set = ScopeSet::parse(scope).unwrap_or_default();
            format!(
                "<label><input type=\"checkbox\" name=\"scope\" value=\"{scope}\"{checked}> <code>{scope}</code></label> ",
                checked = if scope_set.is_subset(chosen) { " checked" } else { "" },
                scope = escape(scope),
            )
        })
        .collect();
    format!(
        "<form method=\"post\" action=\"/agent/account/hand-on\" class=\"hand-on\">{csrf}\
         <input type=\"hidden\" name=\"kind\" value=\"{kind}\">\
         <input type=\"hidden\" name=\"id\" value=\"{id}\">May hand on: {boxes}\
         <button type=\"submit\" class=\"secondary\" id=\"hand-on-{id}\">Save</button></form>",
        csrf = csrf_field(csrf),
        kind = escape(kind),
        id = escape(id),
    )
}

/// RFC 3339 UTC, to the minute.
pub(super) fn date(unix: i64) -> String {
    shared::time::rfc3339(unix)
        .chars()
        .take(16)
        .collect::<String>()
        .replace('T', " ")
}
