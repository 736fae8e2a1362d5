use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = agentctl::cli::Cli::parse();
    // Only the long-running runner logs; one-shot commands print results and errors.
    if matches!(cli.command, agentctl::cli::Command::Dev(_)) {
        shared::telemetry::init_stderr("agentctl");
    }
    match agentctl::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("agentctl: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
