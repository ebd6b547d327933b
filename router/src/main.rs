//! `mrouterd`: the multicast routing daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, reload};

use router::{config, daemon};

/// Multicast routing daemon: programs the kernel's multicast forwarding from a TOML file.
#[derive(Parser, Debug)]
#[command(name = "mrouterd", version, about)]
struct Args {
    /// Configuration file to run with.
    #[arg(short, long, value_name = "FILE", required_unless_present = "check")]
    config: Option<PathBuf>,
    /// Validate FILE and exit, without touching the kernel.
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    check: Option<PathBuf>,
    /// Log level or filter (overrides the file): error, warn, info, debug, trace.
    #[arg(short, long, value_name = "LEVEL")]
    log_level: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = args.check {
        return match config::load(&path) {
            Ok(c) => {
                println!(
                    "{}: OK ({} interfaces, {} routes)",
                    path.display(),
                    c.interfaces.len(),
                    c.routes.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(Err(e)) = args.log_level.as_deref().map(config::check_log_level) {
        eprintln!("mrouterd: --log-level: {e}");
        return ExitCode::from(2);
    }
    let config_path = args.config.expect("clap requires --config without --check");

    let (filter, handle) = reload::Layer::new(EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .init();
    let set_log_level: daemon::SetLogLevel = Box::new(move |level: &str| {
        let f = EnvFilter::builder()
            .parse(level)
            .map_err(|e| e.to_string())?;
        handle.reload(f).map_err(|e| e.to_string())
    });

    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mrouterd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = daemon::Options {
        config_path,
        log_level_override: args.log_level,
        set_log_level,
    };
    match rt.block_on(daemon::run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("mrouterd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
