//! `testbed demo`: multicast over a built-in topology with live per-receiver progress:
//! PIM-SM (`examples/demo-pim.toml`), static routes (`examples/demo.toml`) or DVMRP islands
//! joined by a tunnel (`examples/demo-dvmrp.toml`).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use serde_json::Value;
use testbed::{Net, Proc};

const GROUP: &str = "239.1.1.1";
const RECEIVERS: [&str; 3] = ["rcv1", "rcv2", "rcv3"];
const SENDER: &str = "src";
/// Receivers listen this much longer than the sender sends.
const EXTRA_SECS: u32 = 3;

/// What PIM did, from the routers' counters and state.
fn pim_story(net: &Net) {
    let reg = |r: &str| -> Value {
        net.ctl_json(r, &["show", "pim"])
            .map(|v| v["pim"]["tib"]["register"].clone())
            .unwrap_or(Value::Null)
    };
    let (r1, r2) = (reg("r1"), reg("r2"));
    println!(
        "\nPIM-SM: r1 (the source's DR) sent {} Registers to the RP r2, which forwarded them \
         down the shared tree ({} received, {} decapsulated), joined the source tree, and sent \
         {} Register-Stops; r1 then forwarded natively ({} Null-Registers since).",
        u(&r1, "registers_sent"),
        u(&r2, "registers_received"),
        u(&r2, "registers_decapsulated"),
        u(&r2, "register_stops_sent"),
        u(&r1, "null_registers_sent"),
    );
    for r in net.routers() {
        println!("\n{r}: mrouterctl show pim upstream");
        match net.ctl(r, &["show", "pim", "upstream"]) {
            Ok(out) => print!("{out}"),
            Err(e) => println!("  error: {e:#}"),
        }
    }
}

/// What we know about one receiver.
#[derive(Default)]
struct Rx {
    progress: Option<Value>,
    report: Option<Value>,
}

fn u(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.2}"))
}

