//! ClientHello / ServerHello and Certificate message bodies.
//!
//! Hand-written with a bounds-checked cursor rather than `tls-parser`'s all-or-nothing nom
//! parsers, because Suricata's behaviour on malformed hellos is partial by design and is what
//! we must reproduce: fields are taken one after the other and a broken field stops the walk
//! but keeps what came before (an SNI before a truncated extension is still logged, a JA3
//! string cut at the ciphers is still printed). Each extension parser reports how many bytes
//! it consumed and the walk continues from there, exactly as Suricata's does, even when that
//! is short of the extension's declared length.

use types::Direction;

use crate::anomaly::TlsEvent;
use crate::cert::{self, Decoded};
use crate::config::TlsCaps;
use crate::cursor::Reader;
use crate::ja::{is_grease, push_value, Ja4};
use crate::session::{ConnInfo, SslFlags, TlsSession};
use crate::version::{self, TLS_V12, TLS_V13, TLS_V13_PRE_DRAFT16};

/// Cap on cipher suites / extension types remembered per hello in [`ConnInfo`]. A hello
/// cannot hold more than 32 Ki 2-byte values; this bounds what a flow of repeated hellos keeps.
const MAX_LIST: usize = 1024;

/// Where hello parsing reports anomalies. Bounded by the caller.
pub(crate) trait EventSink {
    /// Raises `ev`.
    fn raise(&mut self, ev: TlsEvent);
}

/// What the hello walk needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HelloCfg {
    pub(crate) ja3: bool,
    pub(crate) ja4: bool,
}

/// A failed field: Suricata's `-1` return. The event has been raised already.
struct Bad;

type Step = Result<usize, Bad>;

fn invalid_len(ev: &mut dyn EventSink) -> Bad {
    ev.raise(TlsEvent::HandshakeInvalidLength);
    Bad
}

fn push_capped(v: &mut Vec<u16>, x: u16) {
    if v.len() < MAX_LIST {
        v.push(x);
    }
}

/// Per-hello context: which hello this is and where it goes.
struct Hello<'a> {
    /// True for a ServerHello (the message type decides, not the direction).
    server: bool,
    /// The side this message was sent by.
    dir: Direction,
    ja3: bool,
    ev: &'a mut dyn EventSink,
}

impl Hello<'_> {
    fn ja4_on(&self, conn: &ConnInfo) -> bool {
        !self.server && conn.ja4.is_some()
    }
}

/// Parses a ClientHello (`server == false`) or ServerHello body sent in `dir`.
pub(crate) fn parse_hello(
    s: &mut TlsSession,
    dir: Direction,
    server: bool,
    cfg: HelloCfg,
    ev: &mut dyn EventSink,
    msg: &[u8],
) {
    {
        let conn = s.side_mut(dir);
        if cfg.ja4 && !server && conn.ja4.is_none() {
            conn.ja4 = Some(Ja4::default());
        }
    }
    let ja3 = cfg.ja3 && s.side(dir).ja3.active();
    let mut h = Hello {
        server,
        dir,
        ja3,
        ev,
    };
    let mut r = Reader::new(msg);
    if walk(s, &mut h, &mut r).is_ok() && ja3 {
        s.side_mut(dir).ja3.finish();
    }
}

