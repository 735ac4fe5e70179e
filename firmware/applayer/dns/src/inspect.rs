//! What the signature engine may inspect in a DNS transaction (Suricata 7.0.10's keywords).
//!
//! Suricata 7 keeps one transaction per message, so a snapshot is one message: the request or
//! the response. With [`DnsConfig::inspect`](crate::DnsConfig::inspect) on, the transaction
//! *moves* into its snapshot once it has been logged (nothing is copied), and the snapshot
//! rides on the first `dns` output of the transaction; a transaction that logs no record (a
//! request without questions, a response whose questions are all filtered out, logging turned
//! off) is kept for [`DnsUdp::take_unlogged_inspect`](crate::DnsUdp::take_unlogged_inspect)
//! instead.
//!
//! Buffers and numbers, as Suricata 7.0.10 defines them (checked with Lua-dumping rules, see
//! the crate docs):
//! - `dns.query` (to server, one buffer per question, by index): the question name exactly as
//!   on the wire, labels joined with `.`, no trailing dot, not escaped. Requests only: a
//!   response has no `dns.query`. The list ends at the first empty (root) name, because
//!   Suricata's getter reports "no more buffers" for it.
//! - `number_dir("dns.opcode", dir)`: the opcode of the message when it travels in `dir`
//!   (a request for to-server inspection, a response for to-client), as Suricata's matcher
//!   reads `tx.request` or `tx.response` by the inspected direction. `number` gives the
//!   opcode whichever way the message travels.
//!
//! Suricata 7.0.10 has no `dns.answer.name` and no `dns.rcode` keyword (both came with 8.0),
//! so neither is offered.

use std::borrow::Cow;

use events::inspect::TxBuffers;
use types::Direction;

use crate::state::DnsTransaction;

/// The buffers a snapshot may hold, in Suricata's names.
pub const BUFFERS: &[&str] = &["dns.query"];

/// The numbers a snapshot answers ([`TxBuffers::number`]).
pub const NUMBERS: &[&str] = &["dns.opcode"];

/// The inspection snapshot of one DNS message.
#[derive(Debug)]
pub struct DnsTxBuffers {
    tx: DnsTransaction,
}

impl DnsTxBuffers {
    /// Wraps a finished transaction (moved, not copied).
    pub fn new(tx: DnsTransaction) -> DnsTxBuffers {
        DnsTxBuffers { tx }
    }

    /// The transaction.
    pub fn transaction(&self) -> &DnsTransaction {
        &self.tx
    }

    /// Question name `index` of a request, following Suricata's getter: none for a response,
    /// none at or after the first empty name.
    fn query(&self, index: usize) -> Option<&[u8]> {
        if self.tx.dir != Direction::ToServer {
            return None;
        }
        let qs = self.tx.message.questions.get(..=index)?;
        if qs.iter().any(|q| q.name.value.is_empty()) {
            return None;
        }
        qs.last().map(|q| q.name.value.as_slice())
    }
}

impl TxBuffers for DnsTxBuffers {
    fn app_proto(&self) -> &'static str {
        crate::APP_PROTO
    }

    fn buffer(&self, name: &str, dir: Direction, index: usize) -> Option<Cow<'_, [u8]>> {
        match (name, dir) {
            ("dns.query", Direction::ToServer) => self.query(index).map(Cow::Borrowed),
            _ => None,
        }
    }

    fn number(&self, name: &str) -> Option<u64> {
        match name {
            "dns.opcode" => Some(u64::from(self.tx.message.header.opcode())),
            _ => None,
        }
    }

    fn number_dir(&self, name: &str, dir: Direction) -> Option<u64> {
        if self.tx.dir != dir {
            return None;
        }
        self.number(name)
    }

    /// A DNS transaction is one whole message: complete both ways as soon as it exists
    /// (Suricata's DNS transactions have no intermediate progress).
    fn complete(&self, _dir: Direction) -> bool {
        true
    }
}
