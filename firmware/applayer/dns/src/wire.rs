//! The DNS wire format: header, names with compression, questions and resource records.
//!
//! Everything here works on one *complete* message (a UDP payload, or a TCP message without its
//! two-byte length prefix) held in a borrowed slice, and returns owned values. Why not nom
//! `streaming`, as for other variable framings? A DNS message is only ever parsed once it is
//! whole (the datagram, or the length-prefixed TCP frame), and compression pointers jump
//! anywhere in it, so a position-indexed cursor over the whole message is both simpler and
//! exact; the only "incomplete" outcome that matters ([`ParseError::Incomplete`]) is the one the
//! protocol probe uses to tell a short message from a malformed one.
//!
//! Acceptance rules follow what Suricata 7.0.10 accepts, record by record, because a message it
//! rejects produces no EVE record and one it accepts does:
//! - the header must announce no more records than could fit (`2 * counts + 12 <= length`);
//! - requests: only the question section decides success; responses: questions, answers and
//!   authorities must all parse; the additional section (and, in requests, the answer and
//!   authority sections) is read leniently for detection and never fails the message;
//! - record data is parsed by type, "at least once": an empty A/AAAA/NULL/unknown rdata, an
//!   empty TXT, or a short SOA/SRV/MX/SSHFP fails the message; a TXT with several strings
//!   yields one record per string; bytes left over inside an rdata are ignored.
//!
//! Invariants: no indexing without a bounds check, no arithmetic on wire values that can
//! overflow, every loop bounded by a named cap (see [`crate::caps`]).

use crate::caps::{MAX_NAME_LEN, MAX_NAME_STEPS, TXT_MAX_STRINGS};

/// Size of the fixed DNS header.
pub const HEADER_LEN: usize = 12;

/// Record types the parser decodes specially; everything else is kept as raw bytes.
pub mod rrtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Null record (opaque bytes).
    pub const NULL: u16 = 10;
    /// Domain name pointer.
    pub const PTR: u16 = 12;
    /// Mail exchanger.
    pub const MX: u16 = 15;
    /// Text strings.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service locator.
    pub const SRV: u16 = 33;
    /// SSH key fingerprint.
    pub const SSHFP: u16 = 44;
}

/// Why a message was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Shorter than a header, or the header announces more records than the message can hold.
    /// Suricata drops such messages without an event.
    Header,
    /// A read ran past the end of the message (or of a record's data).
    Incomplete,
    /// The bytes cannot be a DNS message (bad label type, pointer past the end, a name that
    /// loops or has too many labels before any pointer, an rdata that does not parse).
    Invalid,
    /// A message with the QR bit set arrived where a request was expected.
    NotRequest,
}

/// Problems seen while reading names, accumulated per name and per message.
///
/// A small bit set rather than three bools so a message can OR the flags of all its names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NameFlags(u8);

impl NameFlags {
    /// A pointer pointed at itself after a first pointer had been followed.
    pub const INFINITE_LOOP: NameFlags = NameFlags(1);
    /// The name was cut (too long, or the label limit was hit after a pointer).
    pub const TRUNCATED: NameFlags = NameFlags(2);
    /// More than [`MAX_NAME_STEPS`] labels and pointers.
    pub const LABEL_LIMIT: NameFlags = NameFlags(4);

