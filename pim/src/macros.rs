//! The olist macros of RFC 7761 section 4.1.6 (and JoinDesired of 4.5.6 / 4.5.7, RPF' of
//! 4.1.6 as far as this part goes), as named functions over the state of one group.
//! Olists are sorted, duplicate-free `Vec<IfIndex>`.
//!
//! The assert macros of 4.6.5 (`CouldAssert`, `AssertTrackingDesired`, `lost_assert`) are
//! here too; the TIB takes `lost_assert(*,G)`, `lost_assert(S,G)` and `lost_assert(S,G,rpt)`
//! out of the lists passed to the olist functions (`pim_include` and `immediate_olist` of
//! both, `inherited_olist(S,G,rpt)`). `joins(*,*,RP)` was removed by RFC 7761. `prunes(S,G,rpt)` comes from [`crate::rpt::Rpt::prunes`], `pim_exclude(S,G)`
//! from the source lists of EXCLUDE memberships.

use std::net::{IpAddr, Ipv4Addr};

use common::{IfIndex, Rpf};

use crate::assert::{AssertMetric, AssertState, IfAssert};
use crate::downstream::Oif;

/// Local membership on one interface, as IGMP reported it (`Input::Membership`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub ifindex: IfIndex,
    /// EXCLUDE mode: members want every source but those in `excluded`.
    pub exclude: bool,
    /// EXCLUDE mode: the excluded sources (sorted): `local_receiver_exclude(S,G,I)`.
    pub excluded: Vec<Ipv4Addr>,
    /// INCLUDE mode: exactly these sources (sorted).
    pub include: Vec<Ipv4Addr>,
}

/// `local_receiver_include(*,G,I)` (4.1.6): local members on I want any source of G.
pub(crate) fn local_receiver_include_star_g(m: &Member) -> bool {
    m.exclude
}

/// `local_receiver_include(S,G,I)` (4.1.6): local members on I want S specifically.
pub(crate) fn local_receiver_include_sg(m: &Member, s: Ipv4Addr) -> bool {
    m.include.binary_search(&s).is_ok()
}

/// `pim_exclude(S,G)` (4.1.6): `{ I : I_am_DR(I) AND NOT lost_assert(*,G,I) AND
/// local_receiver_exclude(S,G,I) }`, where `local_receiver_exclude(S,G,I)` is an EXCLUDE
/// membership on I whose source list has S. Empty for a group without (*,G) (`asm` false).
pub(crate) fn pim_exclude_sg(
    members: &[Member],
    asm: bool,
    s: Ipv4Addr,
    i_am_dr: impl Fn(IfIndex) -> bool,
) -> Vec<IfIndex> {
    if !asm {
        return Vec::new();
    }
    members
        .iter()
        .filter(|m| m.exclude && m.excluded.binary_search(&s).is_ok() && i_am_dr(m.ifindex))
        .map(|m| m.ifindex)
        .collect()
}

