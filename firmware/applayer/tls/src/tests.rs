//! Crate tests: captured sessions (`firmware/testdata/vectors/tls/`, see its README) whose
//! expected values are Suricata 7.0.10's own output, and hand-built byte vectors for the
//! malformed cases. Every vector is fed whole and one byte at a time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use events::app::{AppOutput, ParseStatus, Probe, StreamParser};
use events::tls::TlsEve;
use events::Body;
use types::Direction;

use crate::config::TlsCaps;
use crate::{probe, EncryptionHandling, SslFlags, TlsConfig, TlsFields, TlsState};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

/// A captured vector: `[dir: b'C'|b'S'][len: u32 BE][bytes]` repeated.
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

/// What a run produced: `tls` records and anomaly names, in order.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    tls: Vec<TlsEve>,
    anomalies: Vec<(&'static str, Direction)>,
    errors: usize,
}

fn collect(out: Vec<AppOutput>, o: &mut Outcome) {
    for a in out {
        match a.body {
            Body::Tls(t) => {
                assert_eq!(a.dir, C, "tls records are oriented client to server");
                o.tls.push(*t);
            }
            Body::Anomaly(an) => {
                assert_eq!(an.app_proto, Some("tls"));
                assert_eq!(an.kind, "applayer");
                assert_eq!(an.layer, Some("proto_parser"));
                assert_eq!(a.tx_id, Some(0));
                o.anomalies.push((an.event, a.dir));
            }
            _ => panic!("unexpected output"),
        }
    }
}

fn run_with(
    cfg: &TlsConfig,
    chunks: &[(Direction, Vec<u8>)],
    bytewise: bool,
) -> (Outcome, TlsState) {
    let mut st = TlsState::new(cfg);
    let mut o = Outcome::default();
    for (dir, data) in chunks {
        let mut out = Vec::new();
        if bytewise {
            for b in data.chunks(1) {
                if st.parse(*dir, b, &mut out) == ParseStatus::Error {
                    o.errors += 1;
                }
            }
        } else if st.parse(*dir, data, &mut out) == ParseStatus::Error {
            o.errors += 1;
        }
        collect(out, &mut o);
    }
    let mut out = Vec::new();
    st.flush(&mut out);
    collect(out, &mut o);
    (o, st)
}

/// Runs whole and byte by byte, asserts both agree on every record, returns the outcome.
fn run(cfg: &TlsConfig, chunks: &[(Direction, Vec<u8>)]) -> (Outcome, TlsState) {
    let (whole, st) = run_with(cfg, chunks, false);
    let (bytes, _) = run_with(cfg, chunks, true);
    assert_eq!(whole.tls, bytes.tls, "whole vs byte-by-byte tls records");
    assert_eq!(
        whole.anomalies, bytes.anomalies,
        "whole vs byte-by-byte anomalies"
    );
    assert_eq!(
        whole.errors > 0,
        bytes.errors > 0,
        "whole vs byte-by-byte errors"
    );
    (whole, st)
}

