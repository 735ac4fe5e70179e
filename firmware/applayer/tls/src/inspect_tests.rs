//! Detection snapshots: each buffer holds what Suricata 7.0.10's sticky buffer held for the
//! same bytes (read back with Lua-dumping rules on the source captures and on crafted ones).
//! Vectors are fed whole and one byte at a time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use events::app::{AppOutput, StreamParser};
use events::inspect::TxBuffers;
use events::Body;
use types::Direction;

use crate::inspect::{BUFFERS, DIR_NUMBERS, NUMBERS, SSL_VERSION_TLS12, SSL_VERSION_TLS13};
use crate::{SslFlags, TlsConfig, TlsState};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn load(raw: &[u8]) -> Vec<(Direction, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = raw;
    while rest.len() >= 5 {
        let dir = if rest[0] == b'C' { C } else { S };
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let end = (5 + len).min(rest.len());
        out.push((dir, rest[5..end].to_vec()));
        rest = &rest[end..];
    }
    out
}

macro_rules! vector {
    ($name:literal) => {
        load(include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/vectors/tls/",
            $name
        )))
    };
}

/// A snapshot flattened for comparison.
#[derive(Debug, PartialEq, Eq)]
struct Snap {
    /// Carried by a `tls` record (else taken with `take_unlogged_inspect`).
    logged: bool,
    bufs: Vec<(&'static str, char, usize, Vec<u8>)>,
    nums: Vec<(&'static str, char, Option<u64>)>,
}

impl Snap {
    fn of(s: &dyn TxBuffers, logged: bool, with_state: bool) -> Snap {
        assert_eq!(s.app_proto(), "tls");
        let mut bufs = Vec::new();
        let mut nums = Vec::new();
        for (dir, side) in [(C, 'C'), (S, 'S')] {
            assert!(s.complete(dir));
            for name in BUFFERS {
                for i in 0..16 {
                    let Some(b) = s.buffer(name, dir, i) else {
                        break;
                    };
                    bufs.push((*name, side, i, b.into_owned()));
                }
            }
            for n in DIR_NUMBERS {
                nums.push((*n, side, s.number_dir(n, dir)));
            }
        }
        // The `ssl_state` moment follows the calls (see the crate docs): compared only when
        // asked.
        if with_state {
            for n in NUMBERS {
                nums.push((*n, '-', s.number(n)));
            }
        }
        Snap { logged, bufs, nums }
    }

    fn get(&self, name: &str, side: char) -> Option<&[u8]> {
        self.all(name, side).into_iter().next()
    }

    fn all(&self, name: &str, side: char) -> Vec<&[u8]> {
        self.bufs
            .iter()
            .filter(|(n, s, _, _)| *n == name && *s == side)
            .map(|(_, _, _, b)| b.as_slice())
            .collect()
    }

    fn num(&self, name: &str, side: char) -> Option<u64> {
        self.nums
            .iter()
            .find(|(n, s, _)| *n == name && *s == side)
            .and_then(|(_, _, v)| *v)
    }
}

fn run(cfg: &TlsConfig, chunks: &[(Direction, Vec<u8>)], bytewise: bool, state: bool) -> Vec<Snap> {
    let mut st = TlsState::new(cfg);
    let mut snaps = Vec::new();
    let mut take = |out: Vec<AppOutput>, st: &mut TlsState| {
        for o in out {
            if let Some(s) = o.inspect.as_deref() {
                assert!(matches!(o.body, Body::Tls(_)));
                snaps.push(Snap::of(s, true, state));
            }
        }
        if let Some(s) = st.take_unlogged_inspect() {
            snaps.push(Snap::of(s.as_ref(), false, state));
        }
    };
    for (dir, data) in chunks {
        let mut out = Vec::new();
        if bytewise {
            for b in data.chunks(1) {
                let _ = st.parse(*dir, b, &mut out);
            }
        } else {
            let _ = st.parse(*dir, data, &mut out);
        }
        take(out, &mut st);
    }
    let mut out = Vec::new();
    st.flush(&mut out);
    take(out, &mut st);
    snaps
}

fn inspecting() -> TlsConfig {
    TlsConfig {
        ja3: true,
        inspect: true,
        ..TlsConfig::default()
    }
}

/// One snapshot per session, the same whole and byte by byte (apart from `ssl_state`).
fn snap(chunks: &[(Direction, Vec<u8>)]) -> Snap {
    let whole = run(&inspecting(), chunks, false, false);
    assert_eq!(whole, run(&inspecting(), chunks, true, false));
    assert_eq!(whole.len(), 1, "one snapshot per session");
    let mut s = run(&inspecting(), chunks, false, true);
    s.remove(0)
}

#[test]
fn certificate_session() {
    // suricata-verify tls/tls-cert-issuer, stream 1.
    let s = snap(&vector!("tls12_selfsigned.bin"));
    assert!(s.logged);
    let subject = &b"C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS"[..];
    assert_eq!(s.get("tls.cert_subject", 'S'), Some(subject));
    assert_eq!(s.get("tls.cert_issuer", 'S'), Some(subject));
    assert_eq!(
        s.get("tls.cert_serial", 'S'),
        Some(&b"00:97:E6:47:09:8E:EA:C9:B4"[..])
    );
    assert_eq!(
        s.get("tls.cert_fingerprint", 'S'),
        Some(&b"3a:0b:3b:23:15:2c:44:5c:27:ac:6a:0c:41:d6:fa:74:af:b4:09:5b"[..])
    );
    let certs = s.all("tls.certs", 'S');
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].len(), 879);
    assert!(certs[0].starts_with(&[0x30, 0x82, 0x03, 0x6b, 0x30, 0x82, 0x02, 0x53]));
    assert_eq!(
        s.get("ja3.hash", 'C'),
        Some(&b"308b0bd904abbef5e0034a1ff7a78920"[..])
    );
    assert!(s
        .get("ja3.string", 'C')
        .is_some_and(|j| j.starts_with(b"771,49195-49199-158-") && j.ends_with(b",23-24-25,0")));
    assert_eq!(
        s.get("ja3s.hash", 'S'),
        Some(&b"ccc514751b175866924439bdbb5bba34"[..])
    );
    assert_eq!(
        s.get("ja3s.string", 'S'),
        Some(&b"771,49199,65281-11-35"[..])
    );
    // JA4 is computed for detection although the configuration does not ask for it.
    assert_eq!(
        s.get("ja4.hash", 'C'),
        Some(&b"t12i1810s1_27d4652c4487_06a4338d0495"[..])
    );
    // Randoms: to server the client's, to client the server's.
    assert!(s
        .get("tls.random", 'C')
        .is_some_and(|r| r.starts_with(&[0x94, 0x2d, 0x1f, 0xef])));
    assert!(s
        .get("tls.random", 'S')
        .is_some_and(|r| r.starts_with(&[0x54, 0xf9, 0xfc, 0x15])));
    assert_eq!(
        s.get("tls.random_time", 'S'),
        Some(&[0x54, 0xf9, 0xfc, 0x15][..])
    );
    assert!(s
        .get("tls.random_bytes", 'C')
        .is_some_and(|r| r.len() == 28 && r.starts_with(&[0x57, 0x5d])));
    // No client certificate, no client side cert buffers; side-bound buffers stay on theirs.
    assert_eq!(s.get("tls.cert_subject", 'C'), None);
    assert_eq!(s.get("ja3.hash", 'S'), None);
    assert_eq!(s.get("tls.sni", 'S'), None);
    assert_eq!(s.num("tls.version", 'C'), Some(0x0303));
    assert_eq!(s.num("tls.version", 'S'), Some(0x0303));
    assert_eq!(s.num("ssl_version", 'S'), Some(SSL_VERSION_TLS12));
    assert_eq!(s.num("tls.cert_chain_len", 'S'), Some(1));
    let hello = u64::from(SslFlags::STATE_CLIENT_HELLO | SslFlags::STATE_SERVER_HELLO);
    assert_eq!(s.num("ssl_state", '-').map(|v| v & hello), Some(hello));
}

