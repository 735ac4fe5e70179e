//! Detection-buffer tests: every vector is fed whole and byte by byte and must give the same
//! snapshots; the expected contents are what Suricata 7.0.10 put in each sticky buffer for the
//! same bytes (read back with Lua-dumping rules on crafted captures).
use std::sync::Arc;

use events::app::{AppOutput, StreamParser};
use events::Body;
use types::Direction::{self, ToClient as S, ToServer as C};

use crate::{HttpConfig, HttpState};

type Seg<'a> = (Direction, &'a [u8]);

use crate::inspect::{REQUEST_BUFFERS as REQUEST, RESPONSE_BUFFERS as RESPONSE};

/// One snapshot, flattened: `(buffer, side, index) -> bytes`, plus numbers and completeness.
#[derive(Debug, PartialEq, Eq)]
struct Snap {
    tx_id: Option<u64>,
    bufs: Vec<(&'static str, char, usize, Vec<u8>)>,
    stat_code: Option<u64>,
    complete: (bool, bool),
}

impl Snap {
    fn of(o: &AppOutput) -> Option<Snap> {
        let s = o.inspect.as_deref()?;
        assert_eq!(s.app_proto(), "http");
        let mut bufs = Vec::new();
        for (dir, side, names) in [(C, 'C', REQUEST), (S, 'S', RESPONSE)] {
            for name in names {
                for i in 0..64 {
                    let Some(b) = s.buffer(name, dir, i) else {
                        break;
                    };
                    assert!(!b.is_empty(), "{name} empty");
                    bufs.push((*name, side, i, b.into_owned()));
                }
            }
        }
        Some(Snap {
            tx_id: o.tx_id,
            bufs,
            stat_code: s.number("http.stat_code"),
            complete: (s.complete(C), s.complete(S)),
        })
    }

