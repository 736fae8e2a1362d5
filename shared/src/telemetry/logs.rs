//! One JSON object per line: `time`, `level`, `target`, `message`, the event's fields,
//! and, inside a span, the OpenTelemetry `trace_id` and `span_id` of the current span.
//! The text format (`agentctl dev`) writes the same on one human-readable line.
//!
//! Neither prints a span's own fields (the trace holds them), so spans are not
//! formatted when they open: [`NoSpanFields`] is the fields formatter of both.

use std::fmt;

use opentelemetry::trace::TraceContextExt as _;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON line format of every service.
#[derive(Debug, Clone, Copy)]
pub(super) struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let metadata = event.metadata();
        let (message, fields) = recorded(event);
        let mut line = Map::new();
        line.insert(
            "time".into(),
            humantime::format_rfc3339_micros(std::time::SystemTime::now())
                .to_string()
                .into(),
        );
        line.insert("level".into(), metadata.level().as_str().into());
        line.insert("target".into(), metadata.target().into());
        if let Some(message) = message {
            line.insert("message".into(), message);
        }
        line.extend(fields);
        if let Some((trace_id, span_id)) = current_ids(ctx) {
            line.insert("trace_id".into(), trace_id.into());
            line.insert("span_id".into(), span_id.into());
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// The same as text: `time LEVEL target: message key=value … trace_id=… span_id=…`,
/// without colours (a log pipe is not a terminal).
#[derive(Debug, Clone, Copy)]
pub(super) struct TextLines;

impl<S, N> FormatEvent<S, N> for TextLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let metadata = event.metadata();
        let (message, fields) = recorded(event);
        let time = humantime::format_rfc3339_micros(std::time::SystemTime::now());
        write!(writer, "{time} {:>5} {}:", metadata.level().as_str(), metadata.target())?;
        if let Some(message) = &message {
            write!(writer, " {}", Plain(message))?;
        }
        for (name, value) in &fields {
            write!(writer, " {name}={}", Plain(value))?;
        }
        if let Some((trace_id, span_id)) = current_ids(ctx) {
            // An audit event names its trace itself.
            if !fields.contains_key("trace_id") {
                write!(writer, " trace_id={trace_id}")?;
            }
            write!(writer, " span_id={span_id}")?;
        }
        writeln!(writer)
    }
}

/// An event's `message` and its other fields.
fn recorded(event: &Event<'_>) -> (Option<Value>, Map<String, Value>) {
    let mut fields = Map::new();
    event.record(&mut Fields(&mut fields));
    (fields.remove("message"), fields)
}

/// A field value for a text line: a string as it is, anything else as JSON.
struct Plain<'a>(&'a Value);

impl fmt::Display for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::String(text) => f.write_str(text),
            other => write!(f, "{other}"),
        }
    }
}

/// Formats no span fields: what the formatters above never print is not made.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct NoSpanFields;

impl<'writer> FormatFields<'writer> for NoSpanFields {
    fn format_fields<R: RecordFields>(&self, _writer: Writer<'writer>, _fields: R) -> fmt::Result {
        Ok(())
    }
}

/// The trace and span ids of the current span, if there is one with a valid context.
fn current_ids<S, N>(ctx: &FmtContext<'_, S, N>) -> Option<(String, String)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let id = ctx.lookup_current()?.id();
    let cx = tracing::dispatcher::get_default(|dispatch| tracing_opentelemetry::get_otel_context(&id, dispatch))?;
    let span = cx.span();
    let context = span.span_context();
    context
        .is_valid()
        .then(|| (context.trace_id().to_string(), context.span_id().to_string()))
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines_of(
        format: impl FormatEvent<tracing_subscriber::Registry, NoSpanFields> + Send + Sync + 'static,
    ) -> String {
        let captured = Captured::default();
        let sink = captured.clone();
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(NoSpanFields)
            .event_format(format)
            .with_writer(move || sink.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("HTTP request", http.route = "/oauth2/token");
            let _entered = span.enter();
            tracing::info!(target: "audit", event = "token_issued", subject = "reg_1", count = 2, "audit");
        });
        let bytes = captured.0.lock().expect("lock").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn a_text_line_has_the_event_and_its_fields_and_no_colour_or_span_fields() {
        let line = lines_of(TextLines);
        assert!(
            line.ends_with(" INFO audit: audit count=2 event=token_issued subject=reg_1\n"),
            "{line:?}"
        );
        assert!(!line.contains('\u{1b}'), "no ANSI escapes: {line:?}");
        assert!(!line.contains("/oauth2/token"), "span fields are the trace's: {line:?}");
    }

    #[test]
    fn a_json_line_is_one_object_with_the_event_fields() {
        let line = lines_of(JsonLines);
        let value: Value = serde_json::from_str(line.trim_end()).expect("one JSON object");
        assert_eq!(value["target"], "audit");
        assert_eq!(value["event"], "token_issued");
        assert_eq!(value["count"], 2);
        assert!(value.get("http.route").is_none(), "{value}");
    }
}
