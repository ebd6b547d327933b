//! `mcast`: multicast traffic sender and receiver. See `tools::mcast`.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tools::mcast::{self, mrinfo, recv, send};

#[derive(Parser)]
#[command(
    name = "mcast",
    version,
    about = "Multicast traffic sender and receiver for router tests"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Send paced UDP datagrams with an MCST header (sender id, sequence, timestamp).
    Send(send::SendArgs),
    /// Join groups, count and time what arrives, report (text or JSON).
    Recv(recv::RecvArgs),
    /// Ask a DVMRP router for its interfaces and neighbours, as mrinfo does (root).
    Mrinfo(mrinfo::MrinfoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = mcast::install_stop_handler() {
        eprintln!("mcast: error: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.cmd {
        Cmd::Send(args) => send::run(&args).and_then(|r| {
            if args.json {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", serde_json::to_string(&r)?)?;
                out.flush()?;
            } else {
                eprintln!("{}", send::summary_line(&r));
            }
            Ok(())
        }),
        Cmd::Recv(args) => recv::run(&args).and_then(|r| recv::print_report(&r, args.json)),
        Cmd::Mrinfo(args) => mrinfo::run(&args).and_then(|r| mrinfo::print_report(&r, args.json)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcast: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
