//! `testbed`: build, use and remove namespace topologies; run the multicast demo.

mod demo;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, Subcommand};
use testbed::{Net, State, Topology};

/// Where `testbed up` records what is up.
const STATE_DIR: &str = "/run/testbed";

#[derive(Parser)]
#[command(
    name = "testbed",
    version,
    about = "Mininet-style topologies in network namespaces for mrouterd"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build a topology, start its routers and leave it running.
    Up {
        /// Topology file (TOML).
        file: PathBuf,
        /// Name of this testbed (default: the file stem); namespaces are NAME-NODE.
        #[arg(long)]
        name: Option<String>,
    },
    /// Run a command in a node's namespace (stdio inherited, exits with its code).
    Exec {
        /// Testbed name (may be omitted when exactly one is up).
        #[arg(long)]
        name: Option<String>,
        /// Node (or LAN) name.
        node: String,
        /// The command and its arguments (after --).
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
    /// Stop the routers and remove the namespaces of a testbed.
    Down {
        /// Testbed name (may be omitted when exactly one is up).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the testbeds that are up.
    List,
    /// Show a testbed's nodes, namespaces and addresses.
    Show {
        /// Testbed name (may be omitted when exactly one is up).
        #[arg(long)]
        name: Option<String>,
    },
    /// Remove namespaces left by dead processes (tbPID_N-*) and the processes in them.
    Gc {
        /// Also remove the run directories of dead processes (kept after a panic for
        /// debugging).
        #[arg(long)]
        rundirs: bool,
    },
    /// Multicast demo: src - r1 - r2 - r3 - rcv1, plus rcv2 and rcv3 on a LAN at r2.
    ///
    /// With PIM-SM (the default, examples/demo-pim.toml): receivers join with IGMP, (*,G)
    /// Joins go to the RP r2, the first packets reach it as Registers from r1, then r2
    /// joins the source tree and stops the Registers. With `--protocol static`
    /// (examples/demo.toml): static (S,G) routes. With `--protocol dvmrp`
    /// (examples/demo-dvmrp.toml): two DVMRP islands joined by an IP-in-IP tunnel across a
    /// unicast-only router, receivers on the far island. Prints each receiver's progress every
    /// second, then a table per receiver and the routers' state, and removes everything
    /// (also on Ctrl-C). Exits non-zero if a receiver got nothing.
    Demo {
        /// How the routers learn what to forward: "pim", "dvmrp" or "static".
        #[arg(long, default_value = "pim", value_parser = ["pim", "dvmrp", "static"])]
        protocol: String,
        /// Seconds of traffic.
        #[arg(long, default_value_t = 10)]
        duration: u32,
        /// Packets per second.
        #[arg(long, default_value_t = 50)]
        rate: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Up { file, name } => up(&file, name),
        Cmd::Exec { name, node, cmd } => exec(name, &node, &cmd),
        Cmd::Down { name } => down(name),
        Cmd::List => list(),
        Cmd::Show { name } => show(name),
        Cmd::Gc { rundirs } => gc(rundirs),
        Cmd::Demo {
            duration,
            rate,
            protocol,
        } => demo::run(duration, rate, &protocol),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("testbed: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn state_path(name: &str) -> PathBuf {
    Path::new(STATE_DIR).join(format!("{name}.json"))
}

fn load(name: &str) -> Result<State> {
    let path = state_path(name);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("testbed {name} is not up ({} missing)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("invalid state {}", path.display()))
}

fn names_up() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(STATE_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension().is_some_and(|x| x == "json"))
                .then(|| p.file_stem()?.to_str().map(str::to_string))
                .flatten()
        })
        .collect();
    v.sort();
    v
}

fn resolve_name(name: Option<String>) -> Result<String> {
    if let Some(n) = name {
        return Ok(n);
    }
    match names_up().as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no testbed is up"),
        many => bail!("several testbeds are up ({}): use --name", many.join(", ")),
    }
}

