//! Throughput of the userspace tunnel against native kernel multicast forwarding.
//!
//! ```text
//! cargo bench -p testbed --bench tunnel_throughput      # as root
//! ```
//!
//! Builds the chain src -- r1 -- mid -- r2 -- rcv twice in one run:
//!
//! - **native**: mrouterd on r1, mid and r2, static (S,G) routes, the kernel forwards at
//!   every hop;
//! - **tunnel**: mrouterd on r1 and r2 only, a `[[tunnel]]` between them across mid (which
//!   forwards unicast only), static routes into and out of the tunnel; on a kernel without
//!   the ipip driver this is the userspace dataplane.
//!
//! At each offered rate (and flat out) `mcast send` sends 64-byte datagrams for a few
//! seconds and `mcast recv` on rcv counts them. Printed per rate and setup: sent pkt/s,
//! received pkt/s, loss, and the CPU time mrouterd used (all its threads, r1 + r2) as a
//! share of one core. The workspace binaries are built in release mode first (unless
//! `MROUTER_BIN_DIR` names a directory that has them). Needs root; not part of
//! `cargo test`. Environment: `TUNNEL_BENCH_SECS` (default 3), `TUNNEL_BENCH_RATES`
//! (comma-separated pkt/s, 0 = flat out; default "10000,30000,60000,0").

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use testbed::traffic::{net, recv, report};
use testbed::{Net, SIGTERM, bin_path};

const GROUP: &str = "239.5.5.5";

const TOPOLOGY: &str = r#"
[options]
start_routers = false
[[host]]
name = "src"
[[host]]
name = "rcv"
[[router]]
name = "r1"
[[router]]
name = "mid"
[[router]]
name = "r2"
[[link]]
nodes = ["src", "r1"]
[[link]]
nodes = ["r1", "mid"]
[[link]]
nodes = ["mid", "r2"]
[[link]]
nodes = ["r2", "rcv"]
"#;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Setup {
    Native,
    Tunnel,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::Native => "native",
            Setup::Tunnel => "tunnel",
        }
    }
}

struct Sample {
    offered: u64,
    sent_pps: f64,
    recv_pps: f64,
    loss_pct: f64,
    socket_drops: u64,
    cpu_pct: f64,
    /// CPU share by "router/thread" (mrouterd's main thread and the tunnel threads).
    threads: Vec<(String, f64)>,
}

fn route(net: &Net, input: &str, output: &str) -> String {
    format!(
        "[[route]]\nsource = \"{}\"\ngroup = \"{GROUP}\"\ninput = \"{input}\"\noutputs = [\"{output}\"]\n",
        net.primary_addr("src")
    )
}

fn build(setup: Setup) -> Net {
    let net = net(TOPOLOGY);
    let l = net.addr("r1", &net.iface("r1", "mid"));
    let r = net.addr("r2", &net.iface("r2", "mid"));
    let (r1_in, r1_out) = (net.iface("r1", "src"), net.iface("r1", "mid"));
    let (r2_in, r2_out) = (net.iface("r2", "mid"), net.iface("r2", "rcv"));
    let tunnel = |local, remote| {
        format!(
            "[[tunnel]]\nname = \"tun0\"\nlocal = \"{local}\"\nremote = \"{remote}\"\nprotocols = []\n"
        )
    };
    let iface = |n: &str| format!("[[interface]]\nname = \"{n}\"\n");
    let (c1, c2) = match setup {
        Setup::Native => {
            let (m_in, m_out) = (net.iface("mid", "r1"), net.iface("mid", "r2"));
            let cm = format!(
                "[router]\nname = \"mid\"\n{}{}{}",
                iface(&m_in),
                iface(&m_out),
                route(&net, &m_in, &m_out)
            );
            net.write_router_config("mid", &cm).unwrap();
            (
                format!(
                    "[router]\nname = \"r1\"\n{}{}{}",
                    iface(&r1_in),
                    iface(&r1_out),
                    route(&net, &r1_in, &r1_out)
                ),
                format!(
                    "[router]\nname = \"r2\"\n{}{}{}",
                    iface(&r2_in),
                    iface(&r2_out),
                    route(&net, &r2_in, &r2_out)
                ),
            )
        }
        Setup::Tunnel => (
            format!(
                "[router]\nname = \"r1\"\n{}{}{}",
                iface(&r1_in),
                tunnel(l, r),
                route(&net, &r1_in, "tun0")
            ),
            format!(
                "[router]\nname = \"r2\"\n{}{}{}",
                iface(&r2_out),
                tunnel(r, l),
                route(&net, "tun0", &r2_out)
            ),
        ),
    };
    net.write_router_config("r1", &c1).unwrap();
    net.write_router_config("r2", &c2).unwrap();
    let routers: &[&str] = match setup {
        Setup::Native => &["r1", "mid", "r2"],
        Setup::Tunnel => &["r1", "r2"],
    };
    for r in routers {
        net.start_router(r)
            .unwrap_or_else(|e| panic!("start {r}: {e:#}"));
    }
    net
}