fn f(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// Earliest `first_arrival_ms` over the sources of a progress line.
fn first_arrival(progress: &Value) -> Option<f64> {
    progress
        .get("sources")?
        .as_object()?
        .values()
        .filter_map(|s| f(s, "first_arrival_ms"))
        .reduce(f64::min)
}

/// What DVMRP did: routes over the tunnel, the tunnel's counters, and the prunes.
fn dvmrp_story(net: &Net) {
    let tunnels = |r: &str| -> Value {
        net.ctl_json(r, &["show", "tunnels"])
            .map(|v| v["tunnels"][0].clone())
            .unwrap_or(Value::Null)
    };
    let (a2, b1) = (tunnels("a2"), tunnels("b1"));
    let a3_pruned = net
        .ctl_json("a1", &["show", "dvmrp"])
        .map(|v| v["dvmrp"]["forwarding"].to_string().contains("10.0.3.2"))
        .unwrap_or(false);
    println!(
        "\nDVMRP over the MBone tunnel a2 ({}) <-> b1 ({}), {} dataplane ({}): a2 encapsulated \
         {} packets, b1 decapsulated {}; mid, which runs no multicast routing, only forwarded \
         IP-in-IP. {}",
        a2["local"].as_str().unwrap_or("?"),
        b1["local"].as_str().unwrap_or("?"),
        a2["mode"].as_str().unwrap_or("?"),
        a2["mode_reason"].as_str().unwrap_or(""),
        u(&a2["counters"], "encap_packets"),
        u(&b1["counters"], "decap_packets"),
        if a3_pruned {
            "a3 has no receivers: it pruned itself off after the first packet (a1's prunes below)."
        } else {
            "a3 has no receivers, yet a1 holds no prune from it (see below)."
        }
    );
    for (r, what) in [("b2", "routes"), ("a1", "prunes"), ("b1", "neighbors")] {
        println!("\n{r}: mrouterctl show dvmrp {what}");
        match net.ctl(r, &["show", "dvmrp", what]) {
            Ok(out) => print!("{out}"),
            Err(e) => println!("  error: {e:#}"),
        }
    }
    println!("\na2: mrouterctl show tunnels");
    match net.ctl("a2", &["show", "tunnels"]) {
        Ok(out) => print!("{out}"),
        Err(e) => println!("  error: {e:#}"),
    }
}

/// Wait until DVMRP has carried the source's subnet across the tunnel to b2 and every
/// router on the way knows who depends on it downstream (poison reverse heard), so that
/// the first packets flood the whole tree.
fn wait_for_dvmrp(net: &Net) -> Result<()> {
    let routes = |r: &str| -> Vec<Value> {
        net.ctl_json(r, &["show", "dvmrp"])
            .ok()
            .and_then(|v| v["dvmrp"]["routes"].as_array().cloned())
            .unwrap_or_default()
    };
    let src_net = |v: &Value| v["network"] == "10.0.1.0" && v["state"] == "valid";
    let t = Instant::now();
    ensure!(
        testbed::wait_until(Duration::from_secs(20), || {
            let depended_on = |r: &str| {
                routes(r).iter().any(|v| {
                    src_net(v) && v["dependents"].as_array().is_some_and(|d| !d.is_empty())
                })
            };
            routes("b2").iter().any(src_net) && ["a1", "a2", "b1"].into_iter().all(depended_on)
        }),
        "DVMRP routes did not cross the tunnel"
    );
    println!(
        "DVMRP neighbours up and routes exchanged across the tunnel after {:.1} s: b2 reaches \
         the source's subnet 10.0.1.0/24 through b1 and the tunnel",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn run(duration: u32, rate: u32, protocol: &str) -> Result<ExitCode> {
    let pim = protocol == "pim";
    let dvmrp = protocol == "dvmrp";
    ensure!(duration > 0, "--duration must be at least 1");
    ensure!(rate > 0, "--rate must be at least 1");
    let mcast = testbed::bin_path("mcast")?;
    testbed::bin_path("mrouterd")?;
    testbed::bin_path("mrouterctl")?;
    let mcast = mcast.display().to_string();
    testbed::install_interrupt_handler();

    let t0 = Instant::now();
    let net = Net::from_toml(match protocol {
        "pim" => testbed::DEMO_PIM_TOPOLOGY,
        "dvmrp" => testbed::DEMO_DVMRP_TOPOLOGY,
        _ => testbed::DEMO_TOPOLOGY,
    })?;
    print!("{}", net.state("demo").summary());
    println!(
        "built {} namespaces and started {} routers in {:.0} ms (run directory {})",
        net.plan().nodes.len() + net.plan().lan_names().count(),
        net.routers().count(),
        t0.elapsed().as_secs_f64() * 1000.0,
        net.rundir().display()
    );
    if pim {
        wait_for_pim(&net)?;
    }
    if dvmrp {
        wait_for_dvmrp(&net)?;
    }
    let code = traffic(&net, &mcast, duration, rate, protocol)?;
    let t1 = Instant::now();
    drop(net);
    println!("torn down in {:.0} ms", t1.elapsed().as_secs_f64() * 1000.0);
    Ok(code)
}

/// Wait until every router has its PIM neighbours (Hellos every second).
fn wait_for_pim(net: &Net) -> Result<()> {
    let want = [("r1", 1), ("r2", 2), ("r3", 1)];
    let neighbours = |r: &str| -> usize {
        net.ctl_json(r, &["show", "pim"])
            .ok()
            .and_then(|v| {
                v["pim"]["interfaces"].as_array().map(|l| {
                    l.iter()
                        .map(|i| i["neighbors"].as_array().map_or(0, Vec::len))
                        .sum()
                })
            })
            .unwrap_or(0)
    };
    let t = Instant::now();
    ensure!(
        testbed::wait_until(Duration::from_secs(10), || want
            .iter()
            .all(|(r, n)| neighbours(r) >= *n)),
        "PIM neighbours did not come up"
    );
    println!(
        "PIM adjacencies r1-r2-r3 up after {:.1} s; RP for 239.0.0.0/8 is r2 (10.0.2.2)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn traffic(net: &Net, mcast: &str, duration: u32, rate: u32, protocol: &str) -> Result<ExitCode> {
    let recv_secs = (duration + EXTRA_SECS).to_string();
    let (tx, rx) = mpsc::channel::<(usize, Value)>();
    let mut receivers: Vec<Proc> = Vec::new();
    for (i, name) in RECEIVERS.iter().enumerate() {
        let mut p = net.node(name).spawn(&[
            mcast,
            "recv",
            "--group",
            GROUP,
            "--duration",
            &recv_secs,
            "--json",
            "--progress",
            "1",
        ])?;
        let out = p.take_stdout().expect("stdout is piped");
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send((i, v)).is_err()
                {
                    break;
                }
            }
        });
        receivers.push(p);
    }
    drop(tx);
    // Let the receivers join before the first packet.
    std::thread::sleep(Duration::from_millis(300));
    let count = (u64::from(rate) * u64::from(duration)).to_string();
    let rate_s = rate.to_string();
    let src_addr = net.primary_addr(SENDER);
    println!(
        "sending {count} packets ({rate} pkt/s for {duration} s) from {SENDER} ({src_addr}) to \
         {GROUP}; receivers {} listen for {recv_secs} s",
        RECEIVERS.join(", ")
    );
    let mut sender = net.node(SENDER).spawn(&[
        mcast, "send", "--group", GROUP, "--rate", &rate_s, "--count", &count, "--json",
    ])?;

    let mut state: BTreeMap<usize, Rx> = BTreeMap::new();
    let start = Instant::now();
    let mut deadline = start + Duration::from_secs(u64::from(duration + EXTRA_SECS) + 5);
    let mut next_print = start + Duration::from_secs(1);
    let mut interrupted = false;
    loop {
        while let Ok((i, v)) = rx.try_recv() {
            let e = state.entry(i).or_default();
            match v.get("type").and_then(Value::as_str) {
                Some("report") => e.report = Some(v),
                _ => e.progress = Some(v),
            }
        }
        if testbed::interrupted() && !interrupted {
            interrupted = true;
            println!("interrupted: stopping traffic and tearing down");
            // mcast prints its final report on SIGTERM; give it a moment.
            sender.signal(testbed::SIGTERM);
            for p in &receivers {
                p.signal(testbed::SIGTERM);
            }
            deadline = deadline.min(Instant::now() + Duration::from_secs(2));
        }
        let reported = state.values().filter(|r| r.report.is_some()).count();
        let exited = receivers.iter_mut().all(|p| p.try_wait().is_some());
        if reported == RECEIVERS.len() || (exited && rx.try_recv().is_err()) {
            break;
        }
        if Instant::now() >= deadline {
            println!("receivers did not finish in time");
            break;
        }
        if !interrupted && Instant::now() >= next_print {
            let secs = next_print.duration_since(start).as_secs();
            let cols: Vec<String> = RECEIVERS
                .iter()
                .enumerate()
                .map(
                    |(i, name)| match state.get(&i).and_then(|r| r.progress.as_ref()) {
                        Some(p) => format!(
                            "{name}: {:>6} rcvd {:>4} lost first@{:>7}ms",
                            u(p, "received"),
                            u(p, "lost"),
                            ms(first_arrival(p))
                        ),
                        None => format!("{name}: {:>6}", "-"),
                    },
                )
                .collect();
            println!("{secs:>3}s  {}", cols.join("  |  "));
            next_print += Duration::from_secs(1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // Sender summary.
    sender.kill();
    let sent = sender.wait().ok();
    let send_report = sent
        .as_ref()
        .and_then(|o| o.stdout.lines().last().map(str::to_string))
        .and_then(|l| serde_json::from_str::<Value>(&l).ok());
    match &send_report {
        Some(r) => println!(
            "\n{SENDER}: sent {} packets, {} errors, {} pkt/s achieved",
            u(r, "sent"),
            u(r, "errors"),
            ms(f(r, "rate_achieved"))
        ),
        None => println!(
            "\n{SENDER}: no send report; stderr: {}",
            sent.map(|o| o.stderr).unwrap_or_default().trim()
        ),
    }

    // Final table.
    println!(
        "\n{:6}  {:>8}  {:>8}  {:>6}  {:>5}  {:>8}  {:>14}  {:>16}  {:>15}",
        "RECV",
        "RECEIVED",
        "UNIQUE",
        "LOST",
        "DUPS",
        "REORDER",
        "FIRST AT (ms)",
        "FIRST LAT (ms)",
        "MEAN LAT (ms)"
    );
    let mut all_got_something = true;
    for (i, name) in RECEIVERS.iter().enumerate() {
        let r = state.get(&i);
        match r.and_then(|r| r.report.as_ref().or(r.progress.as_ref())) {
            Some(v) => {
                let received = u(v, "received");
                all_got_something &= received > 0;
                println!(
                    "{name:6}  {received:>8}  {:>8}  {:>6}  {:>5}  {:>8}  {:>14}  {:>16}  {:>15}{}",
                    u(v, "unique"),
                    u(v, "lost"),
                    u(v, "duplicates"),
                    u(v, "reordered"),
                    ms(f(v, "first_arrival_ms").or_else(|| first_arrival(v))),
                    ms(f(v, "first_latency_ms")),
                    ms(f(v, "mean_latency_ms")),
                    if r.is_some_and(|r| r.report.is_none()) {
                        "  (no final report)"
                    } else {
                        ""
                    }
                );
            }
            None => {
                all_got_something = false;
                let stderr = receivers[i].stderr();
                println!(
                    "{name:6}  nothing (stderr: {})",
                    stderr.lines().last().unwrap_or("")
                );
            }
        }
    }
    for p in &mut receivers {
        p.kill();
    }

    match protocol {
        "pim" => pim_story(net),
        "dvmrp" => dvmrp_story(net),
        _ => {}
    }
    // The routers' forwarding caches.
    for r in net.multicast_routers() {
        println!("\n{r}: mrouterctl show mfc");
        match net.ctl(r, &["show", "mfc"]) {
            Ok(out) => print!("{out}"),
            Err(e) => println!("  error: {e:#}"),
        }
    }
    println!();
    Ok(if interrupted {
        ExitCode::from(130)
    } else if all_got_something {
        println!("demo: every receiver got traffic");
        ExitCode::SUCCESS
    } else {
        println!("demo: FAILED: some receiver got nothing");
        ExitCode::FAILURE
    })
}