fn walk(s: &mut TlsSession, h: &mut Hello<'_>, r: &mut Reader<'_>) -> Result<(), Bad> {
    // Version.
    let version = r.u16().ok_or_else(|| invalid_len(h.ev))?;
    {
        let conn = s.side_mut(h.dir);
        conn.version = version;
        if conn.hello_version.is_none() {
            conn.hello_version = Some(version);
        }
        if !h.server {
            if let Some(j) = conn.ja4.as_mut() {
                j.set_version(version);
            }
        }
    }
    // TLS 1.3 drafts 1 to 21 announce themselves in the version field; any TLS 1.3 server
    // hello means no certificate will be visible.
    if h.server && (version == TLS_V13 || version >> 8 == 0x7f) {
        s.flags.set(SslFlags::LOG_WITHOUT_CERT);
    }
    {
        let conn = s.side_mut(h.dir);
        if (0x7f01..0x7f10).contains(&version) || version == TLS_V13 {
            // Drafts before 16 are indistinguishable; fold them into one marker.
            conn.version = TLS_V13_PRE_DRAFT16;
        }
        if h.ja3 {
            conn.ja3.start(version);
        }
    }

    // Random.
    let random = r.take(32).ok_or_else(|| invalid_len(h.ev))?;
    let mut rnd = [0u8; 32];
    rnd.copy_from_slice(random);
    if h.server {
        s.server.random = Some(rnd);
        s.flags.set(SslFlags::SERVER_RANDOM_SET);
    } else {
        s.client.random = Some(rnd);
        s.flags.set(SslFlags::CLIENT_RANDOM_SET);
    }

    // Session id: absent from ServerHellos of TLS 1.3 drafts before 22.
    if !h.server || !s.flags.has(SslFlags::LOG_WITHOUT_CERT) {
        let len = r.u8().ok_or_else(|| invalid_len(h.ev))?;
        let sid = r.take(usize::from(len)).ok_or_else(|| invalid_len(h.ev))?;
        if !sid.is_empty() && s.side(h.dir).session_id.is_none() {
            s.side_mut(h.dir).session_id = Some(sid.to_vec());
            if h.server {
                if let (Some(c), Some(sv)) = (&s.client.session_id, &s.server.session_id) {
                    if c == sv {
                        s.flags.set(SslFlags::SESSION_RESUMED);
                    }
                }
            }
        }
    }

    ciphers(s, h, r)?;

    // Compression methods: also absent from early-draft TLS 1.3 ServerHellos.
    if !h.server || !s.flags.has(SslFlags::LOG_WITHOUT_CERT) {
        if !r.has(1) {
            return Err(invalid_len(h.ev));
        }
        if h.server {
            r.skip(1).ok_or_else(|| invalid_len(h.ev))?;
        } else {
            let len = r.u8().ok_or_else(|| invalid_len(h.ev))?;
            r.skip(usize::from(len)).ok_or_else(|| invalid_len(h.ev))?;
        }
    }

    extensions(s, h, r)
}

fn ciphers(s: &mut TlsSession, h: &mut Hello<'_>, r: &mut Reader<'_>) -> Result<(), Bad> {
    if !r.has(2) {
        return Err(invalid_len(h.ev));
    }
    let len = if h.server {
        2
    } else {
        usize::from(r.u16().ok_or_else(|| invalid_len(h.ev))?)
    };
    if !r.has(len) || len % 2 != 0 {
        return Err(invalid_len(h.ev));
    }
    let conn = s.side_mut(h.dir);
    let ja4 = !h.server && conn.ja4.is_some();
    let mut list = String::new();
    let mut n = 0;
    while n < len {
        let c = r.u16().ok_or_else(|| invalid_len(h.ev))?;
        n = n.saturating_add(2);
        push_capped(&mut conn.ciphers, c);
        if is_grease(c) {
            continue;
        }
        if ja4 {
            if let Some(j) = conn.ja4.as_mut() {
                j.add_cipher(c);
            }
        }
        if h.ja3 {
            push_value(&mut list, c);
        }
    }
    if h.ja3 {
        conn.ja3.append(&list);
    }
    Ok(())
}

/// The JA3 lists collected while walking extensions.
#[derive(Default)]
struct Ja3Lists {
    exts: String,
    groups: String,
    formats: String,
}

fn extensions(s: &mut TlsSession, h: &mut Hello<'_>, r: &mut Reader<'_>) -> Result<(), Bad> {
    let mut lists = Ja3Lists::default();
    // A broken extension block (`Err`) drops the JA3 lists collected so far, as Suricata does.
    walk_extensions(s, h, r, &mut lists)?;
    if h.ja3 {
        let conn = s.side_mut(h.dir);
        conn.ja3.append(&lists.exts);
        if !h.server {
            conn.ja3.append(&lists.groups);
            conn.ja3.append(&lists.formats);
        }
    }
    Ok(())
}

/// Walks the extension block. `Ok` covers both a clean end and Suricata's `goto end` (an
/// extension body was bad: stop, but keep what was collected); `Err` is its `invalid_length`
/// (the block framing itself is broken).
fn walk_extensions(
    s: &mut TlsSession,
    h: &mut Hello<'_>,
    r: &mut Reader<'_>,
    lists: &mut Ja3Lists,
) -> Result<(), Bad> {
    // Extensions are optional.
    let Some(total) = r.u16() else {
        return Ok(());
    };
    if !r.has(usize::from(total)) {
        return Err(invalid_len(h.ev));
    }
    let mut processed: u16 = 0;
    while processed < total {
        let ty = r.u16().ok_or_else(|| invalid_len(h.ev))?;
        let len = r.u16().ok_or_else(|| invalid_len(h.ev))?;
        if !r.has(usize::from(len)) {
            return Err(invalid_len(h.ev));
        }
        let start = r.pos();
        let body = r.take(usize::from(len)).ok_or_else(|| invalid_len(h.ev))?;
        let res = extension(s, h, ty, body, lists);
        let used = match res {
            Ok(n) => n,
            Err(Bad) => return Ok(()),
        };
        // Continue from where the extension parser stopped, like Suricata (not necessarily
        // the declared end of the extension).
        r.set_pos(start.saturating_add(used));
        if h.ja3 && !is_grease(ty) {
            push_value(&mut lists.exts, ty);
        }
        let conn = s.side_mut(h.dir);
        push_capped(&mut conn.extensions, ty);
        if !h.server && !is_grease(ty) {
            if let Some(j) = conn.ja4.as_mut() {
                j.add_extension(ty);
            }
        }
        processed = processed.wrapping_add(len).wrapping_add(4);
    }
    Ok(())
}

