//! What detection may ask of an app-layer transaction.
//!
//! Parsers attach a [`TxBuffers`] to the output that logs a transaction (when detection is on,
//! see each parser's config), so the signature engine inspects exactly what the parser
//! produced — nothing is parsed twice. Buffers are named as Suricata names its sticky buffers
//! (`http.uri`, `http.header`, `tls.sni`, `dns.query`, `file.data` …).

use std::borrow::Cow;
use std::fmt;

use types::Direction;

/// A transaction's inspection buffers.
pub trait TxBuffers: fmt::Debug + Send {
    /// The app-layer protocol (`http`, `tls`, `dns`).
    fn app_proto(&self) -> &'static str;

    /// The buffer `name` of the side travelling in `dir` (`ToServer`: the request side), or
    /// `None` when the transaction does not have it. Buffers that occur several times in one
    /// transaction (`dns.query` per question, `file.data` per file, `tls.certs` per
    /// certificate) are numbered by `index`, from 0; single buffers answer only index 0.
    fn buffer(&self, name: &str, dir: Direction, index: usize) -> Option<Cow<'_, [u8]>>;

    /// Numeric facts detection keywords test (`dns.opcode`, `ssl_version`, `ssl_state` bits,
    /// `http.stat_code` as a number …), by keyword name.
    fn number(&self, _name: &str) -> Option<u64> {
        None
    }

    /// [`TxBuffers::number`] for facts that differ per side: `ssl_version` and `tls.version`
    /// read the version of the side travelling in `dir`, as Suricata's keywords do. Defaults
    /// to `number(name)` for facts of the whole transaction.
    fn number_dir(&self, name: &str, _dir: Direction) -> Option<u64> {
        self.number(name)
    }

    /// The `tls` object an alert about this transaction carries (Suricata writes the
    /// extended field set there, whatever the `tls` logger's options), when it is TLS.
    fn alert_tls(&self) -> Option<&crate::tls::TlsEve> {
        None
    }

    /// Whether the side travelling in `dir` has enough to be inspected before it is
    /// complete (an HTTP message head); a later snapshot of the same transaction is inspected
    /// again. Defaults to [`TxBuffers::complete`].
    fn ready(&self, dir: Direction) -> bool {
        self.complete(dir)
    }

    /// Whether the side travelling in `dir` is complete (all of it has been parsed).
    fn complete(&self, _dir: Direction) -> bool {
        true
    }
}
