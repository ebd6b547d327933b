//! `mrouterctl`: control and inspect a running `mrouterd` through its control socket.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use router::control::{Client, Request, Show};
use serde_json::Value;

/// Control a running mrouterd.
#[derive(Parser, Debug)]
#[command(name = "mrouterctl", version, about)]
struct Args {
    /// The daemon's control socket ([router] control_socket in its configuration).
    #[arg(short, long, env = "MROUTERD_SOCKET", default_value = router::config::DEFAULT_CONTROL_SOCKET)]
    socket: PathBuf,
    /// Print the daemon's JSON answer instead of a table.
    #[arg(short, long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Show state.
    Show {
        #[command(subcommand)]
        what: ShowCmd,
    },
    /// Re-read the configuration file and apply only what changed.
    Reload,
    /// Set the log level or filter (error, warn, info, debug, trace, or e.g. "info,router=debug").
    LogLevel { level: String },
    /// Daemon version, name and uptime.
    Version,
}

#[derive(Subcommand, Debug)]
enum ShowCmd {
    /// Configured interfaces: state, VIF, addresses, threshold, boundaries.
    Interfaces,
    /// The kernel's VIF table with packet and byte counters.
    Vifs,
    /// The router's multicast routes (intent), with the reason for every interface.
    Mroutes,
    /// The kernel's forwarding cache (reality), with counters.
    Mfc,
    /// Reverse-path lookup of a source address in the unicast routing table.
    Rpf { source: std::net::Ipv4Addr },
    /// Upcall, packet and kernel-write counters.
    Counters,
    /// Tunnels: endpoints, dataplane (kernel or userspace) and why, VIF, state, counters.
    Tunnels,
    /// IGMP state: interfaces (querier, version, timers, counters), groups, or sources.
    Igmp {
        #[arg(value_enum, default_value = "interfaces")]
        what: IgmpWhat,
    },
    /// PIM state: interfaces (DR, Generation ID, timers) or neighbours.
    Pim {
        #[arg(value_enum, default_value = "interfaces")]
        what: PimWhat,
    },
    /// DVMRP state: interfaces, neighbours, routes, or the forwarding cache with prunes.
    Dvmrp {
        #[arg(value_enum, default_value = "interfaces")]
        what: DvmrpWhat,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum DvmrpWhat {
    /// Per interface: address, metric, Generation ID, timers, counters.
    Interfaces,
    /// Neighbours: one-way/two-way, Generation ID, version, capabilities, expiry.
    Neighbors,
    /// The route table: metric, upstream interface and neighbour, hold-down, dependents.
    Routes,
    /// The forwarding cache: upstream, outgoing interfaces, prunes sent and received,
    /// pending grafts.
    Prunes,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum PimWhat {
    Interfaces,
    Neighbors,
    /// Upstream state per (*,G) and (S,G): Joined/NotJoined, RPF, Join Timer.
    Upstream,
    /// Downstream Join/Prune state per interface.
    Join,
    /// Assert state per entry and interface: winner, metric, timer.
    Assert,
    /// RP mappings and the RP of every group with state.
    Rp,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum IgmpWhat {
    Interfaces,
    Groups,
    Sources,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let req = match &args.cmd {
        Cmd::Show { what } => Request::Show {
            what: match what {
                ShowCmd::Interfaces => Show::Interfaces,
                ShowCmd::Vifs => Show::Vifs,
                ShowCmd::Mroutes => Show::Mroutes,
                ShowCmd::Mfc => Show::Mfc,
                ShowCmd::Rpf { source } => Show::Rpf { source: *source },
                ShowCmd::Counters => Show::Counters,
                ShowCmd::Tunnels => Show::Tunnels,
                ShowCmd::Igmp { .. } => Show::Igmp,
                ShowCmd::Pim { .. } => Show::Pim,
                ShowCmd::Dvmrp { .. } => Show::Dvmrp,
            },
        },
        Cmd::Reload => Request::Reload,
        Cmd::LogLevel { level } => Request::LogLevel {
            level: level.clone(),
        },
        Cmd::Version => Request::Version,
    };
    let mut client = match Client::connect(&args.socket) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "mrouterctl: cannot connect to mrouterd at {}: {e}\n\
                 Is mrouterd running? Name another router's socket with --socket PATH.",
                args.socket.display()
            );
            return ExitCode::from(2);
        }
    };
    let resp = match client.call(&req) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mrouterctl: {e}");
            return ExitCode::from(2);
        }
    };
    if !resp.ok {
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&resp).unwrap_or_default()
            );
        }
        eprintln!(
            "mrouterctl: {}",
            resp.error.unwrap_or_else(|| "failed".into())
        );
        return ExitCode::from(1);
    }
    let data = resp.data.unwrap_or(Value::Null);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&data).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    print!("{}", tools::ctl::render(&args.cmd_name(), &data));
    ExitCode::SUCCESS
}

impl Args {
    fn cmd_name(&self) -> String {
        match &self.cmd {
            Cmd::Show { what } => match what {
                ShowCmd::Interfaces => "interfaces",
                ShowCmd::Vifs => "vifs",
                ShowCmd::Mroutes => "mroutes",
                ShowCmd::Mfc => "mfc",
                ShowCmd::Rpf { .. } => "rpf",
                ShowCmd::Counters => "counters",
                ShowCmd::Tunnels => "tunnels",
                ShowCmd::Igmp {
                    what: IgmpWhat::Interfaces,
                } => "igmp-interfaces",
                ShowCmd::Igmp {
                    what: IgmpWhat::Groups,
                } => "igmp-groups",
                ShowCmd::Igmp {
                    what: IgmpWhat::Sources,
                } => "igmp-sources",
                ShowCmd::Pim {
                    what: PimWhat::Interfaces,
                } => "pim-interfaces",
                ShowCmd::Pim {
                    what: PimWhat::Neighbors,
                } => "pim-neighbors",
                ShowCmd::Pim {
                    what: PimWhat::Upstream,
                } => "pim-upstream",
                ShowCmd::Pim {
                    what: PimWhat::Join,
                } => "pim-join",
                ShowCmd::Pim {
                    what: PimWhat::Assert,
                } => "pim-assert",
                ShowCmd::Pim { what: PimWhat::Rp } => "pim-rp",
                ShowCmd::Dvmrp { what } => match what {
                    DvmrpWhat::Interfaces => "dvmrp-interfaces",
                    DvmrpWhat::Neighbors => "dvmrp-neighbors",
                    DvmrpWhat::Routes => "dvmrp-routes",
                    DvmrpWhat::Prunes => "dvmrp-prunes",
                },
            },
            Cmd::Reload => "reload",
            Cmd::LogLevel { .. } => "log-level",
            Cmd::Version => "version",
        }
        .to_owned()
    }
}