fn extension(
    s: &mut TlsSession,
    h: &mut Hello<'_>,
    ty: u16,
    body: &[u8],
    lists: &mut Ja3Lists,
) -> Step {
    match ty {
        0x0000 => sni(s.side_mut(h.dir), h.ev, body),
        0x000a => groups(h, body, &mut lists.groups),
        0x000b => point_formats(h, body, &mut lists.formats),
        0x000d => sig_algs(s.side_mut(h.dir), h, body),
        0x0010 => alpn(s.side_mut(h.dir), h, body),
        0x002a => {
            if !h.server {
                s.flags.set(SslFlags::EARLY_DATA);
            }
            Ok(body.len())
        }
        0x002b => supported_versions(s, h, body),
        0x0023 => {
            if !h.server {
                // To be confirmed by the absence of a server certificate.
                s.flags.set(SslFlags::SESSION_RESUMED);
            }
            Ok(body.len())
        }
        _ => Ok(body.len()),
    }
}

fn sni(conn: &mut ConnInfo, ev: &mut dyn EventSink, body: &[u8]) -> Step {
    if body.is_empty() {
        return Ok(0);
    }
    let mut r = Reader::new(body);
    r.skip(2).ok_or_else(|| invalid_len(ev))?;
    let ty = r.u8().ok_or_else(|| invalid_len(ev))?;
    if ty != 0 {
        ev.raise(TlsEvent::InvalidSniType);
        return Err(Bad);
    }
    let len = usize::from(r.u16().ok_or_else(|| invalid_len(ev))?);
    if !r.has(len) || len > 255 || len == 0 {
        ev.raise(TlsEvent::InvalidSniLength);
        return Err(Bad);
    }
    let name = r.take(len).ok_or_else(|| invalid_len(ev))?;
    if conn.sni.is_some() {
        ev.raise(TlsEvent::MultipleSniExtensions);
    } else {
        conn.sni = Some(name.to_vec());
    }
    Ok(r.pos())
}

fn groups(h: &mut Hello<'_>, body: &[u8], list: &mut String) -> Step {
    if body.is_empty() {
        return Ok(0);
    }
    let mut r = Reader::new(body);
    let len = usize::from(r.u16().ok_or_else(|| invalid_len(h.ev))?);
    if !r.has(len) {
        return Err(invalid_len(h.ev));
    }
    if !h.server && h.ja3 {
        let mut n = 0;
        while n < len {
            let g = r.u16().ok_or_else(|| invalid_len(h.ev))?;
            if !is_grease(g) {
                push_value(list, g);
            }
            n = n.saturating_add(2);
        }
    } else {
        r.skip(len).ok_or_else(|| invalid_len(h.ev))?;
    }
    Ok(r.pos())
}

fn point_formats(h: &mut Hello<'_>, body: &[u8], list: &mut String) -> Step {
    if body.is_empty() {
        return Ok(0);
    }
    let mut r = Reader::new(body);
    let len = usize::from(r.u8().ok_or_else(|| invalid_len(h.ev))?);
    let formats = r.take(len).ok_or_else(|| invalid_len(h.ev))?;
    if !h.server && h.ja3 {
        for &f in formats {
            push_value(list, u16::from(f));
        }
    }
    Ok(r.pos())
}

fn sig_algs(conn: &mut ConnInfo, h: &mut Hello<'_>, body: &[u8]) -> Step {
    if body.is_empty() {
        return Ok(0);
    }
    let mut r = Reader::new(body);
    let len = usize::from(r.u16().ok_or_else(|| invalid_len(h.ev))?);
    if len % 2 != 0 {
        return Err(invalid_len(h.ev));
    }
    let algs = r.take(len).ok_or_else(|| invalid_len(h.ev))?;
    if h.ja4_on(conn) {
        if let Some(j) = conn.ja4.as_mut() {
            for pair in algs.chunks_exact(2) {
                if let &[a, b] = pair {
                    j.add_sig_alg(u16::from_be_bytes([a, b]));
                }
            }
        }
    }
    Ok(r.pos())
}

