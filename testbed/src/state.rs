//! [`State`]: a detached testbed (`testbed up`), saved as JSON, torn down later.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::net::{delete_namespaces, kill_namespace_processes};
use crate::process::{GRACE, pid_alive, terminate_pid};
use crate::topology::NodeKind;

/// An interface in a [`State`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IfaceState {
    pub name: String,
    /// "10.0.1.1/24"
    pub addr: String,
    /// The node at the other end of a link, or the LAN name.
    pub peer: String,
}

/// A node in a [`State`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeState {
    pub name: String,
    pub kind: NodeKind,
    pub ns: String,
    pub ifaces: Vec<IfaceState>,
    pub routes: Vec<String>,
}

/// A router in a [`State`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouterState {
    pub name: String,
    pub pid: Option<u32>,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
}

/// Everything needed to use and remove a detached testbed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub name: String,
    pub prefix: String,
    pub rundir: PathBuf,
    pub topology: Option<PathBuf>,
    pub nodes: Vec<NodeState>,
    /// (LAN name, namespace)
    pub lans: Vec<(String, String)>,
    pub routers: Vec<RouterState>,
    pub created_unix: u64,
}

impl State {
    /// Namespace of a node or LAN.
    pub fn ns(&self, name: &str) -> Option<&str> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .map(|n| n.ns.as_str())
            .or_else(|| {
                self.lans
                    .iter()
                    .find(|(l, _)| l == name)
                    .map(|(_, ns)| ns.as_str())
            })
    }

    /// All namespaces.
    pub fn namespaces(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| n.ns.clone())
            .chain(self.lans.iter().map(|(_, ns)| ns.clone()))
            .collect()
    }

    /// True if the router process recorded for `r` is still the one we started (its command
    /// line names its config in our run directory), so a reused pid is never signalled.
    fn owns(&self, r: &RouterState) -> Option<u32> {
        let pid = r.pid?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline);
        let config = r.config.display().to_string();
        (pid_alive(pid) && cmdline.contains(&config)).then_some(pid)
    }

    /// Stops the routers (SIGTERM, 2 s, SIGKILL, by recorded pid), kills whatever else runs
    /// in the namespaces, deletes the namespaces and the run directory.
    pub fn teardown(&self) -> Result<()> {
        let pids: Vec<u32> = self.routers.iter().filter_map(|r| self.owns(r)).collect();
        std::thread::scope(|s| {
            for pid in &pids {
                s.spawn(move || terminate_pid(*pid, GRACE));
            }
        });
        let namespaces = self.namespaces();
        kill_namespace_processes(&namespaces);
        delete_namespaces(&namespaces);
        std::thread::sleep(Duration::from_millis(10));
        let _ = std::fs::remove_dir_all(&self.rundir);
        Ok(())
    }

    /// Namespaces of this state that still exist.
    pub fn live_namespaces(&self) -> usize {
        self.namespaces()
            .iter()
            .filter(|ns| std::path::Path::new("/run/netns").join(ns).exists())
            .count()
    }

    /// A table: node, kind, namespace, interfaces with addresses and peers.
    pub fn summary(&self) -> String {
        let mut rows: Vec<[String; 4]> = vec![[
            "NODE".into(),
            "KIND".into(),
            "NAMESPACE".into(),
            "INTERFACES".into(),
        ]];
        for n in &self.nodes {
            let ifaces: Vec<String> = n
                .ifaces
                .iter()
                .map(|i| format!("{} {} ({})", i.name, i.addr, i.peer))
                .collect();
            let mut kind = match n.kind {
                NodeKind::Host => "host".to_string(),
                NodeKind::Router => "router".to_string(),
            };
            if let Some(r) = self.routers.iter().find(|r| r.name == n.name) {
                match r.pid {
                    Some(pid) => write!(kind, " pid {pid}").unwrap(),
                    None => kind.push_str(" (stopped)"),
                }
            }
            rows.push([n.name.clone(), kind, n.ns.clone(), ifaces.join(", ")]);
        }
        for (l, ns) in &self.lans {
            rows.push([l.clone(), "lan".into(), ns.clone(), "br0".into()]);
        }
        let mut w = [0; 3];
        for r in &rows {
            for (i, c) in r.iter().take(3).enumerate() {
                w[i] = w[i].max(c.len());
            }
        }
        let mut out = String::new();
        for r in &rows {
            writeln!(
                out,
                "{:w0$}  {:w1$}  {:w2$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2]
            )
            .unwrap();
        }
        out
    }
}
