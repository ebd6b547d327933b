//! FRR (Debian package `frr`) as a peer in a testbed node: `zebra` and `pimd` in the node's
//! namespace, driven through `vtysh`.
//!
//! FRR's daemons drop privileges to the user `frr`, so their run directory is owned by it.
//! They are stopped by the pids in their pid files, never by name.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::{Net, wait_until};

const FRR_LIB: &str = "/usr/lib/frr";
const DAEMONS: [&str; 2] = ["zebra", "pimd"];

/// A running FRR zebra + pimd in one node.
pub struct Frr {
    ns: String,
    dir: PathBuf,
}

impl Frr {
    /// Start zebra and pimd in `node` with this pimd configuration (FRR syntax, e.g.
    /// "interface eth0\n ip pim\n"). zebra imports the node's kernel routes, which serve
    /// pimd's RPF lookups.
    pub fn start(net: &Net, node: &str, pimd_conf: &str) -> Result<Frr> {
        ensure!(
            Path::new(FRR_LIB).join("pimd").exists(),
            "FRR is not installed ({FRR_LIB}/pimd missing): apt-get install frr (scripts/deps.sh does)"
        );
        let ns = net.ns(node);
        let dir = net.rundir().join(format!("frr-{node}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("zebra.conf"), format!("hostname {node}\n"))?;
        std::fs::write(
            dir.join("pimd.conf"),
            format!("hostname {node}\n{pimd_conf}\n"),
        )?;
        let status = Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(&dir)
            .status()
            .context("chown frr:frr")?;
        ensure!(
            status.success(),
            "chown frr:frr {} failed (is the user frr there?)",
            dir.display()
        );
        let frr = Frr { ns, dir };
        for d in DAEMONS {
            frr.start_daemon(d)?;
        }
        ensure!(
            wait_until(Duration::from_secs(10), || frr
                .vtysh("show ip pim interface")
                .is_ok()),
            "FRR pimd in {node} did not answer vtysh; log:\n{}",
            std::fs::read_to_string(frr.dir.join("pimd.log")).unwrap_or_default()
        );
        Ok(frr)
    }

    fn start_daemon(&self, daemon: &str) -> Result<()> {
        let d = &self.dir;
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(Path::new(FRR_LIB).join(daemon))
            .arg("-d")
            .arg("-f")
            .arg(d.join(format!("{daemon}.conf")))
            .arg("-i")
            .arg(d.join(format!("{daemon}.pid")))
            .arg("-z")
            .arg(d.join("zserv.api"))
            .arg("--vty_socket")
            .arg(d)
            .args(["-P", "0", "--log"])
            .arg(format!(
                "file:{}",
                d.join(format!("{daemon}.log")).display()
            ))
            .output()
            .with_context(|| format!("starting FRR {daemon}"))?;
        if !out.status.success() {
            bail!(
                "FRR {daemon} failed to start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // zebra must be listening before pimd connects.
        let pidfile = d.join(format!("{daemon}.pid"));
        ensure!(
            wait_until(Duration::from_secs(5), || pidfile.exists()),
            "FRR {daemon} wrote no pid file"
        );
        Ok(())
    }

    /// Run one vtysh command and return its output.
    pub fn vtysh(&self, cmd: &str) -> Result<String> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "vtysh", "--vty_socket"])
            .arg(&self.dir)
            .args(["-c", cmd])
            .output()
            .context("running vtysh")?;
        ensure!(
            out.status.success(),
            "vtysh -c '{cmd}': {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Run a vtysh `... json` command and parse it.
    pub fn json(&self, cmd: &str) -> Result<serde_json::Value> {
        let text = self.vtysh(cmd)?;
        serde_json::from_str(&text)
            .with_context(|| format!("vtysh -c '{cmd}' gave no JSON: {text}"))
    }

    /// pimd's log so far.
    pub fn pimd_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pimd.log")).unwrap_or_default()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        for d in DAEMONS.iter().rev() {
            let pidfile = self.dir.join(format!("{d}.pid"));
            let Some(pid) = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            else {
                continue;
            };
            crate::sys::kill(pid, crate::sys::SIGTERM);
            let gone = wait_until(Duration::from_secs(3), || {
                !Path::new(&format!("/proc/{pid}")).exists()
            });
            if !gone {
                crate::sys::kill(pid, crate::sys::SIGKILL);
            }
        }
    }
}
