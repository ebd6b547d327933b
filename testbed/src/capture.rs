//! Packet captures in a node, decoded by tshark's dissectors: how namespace tests check
//! what the daemon puts on the wire with an independent decoder.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::{Net, Proc, wait_until};

/// A running `tshark` capture on one interface of a node, written to the run directory.
pub struct Capture {
    proc: Proc,
    pcap: PathBuf,
}

impl Capture {
    /// Capture on `node`'s interface `ifname` with the capture filter `filter` (e.g.
    /// "igmp"); returns once tshark is writing. Panics, saying what to install, if tshark
    /// cannot start.
    pub fn start(net: &Net, node: &str, ifname: &str, filter: &str) -> Capture {
        let pcap = net.rundir().join(format!("{node}-{ifname}.pcap"));
        let pcap_s = pcap.display().to_string();
        let proc = net
            .node(node)
            .spawn(&["tshark", "-q", "-i", ifname, "-f", filter, "-w", &pcap_s])
            .expect("tshark (apt-get install tshark)");
        assert!(
            wait_until(Duration::from_secs(10), || pcap.exists()),
            "tshark started: {}",
            proc.stderr()
        );
        Capture { proc, pcap }
    }

    /// Stop and decode what matches the display filter (e.g. "dvmrp"), IPv4 checksums
    /// checked: one line per packet, `fields` separated by tabs, repeated values joined
    /// by commas. [`rows`] splits it.
    pub fn fields(mut self, display_filter: &str, fields: &[&str]) -> String {
        self.proc.kill();
        let mut cmd = Command::new("tshark");
        cmd.args(["-n", "-o", "ip.check_checksum:TRUE", "-r"])
            .arg(&self.pcap)
            .args(["-Y", display_filter, "-T", "fields", "-E", "separator=/t"])
            .args(["-E", "occurrence=a", "-E", "aggregator=,"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().expect("tshark -r");
        assert!(
            out.status.success(),
            "tshark -r: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The lines of [`Capture::fields`] as field -> value maps.
pub fn rows<'a>(text: &'a str, fields: &[&'a str]) -> Vec<BTreeMap<&'a str, &'a str>> {
    text.lines()
        .map(|l| fields.iter().copied().zip(l.split('\t')).collect())
        .collect()
}
