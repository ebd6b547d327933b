//! End-to-end tests of the `mcast` binary on the loopback device of a fresh network
//! namespace (needs root; a test that cannot create its namespace fails, it never skips).
//!
//! Each test owns a uniquely named namespace (`mct-PID-N`) that a guard deletes on every
//! exit path, panics included; spawned processes are kept as `Child` handles in guards that
//! kill them (by pid) before the namespace goes.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::Ipv4Addr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tools::mcast::report::{Progress, Report, SendReport};

const MCAST: &str = env!("CARGO_BIN_EXE_mcast");
/// Upper bound for any one process in these tests.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

static NEXT_NS: AtomicUsize = AtomicUsize::new(0);

/// A network namespace with `lo` up, `224.0.0.0/4 dev lo` and `10.255.0.1/32` on `lo`;
/// deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Netns {
        let name = format!(
            "mct-{}-{}",
            std::process::id(),
            NEXT_NS.fetch_add(1, Ordering::SeqCst)
        );
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run `ip netns add {name}`: {e} (these tests need iproute2 and root)")
            });
        assert!(
            out.status.success(),
            "cannot create network namespace {name}: {} (these tests need root: CAP_SYS_ADMIN \
             and a writable /run/netns)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns.ip(&["route", "add", "224.0.0.0/4", "dev", "lo"]);
        ns.ip(&["addr", "add", "10.255.0.1/32", "dev", "lo"]);
        ns
    }

    /// Runs `ip -n NS ARGS`, panicking with its stderr on failure.
    fn ip(&self, args: &[&str]) {
        let out = Command::new("ip")
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ip -n {} {}: {}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    /// `mcast ARGS` inside the namespace (`ip netns exec` execs, so the child is mcast).
    fn mcast(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, MCAST]).args(args);
        c
    }

    /// Starts `mcast ARGS` with stdout and stderr captured.
    fn spawn(&self, args: &[&str]) -> Proc {
        Proc::spawn(self.mcast(args), args.join(" "))
    }

    /// Runs `mcast ARGS` to completion.
    fn run(&self, args: &[&str]) -> Finished {
        self.spawn(args).finish()
    }

    /// Waits until `users` sockets in the namespace are members of `group` (the Users
    /// column of /proc/net/igmp) and, for each `(source, inc, exc)` of `filters`, at least
    /// `inc` sockets include and `exc` sockets exclude that source (/proc/net/mcfilter).
    /// Fails early if one of `procs` (the receivers) exits meanwhile.
    fn wait_joined(
        &self,
        group: Ipv4Addr,
        users: u64,
        filters: &[(Ipv4Addr, u64, u64)],
        procs: &mut [&mut Proc],
    ) {
        // /proc/net/igmp prints the raw (network order) u32 in hex, /proc/net/mcfilter the
        // host-order value with a 0x prefix.
        let raw_hex = format!("{:08x}", u32::from_ne_bytes(group.octets()));
        let hex = |a: Ipv4Addr| format!("0x{:08x}", u32::from(a));
        let num = |t: Option<&str>| t.and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let read = |file: &str| {
                let out = Command::new("ip")
                    .args(["netns", "exec", &self.name, "cat", file])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).to_lowercase()
            };
            let igmp = read("/proc/net/igmp");
            let mcfilter = read("/proc/net/mcfilter");
            // Group lines: GROUP USERS TIMER REPORTER.
            let joined: u64 = igmp
                .lines()
                .map(|l| l.split_whitespace())
                .filter_map(|mut t| (t.next() == Some(raw_hex.as_str())).then(|| num(t.next())))
                .sum();
            // Filter lines: IDX DEVICE MCA SRC INC EXC.
            let filtered = |src: Ipv4Addr| -> (u64, u64) {
                mcfilter
                    .lines()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>())
                    .filter(|t| t.len() == 6 && t[2] == hex(group) && t[3] == hex(src))
                    .fold((0, 0), |(i, e), t| {
                        (i + num(Some(t[4])), e + num(Some(t[5])))
                    })
            };
            if joined >= users
                && filters.iter().all(|&(src, inc, exc)| {
                    let (i, e) = filtered(src);
                    i >= inc && e >= exc
                })
            {
                return;
            }
            for p in procs.iter_mut() {
                p.assert_running();
            }
            assert!(
                Instant::now() < deadline,
                "{group} never had {users} members with filters {filters:?} in {}:\n{igmp}\n{mcfilter}",
                self.name
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        match Command::new("ip")
            .args(["netns", "del", &self.name])
            .output()
        {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: ip netns del {}: {}",
                self.name,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("warning: ip netns del {}: {e}", self.name),
        }
    }
}

