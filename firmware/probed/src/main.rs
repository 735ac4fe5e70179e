//! `probed`: the probe's command-line entry point.
//!
//! Layer: the top. This binary parses arguments, loads configuration, wires the pipeline and
//! reports; it holds no business logic of its own.
#![forbid(unsafe_code)]

mod analytics_cmd;
mod check_rules;
mod cli;
mod daemon;
mod dpdk;
mod hunting;
mod hw;
mod notify;
mod probe_config;
mod replay;
mod rules;
mod updating;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        cli::Command::Replay(args) => replay::run(*args),
        cli::Command::Run(args) => daemon::run(*args),
        cli::Command::CheckRules(args) => check_rules::run(args),
        cli::Command::HwCheck(args) => hw::run_hw_check(args),
        cli::Command::Hunt(args) => hunting::hunt(args),
        cli::Command::Filter(c) => hunting::filter(c),
        cli::Command::Doc(c) => hunting::doc(c),
        cli::Command::Webhook(c) => hunting::webhook(c),
        cli::Command::Lookalike(args) => report(analytics_cmd::lookalike(args)),
        cli::Command::Beacon(args) => report(analytics_cmd::beacon(args)),
        cli::Command::Intel(c) => report(analytics_cmd::intel(c)),
        cli::Command::Update(args) => updating::update(args),
        cli::Command::Health(args) => updating::health(args),
        cli::Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut cli::Cli::command(),
                "probed",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        cli::Command::Man => {
            let man = clap_mangen::Man::new(cli::Cli::command());
            match man.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("probed: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// The exit status of a command: its own, or 2 with the error on stderr.
fn report(r: anyhow::Result<ExitCode>) -> ExitCode {
    r.unwrap_or_else(|e| {
        eprintln!("probed: {e:#}");
        ExitCode::from(2)
    })
}