    /// True when every flag of `other` is set here.
    pub fn contains(self, other: NameFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: NameFlags) {
        self.0 |= other.0;
    }
    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A decoded name: labels joined by `.`, at most [`MAX_NAME_LEN`] bytes, raw (not escaped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsName {
    /// The name bytes exactly as on the wire, labels joined with `.`; the root is empty.
    pub value: Vec<u8>,
    /// What happened while reading it.
    pub flags: NameFlags,
}

impl DnsName {
    /// True when the name was cut short.
    pub fn truncated(&self) -> bool {
        self.flags.contains(NameFlags::TRUNCATED)
    }
}

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DnsHeader {
    /// Transaction id chosen by the client.
    pub id: u16,
    /// QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode.
    pub flags: u16,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

impl DnsHeader {
    /// Reads the header at the start of `msg`.
    pub fn parse(msg: &[u8]) -> Option<DnsHeader> {
        let [i0, i1, f0, f1, q0, q1, a0, a1, n0, n1, r0, r1]: [u8; HEADER_LEN] =
            *msg.first_chunk()?;
        Some(DnsHeader {
            id: u16::from_be_bytes([i0, i1]),
            flags: u16::from_be_bytes([f0, f1]),
            qdcount: u16::from_be_bytes([q0, q1]),
            ancount: u16::from_be_bytes([a0, a1]),
            nscount: u16::from_be_bytes([n0, n1]),
            arcount: u16::from_be_bytes([r0, r1]),
        })
    }
    /// True for a response (QR set).
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// The 4-bit opcode.
    pub fn opcode(&self) -> u8 {
        // Masked to 4 bits, so the cast cannot truncate.
        ((self.flags >> 11) & 0x0f) as u8
    }
    /// The 4-bit response code.
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x0f) as u8
    }
    /// The reserved Z bit (0x0040).
    pub fn z(&self) -> bool {
        self.flags & 0x0040 != 0
    }
    /// Suricata's sanity check: every announced record needs at least two bytes, so a header
    /// announcing more than `(len - 12) / 2` records cannot be DNS.
    pub fn plausible_for(&self, len: usize) -> bool {
        let records = usize::from(self.qdcount)
            + usize::from(self.ancount)
            + usize::from(self.nscount)
            + usize::from(self.arcount);
        // At most 4 * 65535 records: no overflow in usize.
        2 * records + HEADER_LEN <= len
    }
}

/// One entry of the question section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsQuestion {
    /// Queried name.
    pub name: DnsName,
    /// Query type.
    pub rrtype: u16,
    /// Query class.
    pub rrclass: u16,
}

/// The SOA fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Soa {
    /// Primary name server.
    pub mname: DnsName,
    /// Responsible mailbox.
    pub rname: DnsName,
    /// Zone serial.
    pub serial: u32,
    /// Refresh interval.
    pub refresh: u32,
    /// Retry interval.
    pub retry: u32,
    /// Expiry.
    pub expire: u32,
    /// Negative-caching TTL.
    pub minimum: u32,
}

/// The SRV fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Srv {
    /// Priority.
    pub priority: u16,
    /// Weight.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host.
    pub target: DnsName,
}

/// The SSHFP fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sshfp {
    /// Key algorithm.
    pub algo: u8,
    /// Fingerprint type.
    pub fp_type: u8,
    /// Fingerprint bytes.
    pub fingerprint: Vec<u8>,
}

/// Decoded record data. Unknown types keep their bytes: an IDS must be able to look at what it
/// did not expect.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RData {
    /// A: the rdata bytes (normally 4; any length is kept, as Suricata does).
    A(Vec<u8>),
    /// AAAA: the rdata bytes (normally 16).
    Aaaa(Vec<u8>),
    /// CNAME target.
    Cname(DnsName),
    /// PTR target.
    Ptr(DnsName),
    /// MX exchange (the preference is skipped, as Suricata does).
    Mx(DnsName),
    /// NS host.
    Ns(DnsName),
    /// One TXT character-string (a TXT record with several strings becomes several records).
    Txt(Vec<u8>),
    /// NULL: opaque bytes.
    Null(Vec<u8>),
    /// SOA.
    Soa(Soa),
    /// SRV.
    Srv(Srv),
    /// SSHFP.
    Sshfp(Sshfp),
    /// Any other type: the raw rdata.
    Unknown(Vec<u8>),
}

/// One resource record (answer, authority or additional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Owner name.
    pub name: DnsName,
    /// Type.
    pub rrtype: u16,
    /// Class (for OPT: the UDP payload size).
    pub rrclass: u16,
    /// TTL (for OPT: extended rcode and flags).
    pub ttl: u32,
    /// Decoded data.
    pub data: RData,
}

