//! Human-readable rendering of `mrouterctl` answers: aligned tables.
//!
//! The JSON (`--json`) is the stable interface; these tables are for people and may
//! change. Rendering is a pure function of the daemon's JSON so it is unit tested.

use serde_json::Value;

/// Format rows as columns padded to the widest cell; the first row is the header.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut width = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(x) => x.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(s).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Milliseconds as seconds with one decimal, "-" for none or zero.
/// "yes" for JSON true, "no" otherwise.
fn yes_no(v: &Value) -> String {
    if *v == true { "yes" } else { "no" }.to_owned()
}

/// The sum of a `{kind: count}` object, as a table cell.
fn total(counts: &Value) -> String {
    counts
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum::<u64>())
        .unwrap_or(0)
        .to_string()
}

/// A line `NAME LABEL: k=v k=v` of the non-zero counts of a `{kind: count}` object, or
/// nothing when there are none.
fn counts_line(name: &Value, label: &str, counts: &Value) -> String {
    let parts: Vec<String> = counts
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_u64() != Some(0))
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{} {label}: {}\n", s(name), parts.join(" "))
    }
}

fn secs(v: &Value) -> String {
    match v.as_u64() {
        Some(ms) if ms > 0 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => "-".into(),
    }
}

fn list<'a>(data: &'a Value, key: &str) -> &'a [Value] {
    data.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Render the answer to command `cmd` ("interfaces", "mfc", ...).
