//! Forwarding, prunes and grafts (draft 3.3, 3.5, 3.6) in virtual time, with a simulated
//! kernel per router that forwards data along the entries DVMRP asks for.

mod common;

use std::time::Duration;

use ::common::Protocol;
use common::*;
use dvmrp::ForwardingSnapshot;
use dvmrp::config::{Config, InterfaceConfig};
use dvmrp::packet::Body;

const S: &str = "10.0.1.10";
const G: &str = "239.1.1.1";

/// R1 (source stub s1, if3) -- l12 -- R2 (stub s2, if3) -- l23 -- R3 (stub s3, if3).
fn chain(config: Config) -> Net {
    let mut net = Net::new();
    for i in 1..=3u64 {
        net.router(&format!("R{i}"), config.clone(), 10 + i);
    }
    for (r, ifindex, addr, link) in [
        (0, 1, "10.12.0.1", "l12"),
        (1, 1, "10.12.0.2", "l12"),
        (1, 2, "10.23.0.2", "l23"),
        (2, 1, "10.23.0.3", "l23"),
        (0, 3, "10.0.1.1", "s1"),
        (1, 3, "10.0.2.1", "s2"),
        (2, 3, "10.0.3.1", "s3"),
    ] {
        net.attach(r, ifindex, addr, 24, link, cfg());
    }
    let expected = net.expected(|_, _| 1);
    net.converge_by(at(60), &expected)
        .expect("the chain converges");
    // Dependencies come with the next periodic reports (poison reverse).
    net.run_for(secs(70));
    net
}

fn entry(net: &Net, r: usize) -> Option<ForwardingSnapshot> {
    net.routers[r]
        .d
        .snapshot()
        .forwarding
        .into_iter()
        .find(|f| f.group == a(G))
}

fn oifs(net: &Net, r: usize) -> Vec<u32> {
    entry(net, r)
        .map(|e| e.outgoing.iter().map(|i| i.0).collect())
        .unwrap_or_default()
}

fn sent_kinds(net: &Net, r: usize, kind: fn(&Body) -> bool) -> Vec<Sent> {
    net.routers[r]
        .sent
        .iter()
        .filter(|s| kind(&s.msg.body))
        .cloned()
        .collect()
}

fn is_prune(b: &Body) -> bool {
    matches!(b, Body::Prune(_))
}

fn is_graft(b: &Body) -> bool {
    matches!(b, Body::Graft(_))
}

fn is_ack(b: &Body) -> bool {
    matches!(b, Body::GraftAck(_))
}

#[test]
fn data_floods_to_dependents_then_leaves_prune_back_to_the_source() {
    let mut net = chain(Config::default());
    // The dependencies truncated broadcast uses: R2 on R1's l12, R3 on R2's l23.
    let r1 = net.routers[0].route("10.0.1.0", 24).unwrap();
    assert_eq!(r1.dependents.len(), 1, "{r1:?}");
    assert_eq!(r1.dependents[0].neighbors, vec![a("10.12.0.2")]);

    net.stream(0, 3, a(S), a(G), secs(5));
    // The first packet reaches every router (flood); R3, a leaf without members, prunes
    // at once, then R2 has no child and prunes too: the rest stops at R1.
    assert_eq!(net.carried("l12"), 1);
    assert_eq!(net.carried("l23"), 1);
    assert_eq!(net.carried("s2") + net.carried("s3"), 0);
    let p3 = sent_kinds(&net, 2, is_prune);
    let p2 = sent_kinds(&net, 1, is_prune);
    assert_eq!(
        (p3.len(), p2.len()),
        (1, 1),
        "one prune each, no retransmission"
    );
    assert_eq!(
        p3[0].dst,
        a("10.23.0.2"),
        "unicast to the upstream neighbour"
    );
    assert_eq!(p2[0].dst, a("10.12.0.1"));
    let Body::Prune(p) = p3[0].msg.body else {
        unreachable!()
    };
    assert_eq!(p.lifetime, 7200, "a leaf prunes with the default lifetime");
    assert_eq!((p.source, p.group), (a("10.0.1.0"), a(G)));
    assert_eq!(p.source_mask, Some(a("255.255.255.0")));
    let Body::Prune(p) = p2[0].msg.body else {
        unreachable!()
    };
    assert_eq!(p.lifetime, 7200, "the least remaining downstream lifetime");

    let e1 = entry(&net, 0).unwrap();
    assert!(e1.outgoing.is_empty());
    assert_eq!(e1.downstream_prunes.len(), 1);
    assert_eq!(e1.downstream_prunes[0].neighbor, a("10.12.0.2"));
    assert!(
        e1.upstream_prune.is_none(),
        "the source is directly connected to R1"
    );
    let e3 = entry(&net, 2).unwrap();
    assert_eq!(e3.upstream_neighbor, Some(a("10.23.0.2")));
    assert_eq!(e3.upstream_prune.as_ref().unwrap().lifetime_s, 7200);
}

