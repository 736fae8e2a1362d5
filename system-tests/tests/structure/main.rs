//! The code's shape, held where it was reached (issue 23): every crate's import picture
//! has no circle, no module imports a floor above its own (`tools/floors/<crate>.txt`,
//! the order each `lib.rs` header states), no non-test file is over 300 lines and no
//! function over 60 (`tools/sizes.py`), and the protocol crate pulls in no I/O stack.

use std::path::{Path, PathBuf};
use std::process::Command;

const CRATES: [&str; 7] = [
    "proto",
    "protocol",
    "shared",
    "jwks-service",
    "identity-service",
    "token-service",
    "agentctl",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn no_crate_has_an_import_circle_or_an_import_against_its_floors() {
    let mut floored = 0;
    for krate in CRATES {
        let floors = format!("tools/floors/{krate}.txt");
        let mut args = vec!["tools/import-picture.py", krate];
        if repo().join(&floors).exists() {
            args.push(&floors);
            floored += 1;
        }
        let picture = run("python3", &args);
        println!("{}", picture.lines().next().unwrap_or_default());
        assert!(
            picture.contains("import circles: 0 between files, 0 between top-level modules"),
            "{krate}:\n{picture}"
        );
        if args.len() == 3 {
            assert!(picture.contains("arrows running back up: 0"), "{krate}:\n{picture}");
        }
    }
    assert_eq!(
        floored,
        CRATES.len() - 1,
        "every crate but proto (one generated module) states its floors"
    );
}

#[test]
fn no_file_is_over_300_lines_and_no_function_over_60() {
    let mut args = vec!["tools/sizes.py", "--file-max", "300", "--fn-max", "60"];
    args.extend(CRATES);
    let sizes = run("python3", &args);
    println!("{sizes}");
    assert!(sizes.contains("files over 300 lines: 0"), "{sizes}");
    assert!(sizes.contains("functions over 60 lines: 0"), "{sizes}");
}

#[test]
fn the_protocol_crate_depends_on_no_store_server_or_runtime() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = run(
        &cargo,
        &[
            "tree",
            "--offline",
            "-p",
            "protocol",
            "-e",
            "normal",
            "--prefix",
            "none",
        ],
    );
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    println!("protocol depends on {} crates", crates.len());
    assert!(crates.contains(&"jsonwebtoken"), "{tree}");
    for forbidden in ["redis", "actix-web", "tonic", "tokio", "reqwest", "proto", "shared"] {
        assert!(!crates.contains(&forbidden), "protocol pulls in {forbidden}:\n{tree}");
    }
}