pub fn render(cmd: &str, data: &Value) -> String {
    match cmd {
        "interfaces" => {
            let mut rows = vec![
                [
                    "Interface",
                    "State",
                    "Ifindex",
                    "VIF",
                    "Link",
                    "Addresses",
                    "TTL",
                    "Boundaries",
                    "Error",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for i in list(data, "interfaces") {
                rows.push(vec![
                    s(&i["name"]),
                    s(&i["state"]),
                    s(&i["ifindex"]),
                    s(&i["vif"]),
                    match i["link_up"].as_bool() {
                        Some(true) => "up".into(),
                        Some(false) => "down".into(),
                        None => "-".into(),
                    },
                    s(&i["addresses"]),
                    s(&i["ttl_threshold"]),
                    s(&i["boundaries"]),
                    s(&i["error"]),
                ]);
            }
            table(&rows)
        }
        "vifs" => {
            let mut rows = vec![
                [
                    "VIF",
                    "Interface",
                    "Ifindex",
                    "Pkts in",
                    "Pkts out",
                    "Bytes in",
                    "Bytes out",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for v in list(data, "vifs") {
                rows.push(
                    [
                        "vif",
                        "interface",
                        "ifindex",
                        "packets_in",
                        "packets_out",
                        "bytes_in",
                        "bytes_out",
                    ]
                    .iter()
                    .map(|k| s(&v[*k]))
                    .collect(),
                );
            }
            table(&rows)
        }
        "mroutes" => {
            let mut rows = vec![
                [
                    "Source", "Group", "Origin", "Input", "State", "Outputs", "RPF",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for m in list(data, "mroutes") {
                let oifs: Vec<String> = m["oifs"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|o| match o["state"].as_str() {
                                Some("forwarding") => s(&o["interface"]),
                                st => format!("{}({})", s(&o["interface"]), st.unwrap_or("?")),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let origin = match m["origin"]["kind"].as_str() {
                    Some("star-g") => format!("(*,{})", s(&m["origin"]["rule"])),
                    Some(k) => k.to_owned(),
                    None => "-".into(),
                };
                rows.push(vec![
                    s(&m["source"]),
                    s(&m["group"]),
                    origin,
                    s(&m["iif"]),
                    s(&m["state"]),
                    if oifs.is_empty() {
                        "-".into()
                    } else {
                        oifs.join(",")
                    },
                    s(&m["rpf"]["interface"]),
                ]);
            }
            let mut out = table(&rows);
            let star = list(data, "star_rules");
            if !star.is_empty() {
                let mut rows = vec![
                    ["(*,G) rule", "Input", "Outputs"]
                        .map(String::from)
                        .to_vec(),
                ];
                for r in star {
                    rows.push(vec![s(&r["group"]), s(&r["input"]), s(&r["outputs"])]);
                }
                out.push('\n');
                out.push_str(&table(&rows));
            }
            out
        }
        "mfc" => {
            let mut rows = vec![
                [
                    "Source",
                    "Group",
                    "Input",
                    "Outputs (TTL)",
                    "Packets",
                    "Bytes",
                    "Wrong if",
                    "Idle",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for e in list(data, "mfc") {
                let oifs: Vec<String> = e["oifs"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|o| format!("{}({})", s(&o["interface"]), s(&o["ttl"])))
                            .collect()
                    })
                    .unwrap_or_default();
                let idle = e["last_use_ms"]
                    .as_u64()
                    .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
                    .unwrap_or_else(|| "-".into());
                rows.push(vec![
                    s(&e["source"]),
                    s(&e["group"]),
                    s(&e["iif"]),
                    if oifs.is_empty() {
                        "-".into()
                    } else {
                        oifs.join(",")
                    },
                    s(&e["packets"]),
                    s(&e["bytes"]),
                    s(&e["wrong_if"]),
                    idle,
                ]);
            }
            table(&rows)
        }
        "rpf" => format!(
            "RPF of {}: interface {}, neighbor {}\n",
            s(&data["source"]),
            s(&data["rpf"]["interface"]),
            s(&data["rpf"]["gateway"])
        ),
        "counters" => {
            let mut rows = vec![vec!["Counter".to_owned(), "Value".to_owned()]];
            if let Some(m) = data["counters"].as_object() {
                for (k, v) in m {
                    rows.push(vec![k.clone(), s(v)]);
                }
            }
            table(&rows)
        }
        "tunnels" => {
            let mut rows = vec![
                [
                    "Tunnel",
                    "Local",
                    "Remote",
                    "Mode",
                    "State",
                    "Ifindex",
                    "VIF",
                    "Metric",
                    "TTL",
                    "Encap pkts",
                    "Decap pkts",
                    "Send errs",
                    "Dropped",
                ]
                .map(String::from)
                .to_vec(),
            ];
            let mut notes = Vec::new();
            for t in list(data, "tunnels") {
                let c = &t["counters"];
                let dropped: u64 = [
                    "dropped_malformed",
                    "dropped_not_ipv4",
                    "dropped_not_multicast",
                ]
                .iter()
                .filter_map(|k| c[*k].as_u64())
                .sum();
                // A kernel tunnel has no dataplane counters of ours: its VIF's (multicast
                // out of and into the tunnel) stand in.
                let vc = &t["vif_counters"];
                let counter = |k: &str| {
                    let vif_key = match k {
                        "encap_packets" => "packets_out",
                        _ => "packets_in",
                    };
                    if !c.is_null() {
                        s(&c[k])
                    } else if !vc.is_null() {
                        s(&vc[vif_key])
                    } else {
                        "-".to_owned()
                    }
                };
                rows.push(vec![
                    s(&t["name"]),
                    s(&t["local"]),
                    s(&t["remote"]),
                    match t["configured_mode"].as_str() {
                        Some("auto") if !t["mode"].is_null() => format!("{} (auto)", s(&t["mode"])),
                        _ => s(&t["mode"]),
                    },
                    s(&t["state"]),
                    s(&t["ifindex"]),
                    s(&t["vif"]),
                    s(&t["metric"]),
                    s(&t["ttl_threshold"]),
                    counter("encap_packets"),
                    counter("decap_packets"),
                    counter("send_errors"),
                    if c.is_null() {
                        "-".into()
                    } else {
                        dropped.to_string()
                    },
                ]);
                let name = s(&t["name"]);
                if let Some(r) = t["mode_reason"].as_str() {
                    notes.push(format!("{name}: {} because {r}", s(&t["mode"])));
                }
                if let Some(e) = t["error"].as_str() {
                    notes.push(format!("{name}: error: {e}"));
                }
                if let Some(e) = c["last_send_error"].as_str() {
                    notes.push(format!("{name}: last send error: {e}"));
                }
                for w in list(t, "warnings") {
                    notes.push(format!("{name}: warning: {}", s(w)));
                }
            }
            let mut out = table(&rows);
            if data["foreign_dropped"].as_u64().is_some_and(|n| n > 0) {
                notes.push(format!(
                    "{} IP-in-IP packets from no configured peer were dropped",
                    s(&data["foreign_dropped"])
                ));
            }
            for n in notes {
                out.push_str(&n);
                out.push('\n');
            }
            out
        }
        "version" => format!(
            "mrouterd {} ({}), pid {}, up {}s, table {}, config {}\n",
            s(&data["version"]),
            s(&data["name"]),
            s(&data["pid"]),
            s(&data["uptime_s"]),
            s(&data["table"]),
            s(&data["config"])
        ),
        "reload" => format!(
            "reloaded: {} route(s) changed, interfaces added {}, removed {}\n",
            s(&data["routes_changed"]),
            s(&data["interfaces"]["added"]),
            s(&data["interfaces"]["removed"])
        ),
        "log-level" => format!("log level: {}\n", s(&data["log_level"])),
        "igmp-interfaces" => {
            let mut rows = vec![
                [
                    "Interface",
                    "Address",
                    "Version",
                    "Querier",
                    "Querier addr",
                    "Other querier",
                    "Next query",
                    "Groups",
                    "Received",
                    "Dropped",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for i in list(&data["igmp"], "interfaces") {
                rows.push(vec![
                    s(&i["name"]),
                    format!("{}/{}", s(&i["address"]), s(&i["prefix_len"])),
                    format!("v{}", s(&i["version"])),
                    yes_no(&i["querier"]),
                    s(&i["querier_address"]),
                    secs(&i["other_querier_present_ms"]),
                    secs(&i["general_query_ms"]),
                    i["groups"].as_array().map_or(0, Vec::len).to_string(),
                    total(&i["received"]),
                    total(&i["dropped"]),
                ]);
            }
            let mut out = table(&rows);
            for i in list(&data["igmp"], "interfaces") {
                out.push_str(&counts_line(&i["name"], "dropped", &i["dropped"]));
            }
            out
        }
        "pim-interfaces" => {
            let mut rows = vec![
                [
                    "Interface",
                    "Address",
                    "DR",
                    "DR prio",
                    "Gen ID",
                    "Next hello",
                    "Neighbors",
                    "LAN delay",
                    "Override",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for i in list(&data["pim"], "interfaces") {
                rows.push(vec![
                    s(&i["name"]),
                    format!("{}/{}", s(&i["address"]), s(&i["prefix_len"])),
                    format!(
                        "{}{}",
                        s(&i["dr"]),
                        if i["i_am_dr"] == true { " (us)" } else { "" }
                    ),
                    s(&i["dr_priority"]),
                    i["generation_id"]
                        .as_u64()
                        .map_or("-".into(), |g| format!("{g:08x}")),
                    secs(&i["hello_timer_ms"]),
                    i["neighbors"].as_array().map_or(0, Vec::len).to_string(),
                    yes_no(&i["lan_delay_enabled"]),
                    format!("{}ms", s(&i["effective_override_interval_ms"])),
                ]);
            }
            table(&rows)
        }
        "pim-neighbors" => {
            let mut rows = vec![
                [
                    "Interface",
                    "Neighbor",
                    "DR prio",
                    "Gen ID",
                    "Uptime",
                    "Expires",
                    "Holdtime",
                    "Prop delay",
                    "Override",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for i in list(&data["pim"], "interfaces") {
                for n in list(i, "neighbors") {
                    rows.push(vec![
                        s(&i["name"]),
                        s(&n["address"]),
                        s(&n["dr_priority"]),
                        n["generation_id"]
                            .as_u64()
                            .map_or("-".into(), |g| format!("{g:08x}")),
                        secs(&n["uptime_ms"]),
                        if n["expires_ms"].is_null() {
                            "never".into()
                        } else {
                            secs(&n["expires_ms"])
                        },
                        format!("{}s", s(&n["holdtime_s"])),
                        n["propagation_delay_ms"]
                            .as_u64()
                            .map_or("-".into(), |v| format!("{v}ms")),
                        n["override_interval_ms"]
                            .as_u64()
                            .map_or("-".into(), |v| format!("{v}ms")),
                    ]);
                }
            }
            table(&rows)
        }
        "pim-upstream" | "pim-join" => {
            let upstream = cmd == "pim-upstream";
            let ifname = |data: &Value, ifindex: &Value| -> String {
                list(&data["pim"], "interfaces")
                    .iter()
                    .find(|i| i["ifindex"] == *ifindex)
                    .map(|i| s(&i["name"]))
                    .unwrap_or_else(|| format!("if{}", s(ifindex)))
            };
            let mut rows = if upstream {
                vec![
                    [
                        "Source",
                        "Group",
                        "State",
                        "RPF interface",
                        "RPF neighbor",
                        "Join timer",
                        "RP",
                    ]
                    .map(String::from)
                    .to_vec(),
                ]
            } else {
                vec![
                    [
                        "Interface",
                        "Source",
                        "Group",
                        "State",
                        "Expires",
                        "Prune pending",
                        "Local",
                    ]
                    .map(String::from)
                    .to_vec(),
                ]
            };
            for g in list(&data["pim"]["tib"], "groups") {
                let mut entries: Vec<(String, &Value)> = Vec::new();
                if !g["star_g"].is_null() {
                    entries.push(("*".into(), &g["star_g"]));
                }
                for e in list(g, "sources") {
                    entries.push((s(&e["source"]), e));
                }
                for (src, e) in entries {
                    if upstream {
                        let u = &e["upstream"];
                        rows.push(vec![
                            src,
                            s(&g["group"]),
                            s(&u["state"]),
                            if u["local"] == true {
                                "(RP)".into()
                            } else {
                                ifname(data, &u["rpf_interface"])
                            },
                            s(&u["rpf_neighbor"]),
                            secs(&u["join_timer_ms"]),
                            s(&g["rp"]),
                        ]);
                    } else {
                        for i in list(e, "interfaces") {
                            rows.push(vec![
                                ifname(data, &i["ifindex"]),
                                src.clone(),
                                s(&g["group"]),
                                s(&i["state"]),
                                secs(&i["expiry_ms"]),
                                secs(&i["prune_pending_ms"]),
                                yes_no(&i["local_members"]),
                            ]);
                        }
                    }
                }
            }
            table(&rows)
        }
        "pim-assert" => {
            let mut rows = vec![
                [
                    "Interface",
                    "Source",
                    "Group",
                    "State",
                    "Winner",
                    "Winner metric",
                    "Timer",
                ]
                .map(String::from)
                .to_vec(),
            ];
            let ifname = |ifindex: &Value| -> String {
                list(&data["pim"], "interfaces")
                    .iter()
                    .find(|i| i["ifindex"] == *ifindex)
                    .map(|i| s(&i["name"]))
                    .unwrap_or_else(|| format!("if{}", s(ifindex)))
            };
            for g in list(&data["pim"]["tib"], "groups") {
                let mut entries: Vec<(String, &Value)> = Vec::new();
                if !g["star_g"].is_null() {
                    entries.push(("*".into(), &g["star_g"]));
                }
                for e in list(g, "sources") {
                    entries.push((s(&e["source"]), e));
                }
                for (src, e) in entries {
                    for a in list(e, "asserts") {
                        rows.push(vec![
                            ifname(&a["ifindex"]),
                            src.clone(),
                            s(&g["group"]),
                            s(&a["state"]),
                            s(&a["winner"]),
                            format!(
                                "{}{}/{}",
                                if a["winner_metric"]["rpt"] == true {
                                    "rpt "
                                } else {
                                    ""
                                },
                                s(&a["winner_metric"]["preference"]),
                                s(&a["winner_metric"]["metric"])
                            ),
                            secs(&a["assert_timer_ms"]),
                        ]);
                    }
                }
            }
            table(&rows)
        }
        "pim-rp" => {
            let mut rows = vec![["Group range", "RP"].map(String::from).to_vec()];
            for m in list(data, "rp_mappings") {
                rows.push(vec![
                    format!("{}/{}", s(&m["group"]), s(&m["prefix_len"])),
                    s(&m["rp"]),
                ]);
            }
            let mut out = table(&rows);
            let mut rows = vec![["Group", "RP", "SSM"].map(String::from).to_vec()];
            for g in list(&data["pim"]["tib"], "groups") {
                rows.push(vec![s(&g["group"]), s(&g["rp"]), yes_no(&g["ssm"])]);
            }
            out.push('\n');
            out.push_str(&table(&rows));
            out
        }
        "igmp-groups" => {
            let mut rows = vec![
                [
                    "Interface",
                    "Group",
                    "Mode",
                    "Compat",
                    "Timer",
                    "Sources",
                    "Forwarding",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for i in list(&data["igmp"], "interfaces") {
                for g in list(i, "groups") {
                    let fwd = format!(
                        "{} {{{}}}",
                        s(&g["forwarding_mode"]).to_uppercase(),
                        g["forwarding_sources"]
                            .as_array()
                            .map(|a| a.iter().map(s).collect::<Vec<_>>().join(","))
                            .unwrap_or_default()
                    );
                    rows.push(vec![
                        s(&i["name"]),
                        s(&g["group"]),
                        s(&g["filter_mode"]).to_uppercase()
                            + if g["is_static"] == true {
                                " (static)"
                            } else {
                                ""
                            },
                        format!("v{}", s(&g["compat_mode"])),
                        secs(&g["group_timer_ms"]),
                        g["sources"].as_array().map_or(0, Vec::len).to_string(),
                        fwd,
                    ]);
                }
            }
            table(&rows)
        }
        "igmp-sources" => {
            let mut rows = vec![
                ["Interface", "Group", "Source", "Timer", "Forwarded"]
                    .map(String::from)
                    .to_vec(),
            ];
            for i in list(&data["igmp"], "interfaces") {
                for g in list(i, "groups") {
                    for src in list(g, "sources") {
                        let fwd = src["timer_ms"].as_u64().is_some_and(|t| t > 0);
                        rows.push(vec![
                            s(&i["name"]),
                            s(&g["group"]),
                            s(&src["source"]),
                            secs(&src["timer_ms"]),
                            if fwd {
                                "yes".into()
                            } else {
                                "no (excluded)".into()
                            },
                        ]);
                    }
                }
            }
            table(&rows)
        }
        "dvmrp-interfaces" => {
            let mut rows = vec![
                [
                    "Interface",
                    "Address",
                    "State",
                    "Metric",
                    "Gen ID",
                    "Neighbors",
                    "Next probe",
                    "Next report",
                    "Probes",
                    "Reports",
                    "Received",
                    "Dropped",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for i in list(&data["dvmrp"], "interfaces") {
                let nbrs = list(i, "neighbors");
                let two_way = nbrs.iter().filter(|n| n["state"] == "two_way").count();
                rows.push(vec![
                    s(&i["name"]),
                    if i["address"].is_null() {
                        "-".into()
                    } else {
                        format!("{}/{}", s(&i["address"]), s(&i["prefix_len"]))
                    },
                    if i["active"] == true {
                        "active".into()
                    } else if i["configured"] == true {
                        "down".into()
                    } else {
                        "not configured".into()
                    },
                    s(&i["metric"]),
                    hex32(&i["generation_id"]),
                    format!("{two_way}/{}", nbrs.len()),
                    secs(&i["next_probe_ms"]),
                    secs(&i["next_report_ms"]),
                    s(&i["probes_sent"]),
                    s(&i["reports_sent"]),
                    total(&i["received"]),
                    total(&i["dropped"]),
                ]);
            }
            let mut out = table(&rows);
            for i in list(&data["dvmrp"], "interfaces") {
                out.push_str(&counts_line(&i["name"], "dropped", &i["dropped"]));
                out.push_str(&counts_line(&i["name"], "sent", &i["sent"]));
                if i["passive"] == true {
                    out.push_str(&format!(
                        "{}: passive (a host LAN: announced, no Probes or Reports)\n",
                        s(&i["name"])
                    ));
                }
                if !i["tunnel_peer"].is_null() {
                    out.push_str(&format!(
                        "{}: tunnel to {}\n",
                        s(&i["name"]),
                        s(&i["tunnel_peer"])
                    ));
                }
            }
            // mrinfo questions (Ask-Neighbors2), on DVMRP interfaces and elsewhere.
            let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
            let other = &data["dvmrp"]["other_interfaces"];
            let (mut asked, mut answers) = (
                n(&other["received"], "ask_neighbors2"),
                n(&other["sent"], "neighbors2"),
            );
            for i in list(&data["dvmrp"], "interfaces") {
                asked += n(&i["received"], "ask_neighbors2");
                answers += n(&i["sent"], "neighbors2");
            }
            if asked > 0 {
                out.push_str(&format!(
                    "mrinfo: {asked} questions ({} on interfaces without DVMRP), \
                     {answers} Neighbors2 messages sent\n",
                    n(&other["received"], "ask_neighbors2")
                ));
            }
            out
        }
        "dvmrp-neighbors" => {
            let mut rows = vec![
                [
                    "Interface",
                    "Neighbor",
                    "State",
                    "Gen ID",
                    "Version",
                    "Capabilities",
                    "Uptime",
                    "Expires",
                    "Probes",
                    "Reports",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for i in list(&data["dvmrp"], "interfaces") {
                for n in list(i, "neighbors") {
                    rows.push(vec![
                        s(&i["name"]),
                        s(&n["address"]),
                        s(&n["state"]).replace('_', "-"),
                        hex32(&n["generation_id"]),
                        format!("{}.{}", s(&n["major_version"]), s(&n["minor_version"])),
                        s(&n["capability_names"]),
                        secs(&n["uptime_ms"]),
                        secs(&n["expiry_ms"]),
                        s(&n["probes"]),
                        s(&n["reports"]),
                    ]);
                }
            }
            table(&rows)
        }
        "dvmrp-routes" => {
            let mut rows = vec![
                [
                    "Network",
                    "Origin",
                    "Metric",
                    "Advertised",
                    "Upstream",
                    "Neighbor",
                    "State",
                    "Expires",
                    "Hold-down",
                    "Dependents",
                    "Forwarder",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for r in list(&data["dvmrp"], "routes") {
                let state = match r["hold_down_cause"].as_str() {
                    Some(c) if r["state"] != "valid" => {
                        format!("{} ({})", s(&r["state"]), c.replace('_', " "))
                    }
                    _ => s(&r["state"]),
                };
                let dependents: Vec<String> = list(r, "dependents")
                    .iter()
                    .map(|d| format!("{}:{}", ifname(d), s(&d["neighbors"])))
                    .collect();
                // Where this router forwards traffic from the network (designated
                // forwarder, 3.3.1).
                let forwarder: Vec<String> = list(r, "forwarders")
                    .iter()
                    .filter(|f| f["is_us"] == true)
                    .map(ifname)
                    .collect();
                rows.push(vec![
                    format!("{}/{}", s(&r["network"]), s(&r["prefix_len"])),
                    s(&r["origin"]),
                    s(&r["metric"]),
                    s(&r["advertised_metric"]),
                    if r["upstream_interface"].is_null() {
                        "-".into()
                    } else {
                        r["upstream_interface_name"].as_str().map_or_else(
                            || format!("if{}", s(&r["upstream_interface"])),
                            str::to_owned,
                        )
                    },
                    s(&r["upstream_neighbor"]),
                    state,
                    secs(&r["expiry_ms"]),
                    secs(&r["hold_down_ms"]),
                    if dependents.is_empty() {
                        "-".into()
                    } else {
                        dependents.join(" ")
                    },
                    if forwarder.is_empty() {
                        "-".into()
                    } else {
                        forwarder.join(",")
                    },
                ]);
            }
            table(&rows)
        }
        "dvmrp-prunes" => {
            let mut rows = vec![
                [
                    "Source network",
                    "Group",
                    "Upstream",
                    "Outgoing",
                    "Upstream prune",
                    "Downstream prunes",
                    "Graft pending",
                    "Expires",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for f in list(&data["dvmrp"], "forwarding") {
                let upstream = match (
                    f["upstream_interface_name"].as_str(),
                    f["upstream_neighbor"].as_str(),
                ) {
                    _ if f["upstream_interface"].is_null() => "(no route)".to_owned(),
                    (Some(i), Some(n)) => format!("{i} via {n}"),
                    (Some(i), None) => format!("{i} (connected)"),
                    (None, n) => format!(
                        "if{}{}",
                        s(&f["upstream_interface"]),
                        n.map(|n| format!(" via {n}")).unwrap_or_default()
                    ),
                };
                let outgoing: Vec<String> = f["outgoing"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .enumerate()
                            .map(|(k, i)| {
                                f["outgoing_names"][k]
                                    .as_str()
                                    .map_or_else(|| format!("if{}", s(i)), str::to_owned)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let up = &f["upstream_prune"];
                let upstream_prune = if up.is_null() {
                    "-".into()
                } else {
                    format!(
                        "to {} for {}s, {} left",
                        s(&up["neighbor"]),
                        s(&up["lifetime_s"]),
                        secs(&up["expiry_ms"])
                    )
                };
                let downstream: Vec<String> = list(f, "downstream_prunes")
                    .iter()
                    .map(|p| {
                        format!(
                            "{}:{} ({})",
                            ifname(p),
                            s(&p["neighbor"]),
                            secs(&p["expiry_ms"])
                        )
                    })
                    .collect();
                let g = &f["graft"];
                let graft = if g.is_null() {
                    "-".into()
                } else {
                    format!(
                        "to {}, sent {}, next {}",
                        s(&g["neighbor"]),
                        s(&g["sent"]),
                        secs(&g["next_retransmit_ms"])
                    )
                };
                rows.push(vec![
                    format!("{}/{}", s(&f["source_network"]), s(&f["source_prefix_len"])),
                    s(&f["group"]),
                    upstream,
                    if outgoing.is_empty() {
                        "-".into()
                    } else {
                        outgoing.join(",")
                    },
                    upstream_prune,
                    if downstream.is_empty() {
                        "-".into()
                    } else {
                        downstream.join(" ")
                    },
                    graft,
                    secs(&f["expiry_ms"]),
                ]);
            }
            table(&rows)
        }
        _ => format!("{data}\n"),
    }
}

/// A 32-bit number (a Generation ID) as 8 hex digits, "-" for none.
fn hex32(v: &Value) -> String {
    v.as_u64().map_or("-".into(), |g| format!("{g:08x}"))
}

/// The name the daemon put next to an object's "ifindex", else "ifN".
fn ifname(v: &Value) -> String {
    v["name"]
        .as_str()
        .map_or_else(|| format!("if{}", s(&v["ifindex"])), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_aligns_columns() {
        let t = table(&[
            vec!["A".into(), "Long header".into(), "C".into()],
            vec!["value".into(), "x".into(), "last".into()],
        ]);
        assert_eq!(t, "A      Long header  C\nvalue  x            last\n");
    }

    #[test]
    fn mfc_rendering() {
        let data = json!({"mfc": [{
            "source": "10.0.1.2", "group": "239.1.1.1", "iif": "eth0", "iif_ifindex": 2,
            "oifs": [{"interface": "eth1", "ifindex": 3, "ttl": 1}],
            "packets": 20, "bytes": 1840, "wrong_if": 0, "last_use_ms": 1500, "unresolved": false
        }]});
        let out = render("mfc", &data);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("Source"));
        assert!(
            lines[1].contains("10.0.1.2")
                && lines[1].contains("eth1(1)")
                && lines[1].contains("1.5s"),
            "{out}"
        );
    }

    /// A `show dvmrp` answer as the daemon gives it (trimmed), names added by the daemon.
    fn dvmrp_data() -> Value {
        json!({"dvmrp": {
            "counters": {"probe": 23, "report": 15, "truncated": 2},
            "interfaces": [
                {"ifindex": 2, "name": "eth0", "address": "10.0.2.2", "prefix_len": 24,
                 "configured": true, "active": true, "metric": 1, "generation_id": 1976690567,
                 "next_probe_ms": 459, "next_report_ms": 1274, "probes_sent": 12,
                 "reports_sent": 8,
                 "received": {"probe": 11, "report": 8, "ask_neighbors2": 1},
                 "sent": {"graft": 1, "neighbors2": 1, "prune": 2},
                 "dropped": {"truncated": 2, "bad_ttl": 0},
                 "tunnel_peer": null,
                 "neighbors": [
                    {"address": "10.0.2.1", "state": "two_way", "generation_id": 2909654370_u64,
                     "capabilities": 14, "capability_names": ["prune", "genid", "mtrace"],
                     "major_version": 3, "minor_version": 255, "uptime_ms": 10540,
                     "expiry_ms": 2957, "probes": 11, "reports": 8},
                    {"address": "10.0.2.7", "state": "one_way", "generation_id": 5,
                     "capabilities": 14, "capability_names": ["prune", "genid", "mtrace"],
                     "major_version": 3, "minor_version": 255, "uptime_ms": 500,
                     "expiry_ms": 3000, "probes": 1, "reports": 0}]},
                {"ifindex": 3, "name": "eth1", "address": null, "prefix_len": null,
                 "configured": true, "active": false, "metric": 2, "generation_id": null,
                 "next_probe_ms": null, "next_report_ms": null, "probes_sent": 0,
                 "reports_sent": 0, "received": {}, "dropped": {}, "neighbors": [],
                 "tunnel_peer": "192.0.2.9", "passive": true}],
            "other_interfaces": {"received": {"ask_neighbors2": 2},
                                 "sent": {"neighbors2": 3}, "dropped": {}},
            "routes": [
                {"network": "10.0.1.0", "prefix_len": 24, "origin": "learned", "metric": 2,
                 "advertised_metric": 2, "upstream_interface": 2,
                 "upstream_interface_name": "eth0", "upstream_neighbor": "10.0.2.1",
                 "state": "valid", "hold_down_cause": null, "uptime_ms": 10540, "age_ms": 770,
                 "expiry_ms": 23229, "hold_down_ms": null,
                 "dependents": [{"ifindex": 3, "name": "eth1", "neighbors": ["10.0.3.2"]}],
                 "forwarders": [{"ifindex": 3, "name": "eth1", "forwarder": "10.0.3.1",
                                 "is_us": true}]},
                {"network": "10.0.4.0", "prefix_len": 24, "origin": "learned", "metric": 32,
                 "advertised_metric": 32, "upstream_interface": null,
                 "upstream_interface_name": null, "upstream_neighbor": null,
                 "state": "held_down", "hold_down_cause": "neighbor_lost", "uptime_ms": 20000,
                 "age_ms": 5000, "expiry_ms": null, "hold_down_ms": 15000,
                 "dependents": [], "forwarders": []}],
            "forwarding": [
                {"source_network": "10.0.1.0", "source_prefix_len": 24, "group": "239.1.1.1",
                 "sources": ["10.0.1.5"], "upstream_interface": 2,
                 "upstream_interface_name": "eth0", "upstream_neighbor": "10.0.2.1",
                 "outgoing": [], "outgoing_names": [],
                 "upstream_prune": {"neighbor": "10.0.2.1", "lifetime_s": 7200,
                                    "expiry_ms": 7199000, "sent": 1},
                 "graft": null,
                 "downstream_prunes": [{"ifindex": 3, "name": "eth1", "neighbor": "10.0.3.2",
                                        "expiry_ms": 7100000}],
                 "uptime_ms": 3000, "expiry_ms": 297000},
                {"source_network": "10.0.4.0", "source_prefix_len": 24, "group": "239.2.2.2",
                 "sources": ["10.0.4.9"], "upstream_interface": 3,
                 "upstream_interface_name": "eth1", "upstream_neighbor": null,
                 "outgoing": [2, 9], "outgoing_names": ["eth0", null],
                 "upstream_prune": null,
                 "graft": {"neighbor": "10.0.3.2", "sent": 2, "next_retransmit_ms": 4000},
                 "downstream_prunes": [], "uptime_ms": 1000, "expiry_ms": 299000}]
        }})
    }

    /// The cells of the table row whose leading cells are the words of `first` (cells are
    /// separated by two or more spaces).
    fn row(out: &str, first: &str) -> Vec<String> {
        let lead: Vec<&str> = first.split_whitespace().collect();
        out.lines()
            .map(|l| {
                l.split("  ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<String>>()
            })
            .find(|cells| cells.len() >= lead.len() && cells[..lead.len()] == lead[..])
            .unwrap_or_else(|| panic!("no row {first}:\n{out}"))
    }

    #[test]
    fn dvmrp_interfaces_and_neighbors() {
        let out = render("dvmrp-interfaces", &dvmrp_data());
        assert!(out.starts_with("Interface"), "{out}");
        assert_eq!(
            row(&out, "eth0"),
            [
                "eth0",
                "10.0.2.2/24",
                "active",
                "1",
                "75d1e787",
                "1/2",
                "0.5s",
                "1.3s",
                "12",
                "8",
                "20",
                "2"
            ],
            "{out}"
        );
        assert!(
            out.contains(
                "mrinfo: 3 questions (2 on interfaces without DVMRP), 4 Neighbors2 messages sent\n"
            ),
            "{out}"
        );
        assert_eq!(
            row(&out, "eth1"),
            [
                "eth1", "-", "down", "2", "-", "0/0", "-", "-", "0", "0", "0", "0"
            ],
            "{out}"
        );
        assert!(out.contains("eth0 dropped: truncated=2\n"), "{out}");
        assert!(
            out.contains("eth0 sent: graft=1 neighbors2=1 prune=2\n"),
            "{out}"
        );
        assert!(out.contains("eth1: tunnel to 192.0.2.9\n"), "{out}");
        assert!(out.contains("eth1: passive (a host LAN"), "{out}");
        let out = render("dvmrp-neighbors", &dvmrp_data());
        assert_eq!(
            row(&out, "eth0 10.0.2.1"),
            [
                "eth0",
                "10.0.2.1",
                "two-way",
                "ad6dcd62",
                "3.255",
                "prune,genid,mtrace",
                "10.5s",
                "3.0s",
                "11",
                "8"
            ],
            "{out}"
        );
        assert!(row(&out, "eth0 10.0.2.7").contains(&"one-way".to_owned()));
    }

    #[test]
    fn dvmrp_routes() {
        let out = render("dvmrp-routes", &dvmrp_data());
        assert_eq!(
            row(&out, "10.0.1.0/24"),
            [
                "10.0.1.0/24",
                "learned",
                "2",
                "2",
                "eth0",
                "10.0.2.1",
                "valid",
                "23.2s",
                "-",
                "eth1:10.0.3.2",
                "eth1"
            ],
            "{out}"
        );
        assert_eq!(
            row(&out, "10.0.4.0/24"),
            [
                "10.0.4.0/24",
                "learned",
                "32",
                "32",
                "-",
                "-",
                "held_down (neighbor lost)",
                "-",
                "15.0s",
                "-",
                "-"
            ],
            "{out}"
        );
    }

    #[test]
    fn dvmrp_prunes_show_the_forwarding_cache() {
        let out = render("dvmrp-prunes", &dvmrp_data());
        assert!(out.starts_with("Source network"), "{out}");
        assert_eq!(
            row(&out, "10.0.1.0/24"),
            [
                "10.0.1.0/24",
                "239.1.1.1",
                "eth0 via 10.0.2.1",
                "-",
                "to 10.0.2.1 for 7200s, 7199.0s left",
                "eth1:10.0.3.2 (7100.0s)",
                "-",
                "297.0s"
            ],
            "{out}"
        );
        assert_eq!(
            row(&out, "10.0.4.0/24"),
            [
                "10.0.4.0/24",
                "239.2.2.2",
                "eth1 (connected)",
                "eth0,if9",
                "-",
                "-",
                "to 10.0.3.2, sent 2, next 4.0s",
                "299.0s"
            ],
            "{out}"
        );
    }

    #[test]
    fn tunnels_rendering() {
        let data = json!({"foreign_dropped": 3, "tunnels": [{
            "name": "tun0", "local": "10.0.2.1", "remote": "10.0.3.2",
            "configured_mode": "auto", "mode": "userspace",
            "mode_reason": "kernel has no ipip driver (Unknown device type)",
            "ifindex": 7, "vif": 1, "metric": 1, "ttl_threshold": 1, "state": "up",
            "error": null, "rp_filter": {"device": 0, "all": 1, "effective": 1},
            "warnings": ["net.ipv4.conf.all.rp_filter is 1"],
            "counters": {"encap_packets": 200, "encap_bytes": 18400, "decap_packets": 5,
                "decap_bytes": 460, "send_errors": 0, "last_send_error": null,
                "tun_write_errors": 0, "dropped_malformed": 1, "dropped_not_ipv4": 2,
                "dropped_not_multicast": 0}
        }, {
            "name": "tun1", "local": "10.9.9.9", "remote": "10.0.3.3",
            "configured_mode": "kernel", "mode": null, "mode_reason": null,
            "ifindex": null, "vif": null, "metric": 4, "ttl_threshold": 8,
            "state": "error", "error": "the kernel has no ipip driver", "rp_filter": null,
            "warnings": [], "counters": null
        }, {
            "name": "tun2", "local": "10.0.2.1", "remote": "10.0.4.4",
            "configured_mode": "auto", "mode": "kernel", "mode_reason": "the kernel has ipip",
            "ifindex": 9, "vif": 2, "metric": 1, "ttl_threshold": 1, "state": "up",
            "error": null, "rp_filter": null, "warnings": [], "counters": null,
            "vif_counters": {"packets_in": 17, "packets_out": 4242, "bytes_in": 0, "bytes_out": 0}
        }]});
        let out = render("tunnels", &data);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("Tunnel") && lines[0].contains("Encap pkts"),
            "{out}"
        );
        assert!(
            lines[1].contains("userspace (auto)")
                && lines[1].contains("200")
                && lines[1].trim_end().ends_with('3'),
            "{out}"
        );
        assert!(
            lines[2].contains("error") && lines[2].contains(" - "),
            "{out}"
        );
        assert!(
            lines[3].contains("kernel (auto)")
                && lines[3].contains("4242")
                && lines[3].contains("17"),
            "{out}"
        );
        assert!(
            out.contains("tun0: userspace because kernel has no ipip driver"),
            "{out}"
        );
        assert!(
            out.contains("tun0: warning: net.ipv4.conf.all.rp_filter"),
            "{out}"
        );
        assert!(
            out.contains("tun1: error: the kernel has no ipip driver"),
            "{out}"
        );
        assert!(
            out.contains("3 IP-in-IP packets from no configured peer"),
            "{out}"
        );
    }

    #[test]
    fn mroutes_shows_why_an_interface_does_not_forward() {
        let data = json!({"mroutes": [{
            "source": "10.0.1.2", "group": "239.1.1.1", "origin": {"kind": "static"},
            "iif": "eth0", "state": "installed", "installed": true,
            "oifs": [{"interface": "eth1", "state": "forwarding"}, {"interface": "ppp0", "state": "no-vif"}],
            "rpf": {"interface": "eth0", "ifindex": 2, "gateway": null}
        }], "star_rules": [{"group": "225.0.0.0/8", "input": "eth0", "outputs": ["eth1"]}]});
        let out = render("mroutes", &data);
        assert!(out.contains("eth1,ppp0(no-vif)"), "{out}");
        assert!(out.contains("225.0.0.0/8"), "{out}");
    }
}