/// `inherited_olist(S,G,rpt)` (4.1.6): `( joins(*,G) (-) prunes(S,G,rpt) ) (+)
/// ( pim_include(*,G) (-) pim_exclude(S,G) ) (-) lost_assert(...)` (no asserts yet); the
/// lists of (*,G) are taken without RPF_interface(RP(G)). Sorted.
pub(crate) fn inherited_olist_sg_rpt(
    joins_star_g: &[IfIndex],
    prunes_sg_rpt: &[IfIndex],
    pim_include_star_g: &[IfIndex],
    pim_exclude_sg: &[IfIndex],
) -> Vec<IfIndex> {
    let mut v: Vec<IfIndex> = joins_star_g
        .iter()
        .filter(|i| !prunes_sg_rpt.contains(i))
        .chain(
            pim_include_star_g
                .iter()
                .filter(|i| !pim_exclude_sg.contains(i)),
        )
        .copied()
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `joins(*,G)` / `joins(S,G)` (4.1.6): the interfaces whose downstream state is Join or
/// Prune-Pending (an interface in NoInfo is not in the list at all).
pub(crate) fn joins(oifs: &[Oif]) -> Vec<IfIndex> {
    oifs.iter()
        .filter(|o| o.state.is_joined())
        .map(|o| o.ifindex)
        .collect()
}

/// `pim_include(*,G)` (4.1.6): `{ I : I_am_DR(I) AND NOT lost_assert(*,G,I) AND
/// local_receiver_include(*,G,I) }`. `asm` is false for an SSM group or one without an RP:
/// those never have (*,G) state (RFC 4607, 4.8).
pub(crate) fn pim_include_star_g(
    members: &[Member],
    asm: bool,
    i_am_dr: impl Fn(IfIndex) -> bool,
) -> Vec<IfIndex> {
    if !asm {
        return Vec::new();
    }
    members
        .iter()
        .filter(|m| local_receiver_include_star_g(m) && i_am_dr(m.ifindex))
        .map(|m| m.ifindex)
        .collect()
}

/// `pim_include(S,G)` (4.1.6): `{ I : I_am_DR(I) AND NOT lost_assert(S,G,I) AND
/// local_receiver_include(S,G,I) }`.
pub(crate) fn pim_include_sg(
    members: &[Member],
    s: Ipv4Addr,
    i_am_dr: impl Fn(IfIndex) -> bool,
) -> Vec<IfIndex> {
    members
        .iter()
        .filter(|m| local_receiver_include_sg(m, s) && i_am_dr(m.ifindex))
        .map(|m| m.ifindex)
        .collect()
}

/// `A (+) B (-) C` on sorted lists.
fn union_minus(a: &[IfIndex], b: &[IfIndex], minus: Option<IfIndex>) -> Vec<IfIndex> {
    let mut v: Vec<IfIndex> = a
        .iter()
        .chain(b)
        .copied()
        .filter(|&i| Some(i) != minus)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `immediate_olist(*,G) = joins(*,G) (+) pim_include(*,G) (-) lost_assert(*,G)` and
/// `immediate_olist(S,G) = joins(S,G) (+) pim_include(S,G) (-) lost_assert(S,G)` (4.1.6),
/// minus the incoming interface: a router never forwards (nor joins) back towards the
/// source or RP, whatever a neighbour or a local member on that interface wants (the
/// forwarding rule of 4.2 removes the iif from the olist; doing it here keeps a Join
/// received on the RPF interface, a transient routing loop, from pulling the tree).
pub(crate) fn immediate_olist(
    joins: &[IfIndex],
    pim_include: &[IfIndex],
    iif: Option<IfIndex>,
) -> Vec<IfIndex> {
    union_minus(joins, pim_include, iif)
}

/// `inherited_olist(S,G)` (4.1.6): `inherited_olist(S,G,rpt) (+) joins(S,G) (+)
/// pim_include(S,G)` (no asserts yet), i.e. `immediate_olist(S,G) (+)
/// inherited_olist(S,G,rpt)`; minus RPF_interface(S) (4.2).
pub(crate) fn inherited_olist_sg(
    immediate_sg: &[IfIndex],
    inherited_sg_rpt: &[IfIndex],
    iif: Option<IfIndex>,
) -> Vec<IfIndex> {
    union_minus(immediate_sg, inherited_sg_rpt, iif)
}

/// `JoinDesired(*,G)` (4.5.6): `immediate_olist(*,G) != NULL` (and RP(G) known); see
/// [`join_desired_sg`] for (S,G).
pub(crate) fn join_desired(immediate_olist: &[IfIndex]) -> bool {
    !immediate_olist.is_empty()
}

/// `JoinDesired(S,G)` (4.5.7): `immediate_olist(S,G) != NULL OR (KeepaliveTimer(S,G) is
/// running AND inherited_olist(S,G) != NULL)`.
pub(crate) fn join_desired_sg(
    immediate_olist: &[IfIndex],
    kat_running: bool,
    inherited_olist: &[IfIndex],
) -> bool {
    !immediate_olist.is_empty() || (kat_running && !inherited_olist.is_empty())
}

/// `DirectlyConnected(S)` (4.4.1): S is on a subnet of one of our interfaces, i.e. its
/// route has an interface and no next hop (and S is not our own address).
pub(crate) fn directly_connected(rpf: Option<&Rpf>) -> bool {
    rpf.is_some_and(|r| !r.local && r.ifindex.is_some() && r.neighbor.is_none())
}

/// `RPF'(S,G) = NBR(RPF_interface(S), MRIB.next_hop(S))` and
/// `RPF'(*,G) = NBR(RPF_interface(RP(G)), MRIB.next_hop(RP(G)))` (4.1.6, without the
/// assert part), as (interface, the neighbour's primary address). `NBR(I, A)` is the PIM
/// neighbour on I that has A as its primary or a secondary address, else NULL: so a target
/// that is local (this router is the RP), unreachable, or whose next hop is not a PIM
/// neighbour has no RPF' (a directly connected source is its own next hop and no PIM
/// neighbour, so this router is its first hop; a directly connected RP is a neighbour).
/// `nbr_primary(I, A)` is `NBR(I, A)`.
pub(crate) fn rpf_prime(
    rpf: Option<&Rpf>,
    nbr_primary: impl Fn(IfIndex, Ipv4Addr) -> Option<Ipv4Addr>,
) -> Option<(IfIndex, Ipv4Addr)> {
    let rpf = rpf?;
    if rpf.local {
        return None;
    }
    let ifindex = rpf.ifindex?;
    // MRIB.next_hop(X) of a directly connected X is X itself: a directly connected RP is
    // its own RPF neighbour, while a directly connected source (a host, no PIM) is not a
    // neighbour, so RPF'(S,G) stays NULL for it.
    let next_hop = rpf.neighbor.unwrap_or(rpf.target);
    nbr_primary(ifindex, next_hop).map(|n| (ifindex, n))
}

/// `RPF_interface(X)` (4.1.6) for the (S,G) or (*,G) forwarding entry: None while the
/// answer is unknown or the target unreachable, and for (*,G) at the RP (`Rpf::local`).
pub(crate) fn rpf_interface(rpf: Option<&Rpf>) -> Option<IfIndex> {
    rpf.filter(|r| !r.local).and_then(|r| r.ifindex)
}

/// A valid multicast group for Join/Prune state: multicast, not link-local (224.0.0/24 is
/// never routed).
pub(crate) fn routable_group(g: Ipv4Addr) -> bool {
    IpAddr::V4(g).is_multicast() && !common::route::is_link_local_group(g)
}

/// `A (-) B`.
pub(crate) fn minus(a: &[IfIndex], b: &[IfIndex]) -> Vec<IfIndex> {
    a.iter().copied().filter(|i| !b.contains(i)).collect()
}

/// What the (S,G) assert macros of 4.6.5 read, for interface `i`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AssertInputsSg {
    pub i: Option<IfIndex>,
    pub spt_bit: bool,
    /// RPF_interface(S).
    pub rpf_if_s: Option<IfIndex>,
    /// RPF_interface(RP(G)).
    pub rpf_if_rp: Option<IfIndex>,
    /// I in `( joins(*,G) (-) prunes(S,G,rpt) ) (+) ( pim_include(*,G) (-) pim_exclude(S,G) )
    /// (-) lost_assert(*,G)`.
    pub from_star: bool,
    /// I in `joins(S,G)`.
    pub sg_joined: bool,
    /// `local_receiver_include(S,G,I)`.
    pub local_include: bool,
    pub i_am_dr: bool,
    /// `AssertWinner(S,G,I) == me`.
    pub winner_is_me: bool,
    pub join_desired_sg: bool,
    pub join_desired_star_g: bool,
}

/// `CouldAssert(S,G,I)` (4.6.5): `SPTbit(S,G) == TRUE AND (RPF_interface(S) != I) AND (I in
/// ( ( joins(*,G) (-) prunes(S,G,rpt) ) (+) ( pim_include(*,G) (-) pim_exclude(S,G) ) (-)
/// lost_assert(*,G) (+) joins(S,G) (+) pim_include(S,G) ) )`. An interface in the olist
/// only through (*,G) counts (FRR's pimd asserts only on (S,G) oifs).
pub(crate) fn could_assert_sg(x: &AssertInputsSg) -> bool {
    x.spt_bit
        && x.i.is_some()
        && x.rpf_if_s != x.i
        && (x.from_star || x.sg_joined || (x.local_include && x.i_am_dr))
}

/// `AssertTrackingDesired(S,G,I)` (4.6.5): `(I in ( ( joins(*,G) (-) prunes(S,G,rpt) ) (+)
/// ( pim_include(*,G) (-) pim_exclude(S,G) ) (-) lost_assert(*,G) (+) joins(S,G) ) ) OR
/// (local_receiver_include(S,G,I) == TRUE AND (I_am_DR(I) OR (AssertWinner(S,G,I) == me)))
/// OR ((RPF_interface(S) == I) AND (JoinDesired(S,G) == TRUE)) OR ((RPF_interface(RP(G)) ==
/// I) AND (JoinDesired(*,G) == TRUE) AND (SPTbit(S,G) == FALSE))`.
pub(crate) fn assert_tracking_desired_sg(x: &AssertInputsSg) -> bool {
    x.i.is_some()
        && (x.from_star
            || x.sg_joined
            || (x.local_include && (x.i_am_dr || x.winner_is_me))
            || (x.rpf_if_s == x.i && x.join_desired_sg)
            || (x.rpf_if_rp == x.i && x.join_desired_star_g && !x.spt_bit))
}

/// What the (*,G) assert macros of 4.6.5 read, for interface `i`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AssertInputsStarG {
    pub i: Option<IfIndex>,
    /// RPF_interface(RP(G)).
    pub rpf_if_rp: Option<IfIndex>,
    /// I in `joins(*,G)`.
    pub joined: bool,
    /// `local_receiver_include(*,G,I)`.
    pub local_include: bool,
    pub i_am_dr: bool,
    /// `AssertWinner(*,G,I) == me`.
    pub winner_is_me: bool,
    /// `RPTJoinDesired(G)`.
    pub rpt_join_desired: bool,
}

