//! `deploy/prometheus/`: the alert rules pass `promtool check rules`, every rule has a
//! unit test in which it fires and one in which it stays quiet, `promtool test rules`
//! passes them all, and every rule links the runbook section docs/operations.md has.

use std::collections::BTreeSet;
use std::process::Command;

use crate::{repo, run, yaml_documents};

#[test]
fn every_alert_rule_is_valid_and_unit_tested() {
    let dir = repo().join("deploy/prometheus");
    let checked = run(
        Command::new("promtool")
            .args(["check", "rules", "alerts.yml"])
            .current_dir(&dir),
        "",
    );
    println!("{}", checked.trim());
    let tested = run(
        Command::new("promtool")
            .args(["test", "rules", "alerts.test.yml"])
            .current_dir(&dir),
        "",
    );
    println!("{}", tested.trim());
    let rules = yaml_documents(&std::fs::read_to_string(dir.join("alerts.yml")).expect("alerts.yml")).remove(0);
    let alerts: BTreeSet<String> = rules["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").iter())
        .map(|r| r["alert"].as_str().expect("an alerting rule").to_owned())
        .collect();
    let tests = yaml_documents(&std::fs::read_to_string(dir.join("alerts.test.yml")).expect("tests")).remove(0);
    let cases = |fires: bool| -> BTreeSet<String> {
        tests["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .flat_map(|t| t["alert_rule_test"].as_array().expect("alert_rule_test").iter())
            .filter(|case| case["exp_alerts"].as_array().is_some_and(|a| a.is_empty() != fires))
            .map(|case| case["alertname"].as_str().expect("alertname").to_owned())
            .collect()
    };
    assert_eq!(cases(true), alerts, "every rule has a case in which it fires");
    assert_eq!(cases(false), alerts, "every rule has a case in which it stays quiet");
}

/// GitHub's anchor for a Markdown heading: lowercased, punctuation but `-` and `_`
/// dropped, spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn every_alert_links_its_runbook_section() {
    const RUNBOOK: &str = "https://github.com/agentauth/agentauth/blob/main/docs/operations.md#";
    let rules =
        yaml_documents(&std::fs::read_to_string(repo().join("deploy/prometheus/alerts.yml")).expect("alerts.yml"))
            .remove(0);
    let operations = std::fs::read_to_string(repo().join("docs/operations.md")).expect("docs/operations.md");
    let anchors: BTreeSet<String> = operations
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect();
    for rule in rules["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules"))
    {
        let alert = rule["alert"].as_str().expect("alert");
        let url = rule["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_else(|| panic!("{alert}: no runbook_url"));
        let expected = alert.to_lowercase();
        assert_eq!(url, format!("{RUNBOOK}{expected}"), "{alert}");
        assert!(
            anchors.contains(&expected),
            "{alert}: docs/operations.md has no section #{expected}"
        );
        assert!(
            rule["labels"]["severity"]
                .as_str()
                .is_some_and(|s| ["warning", "critical"].contains(&s)),
            "{alert}: a severity"
        );
    }
}
