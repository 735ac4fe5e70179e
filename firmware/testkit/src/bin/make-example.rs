//! Builds `testdata/pcaps/example.pcap`, the capture the README's first command replays:
//! DNS lookups, HTTP/1.1 (plain, gzip, chunked, POST), a ping, and the TLS 1.2 / 1.3 sessions
//! of `testdata/pcaps/tls-loopback.pcapng` (curl against `openssl s_server` on loopback, with a
//! self-signed certificate made for this purpose).
//!
//! usage: cargo run -p testkit --bin make-example [OUT]

use std::io::Write;

use testkit::{udp_frame, Capture, Conversation, Ep};
use types::Timestamp;

fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.') {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m
}

fn dns_answer(id: u16, name: &str, addr: [u8; 4]) -> Vec<u8> {
    let mut m = dns_query(id, name, 1);
    m[2] = 0x81;
    m[3] = 0x80;
    m[7] = 1;
    m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
    m.extend_from_slice(&addr);
    m
}

fn gzip(data: &[u8]) -> Vec<u8> {
    // A stored (uncompressed) deflate block inside a gzip member: valid gzip without a
    // compression library.
    let mut v = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    v.push(1);
    let len = data.len() as u16;
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&(!len).to_le_bytes());
    v.extend_from_slice(data);
    v.extend_from_slice(&crc32(data).to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn main() -> std::io::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "testdata/pcaps/example.pcap".into());
    let t0 = Timestamp::from_secs_nanos(1_764_000_000, 0);
    let client = [192, 168, 10, 23];
    let resolver = [192, 168, 10, 1];
    let web = [203, 0, 113, 80];
    let mut cap = Capture::default();

    // DNS: A lookups answered by the resolver.
    for (i, (name, addr)) in [
        ("www.example.test", web),
        ("updates.example.test", [203, 0, 113, 81]),
    ]
    .iter()
    .enumerate()
    {
        let c = Ep::v4(client, 53_000 + i as u16);
        let r = Ep::v4(resolver, 53);
        let ts = Timestamp(t0.0 + i as u64 * 10_000_000);
        cap.push(
            ts,
            udp_frame(&c, &r, &dns_query(0x1000 + i as u16, name, 1)),
        );
        cap.push(
            Timestamp(ts.0 + 2_000_000),
            udp_frame(&r, &c, &dns_answer(0x1000 + i as u16, name, *addr)),
        );
    }

    // HTTP: a page, a gzip-compressed script and a chunked JSON answer on one keep-alive
    // connection, then a POST that uploads a small file.
    let mut cv = Conversation::new(
        Ep::v4(client, 49_152),
        Ep::v4(web, 80),
        Timestamp(t0.0 + 50_000_000),
    );
    cv.handshake(&mut cap);
    let page = b"<html><head><title>Example</title></head><body>Hello from the probe example.</body></html>\n";
    cv.send(
        &mut cap,
        true,
        b"GET /index.html HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
    );
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        page.len()
    )
    .into_bytes();
    resp.extend_from_slice(page);
    cv.send(&mut cap, false, &resp);
    let script = b"var payload = atob('UmFpejBXb3JN'); console.log(payload);\n".repeat(20);
    let gz = gzip(&script);
    cv.send(
        &mut cap,
        true,
        b"GET /static/app.js HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: curl/8.5.0\r\nAccept-Encoding: gzip\r\nReferer: http://www.example.test/index.html\r\n\r\n",
    );
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    resp.extend_from_slice(&gz);
    cv.send(&mut cap, false, &resp);
    cv.send(
        &mut cap,
        true,
        b"GET /api/status?verbose=1 HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: curl/8.5.0\r\n\r\n",
    );
    cv.send(
        &mut cap,
        false,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
          10\r\n{\"status\":\"ok\",\r\n\
          10\r\n\"uptime\":123456}\r\n0\r\n\r\n",
    );
    cv.close(&mut cap);

    let mut up = Conversation::new(
        Ep::v4(client, 49_153),
        Ep::v4([203, 0, 113, 81], 80),
        Timestamp(t0.0 + 900_000_000),
    );
    up.handshake(&mut cap);
    let body = b"report=weekly&hostname=ws-23&status=clean\n";
    let mut req = format!(
        "POST /upload/report.txt HTTP/1.1\r\nHost: updates.example.test\r\nUser-Agent: Updater/2.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    up.send(&mut cap, true, &req);
    up.send(
        &mut cap,
        false,
        b"HTTP/1.1 204 No Content\r\nServer: updater\r\n\r\n",
    );
    up.close(&mut cap);

    // The TLS sessions, moved to follow the rest.
    let tls = std::path::Path::new("testdata/pcaps/tls-loopback.pcapng");
    let mut src = capture::FileSource::new([tls]);
    let mut first: Option<u64> = None;
    while let Some(p) = src.next_packet() {
        let base = *first.get_or_insert(p.ts.0);
        cap.push(
            Timestamp(t0.0 + 2_000_000_000 + (p.ts.0 - base)),
            p.data.to_vec(),
        );
    }
    for e in src.take_errors() {
        eprintln!("make-example: {e}");
    }
    cap.frames.sort_by_key(|(ts, _)| *ts);
    let mut f = std::fs::File::create(&out)?;
    cap.write_pcap(&mut f)?;
    f.flush()?;
    eprintln!("make-example: {} frames written to {out}", cap.frames.len());
    Ok(())
}