fn fp_cfg() -> TlsConfig {
    TlsConfig {
        ja3: true,
        ja4: true,
        log_ja4: true,
        ..TlsConfig::default()
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn tls12_certificate_fields_and_json_order() {
    let (o, st) = run(&TlsConfig::default(), &vector!("tls12_selfsigned.bin"));
    assert!(o.anomalies.is_empty());
    assert_eq!(o.tls.len(), 1);
    // Byte for byte what Suricata 7.0.10 wrote for this session (suricata-verify
    // tls/tls-cert-issuer reference output).
    assert_eq!(
        serde_json::to_string(&o.tls[0]).unwrap(),
        "{\"subject\":\"C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS\",\
         \"issuerdn\":\"C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS\",\
         \"serial\":\"00:97:E6:47:09:8E:EA:C9:B4\",\
         \"fingerprint\":\"3a:0b:3b:23:15:2c:44:5c:27:ac:6a:0c:41:d6:fa:74:af:b4:09:5b\",\
         \"version\":\"TLS 1.2\",\"notbefore\":\"2015-02-12T18:07:27\",\
         \"notafter\":\"2025-02-09T18:07:27\"}"
    );
    let sess = st.session();
    assert!(sess.flags.has(
        SslFlags::STATE_CLIENT_HELLO
            | SslFlags::STATE_SERVER_HELLO
            | SslFlags::STATE_CLIENT_KEYX
            | SslFlags::HANDSHAKE_DONE
    ));
    assert_eq!(sess.server.version, 0x0303);
    assert_eq!(sess.server.chain.len(), 1);
    let cert = sess.server.cert.as_ref().unwrap();
    assert_eq!(cert.not_before, 1_423_764_447);
    assert!(st.logged());
}

#[test]
fn resumed_session_is_logged_by_default() {
    let v = vector!("tls12_resumed.bin");
    let (o, _) = run(&TlsConfig::default(), &v);
    assert_eq!(
        o.tls,
        vec![TlsEve {
            session_resumed: Some(true),
            version: s("TLS 1.2"),
            ..Default::default()
        }]
    );
    let cfg = TlsConfig {
        log_resumed: false,
        ..TlsConfig::default()
    };
    let (o, _) = run(&cfg, &v);
    assert!(o.tls.is_empty());
}

#[test]
fn tls13_logged_without_certificate() {
    let (o, _) = run(&TlsConfig::default(), &vector!("tls13_sni.bin"));
    assert_eq!(
        o.tls,
        vec![TlsEve {
            sni: s("ftp.nluug.nl"),
            version: s("TLS 1.3"),
            ..Default::default()
        }]
    );
}

#[test]
fn sslv2_compatible_client_hello_then_tls() {
    let (o, st) = run(&TlsConfig::default(), &vector!("sslv2_upgrade.bin"));
    assert_eq!(o.tls.len(), 1);
    let t = &o.tls[0];
    assert_eq!(
        t.subject.as_deref(),
        Some(
            "C=US, ST=California, L=Sunnyvale, O=NetScreen Technologies, Inc., \
             OU=Security Team, CN=sigdb.secteam.netscreen.com, Email=aturner@netscreen.com"
        )
    );
    assert_eq!(t.serial.as_deref(), Some("55"));
    assert_eq!(t.version.as_deref(), Some("TLSv1"));
    assert!(st.session().flags.has(SslFlags::SSL_CLIENT_HS));
}

#[test]
fn duplicate_hello_keeps_first_ja3_and_raises_multiple_sni() {
    let (o, _) = run(&fp_cfg(), &vector!("duplicate_hello.bin"));
    assert_eq!(o.anomalies, vec![("MULTIPLE_SNI_EXTENSIONS", C)]);
    let t = &o.tls[0];
    let ja3 = t.ja3.as_ref().unwrap();
    assert_eq!(
        ja3.hash.as_deref(),
        Some("43202faa1c8c1760d6f7f4bd9adde4ab")
    );
    assert_eq!(
        ja3.string.as_deref(),
        Some(
            "771,4866-4867-4865-4868-49196-52393-49325-49162-49195-49324-49161-49200-52392-\
             49172-49199-49171-157-49309-53-156-49308-47-159-52394-49311-57-158-49310-51,\
             5-10-11-13-22-23-35-51-43-65281-0-45,23,0"
        )
    );
    let ja3s = t.ja3s.as_ref().unwrap();
    assert_eq!(
        ja3s.hash.as_deref(),
        Some("f4febc55ea12b31ae17cfb7e614afda8")
    );
    assert_eq!(ja3s.string.as_deref(), Some("771,4865,43-51"));
    // Suricata 7's JA4 is not guarded against a second hello: both count.
    assert_eq!(
        t.ja4.as_deref(),
        Some("t13d582400_6d6243a3a798_468664775a54")
    );
}

#[test]
fn tls13_draft28_version_and_ja3s() {
    let (o, _) = run(&fp_cfg(), &vector!("tls13_draft28.bin"));
    let t = &o.tls[0];
    assert_eq!(t.version.as_deref(), Some("TLS 1.3 draft-28"));
    assert_eq!(t.sni.as_deref(), Some("localhost"));
    assert_eq!(
        t.ja3.as_ref().unwrap().hash.as_deref(),
        Some("d00857e0c8e7a7f35e446508c6233460")
    );
    assert_eq!(
        t.ja3s.as_ref().unwrap().string.as_deref(),
        Some("771,4866,43-51-41")
    );
}

#[test]
fn ja4_matches_suricata_verify() {
    let (o, st) = run(&fp_cfg(), &vector!("tls13_ja4.bin"));
    assert_eq!(
        o.tls[0].ja4.as_deref(),
        Some("t13d1516h2_8daaf6152771_e5627efa2ab1")
    );
    assert_eq!(
        st.session().client.ja4_hash().as_deref(),
        Some("t13d1516h2_8daaf6152771_e5627efa2ab1")
    );
    // Computed but not logged unless asked (Suricata 7's `ja4: off` default).
    let cfg = TlsConfig {
        ja4: true,
        ..TlsConfig::default()
    };
    let (o, st) = run(&cfg, &vector!("tls13_ja4.bin"));
    assert_eq!(o.tls[0].ja4, None);
    assert!(st.session().client.ja4_hash().is_some());
    // The suricata-verify ja4-tls case (same capture: TLS 1.2, no SNI, 18 ciphers).
    let (o, _) = run(&fp_cfg(), &vector!("tls12_selfsigned.bin"));
    assert_eq!(
        o.tls[0].ja4.as_deref(),
        Some("t12i1810s1_27d4652c4487_06a4338d0495")
    );
}

#[test]
fn hello_retry_request() {
    let (o, _) = run(&fp_cfg(), &vector!("hrr.bin"));
    let t = &o.tls[0];
    assert_eq!(t.version.as_deref(), Some("TLS 1.3"));
    assert_eq!(
        t.ja4.as_deref(),
        Some("t13i040900_16476d049b0b_78f1d400d464")
    );
    assert_eq!(
        t.ja3s.as_ref().unwrap().string.as_deref(),
        Some("771,4866,43-51")
    );
}

#[test]
fn empty_issuer_is_still_an_issuer() {
    let (o, _) = run(&TlsConfig::default(), &vector!("cert_empty_issuer.bin"));
    assert_eq!(o.tls[0].issuerdn.as_deref(), Some(""));
    assert_eq!(
        o.tls[0].subject.as_deref(),
        Some("C=US, ST=Arizona, L=Scottsdale, streetAddress=, postalCode=6565, CN=localhost")
    );
}

#[test]
fn unknown_server_version_logged_raw_with_anomaly() {
    let (o, st) = run(&TlsConfig::default(), &vector!("bad_record_version.bin"));
    assert_eq!(o.anomalies, vec![("INVALID_RECORD_VERSION", S)]);
    assert_eq!(o.tls[0].version.as_deref(), Some("0x7e01"));
    assert_eq!(o.tls[0].sni.as_deref(), Some("tls.ctf.network"));
    assert!(o.errors > 0);
    assert!(!st.wants_data());
}

/// The one slicing-dependent outcome, kept on purpose: like Suricata, the "handshake done"
/// check runs at the end of each parse call. When the server's certificate completes a call
/// and its CertificateRequest only comes in a later one, the record is written without the
/// client certificate (Suricata does the same for that segmentation).
#[test]
fn client_certificate_depends_on_segmentation_like_suricata() {
    let v = vector!("client_cert.bin");
    let (whole, _) = run_with(&TlsConfig::default(), &v, false);
    let client = whole.tls[0].client.as_ref().unwrap();
    assert_eq!(client.subject.as_deref(), Some("CN=johanna@corelight.com"));
    assert_eq!(
        client.fingerprint.as_deref(),
        Some("bf:36:12:70:e0:c6:7d:d9:df:c2:15:6c:5d:cb:d4:43:8e:9d:99:6a")
    );
    assert_eq!(client.notbefore.as_deref(), Some("2023-02-28T15:59:27"));
    let (bytes, st) = run_with(&TlsConfig::default(), &v, true);
    assert_eq!(bytes.tls[0].client, None);
    assert_eq!(
        TlsEve {
            client: None,
            ..whole.tls[0].clone()
        },
        bytes.tls[0]
    );
    // The session info is the same either way.
    assert!(st.session().client.cert.is_some());
}

#[test]
fn custom_and_basic_modes() {
    let v = vector!("tls12_selfsigned.bin");
    let cfg = TlsConfig {
        extended: false,
        ..TlsConfig::default()
    };
    let (o, _) = run(&cfg, &v);
    assert_eq!(
        o.tls[0],
        TlsEve {
            subject: s("C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS"),
            issuerdn: s("C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS"),
            ..Default::default()
        }
    );
    let (fields, _) = TlsFields::from_names(["certificate", "chain", "sni", "version", "ja3"]);
    let cfg = TlsConfig {
        custom: Some(fields),
        ..TlsConfig::default()
    };
    let (o, st) = run(&cfg, &v);
    let t = &o.tls[0];
    assert_eq!(t.subject, None);
    assert_eq!(t.version.as_deref(), Some("TLS 1.2"));
    let der = &st.session().server.chain[0];
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    assert_eq!(t.certificate.as_deref(), Some(b64.as_str()));
    assert_eq!(t.chain, Some(vec![b64]));
    // JA3 not computed: nothing to print even though listed.
    assert_eq!(t.ja3, None);
}

// ---------------------------------------------------------------------------------------
// Hand-built vectors.

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

fn ext(t: u16, body: &[u8]) -> Vec<u8> {
    let mut v = t.to_be_bytes().to_vec();
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn sni_ext(name: &[u8]) -> Vec<u8> {
    let mut list = vec![0u8];
    list.extend_from_slice(&(name.len() as u16).to_be_bytes());
    list.extend_from_slice(name);
    let mut body = (list.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(&list);
    ext(0, &body)
}

fn client_hello(version: u16, ciphers: &[u16], exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend_from_slice(&[7u8; 32]);
    b.push(0);
    b.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
    for c in ciphers {
        b.extend_from_slice(&c.to_be_bytes());
    }
    b.extend_from_slice(&[1, 0]);
    let all: Vec<u8> = exts.concat();
    b.extend_from_slice(&(all.len() as u16).to_be_bytes());
    b.extend_from_slice(&all);
    handshake(1, &b)
}

fn server_hello(version: u16, cipher: u16, exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend_from_slice(&[9u8; 32]);
    b.push(0);
    b.extend_from_slice(&cipher.to_be_bytes());
    b.push(0);
    let all: Vec<u8> = exts.concat();
    if !exts.is_empty() {
        b.extend_from_slice(&(all.len() as u16).to_be_bytes());
        b.extend_from_slice(&all);
    }
    handshake(2, &b)
}

fn ch_record(exts: &[Vec<u8>]) -> Vec<u8> {
    record(
        22,
        0x0301,
        &client_hello(0x0303, &[0x0a0a, 0xc02f, 0x002f], exts),
    )
}

#[test]
fn ja3_of_a_built_hello_drops_grease() {
    let groups = ext(10, &[0, 4, 0x1a, 0x1a, 0, 23]);
    let formats = ext(11, &[1, 0]);
    let ticket = ext(0x23, &[]);
    let v = vec![
        (
            C,
            ch_record(&[
                ext(0x2a2a, &[]),
                sni_ext(b"example.com"),
                groups,
                formats,
                ticket,
            ]),
        ),
        (
            S,
            record(
                22,
                0x0303,
                &server_hello(0x0303, 0xc02f, &[ext(0xff01, &[0])]),
            ),
        ),
        (S, record(23, 0x0303, &[1, 2, 3])),
    ];
    let (o, st) = run(&fp_cfg(), &v);
    // Resumed (ticket offered, no certificate): logged when the encrypted data starts.
    let t = &o.tls[0];
    assert_eq!(t.session_resumed, Some(true));
    let want = "771,49199-47,0-10-11-35,23,0";
    assert_eq!(t.ja3.as_ref().unwrap().string.as_deref(), Some(want));
    assert_eq!(
        t.ja3.as_ref().unwrap().hash.as_deref(),
        Some(crate::ja::md5_hex(want).as_str())
    );
    assert_eq!(
        t.ja3s.as_ref().unwrap().string.as_deref(),
        Some("771,49199,65281")
    );
    assert_eq!(t.sni.as_deref(), Some("example.com"));
    assert!(t.ja4.as_deref().unwrap().starts_with("t12d0204"));
    let sess = st.session();
    assert!(sess.flags.has(SslFlags::HANDSHAKE_DONE));
    assert_eq!(sess.client.ciphers, vec![0x0a0a, 0xc02f, 0x002f]);
    assert_eq!(sess.client.extensions, vec![0x2a2a, 0, 10, 11, 0x23]);
    assert_eq!(sess.server.hello_version, Some(0x0303));
}

#[test]
fn no_record_without_certificate_or_resumption() {
    let v = vec![
        (C, ch_record(&[sni_ext(b"a.example")])),
        (S, record(22, 0x0303, &server_hello(0x0303, 0xc02f, &[]))),
        (S, record(23, 0x0303, &[1, 2, 3])),
    ];
    let (o, st) = run(&TlsConfig::default(), &v);
    assert!(o.tls.is_empty());
    assert!(st.logged());
    // A ClientHello alone is not logged either, unless it offers a session ticket.
    let (o, _) = run(&TlsConfig::default(), &v[..1]);
    assert!(o.tls.is_empty());
    let ticket = vec![(C, ch_record(&[sni_ext(b"b.example"), ext(0x23, &[])]))];
    let (o, _) = run(&TlsConfig::default(), &ticket);
    assert_eq!(
        o.tls,
        vec![TlsEve {
            sni: s("b.example"),
            version: s("UNDETERMINED"),
            ..Default::default()
        }]
    );
}

#[test]
fn sni_anomalies() {
    let cases: [(Vec<u8>, &str); 3] = [
        (sni_ext(b""), "INVALID_SNI_LENGTH"),
        (sni_ext(&[b'a'; 256]), "INVALID_SNI_LENGTH"),
        (ext(0, &[0, 4, 1, 0, 1, b'x']), "INVALID_SNI_TYPE"),
    ];
    for (e, name) in cases {
        let v = vec![(C, ch_record(&[e, ext(0x23, &[])]))];
        let (o, st) = run(&fp_cfg(), &v);
        assert_eq!(o.anomalies, vec![(name, C)], "{name}");
        // The walk stops at the bad extension but the JA3 keeps what came before.
        let ja3 = &st.session().client.ja3;
        assert_eq!(ja3.string.as_deref(), Some("771,49199-47,,,"));
        assert!(ja3.hash.is_some());
        assert_eq!(st.session().client.sni, None);
    }
}

#[test]
fn broken_extension_block_keeps_ja3_string_without_hash() {
    // Extension length runs past the message.
    let mut bad = ch_record(&[]);
    let n = bad.len();
    bad[n - 2..].copy_from_slice(&[0, 40]);
    let (o, st) = run(&fp_cfg(), &[(C, bad)]);
    assert_eq!(o.anomalies, vec![("HANDSHAKE_INVALID_LENGTH", C)]);
    let ja3 = &st.session().client.ja3;
    assert_eq!(ja3.string.as_deref(), Some("771,49199-47"));
    assert_eq!(ja3.hash, None);
}

/// Extension bodies longer than what they declare inside: every parser but ALPN's resumes the
/// walk where it stopped reading (so the trailing `00 17 00 00` reads as an extension 23),
/// ALPN's resumes at the declared end. Expected strings are Suricata 7.0.10's output for
/// these same hellos.
#[test]
fn extension_walk_resumes_like_suricata() {
    let trail = [0u8, 0x17, 0, 0];
    let with_trail = |t: u16, body: &[u8]| {
        let mut b = body.to_vec();
        b.extend_from_slice(&trail);
        ext(t, &b)
    };
    let sni = [
        0, 0x0e, 0, 0, 0x0b, b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'c', b'o', b'm',
    ];
    let cases: [(Vec<u8>, &str); 6] = [
        (with_trail(0, &sni), "771,49199-47,35-0-23-65281,,"),
        (
            with_trail(10, &[0, 4, 0, 0x17, 0, 0x18]),
            "771,49199-47,35-10-23-65281,23-24,",
        ),
        (with_trail(11, &[1, 0]), "771,49199-47,35-11-23-65281,,0"),
        (
            with_trail(13, &[0, 4, 4, 3, 8, 4]),
            "771,49199-47,35-13-23-65281,,",
        ),
        (
            with_trail(16, &[0, 3, 2, b'h', b'2']),
            "771,49199-47,35-16-65281,,",
        ),
        (
            with_trail(43, &[4, 3, 4, 3, 3]),
            "771,49199-47,35-43-23-65281,,",
        ),
    ];
    for (e, want) in cases {
        let hello = client_hello(
            0x0303,
            &[0xc02f, 0x002f],
            &[ext(0x23, &[]), e, ext(0xff01, &[0])],
        );
        let v = [(C, record(22, 0x0301, &hello))];
        let (o, _) = run(&fp_cfg(), &v);
        assert_eq!(o.tls[0].ja3.as_ref().unwrap().string.as_deref(), Some(want));
    }
}

#[test]
fn empty_handshake_message_is_ignored() {
    let mut body = handshake(1, &[]);
    body.extend(handshake(3, &[0, 0]));
    let (o, st) = run(&TlsConfig::default(), &[(C, record(22, 0x0301, &body))]);
    assert_eq!(o.anomalies, vec![("INVALID_HANDSHAKE_MESSAGE", C)]);
    assert!(!st.session().flags.has(SslFlags::STATE_CLIENT_HELLO));
}

#[test]
fn sslv2_hello_shorter_than_its_fields_resumes_at_declared_end() {
    // A 2-byte-header SSLv2 record of length 3 (type ClientHello), whose fixed fields run on
    // into the next record: parsing resumes right after the 5 declared bytes.
    let mut v = vec![0x80, 0x03, 0x01, 0x03, 0x01];
    v.extend(record(
        22,
        0x0301,
        &client_hello(0x0301, &[0x2f], &[sni_ext(b"v2.example")]),
    ));
    let (o, st) = run(&TlsConfig::default(), &[(C, v)]);
    assert!(o.anomalies.is_empty(), "{:?}", o.anomalies);
    assert!(st.session().flags.has(SslFlags::SSL_CLIENT_HS));
    assert_eq!(st.session().client.sni.as_deref(), Some(&b"v2.example"[..]));
}

#[test]
fn non_utf8_sni_is_not_logged() {
    let v = vec![(C, ch_record(&[sni_ext(b"ex\xffample"), ext(0x23, &[])]))];
    let (o, st) = run(&TlsConfig::default(), &v);
    assert_eq!(o.tls[0].sni, None);
    assert_eq!(
        st.session().client.sni.as_deref(),
        Some(&b"ex\xffample"[..])
    );
}

#[test]
fn handshake_message_spanning_records_and_several_per_record() {
    let ch = client_hello(
        0x0303,
        &[0x002f],
        &[sni_ext(b"split.example"), ext(0x23, &[])],
    );
    let (a, b) = ch.split_at(20);
    let mut stream = record(22, 0x0301, a);
    stream.extend(record(22, 0x0301, b));
    let (o, _) = run(&TlsConfig::default(), &[(C, stream)]);
    assert!(o.anomalies.is_empty(), "{:?}", o.anomalies);
    assert_eq!(o.tls[0].sni.as_deref(), Some("split.example"));
    // Two messages in one record.
    let mut two = server_hello(0x0303, 0x002f, &[]);
    two.extend(handshake(14, &[]));
    let v = vec![(C, ch_record(&[])), (S, record(22, 0x0303, &two))];
    let (_, st) = run(&TlsConfig::default(), &v);
    assert!(st.session().flags.has(SslFlags::STATE_SERVER_HELLO));
}

#[test]
fn record_header_errors_stop_the_flow() {
    let cases: [(Vec<u8>, &str); 4] = [
        (vec![22, 3, 1, 0, 0], "INVALID_RECORD_LENGTH"),
        (record(22, 0x0305, &[1, 2, 3, 4]), "INVALID_RECORD_VERSION"),
        (record(30, 0x0303, &[1]), "INVALID_RECORD_TYPE"),
        (
            {
                let mut v = vec![23, 3, 3];
                v.extend_from_slice(&((1u16 << 14) + 1025).to_be_bytes());
                v
            },
            "INVALID_RECORD_LENGTH",
        ),
    ];
    for (bytes, name) in cases {
        let v = vec![(C, ch_record(&[])), (S, bytes)];
        let (o, st) = run(&TlsConfig::default(), &v);
        assert_eq!(o.anomalies, vec![(name, S)], "{name}");
        assert_eq!(o.errors, 1);
        assert!(!st.wants_data());
        // Further data is refused in both directions.
        let mut st = st;
        let mut out = Vec::new();
        assert_eq!(st.parse(C, &[22, 3, 3], &mut out), ParseStatus::Error);
    }
}

/// Slicing-dependent on purpose, like Suricata: an unknown record type in a TLS 1.0/1.1
/// stream is tolerated, and the rest of the data of that `parse` call is dropped.
#[test]
fn unknown_record_type_tolerated_in_tls10() {
    let hello = record(
        22,
        0x0301,
        &client_hello(0x0301, &[0x2f], &[ext(0x23, &[])]),
    );
    // Separate segments: the alert after the unknown record is parsed.
    let v = vec![
        (C, hello.clone()),
        (C, record(30, 0x0301, &[1, 2, 3])),
        (C, record(21, 0x0301, &[1, 0])),
    ];
    let (o, st) = run_with(&TlsConfig::default(), &v, false);
    assert_eq!(o.anomalies, vec![("INVALID_RECORD_TYPE", C)]);
    assert_eq!(o.errors, 0);
    assert!(st.wants_data());
    // One segment: everything after the unknown record header is dropped, even a broken
    // record that would otherwise end the flow.
    let mut seg = record(30, 0x0301, &[1, 2, 3]);
    seg.extend_from_slice(&[22, 3, 1, 0, 0]);
    let v = vec![(C, hello), (C, seg)];
    let (o, st) = run_with(&TlsConfig::default(), &v, false);
    assert_eq!(o.anomalies, vec![("INVALID_RECORD_TYPE", C)]);
    assert!(st.wants_data());
}

#[test]
fn unknown_handshake_type_raises_event() {
    let v = vec![
        (C, ch_record(&[])),
        (C, record(22, 0x0303, &handshake(99, &[1, 2]))),
    ];
    let (o, _) = run(&TlsConfig::default(), &v);
    assert_eq!(o.anomalies, vec![("INVALID_HANDSHAKE_MESSAGE", C)]);
    // After ChangeCipherSpec the same bytes are an encrypted Finished: no event.
    let v = vec![
        (C, ch_record(&[])),
        (C, record(20, 0x0303, &[1])),
        (C, record(22, 0x0303, &handshake(99, &[1, 2]))),
    ];
    let (o, _) = run(&TlsConfig::default(), &v);
    assert!(o.anomalies.is_empty());
}

#[test]
fn heartbeat_checks() {
    // Request claiming 0x4000 bytes of payload in a 19-byte record: heartbleed attempt.
    let mut hb = vec![1, 0x40, 0x00];
    hb.extend_from_slice(&[0; 16]);
    let v = vec![(C, ch_record(&[])), (C, record(24, 0x0303, &hb))];
    let (o, _) = run(&TlsConfig::default(), &v);
    assert_eq!(o.anomalies, vec![("OVERFLOW_HEARTBEAT_MESSAGE", C)]);
    // Proper request then response.
    let mut ok = vec![1, 0, 1, 0xaa];
    ok.extend_from_slice(&[0; 16]);
    let mut resp = ok.clone();
    resp[0] = 2;
    let v = vec![
        (C, ch_record(&[])),
        (C, record(24, 0x0303, &ok)),
        (S, record(24, 0x0303, &resp)),
    ];
    let (o, _) = run(&TlsConfig::default(), &v);
    assert!(o.anomalies.is_empty());
    // Encrypted response larger than the encrypted request.
    let v = vec![
        (C, ch_record(&[])),
        (C, record(20, 0x0303, &[1])),
        (C, record(24, 0x0303, &[9; 40])),
        (S, record(24, 0x0303, &[9; 400])),
    ];
    let (o, st) = run(&TlsConfig::default(), &v);
    assert_eq!(o.anomalies, vec![("DATALEAK_HEARTBEAT_MISMATCH", S)]);
    assert_eq!(st.events(), &[crate::TlsEvent::DataleakHeartbeatMismatch]);
}

#[test]
fn anomalies_after_the_record_are_kept_but_not_written() {
    // Certificate-less resumed session logged at the first application data; a heartbeat
    // overflow afterwards is not written (Suricata's transaction is fully logged by then).
    let mut hb = vec![1, 0x40, 0x00];
    hb.extend_from_slice(&[0; 16]);
    let v = vec![
        (C, ch_record(&[ext(0x23, &[])])),
        (S, record(22, 0x0303, &server_hello(0x0303, 0x2f, &[]))),
        (S, record(23, 0x0303, &[1, 2, 3])),
        (C, record(24, 0x0303, &hb)),
    ];
    let (o, st) = run(&TlsConfig::default(), &v);
    assert_eq!(o.tls.len(), 1);
    assert!(o.anomalies.is_empty());
    assert_eq!(st.events(), &[crate::TlsEvent::OverflowHeartbeat]);
    assert!(!st.wants_data());
}

#[test]
fn eof_gap_and_flush_write_pending_record_once() {
    let v = [(C, ch_record(&[ext(0x23, &[])]))];
    for how in 0..3 {
        let mut st = TlsState::new(&TlsConfig::default());
        let mut out = Vec::new();
        assert_eq!(st.parse(C, &v[0].1, &mut out), ParseStatus::Ok);
        assert!(out.is_empty());
        match how {
            0 => st.eof(C, &mut out),
            1 => st.gap(S, 10, &mut out),
            _ => st.flush(&mut out),
        }
        st.eof(S, &mut out);
        st.flush(&mut out);
        let n = out
            .iter()
            .filter(|o| matches!(o.body, Body::Tls(_)))
            .count();
        assert_eq!(n, 1, "case {how}");
    }
    // After a gap nothing more is parsed.
    let mut st = TlsState::new(&TlsConfig::default());
    let mut out = Vec::new();
    st.gap(C, 3, &mut out);
    assert_eq!(st.parse(C, &v[0].1, &mut out), ParseStatus::Error);
}

#[test]
fn too_many_tiny_records() {
    // SSLv2 records of length 1 are 3 bytes each: more records than data / 6.
    let mut v = Vec::new();
    for _ in 0..40 {
        v.extend_from_slice(&[0x80, 0x01, 0x09]);
    }
    let mut st = TlsState::new(&TlsConfig::default());
    let mut out = Vec::new();
    assert_eq!(st.parse(C, &v, &mut out), ParseStatus::Error);
    let mut o = Outcome::default();
    collect(out, &mut o);
    assert_eq!(o.anomalies, vec![("TOO_MANY_RECORDS_IN_PACKET", C)]);
}

#[test]
fn handshake_message_cap() {
    let cfg = TlsConfig {
        caps: TlsCaps {
            max_handshake_message: 64,
            ..TlsCaps::default()
        },
        ..TlsConfig::default()
    };
    // A 200-byte certificate message split over two records: skipped, then parsing goes on.
    let msg = handshake(11, &[0u8; 200]);
    let v = vec![
        (C, ch_record(&[ext(0x23, &[])])),
        (S, record(22, 0x0303, &msg[..100])),
        (S, record(22, 0x0303, &msg[100..])),
        (S, record(22, 0x0303, &server_hello(0x0303, 0x2f, &[]))),
    ];
    let (o, st) = run(&cfg, &v);
    assert_eq!(o.anomalies, vec![("HANDSHAKE_MESSAGE_TOO_LONG", S)]);
    assert!(st.session().flags.has(SslFlags::STATE_SERVER_HELLO));
}

#[test]
fn bypass_stops_after_application_data() {
    let cfg = TlsConfig {
        encryption_handling: EncryptionHandling::Bypass,
        ..TlsConfig::default()
    };
    let v = vec![
        (C, ch_record(&[])),
        (S, record(23, 0x0303, &[0; 10])),
        (S, record(99, 0x0303, &[0; 10])),
    ];
    let (o, st) = run(&cfg, &v);
    assert!(o.anomalies.is_empty());
    assert!(!st.wants_data());
    assert!(st.encrypted());
}

#[test]
fn probe_like_suricata() {
    assert_eq!(probe(C, &[]), Probe::NeedMore);
    assert_eq!(probe(C, &[0x16]), Probe::NeedMore);
    assert_eq!(probe(C, &[0x16, 3]), Probe::NeedMore);
    assert_eq!(probe(C, &[0x16, 3, 1]), Probe::Match);
    assert_eq!(probe(C, &[0x16, 3, 4]), Probe::NoMatch);
    assert_eq!(probe(C, &[0x17, 3, 3]), Probe::NoMatch);
    assert_eq!(probe(S, &[0x17, 3, 3]), Probe::Match);
    assert_eq!(probe(S, &[0x15, 3, 0]), Probe::Match);
    assert_eq!(probe(C, b"GET / HTTP/1.1"), Probe::NoMatch);
    assert_eq!(probe(C, b"G"), Probe::NoMatch);
    // SSLv2 ClientHello: 2-byte header, type 1, version.
    assert_eq!(probe(C, &[0x80, 0x2e, 0x01]), Probe::NeedMore);
    assert_eq!(probe(C, &[0x80, 0x2e, 0x01, 0x03, 0x01]), Probe::Match);
    assert_eq!(probe(C, &[0x80, 0x2e, 0x01, 0x00, 0x02]), Probe::Match);
    assert_eq!(probe(C, &[0x80, 0x2e, 0x01, 0x07, 0x07]), Probe::NoMatch);
    assert_eq!(probe(S, &[0x80, 0x2e, 0x01, 0x03, 0x01]), Probe::NoMatch);
    for v in [
        vector!("tls12_selfsigned.bin"),
        vector!("sslv2_upgrade.bin"),
        vector!("tls13_ja4.bin"),
    ] {
        let first_c = v.iter().find(|(d, _)| *d == C).unwrap();
        let first_s = v.iter().find(|(d, _)| *d == S).unwrap();
        assert_eq!(probe(C, &first_c.1), Probe::Match);
        assert_eq!(probe(S, &first_s.1), Probe::Match);
    }
}

// ---------------------------------------------------------------------------------------
// Robustness: pseudo-random and mutated inputs through every entry point.

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[test]
fn fuzz_smoke_never_panics() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let seeds: Vec<Vec<u8>> = [
        vector!("tls12_selfsigned.bin"),
        vector!("sslv2_upgrade.bin"),
        vector!("duplicate_hello.bin"),
        vector!("tls13_ja4.bin"),
        vector!("hrr.bin"),
    ]
    .iter()
    .map(|v| {
        v.iter()
            .flat_map(|(_, d)| d.iter().copied())
            .take(2048)
            .collect()
    })
    .collect();
    for i in 0..3000 {
        let r = rng.next();
        let data: Vec<u8> = if i % 3 == 0 {
            let len = (rng.next() % 600) as usize;
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            let mut d = seeds[(r % seeds.len() as u64) as usize].clone();
            let flips = 1 + rng.next() % 8;
            for _ in 0..flips {
                if d.is_empty() {
                    break;
                }
                let at = (rng.next() as usize) % d.len();
                match rng.next() % 4 {
                    0 => d[at] = rng.next() as u8,
                    1 => d[at] ^= 0x80,
                    2 => {
                        d.truncate(at);
                    }
                    _ => d.insert(at, rng.next() as u8),
                }
            }
            d
        };
        crate::fuzzing::fuzz_records(&data);
        let mut framed = vec![r as u8];
        framed.extend_from_slice(&data);
        crate::fuzzing::fuzz_stream(&framed);
        if i % 50 == 0 {
            crate::fuzzing::fuzz_cert(&data);
        }
    }
}
