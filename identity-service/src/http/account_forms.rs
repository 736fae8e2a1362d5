//! What every table of the account page shares: the session's CSRF field, the revoke
//! form, and how a time is shown.

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

/// RFC 3339 UTC, to the minute.
pub(super) fn date(unix: i64) -> String {
    shared::time::rfc3339(unix)
        .chars()
        .take(16)
        .collect::<String>()
        .replace('T', " ")
}