#[test]
fn a_member_on_a_pruned_branch_grafts_up_to_the_source_at_once() {
    let mut net = chain(Config::default());
    net.stream(0, 3, a(S), a(G), secs(3));
    assert!(oifs(&net, 0).is_empty());

    let t = net.now;
    net.member(2, 3, a(G), true);
    // R3 grafts to R2, R2 acknowledges and grafts to R1, R1 acknowledges: all now.
    let g3 = sent_kinds(&net, 2, is_graft);
    let g2 = sent_kinds(&net, 1, is_graft);
    assert_eq!((g3.len(), g2.len()), (1, 1));
    assert_eq!(g3[0].at, t);
    assert_eq!(g2[0].at, t);
    assert_eq!(sent_kinds(&net, 1, is_ack).len(), 1);
    assert_eq!(sent_kinds(&net, 0, is_ack).len(), 1);
    assert_eq!(oifs(&net, 0), vec![1]);
    assert_eq!(oifs(&net, 1), vec![2]);
    assert!(entry(&net, 2).unwrap().graft.is_none(), "acknowledged");
    assert!(entry(&net, 1).unwrap().graft.is_none(), "acknowledged");

    let before = net.carried("s3");
    net.stream(0, 3, a(S), a(G), secs(2));
    assert_eq!(
        net.carried("s3") - before,
        20,
        "every packet reaches the member"
    );
    assert_eq!(net.carried("s2"), 0, "no member on s2");

    // The member leaves: R3 prunes again, and R2 after it.
    net.member(2, 3, a(G), false);
    net.stream(0, 3, a(S), a(G), secs(2));
    assert!(oifs(&net, 0).is_empty());
    assert_eq!(sent_kinds(&net, 2, is_prune).len(), 2);
}

#[test]
fn a_lost_graft_is_retransmitted_with_backoff_until_acknowledged() {
    let mut net = chain(Config::default());
    net.stream(0, 3, a(S), a(G), secs(3));
    net.lose.push(("l23", "graft"));
    let t = net.now;
    net.member(2, 3, a(G), true);
    net.run_for(secs(16));
    let times: Vec<Duration> = sent_kinds(&net, 2, is_graft)
        .iter()
        .map(|s| s.at.saturating_duration_since(t))
        .collect();
    assert_eq!(times, [secs(0), secs(5), secs(15)], "5 s, then doubled");
    assert_eq!(entry(&net, 2).unwrap().graft.unwrap().sent, 3);
    assert!(oifs(&net, 1).is_empty(), "R2 never heard the graft");

    net.lose.clear();
    net.run_for(secs(20));
    assert_eq!(
        sent_kinds(&net, 2, is_graft).len(),
        4,
        "the 4th gets through"
    );
    assert!(entry(&net, 2).unwrap().graft.is_none());
    assert_eq!(oifs(&net, 1), vec![2]);

    // A lost Graft Ack: the downstream router grafts again, the upstream one forwards
    // already (its prune is gone) and acknowledges again.
    let mut net = chain(Config::default());
    net.stream(0, 3, a(S), a(G), secs(3));
    net.lose.push(("l23", "graft_ack"));
    net.member(2, 3, a(G), true);
    assert_eq!(oifs(&net, 1), vec![2]);
    net.run_for(secs(6));
    assert_eq!(sent_kinds(&net, 2, is_graft).len(), 2);
    assert_eq!(sent_kinds(&net, 1, is_ack).len(), 2);
    net.lose.clear();
    net.run_for(secs(30));
    assert_eq!(sent_kinds(&net, 2, is_graft).len(), 3);
    assert!(entry(&net, 2).unwrap().graft.is_none());
}