/// A parsed message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsMessage {
    /// The header.
    pub header: DnsHeader,
    /// Questions (at most [`crate::caps::MAX_RECORDS_PER_MESSAGE`] kept).
    pub questions: Vec<DnsQuestion>,
    /// Answers (TXT strings expanded; capped with the authorities).
    pub answers: Vec<DnsRecord>,
    /// Authorities.
    pub authorities: Vec<DnsRecord>,
    /// Additionals, read leniently: whatever parsed before the first problem.
    pub additionals: Vec<DnsRecord>,
    /// Flags of every name in the sections that decide acceptance (the ones Suricata reads).
    pub name_flags: NameFlags,
    /// True when records beyond the cap were parsed but not kept.
    pub records_truncated: bool,
}

/// Which end sent the message: it decides which sections must parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Request,
    Response,
}

/// A bounds-checked position in a message. Reads return `Incomplete` at the window end.
#[derive(Debug, Clone, Copy)]
struct Cur<'a> {
    msg: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let stop = self.pos.checked_add(n).ok_or(ParseError::Incomplete)?;
        if stop > self.end {
            return Err(ParseError::Incomplete);
        }
        let s = self.msg.get(self.pos..stop).ok_or(ParseError::Incomplete)?;
        self.pos = stop;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ParseError> {
        self.take(1).map(|s| s.first().copied().unwrap_or(0))
    }
    fn u16(&mut self) -> Result<u16, ParseError> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes(
            s.try_into().map_err(|_| ParseError::Incomplete)?,
        ))
    }
    fn u32(&mut self) -> Result<u32, ParseError> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes(
            s.try_into().map_err(|_| ParseError::Incomplete)?,
        ))
    }
    fn rest(&mut self) -> &'a [u8] {
        let s = self.msg.get(self.pos..self.end).unwrap_or(&[]);
        self.pos = self.end.max(self.pos);
        s
    }
    fn name(&mut self, flags: &mut NameFlags) -> Result<DnsName, ParseError> {
        let (name, next) = parse_name(self.msg, self.pos, self.end, flags)?;
        self.pos = next;
        Ok(name)
    }
}

/// True when `msg[off..]` and `msg[pos..end]` hold the same bytes: Suricata's test for a
/// pointer that points at itself compares slice *contents*, and so do we. Lengths differ in
/// nearly every case; equal lengths with the same start are the same slice.
fn same_window(msg: &[u8], off: usize, pos: usize, end: usize) -> bool {
    let a_len = msg.len().saturating_sub(off);
    let b_len = end.saturating_sub(pos);
    if a_len != b_len {
        return false;
    }
    if off == pos {
        return true;
    }
    msg.get(off..) == msg.get(pos..end)
}

/// Reads a (possibly compressed) name starting at `start`; reads before the first pointer stop
/// at `end` (the end of the section or of the record data), reads after it may go anywhere in
/// `msg`. Returns the name and where the caller continues (just after the first pointer, or
/// after the terminating zero).
///
/// Bounded: at most [`MAX_NAME_STEPS`] labels-or-pointers, at most [`MAX_NAME_LEN`] bytes kept.
/// A pointer to itself is an infinite loop: an error before any pointer was followed (we cannot
/// know where the name ends), the end of the name after one. Exceeding the step limit is
/// likewise an error before a pointer and a truncated name after one. A name that runs into
/// the end of its window simply ends there.
pub(crate) fn parse_name(
    msg: &[u8],
    start: usize,
    end: usize,
    acc: &mut NameFlags,
) -> Result<(DnsName, usize), ParseError> {
    let mut pos = start;
    let mut win_end = end.min(msg.len());
    let mut pivot: Option<usize> = None;
    let mut value: Vec<u8> = Vec::new();
    let mut flags = NameFlags::default();
    let mut steps = 0usize;
    loop {
        if pos >= win_end {
            break;
        }
        let Some(&len) = msg.get(pos) else { break };
        if len == 0 {
            pos += 1; // pos < win_end <= msg.len(): cannot overflow
            break;
        }
        match len & 0xc0 {
            0x00 => {
                let lab_start = pos + 1;
                let lab_end = lab_start + usize::from(len);
                if lab_end > win_end {
                    return Err(ParseError::Incomplete);
                }
                let label = msg.get(lab_start..lab_end).ok_or(ParseError::Incomplete)?;
                if !flags.contains(NameFlags::TRUNCATED) {
                    if !value.is_empty() {
                        value.push(b'.');
                    }
                    value.extend_from_slice(label);
                }
                pos = lab_end;
            }
            0xc0 => {
                if pos + 2 > win_end {
                    return Err(ParseError::Incomplete);
                }
                let lo = msg.get(pos + 1).copied().ok_or(ParseError::Incomplete)?;
                let off = usize::from(u16::from_be_bytes([len, lo]) & 0x3fff);
                if off > msg.len() {
                    return Err(ParseError::Invalid);
                }
                if same_window(msg, off, pos, win_end) {
                    flags.insert(NameFlags::INFINITE_LOOP);
                    if pivot.is_some() {
                        break;
                    }
                    return Err(ParseError::Invalid);
                }
                if pivot.is_none() {
                    pivot = Some(pos + 2);
                }
                pos = off;
                win_end = msg.len();
            }
            _ => return Err(ParseError::Invalid),
        }
        steps += 1;
        if steps > MAX_NAME_STEPS {
            flags.insert(NameFlags::LABEL_LIMIT);
            if pivot.is_some() {
                flags.insert(NameFlags::TRUNCATED);
                break;
            }
            return Err(ParseError::Invalid);
        }
        if value.len() > MAX_NAME_LEN {
            value.truncate(MAX_NAME_LEN);
            flags.insert(NameFlags::TRUNCATED);
            if pivot.is_some() {
                break;
            }
        }
    }
    acc.insert(flags);
    Ok((DnsName { value, flags }, pivot.unwrap_or(pos)))
}