fn alpn(conn: &mut ConnInfo, h: &mut Hello<'_>, body: &[u8]) -> Step {
    if body.is_empty() {
        return Ok(0);
    }
    let mut r = Reader::new(body);
    let len = usize::from(r.u16().ok_or_else(|| invalid_len(h.ev))?);
    if !r.has(len) {
        return Err(invalid_len(h.ev));
    }
    if h.ja4_on(conn) {
        let mut n = 0usize;
        while n < len {
            let plen = usize::from(r.u8().ok_or_else(|| invalid_len(h.ev))?);
            n = n.saturating_add(1);
            let name = r.take(plen).ok_or_else(|| invalid_len(h.ev))?;
            if n == 1 {
                if let Some(j) = conn.ja4.as_mut() {
                    j.set_alpn(name);
                }
            }
            n = n.saturating_add(plen);
        }
    }
    // Unlike the other extension parsers, Suricata 7.0.10 resumes the walk after the declared
    // extension length here, whatever the protocol list said (checked against its output).
    Ok(body.len())
}

fn supported_versions(s: &mut TlsSession, h: &mut Hello<'_>, body: &[u8]) -> Step {
    if body.is_empty() {
        return Ok(0);
    }
    let mut r = Reader::new(body);
    if !h.server {
        let len = usize::from(r.u8().ok_or_else(|| invalid_len(h.ev))?);
        if len < 2 {
            return Err(invalid_len(h.ev));
        }
        let list = r.take(len).ok_or_else(|| invalid_len(h.ev))?;
        // The first (preferred) valid version, skipping GREASE and noise.
        let conn = s.side_mut(h.dir);
        if let Some(v) = list
            .chunks_exact(2)
            .filter_map(|p| match *p {
                [a, b] => Some(u16::from_be_bytes([a, b])),
                _ => None,
            })
            .find(|&v| version::is_valid(v))
        {
            conn.version = v;
            if let Some(j) = conn.ja4.as_mut() {
                j.set_version(v);
            }
        }
        s.flags.set(SslFlags::CH_VERSION_EXTENSION);
    } else {
        let v = r.u16().ok_or_else(|| invalid_len(h.ev))?;
        if s.flags.has(SslFlags::CH_VERSION_EXTENSION) && v > TLS_V12 {
            s.flags.set(SslFlags::LOG_WITHOUT_CERT);
        }
        s.side_mut(h.dir).version = v;
    }
    Ok(r.pos())
}

/// Per-direction Certificate handling state kept by the parser.
#[derive(Debug, Default, Clone)]
pub(crate) struct CertState {
    /// A Certificate message was already taken in this direction (only the first counts).
    pub(crate) seen: bool,
    /// `TOO_MANY_CERTIFICATES` already raised.
    pub(crate) chain_cap_raised: bool,
}

/// Parses a Certificate message body sent by `conn`'s side.
pub(crate) fn parse_certificates(
    conn: &mut ConnInfo,
    st: &mut CertState,
    caps: &TlsCaps,
    ev: &mut dyn EventSink,
    msg: &[u8],
) {
    if st.seen {
        return;
    }
    let mut r = Reader::new(msg);
    let Some(chain_len) = r.u24() else {
        return;
    };
    let Ok(chain_len) = usize::try_from(chain_len) else {
        return;
    };
    let Some(chain) = r.take(chain_len) else {
        return;
    };
    st.seen = true;
    let mut c = Reader::new(chain);
    while c.left() > 0 {
        let Some(len) = c.u24() else {
            ev.raise(TlsEvent::InvalidCertificate);
            return;
        };
        let Some(der) = usize::try_from(len).ok().and_then(|l| c.take(l)) else {
            ev.raise(TlsEvent::InvalidCertificate);
            return;
        };
        let too_long = der.len() > caps.max_cert_len;
        if conn.cert.is_none() && conn.cert_subject_only.is_none() {
            if too_long {
                ev.raise(TlsEvent::CertificateTooLong);
                continue;
            }
            match cert::decode(der) {
                Decoded::Cert(info) => conn.cert = Some(info),
                Decoded::Undecodable(e) => {
                    ev.raise(e);
                    continue;
                }
                Decoded::BadSubject => {
                    ev.raise(TlsEvent::CertificateInvalidSubject);
                    return;
                }
                Decoded::BadIssuer(subject) => {
                    conn.cert_subject_only = Some(subject);
                    ev.raise(TlsEvent::CertificateInvalidIssuer);
                    return;
                }
            }
        }
        if conn.chain.len() >= caps.max_chain_certs {
            if !st.chain_cap_raised {
                st.chain_cap_raised = true;
                ev.raise(TlsEvent::TooManyCertificates);
            }
            continue;
        }
        if too_long {
            ev.raise(TlsEvent::CertificateTooLong);
            continue;
        }
        conn.chain.push(der.to_vec());
    }
}