/// utime + stime of a process (all threads), in seconds.
fn cpu_secs(pid: u32) -> f64 {
    stat_cpu(&format!("/proc/{pid}/stat"))
}

/// utime + stime of every thread of a process, by thread name.
fn thread_cpu(pid: u32) -> Vec<(String, f64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .map(|t| {
            let p = t.path();
            let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
            (
                comm.trim().to_owned(),
                stat_cpu(&p.join("stat").display().to_string()),
            )
        })
        .collect()
}

fn threads_cpu(net: &Net) -> std::collections::BTreeMap<String, f64> {
    let mut m = std::collections::BTreeMap::new();
    for r in ["r1", "mid", "r2"] {
        if let Some(pid) = net.router_pid(r) {
            for (name, cpu) in thread_cpu(pid) {
                *m.entry(format!("{r}/{name}")).or_insert(0.0) += cpu;
            }
        }
    }
    m
}

/// utime + stime from a /proc stat file, in seconds.
fn stat_cpu(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let hz = 100.0; // USER_HZ on Linux
    (ticks(11) + ticks(12)) / hz
}

fn mrouterd_cpu(net: &Net) -> f64 {
    ["r1", "mid", "r2"]
        .iter()
        .filter_map(|r| net.router_pid(r))
        .map(cpu_secs)
        .sum()
}

fn measure(net: &Net, offered: u64, secs: f64) -> Sample {
    let rx = recv(net, "rcv", GROUP, secs + 2.0, &[]);
    std::thread::sleep(Duration::from_millis(200));
    let cpu0 = mrouterd_cpu(net);
    let t0 = threads_cpu(net);
    // 0 = flat out: a rate no sender reaches, so every packet is due at once.
    let rate = if offered == 0 { 100_000_000 } else { offered }.to_string();
    let mcast = bin_path("mcast").unwrap().display().to_string();
    let tx = net
        .node("src")
        .spawn(&[
            &mcast, "send", "--group", GROUP, "--rate", &rate, "--count", "0", "--ttl", "8",
            "--json",
        ])
        .expect("start mcast send");
    std::thread::sleep(Duration::from_secs_f64(secs));
    tx.signal(SIGTERM);
    let out = tx.wait().expect("mcast send");
    // Let the tail drain through the threads.
    std::thread::sleep(Duration::from_millis(300));
    let cpu1 = mrouterd_cpu(net);
    let t1 = threads_cpu(net);
    let sent: serde_json::Value = out
        .stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON from mcast send: {} {}", out.stdout, out.stderr));
    let r = report(rx);
    let n_sent = sent["sent"].as_u64().unwrap_or(0);
    let dur = sent["duration_ms"].as_f64().unwrap_or(secs * 1e3) / 1e3;
    Sample {
        offered,
        sent_pps: n_sent as f64 / dur,
        recv_pps: r.unique as f64 / dur,
        loss_pct: if n_sent == 0 {
            0.0
        } else {
            100.0 * n_sent.saturating_sub(r.unique) as f64 / n_sent as f64
        },
        socket_drops: r.socket_drops,
        cpu_pct: 100.0 * (cpu1 - cpu0) / dur,
        threads: t1
            .iter()
            .map(|(k, v)| (k.clone(), 100.0 * (v - t0.get(k).unwrap_or(&0.0)) / dur))
            .filter(|(_, pct)| *pct >= 0.5)
            .collect(),
    }
}