fn parse_question(c: &mut Cur<'_>, flags: &mut NameFlags) -> Result<DnsQuestion, ParseError> {
    let name = c.name(flags)?;
    let rrtype = c.u16()?;
    let rrclass = c.u16()?;
    Ok(DnsQuestion {
        name,
        rrtype,
        rrclass,
    })
}

/// Parses one rdata item of `rrtype` from the window of `c`.
fn parse_rdata_one(
    c: &mut Cur<'_>,
    rrtype: u16,
    flags: &mut NameFlags,
) -> Result<RData, ParseError> {
    Ok(match rrtype {
        rrtype::A => RData::A(c.rest().to_vec()),
        rrtype::AAAA => RData::Aaaa(c.rest().to_vec()),
        rrtype::CNAME => RData::Cname(c.name(flags)?),
        rrtype::PTR => RData::Ptr(c.name(flags)?),
        rrtype::NS => RData::Ns(c.name(flags)?),
        rrtype::MX => {
            c.u16()?;
            RData::Mx(c.name(flags)?)
        }
        rrtype::SOA => RData::Soa(Soa {
            mname: c.name(flags)?,
            rname: c.name(flags)?,
            serial: c.u32()?,
            refresh: c.u32()?,
            retry: c.u32()?,
            expire: c.u32()?,
            minimum: c.u32()?,
        }),
        rrtype::SRV => RData::Srv(Srv {
            priority: c.u16()?,
            weight: c.u16()?,
            port: c.u16()?,
            target: c.name(flags)?,
        }),
        rrtype::TXT => {
            let n = c.u8()?;
            RData::Txt(c.take(usize::from(n))?.to_vec())
        }
        rrtype::NULL => RData::Null(c.rest().to_vec()),
        rrtype::SSHFP => RData::Sshfp(Sshfp {
            algo: c.u8()?,
            fp_type: c.u8()?,
            fingerprint: c.rest().to_vec(),
        }),
        _ => RData::Unknown(c.rest().to_vec()),
    })
}

/// Decodes a record's data "at least once, at most `n` times" (n = [`TXT_MAX_STRINGS`] for
/// TXT, 1 otherwise), as Suricata does: the first attempt must succeed and consume at least
/// one byte; later attempts stop quietly at the first failure.
fn parse_rdata(
    msg: &[u8],
    start: usize,
    end: usize,
    rrtype: u16,
    flags: &mut NameFlags,
    mut emit: impl FnMut(RData),
) -> Result<(), ParseError> {
    let max = if rrtype == rrtype::TXT {
        TXT_MAX_STRINGS
    } else {
        1
    };
    let mut c = Cur {
        msg,
        pos: start,
        end,
    };
    for i in 0..max {
        let before = c.pos;
        let mut local = NameFlags::default();
        match parse_rdata_one(&mut c, rrtype, &mut local) {
            Ok(rd) => {
                if c.pos == before {
                    // A parser that succeeds without consuming would loop forever; Suricata
                    // (nom's many_m_n) rejects the whole message in that case.
                    return Err(ParseError::Invalid);
                }
                flags.insert(local);
                emit(rd);
            }
            Err(_) if i == 0 => return Err(ParseError::Invalid),
            Err(_) => break,
        }
        if c.pos >= end {
            break;
        }
    }
    Ok(())
}