#[test]
fn prunes_expire_then_the_tree_refloods_and_prunes_again() {
    let config = Config {
        prune_lifetime: secs(20),
        ..Config::default()
    };
    let mut net = chain(config);
    net.stream(0, 3, a(S), a(G), secs(10));
    assert_eq!(net.carried("l23"), 1);
    net.stream(0, 3, a(S), a(G), secs(15));
    // At 20 s every prune has expired: one more flood, pruned within a second (the next
    // kernel counters at R3 show the data).
    let l23 = net.carried("l23");
    assert!((2..=12).contains(&l23), "re-flooded briefly: {l23}");
    assert_eq!(sent_kinds(&net, 2, is_prune).len(), 2);
    assert_eq!(sent_kinds(&net, 1, is_prune).len(), 2);
    let p = entry(&net, 1).unwrap().upstream_prune.unwrap();
    assert!(p.lifetime_s <= 20, "{p:?}");
    net.stream(0, 3, a(S), a(G), secs(5));
    assert_eq!(net.carried("l23"), l23, "pruned again");
}

#[test]
fn a_prune_lost_while_data_flows_is_retransmitted_with_backoff() {
    let mut net = chain(Config::default());
    net.lose.push(("l23", "prune"));
    let t = net.now;
    net.stream(0, 3, a(S), a(G), secs(12));
    let times: Vec<Duration> = sent_kinds(&net, 2, is_prune)
        .iter()
        .map(|s| s.at.saturating_duration_since(t))
        .collect();
    // Retransmitted when data arrives 3 s, then 6 s after the previous one (data is seen
    // through the once-a-second counters).
    assert_eq!(times.len(), 3, "{times:?}");
    assert!(times[1] >= secs(3) && times[1] <= secs(4), "{times:?}");
    assert!(
        times[2] - times[1] >= secs(6) && times[2] - times[1] <= secs(7),
        "{times:?}"
    );
    net.lose.clear();
    net.stream(0, 3, a(S), a(G), secs(14));
    let l23 = net.carried("l23");
    net.stream(0, 3, a(S), a(G), secs(5));
    assert_eq!(net.carried("l23"), l23, "pruned once a prune got through");
}

#[test]
fn on_a_lan_only_the_designated_forwarder_forwards_and_the_other_router_prunes() {
    // R1 (source stub) -- l12 -- R2 -- lan -- R3 -- l13 -- R1; members on the LAN.
    let mut net = Net::new();
    for i in 1..=3u64 {
        net.router(&format!("R{i}"), Config::default(), 20 + i);
    }
    for (r, ifindex, addr, link) in [
        (0, 3, "10.0.1.1", "s1"),
        (0, 1, "10.12.0.1", "l12"),
        (1, 1, "10.12.0.2", "l12"),
        (0, 2, "10.13.0.1", "l13"),
        (2, 1, "10.13.0.3", "l13"),
        (1, 2, "10.9.0.2", "lan"),
        (2, 2, "10.9.0.3", "lan"),
    ] {
        net.attach(r, ifindex, addr, 24, link, cfg());
    }
    let expected = net.expected(|_, _| 1);
    net.converge_by(at(60), &expected).expect("converges");
    net.run_for(secs(70));
    net.member(1, 2, a(G), true);
    net.member(2, 2, a(G), true);
    net.stream(0, 3, a(S), a(G), secs(5));
    assert_eq!(net.carried("lan"), 50, "every packet once: no duplicates");
    assert_eq!(
        oifs(&net, 1),
        vec![2],
        "R2 (lower address) is the forwarder"
    );
    assert!(oifs(&net, 2).is_empty());
    assert_eq!(
        net.carried("l13"),
        1,
        "R3 pruned its branch after the first packet"
    );
    assert_eq!(oifs(&net, 0), vec![1]);
}

