//! Counting the data packets of a group on a link, with nftables in a node's namespace:
//! how tests see that a pruned link stops carrying a stream.

use anyhow::{Context, Result, anyhow};

use crate::Net;

/// Counts IPv4 packets to one group arriving at a node on its interface towards a peer
/// (an nftables `prerouting` counter, so forwarded and locally delivered packets count
/// alike). Created with [`GroupCounter::install`]; the table goes with the namespace.
#[derive(Clone, Debug)]
pub struct GroupCounter {
    node: String,
    table: String,
}

impl GroupCounter {
    /// Count packets to `group` that `node` receives from `peer` (a link or LAN peer).
    pub fn install(net: &Net, node: &str, peer: &str, group: &str) -> Result<GroupCounter> {
        let ifname = net.iface(node, peer);
        let table = format!(
            "count_{}_{}",
            ifname.replace(['-', '.'], "_"),
            group.replace('.', "_")
        );
        let rules = format!(
            "table ip {table} {{\n chain pre {{\n  type filter hook prerouting priority -300; \
             policy accept;\n  iifname \"{ifname}\" ip daddr {group} counter\n }}\n}}\n"
        );
        let out = net
            .node(node)
            .sh(&format!("nft -f - <<'EOF'\n{rules}EOF"))
            .with_context(|| format!("installing an nftables counter in {node}"))?;
        let _ = out;
        Ok(GroupCounter {
            node: node.to_string(),
            table,
        })
    }

    /// Packets counted so far.
    pub fn packets(&self, net: &Net) -> Result<u64> {
        let out = net
            .node(&self.node)
            .run(&["nft", "-j", "list", "table", "ip", &self.table])?;
        let v: serde_json::Value = serde_json::from_str(&out)
            .with_context(|| format!("nft -j output in {}: {out}", self.node))?;
        v["nftables"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("rule"))
            .flat_map(|r| r["expr"].as_array().into_iter().flatten())
            .find_map(|e| e.get("counter").and_then(|c| c["packets"].as_u64()))
            .ok_or_else(|| anyhow!("no counter in table {} of {}: {out}", self.table, self.node))
    }
}