/// A running child; killed on drop if still running (so a failing test leaves nothing).
struct Proc {
    what: String,
    child: Option<Child>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

struct Finished {
    what: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

impl Proc {
    fn spawn(mut cmd: Command, what: String) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mcast {what}: {e}"));
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        Proc {
            what,
            child: Some(child),
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// Panics with the process's output if it has already exited.
    fn assert_running(&mut self) {
        let child = self.child.as_mut().unwrap();
        if let Some(st) = child.try_wait().unwrap() {
            let err = self.stderr.take().unwrap().join().unwrap();
            let out = self.stdout.take().unwrap().join().unwrap();
            panic!(
                "mcast {} exited early ({st}):\nstdout: {out}\nstderr: {err}",
                self.what
            );
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Waits (bounded) for the process to exit and collects its output.
    fn finish(mut self) -> Finished {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + PROCESS_TIMEOUT;
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "mcast {} did not finish within {PROCESS_TIMEOUT:?}",
                    self.what
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        Finished {
            what: std::mem::take(&mut self.what),
            status,
            stdout: self.stdout.take().unwrap().join().unwrap(),
            stderr: self.stderr.take().unwrap().join().unwrap(),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Finished {
    fn success(self) -> Finished {
        assert!(
            self.status.success(),
            "mcast {} failed ({}):\nstdout: {}\nstderr: {}",
            self.what,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or_else(|| {
            panic!(
                "mcast {} printed nothing; stderr: {}",
                self.what, self.stderr
            )
        })
    }

    fn report(&self) -> Report {
        serde_json::from_str(self.last_line()).unwrap_or_else(|e| {
            panic!(
                "mcast {}: bad report line {:?}: {e}",
                self.what,
                self.last_line()
            )
        })
    }

    fn send_report(&self) -> SendReport {
        serde_json::from_str(self.last_line()).unwrap_or_else(|e| {
            panic!(
                "mcast {}: bad summary line {:?}: {e}",
                self.what,
                self.last_line()
            )
        })
    }
}

fn source_keys(r: &Report) -> BTreeSet<&str> {
    r.sources.keys().map(String::as_str).collect()
}

#[test]
fn asm_receive_on_loopback() {
    let ns = Netns::new();
    let g = Ipv4Addr::new(239, 1, 2, 3);
    let other = Ipv4Addr::new(239, 1, 2, 4);
    let mut recv = ns.spawn(&[
        "recv",
        "--group",
        "239.1.2.3",
        "--duration",
        "3",
        "--json",
        "--progress",
        "0.5",
    ]);
    // A second receiver makes the host a member of another group on the same port: the
    // first receiver must not count that group's traffic.
    let mut recv_other = ns.spawn(&["recv", "--group", "239.1.2.4", "--duration", "3", "--json"]);
    ns.wait_joined(g, 1, &[], &mut [&mut recv]);
    ns.wait_joined(other, 1, &[], &mut [&mut recv_other]);
    let send_other = ns.spawn(&[
        "send",
        "--group",
        "239.1.2.4",
        "--rate",
        "200",
        "--count",
        "100",
        "--interface",
        "lo",
    ]);
    let sent = ns
        .run(&[
            "send",
            "--group",
            "239.1.2.3",
            "--rate",
            "200",
            "--count",
            "200",
            "--loop",
            "--interface",
            "lo",
            "--json",
        ])
        .success();
    let s = sent.send_report();
    assert_eq!(
        (s.sent, s.errors, s.first_seq, s.last_seq),
        (200, 0, 0, Some(199))
    );
    assert_eq!(s.group, g);
    let rate = s.rate_achieved.expect("rate");
    assert!((rate - 200.0).abs() < 5.0, "achieved rate {rate}");
    assert!(
        s.duration_ms > 900.0 && s.duration_ms < 2000.0,
        "duration {}",
        s.duration_ms
    );
    send_other.finish().success();

    let out = recv.finish().success();
    let r = out.report();
    assert_eq!(r.groups, [g]);
    assert_eq!(
        (r.mode.as_str(), r.stop_reason.as_str(), r.port),
        ("asm", "duration", 5000)
    );
    assert_eq!(r.unique, 200, "{r:#?}");
    assert_eq!(
        (r.received, r.duplicates, r.reordered, r.lost, r.invalid),
        (200, 0, 0, 0, 0),
        "{r:#?}"
    );
    assert_eq!(r.ignored, 0, "traffic of the other group leaked in: {r:#?}");
    assert_eq!(source_keys(&r), BTreeSet::from(["127.0.0.1"]));
    let src = &r.sources["127.0.0.1"];
    assert_eq!(
        (
            src.received,
            src.unique,
            src.lost,
            src.first_seq,
            src.last_seq,
            src.flows
        ),
        (200, 200, 0, 0, 199, 1)
    );
    assert_eq!(r.flows.len(), 1);
    let f = &r.flows[0];
    assert_eq!(
        (f.group, f.sender, f.first_seq, f.min_seq, f.max_seq),
        (g, s.sender, 0, 0, 199)
    );
    let first = r.first_arrival_ms.expect("first arrival");
    let last = r.last_arrival_ms.expect("last arrival");
    assert!(
        first > 0.0 && last - first > 900.0 && last < r.duration_ms,
        "{first} {last} {r:#?}"
    );
    let (mean, max) = (r.mean_latency_ms.unwrap(), r.max_latency_ms.unwrap());
    assert!(
        r.first_latency_ms.unwrap() >= 0.0 && mean >= 0.0 && mean <= max && max < 100.0,
        "{r:#?}"
    );
    assert!(
        (r.duration_ms - 3000.0).abs() < 500.0,
        "duration {}",
        r.duration_ms
    );

    // Progress lines come before the report, one JSON object each, cumulative.
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].contains(r#""type":"joined""#),
        "first line announces the join: {}",
        lines[0]
    );
    let progress: Vec<Progress> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        progress.len() >= 4,
        "expected ~5 progress lines, got {}",
        out.stdout
    );
    assert!(
        progress
            .windows(2)
            .all(|w| w[0].received <= w[1].received && w[0].elapsed_ms < w[1].elapsed_ms)
    );
    assert!(progress.last().unwrap().unique == 200);

    let r2 = recv_other.finish().success().report();
    assert_eq!((r2.unique, r2.lost, r2.ignored), (100, 0, 0), "{r2:#?}");
    assert!(r2.flows.iter().all(|f| f.group == other));
}

#[test]
fn source_filters_on_loopback() {
    let ns = Netns::new();
    let g = Ipv4Addr::new(239, 1, 2, 5);
    let (a, b) = (Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(10, 255, 0, 1));
    let recv = |extra: &[&'static str]| -> Vec<&str> {
        ["recv", "--group", "239.1.2.5", "--duration", "10", "--json"]
            .into_iter()
            .chain(extra.iter().copied())
            .collect()
    };
    // Include {b}: stops after b's 100 packets. Exclude {b}: after a's 100. ASM: both.
    let mut include = ns.spawn(&recv(&[
        "--source",
        "10.255.0.1",
        "--count",
        "100",
        "--interface",
        "lo",
    ]));
    let mut exclude = ns.spawn(&recv(&["--exclude", "10.255.0.1", "--count", "100"]));
    let mut any = ns.spawn(&recv(&["--count", "200"]));
    ns.wait_joined(
        g,
        3,
        &[(b, 1, 1)],
        &mut [&mut include, &mut exclude, &mut any],
    );
    let send_a = ns.spawn(&[
        "send",
        "--group",
        "239.1.2.5",
        "--source",
        "127.0.0.1",
        "--sender-id",
        "1",
        "--rate",
        "200",
        "--count",
        "100",
        "--interface",
        "lo",
    ]);
    let send_b = ns.spawn(&[
        "send",
        "--group",
        "239.1.2.5",
        "--source",
        "10.255.0.1",
        "--sender-id",
        "2",
        "--rate",
        "200",
        "--count",
        "100",
        "--interface",
        "lo",
    ]);
    send_a.finish().success();
    send_b.finish().success();

    let ri = include.finish().success().report();
    assert_eq!(
        (ri.mode.as_str(), ri.include.as_slice()),
        ("include", &[b][..])
    );
    assert_eq!(ri.stop_reason, "count");
    assert_eq!(ri.interface.as_deref(), Some("lo"));
    assert_eq!(source_keys(&ri), BTreeSet::from(["10.255.0.1"]), "{ri:#?}");
    assert_eq!((ri.unique, ri.lost, ri.flows[0].sender), (100, 0, 2));

    let re = exclude.finish().success().report();
    assert_eq!(
        (re.mode.as_str(), re.exclude.as_slice()),
        ("exclude", &[b][..])
    );
    assert_eq!(source_keys(&re), BTreeSet::from(["127.0.0.1"]), "{re:#?}");
    assert_eq!((re.unique, re.lost, re.flows[0].sender), (100, 0, 1));

    let ra = any.finish().success().report();
    assert_eq!(
        source_keys(&ra),
        BTreeSet::from(["10.255.0.1", "127.0.0.1"]),
        "{ra:#?}"
    );
    assert_eq!((ra.unique, ra.lost, ra.flows.len()), (200, 0, 2));
    assert_eq!(ra.sources[&a.to_string()].unique, 100);
    assert_eq!(ra.sources[&b.to_string()].unique, 100);
}

#[test]
fn count_and_signal_end_reception() {
    let ns = Netns::new();
    let g = Ipv4Addr::new(239, 1, 2, 6);
    let mut counted = ns.spawn(&[
        "recv",
        "--group",
        "239.1.2.6",
        "--count",
        "50",
        "--duration",
        "20",
        "--json",
    ]);
    let mut signalled = ns.spawn(&["recv", "--group", "239.1.2.6", "--duration", "0"]);
    let mut signalled_json =
        ns.spawn(&["recv", "--group", "239.1.2.6", "--duration", "30", "--json"]);
    ns.wait_joined(
        g,
        3,
        &[],
        &mut [&mut counted, &mut signalled, &mut signalled_json],
    );
    let started = Instant::now();
    ns.run(&[
        "send",
        "--group",
        "239.1.2.6",
        "--rate",
        "200",
        "--count",
        "100",
        "--interface",
        "lo",
    ])
    .success();

    let rc = counted.finish().success().report();
    assert_eq!(
        (rc.stop_reason.as_str(), rc.unique),
        ("count", 50),
        "{rc:#?}"
    );

    for p in [&signalled, &signalled_json] {
        let st = Command::new("kill")
            .args(["-TERM", &p.pid().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }
    let text = signalled.finish().success();
    assert!(text.stdout.contains("stopped by signal"), "{}", text.stdout);
    assert!(text.stdout.contains("unique 100 "), "{}", text.stdout);
    let rj = signalled_json.finish().success().report();
    assert_eq!(
        (rj.stop_reason.as_str(), rj.unique, rj.lost),
        ("signal", 100, 0),
        "{rj:#?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "signal not noticed promptly"
    );
}

#[test]
fn configuration_errors_are_reported() {
    let ns = Netns::new();
    ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    ns.ip(&["link", "set", "v0", "up"]);
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "send",
                "--group",
                "239.1.1.1",
                "--interface",
                "nosuchif0",
                "--count",
                "1",
            ],
            "no such interface nosuchif0",
        ),
        (
            &[
                "send",
                "--group",
                "239.1.1.1",
                "--interface",
                "v0",
                "--count",
                "1",
            ],
            "interface v0 has no IPv4 address",
        ),
        (
            &[
                "send",
                "--group",
                "239.1.1.1",
                "--source",
                "10.9.9.9",
                "--count",
                "1",
            ],
            "cannot bind to source address 10.9.9.9",
        ),
        (&["send", "--group", "239.1.1.1", "--size", "10"], "--size"),
        (
            &[
                "recv",
                "--group",
                "239.1.1.1",
                "--source",
                "10.0.0.1",
                "--exclude",
                "10.0.0.2",
            ],
            "cannot be used with",
        ),
    ];
    for (args, msg) in cases {
        let out = ns.spawn(args).finish();
        assert!(
            !out.status.success(),
            "mcast {} should fail",
            args.join(" ")
        );
        assert!(
            out.stderr.contains(msg),
            "mcast {}: expected {msg:?} in stderr {:?}",
            args.join(" "),
            out.stderr
        );
    }
}

/// More groups than one socket may join (net.ipv4.igmp_max_memberships, 20 by default):
/// the receiver spreads them over several sockets and still sees only its groups.
#[test]
fn many_groups_span_several_sockets() {
    let ns = Netns::new();
    let groups: Vec<String> = (1..=50).map(|i| format!("239.2.0.{i}")).collect();
    let mut args = vec!["recv", "--duration", "10", "--count", "30", "--json"];
    for g in &groups {
        args.extend(["--group", g.as_str()]);
    }
    let mut recv = ns.spawn(&args);
    ns.wait_joined(Ipv4Addr::new(239, 2, 0, 50), 1, &[], &mut [&mut recv]);
    // 239.2.0.51 is not joined; with IP_MULTICAST_ALL off it never reaches the receiver.
    let senders: Vec<Proc> = ["239.2.0.51", "239.2.0.1", "239.2.0.25", "239.2.0.50"]
        .into_iter()
        .map(|g| ns.spawn(&["send", "--group", g, "--rate", "100", "--count", "10"]))
        .collect();
    for s in senders {
        s.finish().success();
    }
    let r = recv.finish().success().report();
    assert_eq!(r.groups.len(), 50);
    assert_eq!(
        (r.stop_reason.as_str(), r.unique, r.lost, r.ignored),
        ("count", 30, 0, 0),
        "{r:#?}"
    );
    let got: BTreeSet<String> = r.flows.iter().map(|f| f.group.to_string()).collect();
    assert_eq!(
        got,
        BTreeSet::from(["239.2.0.1", "239.2.0.25", "239.2.0.50"].map(String::from))
    );
}
