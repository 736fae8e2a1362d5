//! `deploy/prometheus/`: the alert rules pass `promtool check rules`, every rule has a
//! unit test, and `promtool test rules` passes them all.

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
    let firing: BTreeSet<String> = tests["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().expect("alert_rule_test").iter())
        .filter(|case| case["exp_alerts"].as_array().is_some_and(|a| !a.is_empty()))
        .map(|case| case["alertname"].as_str().expect("alertname").to_owned())
        .collect();
    assert_eq!(firing, alerts, "every rule has a case in which it fires");
}
