//! The sign-in buttons of the identity providers, on every sign-in page.

use super::html::escape;
use crate::upstream::UpstreamProviders;

/// A button per identity provider, each a form posting `provider` (with `hidden`) to
/// `action`.
pub fn provider_forms(upstream: &UpstreamProviders, action: &str, hidden: &str) -> String {
    upstream
        .offered()
        .iter()
        .map(|(id, name)| {
            format!(
                "<form method=\"post\" action=\"{action}\">{hidden}\
                 <input type=\"hidden\" name=\"provider\" value=\"{id}\">\
                 <button type=\"submit\" id=\"provider-{id}\">Sign in with {name}</button></form>",
                id = escape(id),
                name = escape(name),
            )
        })
        .collect()
}
