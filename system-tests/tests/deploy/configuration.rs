//! `docs/configuration.md` is generated from the settings types, so it cannot drift: every
//! setting of every service, its environment variable, its default and which services
//! read it come from the services' own `Settings::default()`; only the meaning column is
//! written by hand. The test fails when the document and the types disagree, or a
//! setting has no meaning. `AGENTAUTH_WRITE_DOCS=1` rewrites the document from the
//! types, keeping every meaning already written.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::repo;

const DOC: &str = "docs/configuration.md";

const INTRO: &str = "# Configuration

Generated from the services' settings types by `system-tests/tests/deploy/configuration.rs`
(`AGENTAUTH_WRITE_DOCS=1 cargo nextest run -p system-tests --test deploy configuration`
rewrites the generated columns; only the meaning column is written by hand). A test fails
when this page and the code disagree.

Every setting is read, lowest layer first, from the built-in default below, then the TOML
file `AGENTAUTH_CONFIG` names (the same dotted keys as sections), then the environment
variable shown (`AGENTAUTH__SECTION__KEY`, `__` between levels). Settings are validated
before any port is bound, and an error names the setting. A secret is given as a file
(`….file`, e.g. a Kubernetes Secret mounted under `/run/secrets`) or, in development, as
a value (`….value`). `agentctl dev` starts from other defaults (development profile,
loopback ports, the in-memory store) and accepts the same variables.

Lists and tables (`providers`, `protected_resources`, …) are easiest in the TOML file;
in the environment a list of strings is written `[\"a\",\"b\"]`.
";

/// Every leaf setting of `defaults` (`store.redis_url` → its default); a section with
/// nothing in it (an empty table) is a leaf too.
fn leaves<T: Serialize>(defaults: &T) -> BTreeMap<String, Value> {
    super::setting_defaults(defaults)
        .into_iter()
        .filter(|(_, value)| !matches!(value, Value::Object(map) if !map.is_empty()))
        .collect()
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "unset".to_owned(),
        Value::String(s) if s.is_empty() => "`\"\"`".to_owned(),
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// Path → (services that read it, their defaults).
fn settings() -> BTreeMap<String, Vec<(&'static str, Value)>> {
    let services = [
        ("jwks", leaves(&jwks_service::settings::Settings::default())),
        ("identity", leaves(&identity_service::settings::Settings::default())),
        ("token", leaves(&token_service::settings::Settings::default())),
    ];
    let mut all: BTreeMap<String, Vec<(&'static str, Value)>> = BTreeMap::new();
    for (service, leaves) in services {
        for (path, default) in leaves {
            all.entry(path).or_default().push((service, default));
        }
    }
    all
}

/// The meanings already written, by setting.
fn meanings(document: &str) -> BTreeMap<String, String> {
    document
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").collect();
            let path = cells.first()?.trim().trim_matches('`').to_owned();
            Some((path, cells.get(4..)?.join(" | ").trim().to_owned()))
        })
        .collect()
}

fn generate(meanings: &BTreeMap<String, String>) -> String {
    let mut out = String::from(INTRO);
    let mut section = None;
    for (path, readers) in settings() {
        let top = path.split_once('.').map_or("(top level)", |(top, _)| top).to_owned();
        if section.as_ref() != Some(&top) {
            let title = if top.starts_with('(') {
                top.clone()
            } else {
                format!("`{top}`")
            };
            out.push_str(&format!(
                "\n## {title}\n\n| setting | environment | default | services | meaning |\n|---|---|---|---|---|\n"
            ));
            section = Some(top);
        }
        let env = format!("AGENTAUTH__{}", path.replace('.', "__").to_uppercase());
        let first = &readers[0].1;
        let default = if readers.iter().all(|(_, d)| d == first) {
            shown(first)
        } else {
            readers
                .iter()
                .map(|(service, d)| format!("{service}: {}", shown(d)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let services = readers.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(", ");
        let meaning = meanings.get(&path).map(String::as_str).unwrap_or("");
        out.push_str(&format!(
            "| `{path}` | `{env}` | {default} | {services} | {meaning} |\n"
        ));
    }
    out
}

#[test]
fn the_configuration_reference_lists_every_setting_with_its_real_default() {
    let path = repo().join(DOC);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let expected = generate(&meanings(&current));
    if std::env::var_os("AGENTAUTH_WRITE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/configuration.md");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == expected,
        "{DOC} disagrees with the settings types: run AGENTAUTH_WRITE_DOCS=1 cargo nextest run -p system-tests \
         --test deploy configuration, then write the meaning of any new setting"
    );
    let missing: Vec<String> = meanings(&current)
        .into_iter()
        .filter(|(_, meaning)| meaning.is_empty())
        .map(|(path, _)| path)
        .collect();
    assert!(missing.is_empty(), "{DOC}: settings without a meaning: {missing:?}");
    let rows = current.lines().filter(|l| l.starts_with("| `")).count();
    println!("{DOC}: {rows} settings");
}
