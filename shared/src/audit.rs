//! The audit stream: one JSON line per security-relevant event on the `audit` log
//! target, documented in `docs/audit.md`. Fields: `event`, `actor`, `subject`,
//! `outcome`, `ip`, `trace_id`, and the line's `time`. An event never carries a token,
//! assertion, secret, code or claim handle: subjects are ids.

use opentelemetry::trace::TraceContextExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// What the request being served is known by: set by the HTTP and gRPC edges.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The client's address (as the ingress reports it when trusted).
    pub ip: String,
}

tokio::task_local! {
    pub(crate) static REQUEST: RequestContext;
}

/// Runs `future` as serving a request from `ip` (for edges other than the HTTP
/// middleware, such as the gRPC server).
pub async fn serving<F: std::future::Future>(ip: String, future: F) -> F::Output {
    REQUEST.scope(RequestContext { ip }, future).await
}

/// Who did it.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A machine client, by client id.
    Client(&'a str),
    /// An agent, by registration id.
    Registration(&'a str),
    /// A trusted provider, by issuer.
    Provider(&'a str),
    /// A human, by the claim they act on (never their address).
    Human,
    /// Someone through the internal admin APIs (agentctl).
    Operator,
    /// The service itself (the key schedule).
    System,
    /// Not known (an unauthenticated request).
    Anonymous,
}

impl Actor<'_> {
    fn render(&self) -> String {
        match self {
            Self::Client(id) | Self::Registration(id) => (*id).to_owned(),
            Self::Provider(issuer) => format!("provider:{issuer}"),
            Self::Human => "human".into(),
            Self::Operator => "operator".into(),
            Self::System => "system".into(),
            Self::Anonymous => "anonymous".into(),
        }
    }
}

/// Records a delegation (RFC 8693 token exchange) by `actor` for `subject`: `acting`
/// is the party the token is now for, `depth` how many actors its chain names.
pub fn record_delegation(actor: Actor<'_>, subject: &str, acting: &str, depth: usize, outcome: &str) {
    let ip = REQUEST.try_with(|r| r.ip.clone()).unwrap_or_else(|_| "-".into());
    tracing::info!(
        target: "audit",
        event = "token_delegated",
        actor = %actor.render(),
        subject,
        acting,
        depth,
        outcome,
        ip = %ip,
        trace_id = %trace_id(),
        "audit"
    );
}

fn trace_id() -> String {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    if span_context.is_valid() {
        span_context.trace_id().to_string()
    } else {
        "-".into()
    }
}

/// Records `event` about `subject` with its `outcome` (`success` or an error code).
pub fn record(event: &'static str, actor: Actor<'_>, subject: &str, outcome: &str) {
    let ip = REQUEST.try_with(|r| r.ip.clone()).unwrap_or_else(|_| "-".into());
    tracing::info!(
        target: "audit",
        event,
        actor = %actor.render(),
        subject,
        outcome,
        ip = %ip,
        trace_id = %trace_id(),
        "audit"
    );
}