/// Reads up to `count` records into `out`, keeping at most `*room` of them (decrementing it).
/// Strict sections propagate errors; the caller decides what an error means.
fn parse_records(
    c: &mut Cur<'_>,
    count: u16,
    flags: &mut NameFlags,
    room: &mut usize,
    dropped: &mut bool,
    out: &mut Vec<DnsRecord>,
) -> Result<(), ParseError> {
    for _ in 0..count {
        let name = c.name(flags)?;
        let rrtype = c.u16()?;
        let rrclass = c.u16()?;
        let ttl = c.u32()?;
        let rdlen = usize::from(c.u16()?);
        let start = c.pos;
        c.take(rdlen)?;
        let end = c.pos;
        parse_rdata(c.msg, start, end, rrtype, flags, |data| {
            if *room == 0 {
                *dropped = true;
                return;
            }
            *room -= 1;
            out.push(DnsRecord {
                name: name.clone(),
                rrtype,
                rrclass,
                ttl,
                data,
            });
        })?;
    }
    Ok(())
}

/// Parses `msg` as a request (to-server message), the way Suricata does: header check, the
/// question section, then the QR bit. Remaining sections are read leniently.
pub fn parse_request(msg: &[u8], max_records: usize) -> Result<DnsMessage, ParseError> {
    let m = parse(msg, Role::Request, max_records)?;
    if m.header.is_response() {
        return Err(ParseError::NotRequest);
    }
    Ok(m)
}

/// Parses `msg` as a response (to-client message): header check, then questions, answers and
/// authorities must all parse. The QR bit is not checked here (a QR=0 message in the response
/// direction is still logged, as Suricata does).
pub fn parse_response(msg: &[u8], max_records: usize) -> Result<DnsMessage, ParseError> {
    parse(msg, Role::Response, max_records)
}

fn parse(msg: &[u8], role: Role, max_records: usize) -> Result<DnsMessage, ParseError> {
    let header = DnsHeader::parse(msg).ok_or(ParseError::Header)?;
    if !header.plausible_for(msg.len()) {
        return Err(ParseError::Header);
    }
    let mut m = parse_body(msg, header, role, max_records)?;
    m.header = header;
    Ok(m)
}

/// The question section plus the role's strict and lenient record sections.
fn parse_body(
    msg: &[u8],
    header: DnsHeader,
    role: Role,
    max_records: usize,
) -> Result<DnsMessage, ParseError> {
    let mut c = Cur {
        msg,
        pos: HEADER_LEN,
        end: msg.len(),
    };
    let mut m = DnsMessage {
        header,
        ..Default::default()
    };
    let mut flags = NameFlags::default();
    for _ in 0..header.qdcount {
        let q = parse_question(&mut c, &mut flags)?;
        if m.questions.len() < max_records {
            m.questions.push(q);
        } else {
            m.records_truncated = true;
        }
    }
    let mut room = max_records;
    let mut dropped = false;
    if role == Role::Response {
        parse_records(
            &mut c,
            header.ancount,
            &mut flags,
            &mut room,
            &mut dropped,
            &mut m.answers,
        )?;
        parse_records(
            &mut c,
            header.nscount,
            &mut flags,
            &mut room,
            &mut dropped,
            &mut m.authorities,
        )?;
        m.records_truncated |= dropped;
    } else {
        // Suricata reads only the questions of a request; keep what parses of the rest for
        // detection, with flags that raise no events.
        let mut ignored = NameFlags::default();
        let mut d = false;
        if parse_records(
            &mut c,
            header.ancount,
            &mut ignored,
            &mut room,
            &mut d,
            &mut m.answers,
        )
        .is_err()
            || parse_records(
                &mut c,
                header.nscount,
                &mut ignored,
                &mut room,
                &mut d,
                &mut m.authorities,
            )
            .is_err()
        {
            m.name_flags = flags;
            return Ok(m);
        }
    }
    let mut ignored = NameFlags::default();
    let mut d = false;
    // Lenient: an error here only ends the section.
    let _ = parse_records(
        &mut c,
        header.arcount,
        &mut ignored,
        &mut room,
        &mut d,
        &mut m.additionals,
    );
    m.name_flags = flags;
    Ok(m)
}

