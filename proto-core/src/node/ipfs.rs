//! The node's libp2p side ([`Host`]) inside the node machine: one peer port serves both. An
//! accepted connection whose first byte is a multistream-select header (`0x13`, the length of
//! `/multistream/1.0.0\n`; a node's first byte is its cipher choice, 0 or 1) goes to the host; a
//! dial of ours that is answered by a multistream-select header was to an IPFS peer, so it is
//! made again as a libp2p dial. The host's outputs become the node's.

use super::{Command, CommandError, ConnId, Event, Input, Node, Output, Reply};
use crate::dht::CommandId;
use crate::libp2p::host::{self, Host};
use crate::maddr::Multiaddr;

/// The first byte of a multistream-select header.
const MSS_FIRST: u8 = 0x13;

impl Node {
    /// Makes this node an IPFS peer too.
    pub fn enable_ipfs(&mut self, host: Host) {
        self.ipfs = Some(Box::new(host));
    }

    pub fn ipfs(&self) -> Option<&Host> {
        self.ipfs.as_deref()
    }

    /// Hands the input to the host when it is the host's; `false` when the node handles it.
    pub(super) fn ipfs_input(&mut self, input: &Input) -> bool {
        let Some(h) = self.ipfs.as_mut() else { return false };
        let now = self.now.mono.0;
        match input {
            Input::Bytes { conn, bytes } if h.owns(*conn) => {
                h.handle_input(now, host::Input::Bytes { conn: *conn, bytes });
            }
            Input::Bytes { conn, bytes } if bytes.first() == Some(&MSS_FIRST) => {
                let Some(c) = self.conns.get(conn) else { return false };
                if c.got_bytes {
                    return false;
                }
                if !c.inbound {
                    return self.redial_as_libp2p(*conn);
                }
                let Some(c) = self.conns.remove(conn) else { return false };
                let remote = c.remote.and_then(|a| Multiaddr::from_bytes(&a.0).ok());
                h.handle_input(now, host::Input::Accepted { conn: *conn, remote });
                h.handle_input(now, host::Input::Bytes { conn: *conn, bytes });
            }
            Input::Connected { conn } if h.owns(*conn) => h.handle_input(now, host::Input::Connected { conn: *conn }),
            Input::Closed { conn } if h.owns(*conn) => h.handle_input(now, host::Input::Closed { conn: *conn }),
            _ => return false,
        }
        self.drain_ipfs();
        true
    }

    /// A dial of ours answered with multistream-select: the peer speaks libp2p. The socket
    /// already carries our first message, so the host dials again; the `Connect` waiting on
    /// this one now waits on the host's.
    fn redial_as_libp2p(&mut self, conn: ConnId) -> bool {
        let Some(c) = self.conns.remove(&conn) else { return false };
        self.out.push_back(Output::Close { conn });
        let addr = c.addr.and_then(|a| Multiaddr::from_bytes(&a.0).ok());
        match (c.connect_cmd, addr) {
            (Some(id), Some(addr)) => self.ipfs_command(id, host::Command::Connect(addr)),
            (Some(id), None) => {
                self.reply(id, Err(CommandError::ConnectFailed("an IPFS peer at an unknown address".into())))
            }
            _ => {}
        }
        true
    }

    pub(super) fn ipfs_command(&mut self, id: CommandId, command: host::Command) {
        let now = self.now.mono.0;
        match self.ipfs.as_mut() {
            Some(h) => h.command(now, id, command),
            None => {
                return self.reply(id, Err(CommandError::Ipfs("the IPFS network is disabled (ipfs.enabled)".into())))
            }
        }
        self.drain_ipfs();
    }

    pub(super) fn ipfs_loaded(&mut self, input: host::Input<'_>) {
        let now = self.now.mono.0;
        if let Some(h) = self.ipfs.as_mut() {
            h.handle_input(now, input);
        }
        self.drain_ipfs();
    }

    pub(super) fn ipfs_timeout(&mut self) {
        let now = self.now.mono.0;
        if let Some(h) = self.ipfs.as_mut() {
            h.handle_timeout(now);
        }
        self.drain_ipfs();
    }

    pub(super) fn ipfs_deadline(&self) -> Option<crate::time::Mono> {
        self.ipfs.as_ref().and_then(|h| h.poll_timeout()).map(crate::time::Mono)
    }

    /// Moves the host's outputs out as the node's.
    pub(super) fn drain_ipfs(&mut self) {
        let Some(h) = self.ipfs.as_mut() else { return };
        while let Some(o) = h.poll_output() {
            let o = match o {
                host::Output::Dial { conn, addr } => Output::Dial { conn, addr },
                host::Output::Send { conn, bytes } => Output::Send { conn, bytes },
                host::Output::Close { conn } => Output::Close { conn },
                host::Output::Reply { id, result } => {
                    Output::Reply { id, result: result.map(Reply::Ipfs).map_err(CommandError::Ipfs) }
                }
                host::Output::Load { cid } => Output::LoadIpfsBlock { cid },
                host::Output::Has { cid } => Output::HasIpfsBlock { cid },
                host::Output::Event(e) => Output::Event(Event::Ipfs(e)),
            };
            self.out.push_back(o);
        }
    }
}

impl Command {
    /// An IPFS command, as the node takes it.
    pub fn ipfs(c: host::Command) -> Command {
        Command::Ipfs(c)
    }
}
