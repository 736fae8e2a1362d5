//! `deploy/Dockerfile`, read (no Docker engine here): it builds exactly the workspace's
//! binaries, locked, into a shell-less non-root image that exposes every port the
//! manifests use, and everything that runs the image runs one of those binaries.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::{repo, run, yaml_documents};

/// The Dockerfile's instructions, continuation lines joined and comments dropped, by stage.
fn stages() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(repo().join("deploy/Dockerfile")).expect("Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<Vec<String>> = Vec::new();
    for instruction in instructions {
        if instruction.starts_with("FROM ") {
            stages.push(Vec::new());
        }
        stages.last_mut().expect("FROM first").push(instruction);
    }
    stages
}

/// The workspace's binaries, from Cargo: (package, binary).
fn workspace_binaries() -> BTreeSet<(String, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let metadata = run(
        Command::new(cargo)
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(repo()),
        "",
    );
    let metadata: Value = serde_json::from_str(&metadata).expect("cargo metadata");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .flat_map(|p| {
            let package = p["name"].as_str().expect("name").to_owned();
            p["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .filter(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")))
                .map(move |t| (package.clone(), t["name"].as_str().expect("name").to_owned()))
        })
        .collect()
}

/// The binaries the image holds: what the build step copies to /out, which the runtime
/// stage copies whole.
pub fn image_binaries() -> BTreeSet<String> {
    let stages = stages();
    let build = stages
        .iter()
        .flatten()
        .find(|i| i.starts_with("RUN ") && i.contains("cargo build"))
        .expect("a cargo build step");
    build
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("target/release/"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_image_builds_exactly_the_workspace_binaries_locked() {
    let binaries = workspace_binaries();
    let names: BTreeSet<String> = binaries.iter().map(|(_, bin)| bin.clone()).collect();
    let packages: BTreeSet<String> = binaries.iter().map(|(package, _)| package.clone()).collect();
    assert_eq!(
        names,
        ["agentctl", "identity-service", "jwks-service", "token-service"]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        "the workspace's binaries (a new one belongs in the image, or here)"
    );
    let stages = stages();
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    let build = stages[0]
        .iter()
        .find(|i| i.starts_with("RUN ") && i.contains("cargo build"))
        .expect("a cargo build step");
    let words: Vec<&str> = build.split_whitespace().collect();
    assert!(
        words.contains(&"--locked"),
        "the build uses Cargo.lock as it is: {build}"
    );
    assert!(words.contains(&"--release"), "{build}");
    let built: BTreeSet<String> = words
        .windows(2)
        .filter(|w| w[0] == "-p")
        .map(|w| w[1].to_owned())
        .collect();
    assert_eq!(built, packages, "cargo build -p names every package with a binary");
    assert_eq!(image_binaries(), names, "every binary is copied to /out");
    // The target directory is a cache mount, which the image never sees: the binaries
    // leave it in the same step, and the registry is cached alongside.
    for target in ["/usr/local/cargo/registry", "/src/target"] {
        assert!(
            build.contains(&format!("--mount=type=cache,target={target}")),
            "{target} is a cache mount, so a source change does not rebuild every dependency"
        );
    }
    let toolchain = std::fs::read_to_string(repo().join("rust-toolchain.toml")).expect("rust-toolchain.toml");
    let channel = toolchain
        .lines()
        .find_map(|l| l.strip_prefix("channel = "))
        .expect("channel")
        .trim_matches('"');
    assert!(
        stages[0][0].starts_with(&format!("FROM rust:{channel}-")),
        "the build image is the pinned toolchain {channel}: {}",
        stages[0][0]
    );

    let runtime = &stages[1];
    assert!(
        runtime[0].starts_with("FROM gcr.io/distroless/"),
        "a minimal runtime image without a shell"
    );
    assert!(
        runtime.iter().any(|i| i == "COPY --from=build /out/ /usr/local/bin/"),
        "the runtime stage holds what the build put in /out"
    );
    let user = runtime
        .iter()
        .find_map(|i| i.strip_prefix("USER "))
        .expect("a USER line");
    let uid: u32 = user.split(':').next().expect("uid").parse().expect("a numeric uid");
    assert!(uid > 0, "non-root");
    let cmd = runtime.iter().find_map(|i| i.strip_prefix("CMD ")).expect("a CMD");
    let cmd: Vec<String> = serde_json::from_str(cmd).expect("CMD in exec form");
    assert!(names.contains(&cmd[0]), "the default command is one of the binaries");
}

#[test]
fn the_image_exposes_every_port_the_manifests_use() {
    let stages = stages();
    let exposed: BTreeSet<u64> = stages[1]
        .iter()
        .filter_map(|i| i.strip_prefix("EXPOSE "))
        .flat_map(|ports| ports.split_whitespace().map(|p| p.parse::<u64>().expect("a port")))
        .collect();
    let built = run(
        Command::new("kubectl")
            .arg("kustomize")
            .arg(repo().join("k8s/overlays/production")),
        "",
    );
    let mut declared = BTreeSet::new();
    for deployment in yaml_documents(&built).iter().filter(|o| o["kind"] == "Deployment") {
        for port in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_array()
            .expect("ports")
        {
            declared.insert(port["containerPort"].as_u64().expect("containerPort"));
        }
    }
    assert_eq!(exposed, declared, "EXPOSE: http, grpc and metrics");
}

/// Every container that runs our image, in every overlay and in Compose, runs one of the
/// binaries the image holds; any other image is a third-party one we name here.
#[test]
fn everything_that_runs_the_image_runs_one_of_its_binaries() {
    let binaries = image_binaries();
    let third_party = ["redis:", "haproxy:", "busybox:"];
    for overlay in ["dev", "production", "production-gateway-api", "production-monitoring"] {
        let built = run(
            Command::new("kubectl")
                .arg("kustomize")
                .arg(repo().join("k8s/overlays").join(overlay)),
            "",
        );
        for workload in yaml_documents(&built).iter().filter(|o| {
            ["Deployment", "StatefulSet", "Job", "CronJob", "Pod"].contains(&o["kind"].as_str().unwrap_or(""))
        }) {
            let spec = &workload["spec"]["template"]["spec"];
            let containers = spec["containers"]
                .as_array()
                .into_iter()
                .chain(spec["initContainers"].as_array())
                .flatten();
            for container in containers {
                let origin = format!("{overlay}/{}/{}", workload["metadata"]["name"], container["name"]);
                let image = container["image"].as_str().expect("image");
                if third_party.iter().any(|p| image.starts_with(p)) {
                    continue;
                }
                assert!(
                    image.starts_with("ghcr.io/agentauth/agentauth:"),
                    "{origin}: runs {image}, neither our image nor a known third-party one"
                );
                let command = container["command"][0].as_str().expect("an explicit command");
                assert!(binaries.contains(command), "{origin}: the image has no {command}");
            }
        }
    }
    let compose = std::fs::read_to_string(repo().join("deploy/docker-compose.yml")).expect("compose file");
    let compose = yaml_documents(&compose).remove(0);
    for (name, service) in compose["services"].as_object().expect("services") {
        let image = service["image"].as_str().expect("image");
        if third_party.iter().any(|p| image.starts_with(p)) {
            continue;
        }
        assert_eq!(
            service["build"]["dockerfile"], "deploy/Dockerfile",
            "docker-compose.yml/{name}: built from deploy/Dockerfile"
        );
        let command = service["command"][0].as_str().expect("an explicit command");
        assert!(
            binaries.contains(command),
            "docker-compose.yml/{name}: the image has no {command}"
        );
    }
}