    /// Buffer `name` of `side` (`'C'` request, `'S'` response), index 0.
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
}

fn run(cfg: &Arc<HttpConfig>, segs: &[Seg<'_>], bytewise: bool) -> Vec<Snap> {
    let mut st = HttpState::new(Arc::clone(cfg));
    let mut out = Vec::new();
    for (d, data) in segs {
        if bytewise {
            for b in data.iter() {
                let _ = st.parse(*d, std::slice::from_ref(b), &mut out);
            }
        } else {
            let _ = st.parse(*d, data, &mut out);
        }
    }
    st.flush(&mut out);
    // Only the outputs that log a transaction carry a snapshot.
    for o in &out {
        if o.inspect.is_some() {
            assert!(matches!(o.body, Body::Http(_)), "snapshot on {:?}", o.body);
        }
    }
    out.iter().filter_map(Snap::of).collect()
}

fn inspecting() -> Arc<HttpConfig> {
    Arc::new(HttpConfig {
        inspect: true,
        ..HttpConfig::default()
    })
}

/// Snapshots of a vector, identical whole and byte by byte.
fn snaps(segs: &[Seg<'_>]) -> Vec<Snap> {
    let cfg = inspecting();
    let whole = run(&cfg, segs, false);
    let bytes = run(&cfg, segs, true);
    assert_eq!(whole, bytes, "whole vs byte-by-byte differ");
    whole
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn off_by_default() {
    let cfg = Arc::new(HttpConfig::default());
    let mut st = HttpState::new(cfg);
    let mut out = Vec::new();
    let _ = st.parse(C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut out);
    let _ = st.parse(S, OK, &mut out);
    st.flush(&mut out);
    assert!(out.iter().any(|o| matches!(o.body, Body::Http(_))));
    assert!(out.iter().all(|o| o.inspect.is_none()));
}

#[test]
fn request_and_response_buffers() {
    let s = snaps(&[
        (
            C,
            b"GET /c HTTP/1.1\r\nHost: a.example\r\nCookie: a=1\r\nX-Rep: one\r\nCookie: b=2\r\n\
              X-Fold: first\r\n  second\r\nx-rep: two\r\nUser-Agent: UA\r\nAccept: */*\r\n\
              Accept-Encoding: gzip\r\nAccept-Language: en\r\nReferer: http://r/\r\n\
              Connection: keep-alive\r\n\r\n",
        ),
        (
            S,
            b"HTTP/1.1 200 OK\r\nSet-Cookie: s=1\r\nServer: srv\r\nset-cookie: t=2\r\n\
              Location: /x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
        ),
    ]);
    assert_eq!(s.len(), 1);
    let t = &s[0];
    assert_eq!(t.tx_id, Some(0));
    assert_eq!(t.complete, (true, true));
    let g = |n, d| t.get(n, d);
    assert_eq!(g("http.uri", 'C'), Some(&b"/c"[..]));
    assert_eq!(g("http.method", 'C'), Some(&b"GET"[..]));
    assert_eq!(g("http.request_line", 'C'), Some(&b"GET /c HTTP/1.1"[..]));
    assert_eq!(g("http.protocol", 'C'), Some(&b"HTTP/1.1"[..]));
    assert_eq!(g("http.cookie", 'C'), Some(&b"a=1, b=2"[..]));
    assert_eq!(g("http.user_agent", 'C'), Some(&b"UA"[..]));
    assert_eq!(g("http.accept", 'C'), Some(&b"*/*"[..]));
    assert_eq!(g("http.accept_enc", 'C'), Some(&b"gzip"[..]));
    assert_eq!(g("http.accept_lang", 'C'), Some(&b"en"[..]));
    assert_eq!(g("http.referer", 'C'), Some(&b"http://r/"[..]));
    assert_eq!(g("http.connection", 'C'), Some(&b"keep-alive"[..]));
    // Cookie is left out of http.header, not of the others.
    assert_eq!(
        g("http.header", 'C'),
        Some(
            &b"Host: a.example\r\nX-Rep: one, two\r\nX-Fold: first  second\r\nUser-Agent: UA\r\n\
               Accept: */*\r\nAccept-Encoding: gzip\r\nAccept-Language: en\r\n\
               Referer: http://r/\r\nConnection: keep-alive\r\n"[..]
        )
    );
    assert_eq!(
        g("http.header_names", 'C'),
        Some(
            &b"\r\nHost\r\nCookie\r\nX-Rep\r\nX-Fold\r\nUser-Agent\r\nAccept\r\nAccept-Encoding\r\n\
               Accept-Language\r\nReferer\r\nConnection\r\n\r\n"[..]
        )
    );
    assert!(g("http.start", 'C').is_some_and(|b| b
        .starts_with(b"GET /c HTTP/1.1\r\nHost: a.example\r\nCookie: a=1, b=2\r\n")
        && b.ends_with(b"Connection: keep-alive\r\n\r\n")));
    assert!(g("http.header.raw", 'C')
        .is_some_and(|b| b.starts_with(b"Host: a.example\r\nCookie: a=1\r\n")
            && b.ends_with(b"keep-alive\r\n\r\n")));
    let hdrs = t.all("http.request_header", 'C');
    assert_eq!(hdrs.len(), 10);
    assert_eq!(hdrs[1], b"Cookie: a=1, b=2");
    // libhtp keeps the folding whitespace.
    assert_eq!(hdrs[3], b"X-Fold: first  second");
    // Response side.
    assert_eq!(g("http.stat_code", 'S'), Some(&b"200"[..]));
    assert_eq!(t.stat_code, Some(200));
    assert_eq!(g("http.stat_msg", 'S'), Some(&b"OK"[..]));
    assert_eq!(g("http.response_line", 'S'), Some(&b"HTTP/1.1 200 OK"[..]));
    assert_eq!(g("http.protocol", 'S'), Some(&b"HTTP/1.1"[..]));
    assert_eq!(g("http.cookie", 'S'), Some(&b"s=1, t=2"[..]));
    assert_eq!(g("http.server", 'S'), Some(&b"srv"[..]));
    assert_eq!(g("http.location", 'S'), Some(&b"/x"[..]));
    assert_eq!(g("http.content_type", 'S'), Some(&b"text/plain"[..]));
    assert_eq!(g("http.content_len", 'S'), Some(&b"2"[..]));
    assert_eq!(
        g("http.header", 'S'),
        Some(
            &b"Server: srv\r\nLocation: /x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"[..]
        )
    );
    assert_eq!(g("http.response_body", 'S'), Some(&b"ok"[..]));
    assert_eq!(g("file.data", 'S'), Some(&b"ok"[..]));
    assert_eq!(t.all("http.response_header", 'S').len(), 5);
    // Request-only buffers are not offered to the client side and vice versa.
    assert_eq!(g("http.server", 'C'), None);
    assert_eq!(g("http.request_body", 'C'), None);
}

#[test]
fn start_line_without_headers_and_empty_buffers() {
    let s = snaps(&[
        (C, b"GET /nohdr HTTP/1.0\r\n\r\n"),
        (S, b"HTTP/1.0 200 OK\r\n\r\nbody-until-close"),
    ]);
    let t = &s[0];
    // No blank line after a header-less start line; no empty http.header.
    assert_eq!(
        t.get("http.start", 'C'),
        Some(&b"GET /nohdr HTTP/1.0\r\n"[..])
    );
    assert_eq!(t.get("http.start", 'S'), Some(&b"HTTP/1.0 200 OK\r\n"[..]));
    assert_eq!(t.get("http.header", 'C'), None);
    assert_eq!(t.get("http.header_names", 'S'), None);
    assert_eq!(
        t.get("http.response_body", 'S'),
        Some(&b"body-until-close"[..])
    );
}

#[test]
fn hosts_and_uris() {
    let s = snaps(&[
        (
            C,
            b"GET http://User:Pw@Abs.Example.COM.:8080/a/../b/%41%2fz?q=%41+b#frag HTTP/1.1\r\n\
              Host: other.example:81\r\n\r\n",
        ),
        (S, OK),
        (
            C,
            b"GET /a/./b//c/%2e%2e/d?x=%20y&z=%2f HTTP/1.1\r\nHost: EXAMPLE.com.:8080\r\n\r\n",
        ),
        (S, OK),
        (C, b"GET / HTTP/1.1\r\nHost:  Spaced.Example \r\n\r\n"),
        (S, OK),
    ]);
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].get("http.uri", 'C'), Some(&b"/b/A/z?q=A+b#frag"[..]));
    assert_eq!(s[0].get("http.host", 'C'), Some(&b"abs.example.com"[..]));
    assert_eq!(
        s[0].get("http.host.raw", 'C'),
        Some(&b"abs.example.com"[..])
    );
    assert_eq!(s[1].get("http.uri", 'C'), Some(&b"/a/b/d?x= y&z=/"[..]));
    assert_eq!(
        s[1].get("http.uri.raw", 'C'),
        Some(&b"/a/./b//c/%2e%2e/d?x=%20y&z=%2f"[..])
    );
    // A Host header with a port keeps its case and dots; the raw buffer is the whole value.
    assert_eq!(s[1].get("http.host", 'C'), Some(&b"EXAMPLE.com."[..]));
    assert_eq!(
        s[1].get("http.host.raw", 'C'),
        Some(&b"EXAMPLE.com.:8080"[..])
    );
    assert_eq!(s[2].get("http.host", 'C'), Some(&b"spaced.example"[..]));
    assert_eq!(s[2].get("http.host.raw", 'C'), Some(&b"Spaced.Example"[..]));
}

#[test]
fn trailers_and_continue_in_raw_headers() {
    let s = snaps(&[
        (
            C,
            b"POST /chunk HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n0\r\nX-Trailer: tv\r\n\r\n",
        ),
        (
            S,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-RTrailer: rv\r\n\r\n",
        ),
        (
            C,
            b"POST /cont HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
        ),
        (S, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (C, b"data"),
        (S, OK),
    ]);
    assert_eq!(s.len(), 2);
    assert_eq!(
        s[0].get("http.header.raw", 'C'),
        Some(&b"Host: a\r\nTransfer-Encoding: chunked\r\n\r\nX-Trailer: tv\r\n\r\n"[..])
    );
    assert_eq!(
        s[0].get("http.header.raw", 'S'),
        Some(&b"Transfer-Encoding: chunked\r\n\r\nX-RTrailer: rv\r\n\r\n"[..])
    );
    assert_eq!(s[0].get("http.request_body", 'C'), Some(&b"hello"[..]));
    assert_eq!(s[0].get("http.response_body", 'S'), Some(&b"abc"[..]));
    // After a 100 Continue, the raw response headers run on through the final status line.
    assert_eq!(
        s[1].get("http.header.raw", 'S'),
        Some(&b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"[..])
    );
    assert_eq!(s[1].get("http.stat_code", 'S'), Some(&b"200"[..]));
    assert_eq!(s[1].get("http.request_body", 'C'), Some(&b"data"[..]));
}

#[test]
fn files_and_decoded_bodies() {
    let multipart: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\
        Content-Type: text/plain\r\n\r\nfile-one-content\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"g\"\r\n\r\nfield\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"h\"; filename=\"b.txt\"\r\n\r\nfile-two\r\n--XyZ--\r\n";
    let head = format!(
        "POST /form HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
         Content-Length: {}\r\n\r\n",
        multipart.len()
    );
    // gzip of "compressed response body"
    let gz: &[u8] = &[
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x4b, 0xce, 0xcf, 0x2d, 0x28,
        0x4a, 0x2d, 0x2e, 0x4e, 0x4d, 0x51, 0x28, 0x4a, 0x2d, 0x2e, 0xc8, 0xcf, 0x2b, 0x4e, 0x55,
        0x48, 0xca, 0x4f, 0xa9, 0x04, 0x00, 0x8c, 0x0d, 0x85, 0x6c, 0x18, 0x00, 0x00, 0x00,
    ];
    let gz_head = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    );
    let s = snaps(&[
        (
            C,
            b"PUT /up.bin HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nputbody!!",
        ),
        (S, OK),
        (C, head.as_bytes()),
        (C, multipart),
        (S, OK),
        (C, b"GET /gz HTTP/1.1\r\nHost: a\r\n\r\n"),
        (S, gz_head.as_bytes()),
        (S, gz),
    ]);
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].all("file.data", 'C'), vec![&b"putbody!!"[..]]);
    assert_eq!(s[0].get("http.request_body", 'C'), Some(&b"putbody!!"[..]));
    assert_eq!(
        s[1].all("file.data", 'C'),
        vec![&b"file-one-content"[..], &b"file-two"[..]]
    );
    assert!(s[1]
        .get("http.request_body", 'C')
        .is_some_and(|b| b.starts_with(b"--XyZ\r\n")));
    assert_eq!(
        s[2].get("http.response_body", 'S'),
        Some(&b"compressed response body"[..])
    );
}

#[test]
fn unanswered_orphan_and_connect() {
    let s = snaps(&[
        (C, b"CONNECT secure.example:443 HTTP/1.1\r\nHost: secure.example:443\r\nUser-Agent: x\r\n\r\n"),
        (S, b"HTTP/1.1 200 Connection established\r\n\r\n"),
    ]);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].get("http.uri", 'C'), None);
    assert_eq!(
        s[0].get("http.uri.raw", 'C'),
        Some(&b"secure.example:443"[..])
    );
    assert_eq!(s[0].get("http.host.raw", 'C'), Some(&b"secure.example"[..]));
    assert_eq!(
        s[0].get("http.header", 'C'),
        Some(&b"Host: secure.example:443\r\nUser-Agent: x\r\n"[..])
    );
    assert_eq!(
        s[0].get("http.start", 'S'),
        Some(&b"HTTP/1.1 200 Connection established\r\n"[..])
    );

    // A request cut inside its headers and left without an answer is logged (with its
    // snapshot) at flow end; what arrived is its header block.
    let s = snaps(&[(C, b"GET /noresp HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n")]);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].complete, (true, false));
    assert_eq!(
        s[0].get("http.header", 'C'),
        Some(&b"Host: a\r\nX-A: 1\r\n"[..])
    );
    assert_eq!(s[0].get("http.stat_code", 'S'), None);
    assert_eq!(s[0].stat_code, None);

    // A response nobody asked for: the made-up URI is raw only.
    let s = snaps(&[(S, OK)]);
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0].get("http.uri.raw", 'C'),
        Some(&b"/libhtp::request_uri_not_seen"[..])
    );
    assert_eq!(s[0].get("http.uri", 'C'), None);
    assert_eq!(s[0].get("http.request_line", 'C'), None);
}