fn up(file: &Path, name: Option<String>) -> Result<ExitCode> {
    let name = match name {
        Some(n) => n,
        None => file
            .file_stem()
            .and_then(|s| s.to_str())
            .context("cannot derive a name from the file: use --name")?
            .to_string(),
    };
    ensure!(
        !name.is_empty()
            && name.len() <= 16
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'),
        "invalid testbed name {name:?} (at most 16 characters of [A-Za-z0-9_.])"
    );
    let path = state_path(&name);
    ensure!(
        !path.exists(),
        "testbed {name} is already up (`testbed down --name {name}` first)"
    );
    std::fs::create_dir_all(STATE_DIR).with_context(|| format!("cannot create {STATE_DIR}"))?;
    testbed::install_interrupt_handler();
    let topo = Topology::from_file(file)?;
    let t0 = Instant::now();
    let net = Net::build(&topo, Some(&name))?;
    let elapsed = t0.elapsed();
    if testbed::interrupted() {
        drop(net);
        bail!("interrupted; everything removed");
    }
    let mut state = net.state(&name);
    state.name = name.clone();
    let json = serde_json::to_string_pretty(&state)?;
    // Write the state before detaching so a failure still cleans up (net dropped).
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    let state = net.detach();
    print!("{}", state.summary());
    println!(
        "testbed {name} is up ({} namespaces, built in {:.0} ms); run directory {}",
        state.namespaces().len(),
        elapsed.as_secs_f64() * 1000.0,
        state.rundir.display()
    );
    println!("  testbed exec --name {name} NODE -- CMD...   |   testbed down --name {name}");
    Ok(ExitCode::SUCCESS)
}

fn exec(name: Option<String>, node: &str, cmd: &[String]) -> Result<ExitCode> {
    let name = resolve_name(name)?;
    let state = load(&name)?;
    let Some(ns) = state.ns(node) else {
        let nodes: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
        bail!(
            "testbed {name} has no node {node:?} (nodes: {})",
            nodes.join(", ")
        );
    };
    let err = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(cmd)
        .exec();
    bail!("cannot run ip netns exec {ns}: {err}")
}

fn down(name: Option<String>) -> Result<ExitCode> {
    let name = resolve_name(name)?;
    let state = load(&name)?;
    let t0 = Instant::now();
    state.teardown()?;
    std::fs::remove_file(state_path(&name))?;
    println!(
        "testbed {name} is down ({} namespaces removed in {:.0} ms)",
        state.namespaces().len(),
        t0.elapsed().as_secs_f64() * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

fn list() -> Result<ExitCode> {
    let names = names_up();
    if names.is_empty() {
        println!("no testbed is up");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:16}  {:>5}  {:>10}  {:>8}  TOPOLOGY",
        "NAME", "NODES", "NAMESPACES", "ROUTERS"
    );
    for name in names {
        match load(&name) {
            Ok(s) => {
                let running = s
                    .routers
                    .iter()
                    .filter(|r| {
                        r.pid
                            .is_some_and(|p| Path::new(&format!("/proc/{p}")).exists())
                    })
                    .count();
                println!(
                    "{:16}  {:>5}  {:>10}  {:>8}  {}",
                    name,
                    s.nodes.len(),
                    format!("{}/{}", s.live_namespaces(), s.namespaces().len()),
                    format!("{running}/{}", s.routers.len()),
                    s.topology
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                );
            }
            Err(e) => println!("{name:16}  (unreadable state: {e:#})"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(name: Option<String>) -> Result<ExitCode> {
    let state = load(&resolve_name(name)?)?;
    print!("{}", state.summary());
    for n in &state.nodes {
        for r in &n.routes {
            println!("  {}: {r}", n.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `tb{pid}_{n}` prefix of a name if that process is gone.
fn dead_prefix(name: &str) -> Option<String> {
    let rest = name.strip_prefix("tb")?;
    let (pid, rest) = rest.split_once('_')?;
    let pid: u32 = pid.parse().ok()?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || Path::new(&format!("/proc/{pid}")).exists() {
        return None;
    }
    Some(format!("tb{pid}_{digits}"))
}

fn gc(rundirs: bool) -> Result<ExitCode> {
    let mut namespaces = Vec::new();
    for e in std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(prefix) = dead_prefix(&name)
            && name[prefix.len()..].starts_with('-')
        {
            namespaces.push(name);
        }
    }
    let mut dirs = Vec::new();
    for e in std::fs::read_dir(testbed::RUN_ROOT)
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if rundirs && dead_prefix(&name).is_some_and(|p| p == name) {
            dirs.push(e.path());
        }
    }
    testbed::remove_namespaces(&namespaces);
    for d in &dirs {
        let _ = std::fs::remove_dir_all(d);
    }
    println!(
        "removed {} namespaces and {} run directories of dead processes",
        namespaces.len(),
        dirs.len()
    );
    Ok(ExitCode::SUCCESS)
}