#[test]
fn a_neighbor_restart_forgets_its_prunes() {
    let mut net = chain(Config::default());
    net.stream(0, 3, a(S), a(G), secs(3));
    assert_eq!(entry(&net, 1).unwrap().downstream_prunes.len(), 1);
    // R3's interface restarts with a new Generation ID (3.2.2).
    net.down(2, 1);
    net.configure(2, 1, cfg());
    let now = net.now;
    let acts = net.routers[2].d.handle(
        now,
        ::common::Input::Interface(::common::InterfaceChange::Up {
            ifindex: ::common::IfIndex(1),
            name: "l23".into(),
            addr: a("10.23.0.3"),
            prefix_len: 24,
        }),
    );
    net.deliver(2, acts);
    let e2 = entry(&net, 1).unwrap();
    assert!(e2.downstream_prunes.is_empty(), "{e2:?}");
}

#[test]
fn a_tunnel_speaks_unicast_to_its_peer() {
    let tunnel = |peer: &str| InterfaceConfig {
        tunnel_peer: Some(a(peer)),
        ..cfg()
    };
    let mut net = Net::new();
    net.router("A", Config::default(), 1);
    net.router("B", Config::default(), 2);
    net.attach(0, 3, "10.0.1.1", 24, "sa", cfg());
    net.attach(1, 3, "10.0.2.1", 24, "sb", cfg());
    net.attach(0, 9, "192.0.2.1", 32, "tun", tunnel("198.51.100.1"));
    net.attach(1, 9, "198.51.100.1", 32, "tun", tunnel("192.0.2.1"));
    net.run_for(secs(30));
    for (r, peer) in [(0, "198.51.100.1"), (1, "192.0.2.1")] {
        let n = net.routers[r].neighbors(::common::IfIndex(9));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].address, a(peer));
        let on_tunnel: Vec<&Sent> = net.routers[r]
            .sent
            .iter()
            .filter(|s| s.ifindex.0 == 9)
            .collect();
        assert!(!on_tunnel.is_empty());
        assert!(
            on_tunnel.iter().all(|s| s.dst == a(peer) && s.ttl == 255),
            "unicast with a routable TTL"
        );
    }
    let b = net.routers[0]
        .route("10.0.2.0", 24)
        .expect("learned over the tunnel");
    assert_eq!(b.metric, 2);
    assert_eq!(b.upstream_neighbor, Some(a("198.51.100.1")));
    // A tunnel has no subnet of its own to announce (its endpoints belong to the
    // physical interfaces' subnets).
    assert!(net.routers[0].route("198.51.100.1", 32).is_none());
    assert!(net.routers[0].route("192.0.2.1", 32).is_none());
    // A multicast Probe on a tunnel is not for us.
    net.probe_from(0, 9, a("198.51.100.1"), 7, &[]);
    assert_eq!(
        net.routers[0].dropped(::common::IfIndex(9), "bad_destination"),
        1
    );

    // Data crosses it and is pruned back across it.
    net.stream(0, 3, a(S), a(G), secs(3));
    assert_eq!(net.carried("tun"), 1);
    assert_eq!(sent_kinds(&net, 1, is_prune)[0].dst, a("192.0.2.1"));
    net.member(1, 3, a(G), true);
    net.stream(0, 3, a(S), a(G), secs(2));
    assert_eq!(net.carried("sb"), 20);
}

#[test]
fn a_boundary_is_no_child_even_with_members() {
    let mut net = chain(Config::default());
    net.configure(
        2,
        3,
        InterfaceConfig {
            boundaries: vec![(a("239.0.0.0"), 8)],
            ..cfg()
        },
    );
    net.member(2, 3, a(G), true);
    net.member(2, 3, a("224.9.9.9"), true);
    net.stream(0, 3, a(S), a(G), secs(3));
    assert!(oifs(&net, 2).is_empty());
    assert_eq!(net.carried("s3"), 0);
    assert_eq!(sent_kinds(&net, 2, is_prune).len(), 1, "pruned as a leaf");
    // Another group crosses the same interface.
    net.stream(0, 3, a(S), a("224.9.9.9"), secs(1));
    assert_eq!(net.carried("s3"), 10);
}

