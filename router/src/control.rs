//! The control socket: newline-delimited JSON over a Unix stream socket.
//!
//! Each line a client writes is one [`Request`]; the daemon answers each with one line,
//! a [`Response`]. The JSON shapes are a stable interface, documented in the README:
//!
//! ```text
//! -> {"cmd":"show","what":{"topic":"mfc"}}
//! <- {"ok":true,"data":{"mfc":[...]}}
//! -> {"cmd":"log-level","level":"debug"}
//! <- {"ok":true,"data":{"log_level":"debug"}}
//! -> {"cmd":"bogus"}
//! <- {"ok":false,"error":"unknown variant `bogus`, ..."}
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a client can ask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Show some part of the state.
    Show { what: Show },
    /// Re-read the configuration file and apply the difference.
    Reload,
    /// Change the log level or filter at runtime.
    LogLevel { level: String },
    /// Daemon version and identity.
    Version,
}

/// The `show` topics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "topic", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Show {
    /// Configured interfaces and their state.
    Interfaces,
    /// The kernel's VIF table with counters.
    Vifs,
    /// The MRIB: what the router wants forwarded, and why each interface does or does not.
    Mroutes,
    /// The kernel's MFC entries with counters (what is really forwarded).
    Mfc,
    /// Reverse-path lookup of a source through the kernel's unicast routes.
    Rpf { source: Ipv4Addr },
    /// Counters of upcalls, packets and kernel writes.
    Counters,
    /// IGMP: interfaces (querier, version, timers, counters), groups and sources.
    Igmp,
    /// PIM: interfaces (DR, Generation ID, timers) and neighbours.
    Pim,
    /// Tunnels: endpoints, dataplane and why, device, VIF, state, packet counters.
    Tunnels,
    /// DVMRP: interfaces, neighbours, routes and the forwarding cache with its prunes.
    Dvmrp,
}

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    pub fn ok(data: serde_json::Value) -> Self {
        Response {
            ok: true,
            data: Some(data),
            error: None,
        }
    }

    pub fn err(msg: impl Into<String>) -> Self {
        Response {
            ok: false,
            data: None,
            error: Some(msg.into()),
        }
    }
}

/// A blocking client, used by `mrouterctl` and the tests.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connect to the daemon's control socket.
    pub fn connect(path: &Path) -> std::io::Result<Self> {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    /// Send one request and read its response.
    pub fn call(&mut self, req: &Request) -> std::io::Result<Response> {
        let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
        line.push('\n');
        self.writer.write_all(line.as_bytes())?;
        let mut answer = String::new();
        if self.reader.read_line(&mut answer)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "mrouterd closed the control connection",
            ));
        }
        serde_json::from_str(&answer).map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_json_is_stable() {
        let cases = [
            (
                Request::Show { what: Show::Mfc },
                r#"{"cmd":"show","what":{"topic":"mfc"}}"#,
            ),
            (
                Request::Show {
                    what: Show::Rpf {
                        source: Ipv4Addr::new(10, 0, 0, 1),
                    },
                },
                r#"{"cmd":"show","what":{"topic":"rpf","source":"10.0.0.1"}}"#,
            ),
            (
                Request::Show {
                    what: Show::Tunnels,
                },
                r#"{"cmd":"show","what":{"topic":"tunnels"}}"#,
            ),
            (
                Request::Show { what: Show::Dvmrp },
                r#"{"cmd":"show","what":{"topic":"dvmrp"}}"#,
            ),
            (Request::Reload, r#"{"cmd":"reload"}"#),
            (
                Request::LogLevel {
                    level: "debug".into(),
                },
                r#"{"cmd":"log-level","level":"debug"}"#,
            ),
            (Request::Version, r#"{"cmd":"version"}"#),
        ];
        for (req, json) in cases {
            assert_eq!(serde_json::to_string(&req).unwrap(), json);
            assert_eq!(serde_json::from_str::<Request>(json).unwrap(), req);
        }
        assert!(serde_json::from_str::<Request>(r#"{"cmd":"reboot"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&Response::err("nope")).unwrap(),
            r#"{"ok":false,"error":"nope"}"#
        );
    }
}
