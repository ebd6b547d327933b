//! mrouterd library: the IO shell of the multicast router.
pub mod netlink;