/// `CouldAssert(*,G,I)` (4.6.5): `( I in ( joins(*,G) (+) pim_include(*,G)) ) AND
/// (RPF_interface(RP(G)) != I)`.
pub(crate) fn could_assert_star_g(x: &AssertInputsStarG) -> bool {
    x.i.is_some() && x.rpf_if_rp != x.i && (x.joined || (x.local_include && x.i_am_dr))
}

/// `AssertTrackingDesired(*,G,I)` (4.6.5): `CouldAssert(*,G,I) OR
/// (local_receiver_include(*,G,I) == TRUE AND (I_am_DR(I) OR AssertWinner(*,G,I) == me)) OR
/// (RPF_interface(RP(G)) == I AND RPTJoinDesired(G))`.
pub(crate) fn assert_tracking_desired_star_g(x: &AssertInputsStarG) -> bool {
    could_assert_star_g(x)
        || (x.i.is_some()
            && ((x.local_include && (x.i_am_dr || x.winner_is_me))
                || (x.rpf_if_rp == x.i && x.rpt_join_desired)))
}

/// `lost_assert(S,G,rpt,I)` (4.6.5): FALSE if `RPF_interface(RP(G)) == I` or
/// (`RPF_interface(S) == I` and `SPTbit(S,G)`), else `AssertWinner(S,G,I) != NULL AND
/// AssertWinner(S,G,I) != me`.
pub(crate) fn lost_assert_sg_rpt(
    a: &IfAssert,
    rpf_if_rp: Option<IfIndex>,
    rpf_if_s: Option<IfIndex>,
    spt_bit: bool,
) -> bool {
    let i = Some(a.ifindex);
    !(rpf_if_rp == i || (rpf_if_s == i && spt_bit)) && a.state == AssertState::Loser
}