/// What a probe concluded about the first bytes of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// DNS; `true` when the QR bit is clear (a request).
    Dns(bool),
    /// Not DNS.
    NotDns,
    /// Too short to tell.
    Incomplete,
}

/// Suricata's probe over a message of announced length `dlen` of which `input` is what has
/// arrived: with the whole message, the header and questions must parse (running out of bytes
/// is tolerated); with part of it, only the header is checked. Either way the header must be
/// plausible for `dlen`. The opcode is not checked (Suricata 7.0.10 accepts opcode 7+ here).
pub(crate) fn probe_message(input: &[u8], dlen: usize) -> Verdict {
    let input = input.get(..dlen).unwrap_or(input);
    let validity = |h: DnsHeader| {
        if h.plausible_for(dlen) {
            Verdict::Dns(!h.is_response())
        } else {
            Verdict::NotDns
        }
    };
    if input.len() < dlen {
        return match DnsHeader::parse(input) {
            Some(h) => validity(h),
            None => Verdict::NotDns,
        };
    }
    let Some(h) = DnsHeader::parse(input) else {
        return Verdict::Incomplete;
    };
    // Probing never needs the records: a cap of 0 keeps none and still checks them.
    match parse_body(input, h, Role::Request, 0) {
        Ok(_) | Err(ParseError::Incomplete) => validity(h),
        Err(_) => Verdict::NotDns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_at(msg: &[u8], start: usize) -> Result<(DnsName, usize), ParseError> {
        let mut f = NameFlags::default();
        parse_name(msg, start, msg.len(), &mut f)
    }

    #[test]
    fn plain_name() {
        let m = b"\x03www\x07example\x03com\x00\x00\x01";
        let (n, next) = name_at(m, 0).unwrap();
        assert_eq!(n.value, b"www.example.com");
        assert_eq!(next, 17);
        assert!(n.flags.is_empty());
    }

    #[test]
    fn pointer_returns_after_first_pointer() {
        // "a.example" at 0, then "b" + pointer to offset 2 ("example").
        let m = b"\x01a\x07example\x00\x01b\xc0\x02\xff";
        let (n, next) = name_at(m, 11).unwrap();
        assert_eq!(n.value, b"b.example");
        assert_eq!(next, 15);
    }

    #[test]
    fn root_and_window_end() {
        assert_eq!(name_at(b"\x00", 0).unwrap().0.value, b"");
        // A name that runs into the end of its window ends there without error.
        let m = b"\x03abc";
        let mut f = NameFlags::default();
        assert_eq!(
            parse_name(m, 0, 4, &mut f).unwrap(),
            (
                DnsName {
                    value: b"abc".to_vec(),
                    flags: f
                },
                4
            )
        );
        // A label overrunning the window is incomplete.
        assert_eq!(
            parse_name(b"\x09abc", 0, 4, &mut f),
            Err(ParseError::Incomplete)
        );
    }

    #[test]
    fn bad_label_types_and_far_pointer() {
        assert_eq!(name_at(b"\x41a\x00", 0), Err(ParseError::Invalid));
        assert_eq!(name_at(b"\x80a\x00", 0), Err(ParseError::Invalid));
        assert_eq!(name_at(b"\xc0\x09", 0), Err(ParseError::Invalid));
        // A pointer to exactly the end of the message is an empty name.
        assert_eq!(name_at(b"\xc0\x02", 0).unwrap().0.value, b"");
    }

    #[test]
    fn self_pointer_is_error_first_and_end_after_pivot() {
        assert_eq!(name_at(b"\xc0\x00", 0), Err(ParseError::Invalid));
        // pointer at 2 -> 0, where a pointer points at itself.
        let m = b"\xc0\x00\xc0\x00";
        let (n, next) = name_at(m, 2).unwrap();
        assert_eq!(n.value, b"");
        assert!(n.flags.contains(NameFlags::INFINITE_LOOP));
        assert_eq!(next, 4);
    }

    #[test]
    fn two_pointer_loop_hits_step_limit() {
        // 0 -> 2 -> 0 -> ... : no self pointer, so the step limit ends it (after a pointer).
        let m = b"\xc0\x02\xc0\x00";
        let (n, _) = name_at(m, 0).unwrap();
        assert!(n.flags.contains(NameFlags::LABEL_LIMIT));
        assert!(n.flags.contains(NameFlags::TRUNCATED));
    }

    #[test]
    fn label_limit_without_pointer() {
        let mut m = Vec::new();
        for _ in 0..255 {
            m.extend_from_slice(b"\x01y");
        }
        m.push(0);
        assert!(name_at(&m, 0).is_ok());
        let mut m2 = Vec::new();
        for _ in 0..256 {
            m2.extend_from_slice(b"\x01y");
        }
        m2.push(0);
        assert_eq!(name_at(&m2, 0), Err(ParseError::Invalid));
    }

    #[test]
    fn long_name_truncated_at_1025() {
        let mut m = Vec::new();
        for i in 0..17u8 {
            m.push(63);
            m.extend(std::iter::repeat_n(b'a' + i % 26, 63));
        }
        m.push(0);
        let (n, next) = name_at(&m, 0).unwrap();
        assert_eq!(n.value.len(), MAX_NAME_LEN);
        assert!(n.truncated());
        assert_eq!(next, m.len());
    }

    #[test]
    fn header_plausibility() {
        let h = DnsHeader::parse(&[0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 200]).unwrap();
        assert!(!h.plausible_for(20));
        assert!(h.plausible_for(12 + 2 * 201));
    }

    #[test]
    fn txt_strings_expand_and_stop_quietly() {
        let msg = b"\x03one\x03two\x09tw";
        let mut got = Vec::new();
        let mut f = NameFlags::default();
        parse_rdata(msg, 0, msg.len(), rrtype::TXT, &mut f, |r| got.push(r)).unwrap();
        assert_eq!(
            got,
            vec![RData::Txt(b"one".to_vec()), RData::Txt(b"two".to_vec())]
        );
    }

    #[test]
    fn empty_rdata_is_invalid_for_rest_types() {
        let mut f = NameFlags::default();
        for t in [
            rrtype::A,
            rrtype::AAAA,
            rrtype::NULL,
            rrtype::TXT,
            rrtype::CNAME,
            300,
        ] {
            assert_eq!(
                parse_rdata(b"", 0, 0, t, &mut f, |_| {}),
                Err(ParseError::Invalid),
                "type {t}"
            );
        }
        assert_eq!(
            parse_rdata(b"\x01", 0, 1, rrtype::SSHFP, &mut f, |_| {}),
            Err(ParseError::Invalid)
        );
        assert!(parse_rdata(b"\x01\x02", 0, 2, rrtype::SSHFP, &mut f, |_| {}).is_ok());
    }

    #[test]
    fn probe_rules() {
        // header only, QR=0
        assert_eq!(
            probe_message(&[0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 12),
            Verdict::Dns(true)
        );
        // counts too large
        assert_eq!(
            probe_message(&[0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 9], 14),
            Verdict::NotDns
        );
        // partial message: header check only, against the announced length
        assert_eq!(
            probe_message(&[0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0], 40),
            Verdict::Dns(false)
        );
        // fewer than 12 bytes of a longer message
        assert_eq!(probe_message(&[0, 1, 1], 40), Verdict::NotDns);
        // announced length below a header: never decides
        assert_eq!(
            probe_message(&[0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 5),
            Verdict::Incomplete
        );
        // bad label: not DNS; truncated question: still DNS
        assert_eq!(
            probe_message(
                b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x41a\x00\x00\x01\x00\x01",
                19
            ),
            Verdict::NotDns
        );
        assert_eq!(
            probe_message(
                b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab",
                15
            ),
            Verdict::Dns(true)
        );
    }
}