/// Build the release binaries the topology runs, next to this bench executable.
fn build_binaries() -> Result<(), String> {
    if std::env::var_os("MROUTER_BIN_DIR").is_some() {
        return Ok(());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    eprintln!("building mrouterd, mrouterctl and mcast (release)...");
    let st = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--bins",
            "-p",
            "router",
            "-p",
            "tools",
        ])
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !st.success() {
        return Err(format!("cargo build --release failed: {st}"));
    }
    Ok(())
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; a filter argument would be ignored.
    if let Err(e) = build_binaries() {
        eprintln!("tunnel_throughput: {e}");
        return ExitCode::FAILURE;
    }
    let secs: f64 = std::env::var("TUNNEL_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let rates: Vec<u64> = std::env::var("TUNNEL_BENCH_RATES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 30_000, 60_000, 0]);
    testbed::install_interrupt_handler();

    let mut results: Vec<(Setup, Vec<Sample>, String)> = Vec::new();
    for setup in [Setup::Native, Setup::Tunnel] {
        let net = build(setup);
        let mode = match setup {
            Setup::Native => "kernel forwarding at r1, mid, r2".to_owned(),
            Setup::Tunnel => {
                let v = net
                    .ctl_json("r1", &["show", "tunnels"])
                    .expect("show tunnels");
                format!(
                    "tunnel dataplane: {} ({})",
                    v["tunnels"][0]["mode"].as_str().unwrap_or("?"),
                    v["tunnels"][0]["mode_reason"].as_str().unwrap_or("?")
                )
            }
        };
        eprintln!("{}: {mode}", setup.name());
        let mut samples = Vec::new();
        for &rate in &rates {
            let s = measure(&net, rate, secs);
            eprintln!(
                "  {:>9} offered: sent {:>9.0} pkt/s, received {:>9.0} pkt/s, loss {:5.1}%, mrouterd CPU {:5.1}%",
                if rate == 0 {
                    "max".to_owned()
                } else {
                    rate.to_string()
                },
                s.sent_pps,
                s.recv_pps,
                s.loss_pct,
                s.cpu_pct
            );
            if !s.threads.is_empty() {
                let parts: Vec<String> = s
                    .threads
                    .iter()
                    .map(|(k, v)| format!("{k} {v:.1}%"))
                    .collect();
                eprintln!("            by thread: {}", parts.join(", "));
            }
            samples.push(s);
        }
        results.push((setup, samples, mode));
        drop(net);
    }

    println!();
    println!(
        "tunnel_throughput: 64-byte UDP payload, {secs} s per rate, chain src-r1-mid-r2-rcv ({} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (setup, _, mode) in &results {
        println!("  {:<7} {mode}", setup.name());
    }
    println!();
    println!(
        "{:>9} | {:>10} {:>10} {:>6} {:>6} | {:>10} {:>10} {:>6} {:>6} {:>9}",
        "offered",
        "native tx",
        "native rx",
        "loss%",
        "cpu%",
        "tunnel tx",
        "tunnel rx",
        "loss%",
        "cpu%",
        "sockdrop"
    );
    let native = &results[0].1;
    let tunnel = &results[1].1;
    for (n, t) in native.iter().zip(tunnel) {
        println!(
            "{:>9} | {:>10.0} {:>10.0} {:>6.1} {:>6.1} | {:>10.0} {:>10.0} {:>6.1} {:>6.1} {:>9}",
            if n.offered == 0 {
                "max".to_owned()
            } else {
                n.offered.to_string()
            },
            n.sent_pps,
            n.recv_pps,
            n.loss_pct,
            n.cpu_pct,
            t.sent_pps,
            t.recv_pps,
            t.loss_pct,
            t.cpu_pct,
            t.socket_drops,
        );
    }
    for t in tunnel.iter().filter(|t| !t.threads.is_empty()) {
        let parts: Vec<String> = t
            .threads
            .iter()
            .map(|(k, v)| format!("{k} {v:.1}%"))
            .collect();
        println!(
            "tunnel at {}: mrouterd CPU by thread: {}",
            if t.offered == 0 {
                "max".to_owned()
            } else {
                t.offered.to_string()
            },
            parts.join(", ")
        );
    }
    println!(
        "(tx/rx in pkt/s; cpu% = CPU time of mrouterd, all threads, on every router running it, \
         as a share of one core; sockdrop = receiver socket-buffer drops in the tunnel case)"
    );
    ExitCode::SUCCESS
}
