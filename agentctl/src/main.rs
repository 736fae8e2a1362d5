use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = agentctl::cli::Cli::parse();
    // Only the long-running runner logs; one-shot commands print results and errors.
    let telemetry = match &cli.command {
        agentctl::cli::Command::Dev(args) => {
            let settings = args.telemetry(std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok());
            Some(shared::telemetry::init(
                "agentctl",
                &settings,
                shared::telemetry::Output::Stderr,
            ))
        }
        _ => None,
    };
    let outcome = agentctl::cli::run(cli).await;
    if let Some(telemetry) = telemetry {
        telemetry.shutdown().await;
    }
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("agentctl: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