#[test]
fn an_upstream_prune_carries_the_least_remaining_downstream_lifetime() {
    // R1 (source) -- R2 -- R3 (prunes for 100 s), and R2 -- R4 (prunes for 50 s, 10 s
    // later): R2's prune to R1 may last no longer than R4's, i.e. 50 s from R4's prune.
    let mut net = Net::new();
    net.router("R1", Config::default(), 31);
    net.router("R2", Config::default(), 32);
    for (life, seed) in [(100, 33), (50, 34)] {
        net.router(
            "Rx",
            Config {
                prune_lifetime: secs(life),
                ..Config::default()
            },
            seed,
        );
    }
    for (r, ifindex, addr, link) in [
        (0, 3, "10.0.1.1", "s1"),
        (0, 1, "10.12.0.1", "l12"),
        (1, 1, "10.12.0.2", "l12"),
        (1, 2, "10.23.0.2", "l23"),
        (2, 1, "10.23.0.3", "l23"),
        (1, 4, "10.24.0.2", "l24"),
        (3, 1, "10.24.0.4", "l24"),
    ] {
        net.attach(r, ifindex, addr, 24, link, cfg());
    }
    let expected = net.expected(|_, _| 1);
    net.converge_by(at(60), &expected).expect("converges");
    net.run_for(secs(70));
    // R4 has a member at first, so only R3 prunes.
    net.attach(3, 3, "10.0.4.1", 24, "s4", cfg());
    net.member(3, 3, a(G), true);
    net.stream(0, 3, a(S), a(G), secs(10));
    assert!(
        sent_kinds(&net, 1, is_prune).is_empty(),
        "R4 still wants it"
    );
    let t4 = net.now;
    net.member(3, 3, a(G), false);
    net.stream(0, 3, a(S), a(G), secs(2));
    let p2 = sent_kinds(&net, 1, is_prune);
    assert_eq!(p2.len(), 1);
    let Body::Prune(p) = p2[0].msg.body else {
        unreachable!()
    };
    let elapsed = p2[0].at.saturating_duration_since(t4).as_secs();
    assert!(
        u64::from(p.lifetime) <= 50 - elapsed && p.lifetime >= 48,
        "R4's 50 s, not R3's 100 s: {p:?} ({elapsed} s after R4 pruned)"
    );
    let downstream = entry(&net, 1).unwrap().downstream_prunes;
    assert_eq!(downstream.len(), 2, "{downstream:?}");
}

#[test]
fn a_passive_host_lan_is_announced_and_forwarded_but_silent() {
    let passive = InterfaceConfig {
        passive: true,
        ..cfg()
    };
    let mut net = Net::new();
    for i in 1..=2u64 {
        net.router(&format!("R{i}"), Config::default(), 40 + i);
    }
    net.attach(0, 3, "10.0.1.1", 24, "s1", passive.clone());
    net.attach(0, 1, "10.12.0.1", 24, "l12", cfg());
    net.attach(1, 1, "10.12.0.2", 24, "l12", cfg());
    net.attach(1, 3, "10.0.2.1", 24, "s2", passive);
    net.run_for(secs(80));
    // Nothing is sent on the host LANs, yet their subnets are routed.
    for r in 0..2 {
        assert!(
            net.routers[r].sent.iter().all(|s| s.ifindex.0 != 3),
            "R{}: a passive interface stays silent",
            r + 1
        );
    }
    assert_eq!(net.routers[1].route("10.0.1.0", 24).unwrap().metric, 2);
    assert_eq!(net.routers[0].route("10.0.2.0", 24).unwrap().metric, 2);
    // A DVMRP message arriving there is dropped and counted.
    net.probe_from(0, 3, a("10.0.1.9"), 1, &[]);
    assert_eq!(
        net.routers[0].dropped(::common::IfIndex(3), "passive_interface"),
        1
    );
    // A source on one host LAN reaches a member on the other.
    net.member(1, 3, a(G), true);
    net.stream(0, 3, a(S), a(G), secs(2));
    assert_eq!(net.carried("s2"), 20);
}