#[test]
fn client_certificate_fills_the_client_side() {
    // Zeek tls/client-certificate.pcap; values match Suricata's to-server cert buffers. Fed
    // per segment only: whether the client's certificate makes it in before the session is
    // snapshotted follows the calls, as in Suricata (see the crate docs).
    let mut snaps = run(&inspecting(), &vector!("client_cert.bin"), false, false);
    assert_eq!(snaps.len(), 1);
    let s = snaps.remove(0);
    assert_eq!(
        s.get("tls.cert_subject", 'C'),
        Some(&b"CN=johanna@corelight.com"[..])
    );
    assert_eq!(
        s.get("tls.cert_subject", 'S'),
        Some(&b"CN=certauth.idrix.fr"[..])
    );
    assert_eq!(s.all("tls.certs", 'C').len(), 2);
    assert_eq!(s.all("tls.certs", 'S').len(), 3);
}

#[test]
fn empty_issuer_is_not_a_buffer() {
    // suricata-verify tls/tls-cert-noissuer: Suricata has no tls.cert_issuer buffer for it.
    let mut snaps = run(
        &inspecting(),
        &vector!("cert_empty_issuer.bin"),
        false,
        false,
    );
    assert_eq!(snaps.len(), 1);
    let s = snaps.remove(0);
    assert!(s.get("tls.cert_subject", 'S').is_some());
    assert_eq!(s.get("tls.cert_issuer", 'S'), None);
}

