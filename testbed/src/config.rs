//! mrouterd configuration generation and the overlay deep-merge.

use std::path::Path;

use anyhow::{Context, Result};
use toml::{Table, Value};

use crate::topology::{ConfigSource, PlanNode};

/// The generated configuration of a router: `[router]` with name, control socket and log
/// level, and one `[[interface]]` per interface of the router.
pub fn generated(node: &PlanNode, socket: &Path, log_level: &str) -> Table {
    let mut router = Table::new();
    router.insert("name".into(), Value::String(node.name.clone()));
    router.insert(
        "control_socket".into(),
        Value::String(socket.display().to_string()),
    );
    router.insert("log_level".into(), Value::String(log_level.to_string()));
    let ifaces = node
        .ifaces
        .iter()
        .map(|i| {
            let mut t = Table::new();
            t.insert("name".into(), Value::String(i.name.clone()));
            Value::Table(t)
        })
        .collect();
    let mut cfg = Table::new();
    cfg.insert("router".into(), Value::Table(router));
    cfg.insert("interface".into(), Value::Array(ifaces));
    cfg
}

/// Deep-merges `overlay` into `base`: tables merge recursively; the `interface` array merges
/// by `name` (overlay fields override, new names are appended); other values, arrays included,
/// are replaced.
pub fn merge(base: &mut Table, overlay: &Table) {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (Some(Value::Array(b)), Value::Array(o)) if key == "interface" => {
                for item in o {
                    let name = item.get("name").and_then(Value::as_str);
                    let existing = name.and_then(|n| {
                        b.iter_mut()
                            .find(|x| x.get("name").and_then(Value::as_str) == Some(n))
                    });
                    match (existing, item) {
                        (Some(Value::Table(bt)), Value::Table(ot)) => merge(bt, ot),
                        _ => b.push(item.clone()),
                    }
                }
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The configuration text for a router, with `[router] control_socket` set to `socket` when
/// the text does not set it (complete configs are otherwise used as they are).
pub fn render(node: &PlanNode, socket: &Path, log_level: &str) -> Result<String> {
    match node.config.as_ref() {
        Some(ConfigSource::Text(text)) => with_socket(text, socket)
            .with_context(|| format!("router {}: invalid mrouterd config", node.name)),
        Some(ConfigSource::Generated(overlay)) => {
            let mut cfg = generated(node, socket, log_level);
            if let Some(o) = overlay {
                merge(&mut cfg, o);
            }
            toml::to_string(&cfg)
                .with_context(|| format!("router {}: cannot serialize config", node.name))
        }
        None => toml::to_string(&generated(node, socket, log_level))
            .with_context(|| format!("router {}: cannot serialize config", node.name)),
    }
}

/// `text` unchanged if it sets `[router] control_socket`, else with that key added.
pub fn with_socket(text: &str, socket: &Path) -> Result<String> {
    let mut cfg: Table = toml::from_str(text).context("invalid TOML")?;
    if control_socket(&cfg).is_some() {
        return Ok(text.to_string());
    }
    let router = cfg
        .entry("router")
        .or_insert_with(|| Value::Table(Table::new()));
    if let Value::Table(t) = router {
        t.insert(
            "control_socket".into(),
            Value::String(socket.display().to_string()),
        );
    }
    Ok(toml::to_string(&cfg)?)
}

/// `[router] control_socket` of a config.
pub fn control_socket(cfg: &Table) -> Option<&str> {
    cfg.get("router")?.get("control_socket")?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_rules() {
        let mut base: Table = toml::from_str(
            r#"
            [router]
            name = "r1"
            log_level = "info"
            [[interface]]
            name = "eth0"
            [[interface]]
            name = "eth1"
            "#,
        )
        .unwrap();
        let overlay: Table = toml::from_str(
            r#"
            route = [ { source = "10.0.1.1", group = "239.1.1.1", input = "eth0", outputs = ["eth1"] } ]
            [router]
            log_level = "debug"
            [[interface]]
            name = "eth1"
            protocols = ["pim"]
            [[interface]]
            name = "tun0"
            "#,
        )
        .unwrap();
        merge(&mut base, &overlay);
        assert_eq!(base["router"]["name"].as_str(), Some("r1"));
        assert_eq!(base["router"]["log_level"].as_str(), Some("debug"));
        let ifs = base["interface"].as_array().unwrap();
        assert_eq!(ifs.len(), 3);
        assert_eq!(ifs[1]["protocols"].as_array().unwrap().len(), 1);
        assert_eq!(ifs[2]["name"].as_str(), Some("tun0"));
        assert_eq!(base["route"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn socket_is_added_only_when_missing() {
        let p = Path::new("/tmp/x.sock");
        let t = with_socket("[router]\nname = \"a\"\n", p).unwrap();
        assert!(t.contains("/tmp/x.sock"));
        let own = "# mine\n[router]\ncontrol_socket = \"/tmp/y.sock\"\n";
        assert_eq!(with_socket(own, p).unwrap(), own);
    }
}