/// `lost_assert(S,G,I)` (4.6.5): FALSE if `RPF_interface(S) == I`, else `AssertWinner(S,G,I)
/// != NULL AND AssertWinner(S,G,I) != me AND AssertWinnerMetric(S,G,I) is better than
/// spt_assert_metric(S,I)` (`my_spt` None: we have no address on I).
pub(crate) fn lost_assert_sg(
    a: &IfAssert,
    rpf_if_s: Option<IfIndex>,
    my_spt: Option<AssertMetric>,
) -> bool {
    rpf_if_s != Some(a.ifindex)
        && a.state == AssertState::Loser
        && my_spt.is_none_or(|m| a.metric.better(&m))
}

/// `lost_assert(*,G,I)` (4.6.5): FALSE if `RPF_interface(RP(G)) == I`, else
/// `AssertWinner(*,G,I) != NULL AND AssertWinner(*,G,I) != me`.
pub(crate) fn lost_assert_star_g(a: &IfAssert, rpf_if_rp: Option<IfIndex>) -> bool {
    rpf_if_rp != Some(a.ifindex) && a.state == AssertState::Loser
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::downstream::DownstreamState;

    fn i(n: u32) -> IfIndex {
        IfIndex(n)
    }

    fn oif(n: u32, state: DownstreamState) -> Oif {
        Oif {
            ifindex: i(n),
            state,
            et: None,
            ppt: None,
        }
    }

    fn member(n: u32, exclude: bool, include: &[Ipv4Addr]) -> Member {
        Member {
            ifindex: i(n),
            exclude,
            excluded: Vec::new(),
            include: include.to_vec(),
        }
    }

    const S1: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 1);
    const S2: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 2);

    #[test]
    fn s4_1_6_joins_counts_join_and_prune_pending() {
        let oifs = [
            oif(1, DownstreamState::Join),
            oif(2, DownstreamState::PrunePending),
            oif(3, DownstreamState::NoInfo),
        ];
        assert_eq!(joins(&oifs), vec![i(1), i(2)]);
    }

    #[test]
    fn s4_1_6_pim_include_needs_dr_and_local_receivers() {
        let members = [
            member(1, true, &[]),
            member(2, true, &[]),
            member(3, false, &[S1]),
        ];
        let dr = |x: IfIndex| x != i(2);
        assert_eq!(pim_include_star_g(&members, true, dr), vec![i(1)]);
        assert_eq!(pim_include_star_g(&members, false, dr), vec![]);
        assert_eq!(pim_include_sg(&members, S1, dr), vec![i(3)]);
        assert_eq!(pim_include_sg(&members, S2, dr), vec![]);
    }

    #[test]
    fn s4_1_6_immediate_and_inherited_olists_exclude_the_iif() {
        let imm = immediate_olist(&[i(3), i(1)], &[i(2), i(1)], Some(i(2)));
        assert_eq!(imm, vec![i(1), i(3)]);
        assert!(join_desired(&imm));
        assert!(!join_desired(&immediate_olist(&[], &[i(4)], Some(i(4)))));
        assert_eq!(
            inherited_olist_sg(&[i(1)], &[i(5), i(4)], Some(i(5))),
            vec![i(1), i(4)]
        );
    }

    #[test]
    fn s4_1_6_inherited_olist_sg_rpt_and_pim_exclude() {
        let mut members = [
            member(1, true, &[]),
            member(2, true, &[]),
            member(3, true, &[]),
        ];
        members[0].excluded = vec![S1];
        members[2].excluded = vec![S1, S2];
        let dr = |x: IfIndex| x != i(3);
        assert_eq!(pim_exclude_sg(&members, true, S1, dr), vec![i(1)]);
        assert_eq!(pim_exclude_sg(&members, true, S2, dr), vec![]);
        assert_eq!(pim_exclude_sg(&members, false, S1, dr), vec![]);
        // joins(*,G) = {4, 5}, prunes(S,G,rpt) = {5}, pim_include(*,G) = {1, 2},
        // pim_exclude(S,G) = {1}.
        assert_eq!(
            inherited_olist_sg_rpt(&[i(4), i(5)], &[i(5)], &[i(1), i(2)], &[i(1)]),
            vec![i(2), i(4)]
        );
        // A pruned interface that also has local members stays (pim_include(*,G)).
        assert_eq!(
            inherited_olist_sg_rpt(&[i(4)], &[i(4)], &[i(4)], &[]),
            vec![i(4)]
        );
    }

    #[test]
    fn s4_1_6_rpf_prime_is_a_pim_neighbor_or_null() {
        let rpf = |ifindex, neighbor, local| Rpf {
            target: S1,
            ifindex,
            neighbor,
            local,
        };
        let n = Ipv4Addr::new(10, 0, 0, 2);
        let secondary = Ipv4Addr::new(10, 9, 9, 2);
        let nbr = |_: IfIndex, a: Ipv4Addr| (a == n || a == secondary).then_some(n);
        assert_eq!(
            rpf_prime(Some(&rpf(Some(i(1)), Some(n), false)), nbr),
            Some((i(1), n))
        );
        assert_eq!(
            rpf_prime(Some(&rpf(Some(i(1)), Some(secondary), false)), nbr),
            Some((i(1), n)),
            "NBR() maps a secondary address to the neighbour"
        );
        let stranger = Ipv4Addr::new(10, 0, 0, 7);
        assert_eq!(
            rpf_prime(Some(&rpf(Some(i(1)), Some(stranger), false)), nbr),
            None
        );
        assert_eq!(
            rpf_prime(Some(&rpf(Some(i(1)), None, false)), nbr),
            None,
            "first hop"
        );
        assert_eq!(rpf_prime(Some(&rpf(None, None, true)), nbr), None, "the RP");
        assert_eq!(rpf_prime(None, nbr), None, "not known yet");
        // A directly connected RP (a PIM router) is its own next hop and RPF neighbour.
        let connected_rp = Rpf {
            target: n,
            ifindex: Some(i(1)),
            neighbor: None,
            local: false,
        };
        assert_eq!(
            rpf_prime(Some(&connected_rp), nbr),
            Some((i(1), n)),
            "RP on the link"
        );
        assert_eq!(rpf_interface(Some(&rpf(Some(i(1)), None, true))), None);
        assert_eq!(
            rpf_interface(Some(&rpf(Some(i(1)), None, false))),
            Some(i(1))
        );
    }

    #[test]
    fn s4_6_5_assert_macros() {
        let me = Ipv4Addr::new(10, 0, 2, 1);
        let other = Ipv4Addr::new(10, 0, 2, 2);
        let loser = IfAssert {
            ifindex: i(2),
            state: AssertState::Loser,
            timer: None,
            winner: other,
            metric: AssertMetric::spt(other),
        };
        let winner = IfAssert {
            state: AssertState::Winner,
            winner: me,
            metric: AssertMetric::spt(me),
            ..loser
        };
        // lost_assert(S,G,I): never on RPF_interface(S); only if the winner's metric is
        // better than ours.
        assert!(lost_assert_sg(
            &loser,
            Some(i(1)),
            Some(AssertMetric::spt(me))
        ));
        assert!(!lost_assert_sg(
            &loser,
            Some(i(2)),
            Some(AssertMetric::spt(me))
        ));
        assert!(!lost_assert_sg(
            &winner,
            Some(i(1)),
            Some(AssertMetric::spt(me))
        ));
        let high = Ipv4Addr::new(10, 0, 2, 9);
        assert!(!lost_assert_sg(
            &loser,
            Some(i(1)),
            Some(AssertMetric::spt(high))
        ));
        // lost_assert(S,G,rpt,I): not on RPF_interface(RP(G)), nor on RPF_interface(S) with
        // SPTbit.
        assert!(lost_assert_sg_rpt(&loser, Some(i(1)), Some(i(1)), false));
        assert!(!lost_assert_sg_rpt(&loser, Some(i(2)), Some(i(1)), false));
        assert!(!lost_assert_sg_rpt(&loser, Some(i(1)), Some(i(2)), true));
        assert!(lost_assert_sg_rpt(&loser, Some(i(1)), Some(i(2)), false));
        assert!(lost_assert_star_g(&loser, Some(i(1))));
        assert!(!lost_assert_star_g(&loser, Some(i(2))));
        assert!(!lost_assert_star_g(&winner, Some(i(1))));
        // CouldAssert(S,G,I) needs SPTbit and I not the RPF interface; an interface in the
        // olist only through (*,G) counts.
        let x = AssertInputsSg {
            i: Some(i(2)),
            spt_bit: true,
            rpf_if_s: Some(i(1)),
            from_star: true,
            ..Default::default()
        };
        assert!(could_assert_sg(&x));
        assert!(!could_assert_sg(&AssertInputsSg {
            spt_bit: false,
            ..x
        }));
        assert!(!could_assert_sg(&AssertInputsSg {
            rpf_if_s: Some(i(2)),
            ..x
        }));
        assert!(assert_tracking_desired_sg(&x));
        // A downstream router tracks on its RPF interface while it wants the source.
        let down = AssertInputsSg {
            i: Some(i(1)),
            rpf_if_s: Some(i(1)),
            join_desired_sg: true,
            ..Default::default()
        };
        assert!(!could_assert_sg(&down) && assert_tracking_desired_sg(&down));
        let star = AssertInputsStarG {
            i: Some(i(2)),
            rpf_if_rp: Some(i(1)),
            joined: true,
            ..Default::default()
        };
        assert!(could_assert_star_g(&star) && assert_tracking_desired_star_g(&star));
        let on_rpf = AssertInputsStarG {
            i: Some(i(1)),
            rpt_join_desired: true,
            ..star
        };
        assert!(!could_assert_star_g(&on_rpf) && assert_tracking_desired_star_g(&on_rpf));
        assert_eq!(minus(&[i(1), i(2), i(3)], &[i(2)]), vec![i(1), i(3)]);
    }
}
