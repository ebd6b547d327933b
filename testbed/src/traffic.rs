//! Real traffic in a [`Net`] with `mcast`: receivers that announce their joins, senders,
//! and the receivers' final reports. Shared by every namespace test.

use crate::{Net, Proc, bin_path};
use tools::mcast::report::Report;

fn mcast() -> String {
    bin_path("mcast")
        .expect("mcast binary")
        .display()
        .to_string()
}

/// Build a topology or fail saying what these tests need.
pub fn net(topology: &str) -> Net {
    Net::from_toml(topology).unwrap_or_else(|e| {
        panic!("cannot build the test topology (these tests need root and iproute2): {e:#}")
    })
}

/// Start `mcast recv` on `node` and return once it has joined; it reports after `secs`.
pub fn recv(net: &Net, node: &str, group: &str, secs: f64, extra: &[&str]) -> Proc {
    let m = mcast();
    let d = secs.to_string();
    let mut argv = vec![
        m.as_str(),
        "recv",
        "--group",
        group,
        "--duration",
        &d,
        "--json",
    ];
    argv.extend_from_slice(extra);
    let mut p = net.node(node).spawn(&argv).expect("start mcast recv");
    let joined = p.stdout_lines().next();
    assert!(
        joined.as_deref().is_some_and(|l| l.contains("\"joined\"")),
        "mcast recv on {node} did not join: {joined:?} {}",
        p.stderr()
    );
    p
}

/// Start `mcast send` of `count` packets at `rate` per second.
pub fn send(net: &Net, node: &str, group: &str, rate: u32, count: u32, extra: &[&str]) -> Proc {
    let m = mcast();
    let (r, c) = (rate.to_string(), count.to_string());
    let mut argv = vec![
        m.as_str(),
        "send",
        "--group",
        group,
        "--rate",
        &r,
        "--count",
        &c,
    ];
    argv.extend_from_slice(extra);
    net.node(node).spawn(&argv).expect("start mcast send")
}

/// Wait for a receiver and parse its final JSON report.
pub fn report(p: Proc) -> Report {
    let out = p.wait().expect("mcast recv finishes");
    assert!(out.success(), "mcast recv failed: {}", out.stderr);
    let line = out
        .stdout
        .lines()
        .rev()
        .find(|l| l.contains("\"report\""))
        .unwrap_or_else(|| panic!("no report in mcast output: {}", out.stdout));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad report {line}: {e}"))
}

/// Wait for a sender to finish; it must succeed.
pub fn wait_sender(p: Proc) {
    let out = p.wait().expect("mcast send finishes");
    assert!(out.success(), "mcast send failed: {}", out.stderr);
}