#[test]
fn tls13_versions() {
    let s = snap(&vector!("tls13_sni.bin"));
    assert!(s.logged);
    assert_eq!(s.num("tls.version", 'S'), Some(0x0304));
    assert_eq!(s.num("ssl_version", 'S'), Some(SSL_VERSION_TLS13));
    let d = snap(&vector!("tls13_draft28.bin"));
    assert_eq!(d.num("tls.version", 'S'), Some(0x7f1c));
    assert_eq!(d.num("ssl_version", 'S'), Some(SSL_VERSION_TLS13));
}

// ----------------------------------------------------------------- hand-built hellos

fn record(ct: u8, ver: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![ct];
    v.extend_from_slice(&ver.to_be_bytes());
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn handshake(t: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![t];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

fn sni_ext(name: &[u8]) -> Vec<u8> {
    let mut list = vec![0u8];
    list.extend_from_slice(&(name.len() as u16).to_be_bytes());
    list.extend_from_slice(name);
    let mut v = 0u16.to_be_bytes().to_vec();
    v.extend_from_slice(&((list.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(&(list.len() as u16).to_be_bytes());
    v.extend_from_slice(&list);
    v
}

fn client_hello(sni: &[u8], random: u8) -> Vec<u8> {
    let mut b = 0x0303u16.to_be_bytes().to_vec();
    b.extend_from_slice(&[random; 32]);
    b.push(0);
    b.extend_from_slice(&[0, 4, 0xc0, 0x2f, 0x00, 0x2f, 1, 0]);
    let ext = sni_ext(sni);
    b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    b.extend_from_slice(&ext);
    record(22, 0x0301, &handshake(1, &b))
}

fn server_hello(random: u8) -> Vec<u8> {
    let mut b = 0x0303u16.to_be_bytes().to_vec();
    b.extend_from_slice(&[random; 32]);
    b.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    record(22, 0x0303, &handshake(2, &b))
}

#[test]
fn sni_stops_at_nul_and_is_not_validated() {
    // Crafted: Suricata's tls.sni held `ab` and `\xff\xfe.example` for these.
    let s = snap(&[
        (C, client_hello(b"ab\0cd.example", 1)),
        (S, server_hello(2)),
    ]);
    assert!(!s.logged, "no certificate: not logged, still inspected");
    assert_eq!(s.get("tls.sni", 'C'), Some(&b"ab"[..]));
    let s = snap(&[
        (C, client_hello(b"\xff\xfe.example", 1)),
        (S, server_hello(2)),
    ]);
    assert_eq!(s.get("tls.sni", 'C'), Some(&b"\xff\xfe.example"[..]));
}

#[test]
fn random_availability_follows_suricata() {
    // Both hellos: both randoms.
    let s = snap(&[(C, client_hello(b"a", 0x11)), (S, server_hello(0x22))]);
    assert_eq!(s.get("tls.random", 'C'), Some(&[0x11; 32][..]));
    assert_eq!(s.get("tls.random", 'S'), Some(&[0x22; 32][..]));
    // ClientHello only: no to-server random, and a zero to-client one (Suricata 7.0.10).
    let s = snap(&[(C, client_hello(b"a", 0x11))]);
    assert!(!s.logged);
    assert_eq!(s.get("tls.random", 'C'), None);
    assert_eq!(s.get("tls.random", 'S'), Some(&[0; 32][..]));
    assert_eq!(s.get("tls.random_time", 'S'), Some(&[0; 4][..]));
    assert_eq!(s.get("tls.random_bytes", 'S'), Some(&[0; 28][..]));
    assert_eq!(s.get("tls.sni", 'C'), Some(&b"a"[..]));
    assert_eq!(s.num("ssl_version", 'S'), Some(0));
}

#[test]
fn off_by_default_and_ja4_not_logged() {
    let chunks = vector!("tls12_selfsigned.bin");
    let mut st = TlsState::new(&TlsConfig::default());
    let mut out = Vec::new();
    for (d, c) in &chunks {
        let _ = st.parse(*d, c, &mut out);
    }
    st.flush(&mut out);
    assert!(out.iter().all(|o| o.inspect.is_none()));
    assert!(st.take_unlogged_inspect().is_none());
    // With inspect (and log_ja4 but not ja4), JA4 is computed yet the record has none.
    let cfg = TlsConfig {
        log_ja4: true,
        ..inspecting()
    };
    let mut st = TlsState::new(&cfg);
    let mut out = Vec::new();
    for (d, c) in &chunks {
        let _ = st.parse(*d, c, &mut out);
    }
    let tls: Vec<_> = out
        .iter()
        .filter_map(|o| match &o.body {
            Body::Tls(t) => Some((t.ja4.clone(), o.inspect.is_some())),
            _ => None,
        })
        .collect();
    assert_eq!(tls, vec![(None, true)]);
    // The chain moved into the snapshot.
    assert!(st.session().server.chain.is_empty());
}
