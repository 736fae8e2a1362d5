//! `bench/bench.py` still measures what it says: a short run against `agentctl dev` and
//! oidc-provider gets every path answered with 2xx only, and a line for each, with its
//! CPU split per process.

use std::process::Command;

use serde_json::Value;

use super::repo;

#[test]
fn the_benchmark_drives_every_path_of_the_dev_runner_and_its_comparison_without_an_error() {
    let bin_dir = super::bin_dir();
    let rows = tempfile::NamedTempFile::new().expect("temp file");
    let output = Command::new("python3")
        .arg(repo().join("bench/bench.py"))
        .args(["--systems", "dev", "--agents", "60", "--runs", "1", "--duration", "1s"])
        .args(["--proofs", "20000", "--bin-dir"])
        .arg(&bin_dir)
        .arg("--json")
        .arg(rows.path())
        .output()
        .expect("python3 runs bench/bench.py");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench.py failed:\n{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{printed}");
    let rows: Vec<Value> = serde_json::from_slice(&std::fs::read(rows.path()).expect("rows")).expect("JSON rows");
    let measured = |system: &str| -> Vec<&str> {
        rows.iter()
            .filter(|r| r["system"] == system)
            .filter_map(|r| r["path"].as_str())
            .collect()
    };
    assert_eq!(
        measured("dev"),
        [
            "exchange",
            "dpop",
            "client_credentials",
            "introspect",
            "jwks",
            "register"
        ]
    );
    assert_eq!(measured("oidc-provider"), ["client_credentials", "jwks"]);
    for row in &rows {
        let statuses = row["statuses"].as_object().expect("statuses");
        let answered: u64 = statuses.values().filter_map(Value::as_u64).sum();
        assert!(answered > 0, "no request answered: {row}");
        assert!(
            statuses.keys().all(|status| status.starts_with('2')),
            "only 2xx answers expected: {row}"
        );
        assert!(
            row["cpu_us"].as_f64().is_some_and(|cpu| cpu > 0.0),
            "server CPU counted: {row}"
        );
        the_cpu_is_split_per_process(row);
    }
    assert!(
        printed.contains("× oidc-provider"),
        "the comparison ratios are printed:\n{printed}"
    );
}

/// Every process of the row has a CPU figure of its own, and together they make the total.
fn the_cpu_is_split_per_process(row: &Value) {
    let by_process = row["cpu_us_by_process"].as_object().expect("cpu_us_by_process");
    assert!(!by_process.is_empty(), "no process in the CPU breakdown: {row}");
    assert!(
        by_process.values().all(|us| us.as_f64().is_some_and(|us| us >= 0.0)),
        "a number ≥ 0 for each process: {row}"
    );
    if row["system"] == "dev" {
        assert!(
            by_process.contains_key("agentctl"),
            "the dev runner's process is named: {row}"
        );
    }
    let summed: f64 = by_process.values().filter_map(Value::as_f64).sum();
    let total = row["cpu_us"].as_f64().expect("cpu_us");
    assert!(
        (summed - total).abs() <= 0.01 * total + 0.1,
        "the processes' CPU ({summed}) adds up to the total ({total}): {row}"
    );
}
