//! The contract between the pipeline and the app-layer parsers.
//!
//! Parsers never build whole [`crate::Event`]s: they do not know the flow id, the packet
//! counter, the time or the addresses. They return [`AppOutput`]s, and the pipeline wraps each
//! into an event with the flow's header, stamped with the current packet's time and oriented by
//! `dir` (the direction whose *sender* is printed as `src_ip`).
//!
//! Call order for one TCP flow, per direction: any number of [`StreamParser::parse`] and
//! [`StreamParser::gap`] calls with the in-order byte stream, then at most one
//! [`StreamParser::eof`]; finally, once for the flow, [`StreamParser::flush`]. Data arrives in
//! arbitrary slices (one byte at a time is legal): a parser keeps whatever partial state it needs
//! and never assumes a message is aligned with a segment.

use types::Direction;

use crate::Body;

/// One output of an app-layer parser.
#[derive(Debug)]
pub struct AppOutput {
    /// The record.
    pub body: Body,
    /// Transaction id within the flow, when the record belongs to one.
    pub tx_id: Option<u64>,
    /// Orientation: `ToServer` prints the client as `src_ip`, `ToClient` the server.
    pub dir: Direction,
    /// The transaction's buffers for the signature engine, on the output that logs a
    /// transaction (when the parser was asked for them).
    pub inspect: Option<Box<dyn crate::inspect::TxBuffers>>,
}

/// Outcome of feeding data to a parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseStatus {
    /// Data consumed (possibly buffered as a partial message); call again with more.
    Ok,
    /// The stream in this direction is not (or no longer) this protocol: stop feeding it.
    /// The parser has already emitted whatever anomaly explains why.
    Error,
}

/// Outcome of probing the first bytes of a direction for a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// These bytes are this protocol.
    Match,
    /// These bytes are not this protocol.
    NoMatch,
    /// Too few bytes to tell; probe again when more arrive.
    NeedMore,
}

/// A stream (TCP) app-layer parser for one flow.
pub trait StreamParser {
    /// Feeds in-order bytes travelling in `dir`.
    fn parse(&mut self, dir: Direction, data: &[u8], out: &mut Vec<AppOutput>) -> ParseStatus;
    /// Reports `len` bytes missing in `dir` (a reassembly gap). The parser must resynchronise
    /// (or give up on the direction) and mark affected transactions/files as having gaps.
    fn gap(&mut self, dir: Direction, len: u64, out: &mut Vec<AppOutput>);
    /// The sender in `dir` closed its side (FIN or RST): no more data in that direction.
    fn eof(&mut self, dir: Direction, out: &mut Vec<AppOutput>);
    /// The flow ends (timeout, shutdown, eviction): log what is still pending, as Suricata
    /// does when it flushes a flow.
    fn flush(&mut self, out: &mut Vec<AppOutput>);
    /// Moves into `out` the transaction snapshots for the signature engine that ride on no
    /// logged record: a request side complete before its transaction is logged (Suricata
    /// inspects it then), a session that is never logged. Their `body` is the record an
    /// alert on the transaction shows; it is never written as an event. Call after each
    /// `parse`/`gap`/`eof`/`flush`.
    fn take_inspect(&mut self, _out: &mut Vec<AppOutput>) {}
    /// Set once the stream has switched to another protocol (STARTTLS, an HTTP CONNECT
    /// tunnel): the caller detects the protocol again on the data that follows. Returns the
    /// protocol the flow came from (`smtp`, `ftp`, `http`).
    fn handoff(&self) -> Option<&'static str> {
        None
    }
    /// After a handoff: the chunk that revealed the new protocol (and its direction), when the
    /// parser took it in before it could tell; the caller detects on it again.
    fn take_replay(&mut self) -> Option<(Direction, Vec<u8>)> {
        None
    }
}