#[test]
fn snapshot_copies_when_the_transaction_stays() {
    // The server answers before the request body is complete: the request side still points
    // at the transaction when it completes, so it stays live and the snapshot is a copy with
    // the bodies moved in.
    let cfg = inspecting();
    let mut st = HttpState::new(Arc::clone(&cfg));
    let mut out = Vec::new();
    let _ = st.parse(
        C,
        b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\na",
        &mut out,
    );
    let _ = st.parse(S, OK, &mut out);
    assert!(out.iter().all(|o| o.inspect.is_none()));
    let _ = st.parse(C, b"bc", &mut out);
    let snap = out.iter().find_map(|o| o.inspect.as_deref()).map(|s| {
        (
            s.buffer("http.request_body", C, 0).map(|b| b.into_owned()),
            s.buffer("file.data", C, 0).map(|b| b.into_owned()),
        )
    });
    assert_eq!(snap, Some((Some(b"abc".to_vec()), Some(b"abc".to_vec()))));
    // Whatever stayed live no longer holds the bodies.
    assert!(st.txs().all(|t| t.request_body().data.is_empty()));
}

#[test]
fn fuzz_with_inspect_smoke() {
    // The fuzz entry queries every buffer of every snapshot; a few thousand pseudo-random and
    // mutated inputs must not panic.
    let seeds: [&[u8]; 3] = [
        b"GET /a?b=%41 HTTP/1.1\r\nHost: x\r\nCookie: c\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n",
        b"POST /f HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=B\r\n\r\n--B\r\n",
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..3000u32 {
        let seed = seeds[round as usize % seeds.len()];
        let mut data = vec![(next() & 0xff) as u8, 0x40 | (next() & 0x3f) as u8];
        for &b in seed {
            data.push(if next() % 3 == 0 { 0 } else { 1 }); // control: direction
            data.push(if next() % 17 == 0 {
                (next() & 0xff) as u8
            } else {
                b
            });
        }
        crate::fuzzing::fuzz_http(&data);
    }
}
