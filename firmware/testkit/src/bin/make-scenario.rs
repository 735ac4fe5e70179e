//! Writes the Raiz0WorM scenario capture (see `testkit::scenario`): DNS, web pages, scanner
//! probes and worm exchanges over DAYS days. About 3 events per lookup.
//!
//! usage: make-scenario OUT.pcap [LOOKUPS] [DAYS] [ATTACKS] [START_UNIX_SECS]

use std::io::BufWriter;

use testkit::scenario::raiz0worm;
use types::Timestamp;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(out) = args.get(1) else {
        eprintln!("usage: make-scenario OUT.pcap [LOOKUPS] [DAYS] [ATTACKS] [START_UNIX_SECS]");
        std::process::exit(2);
    };
    let num = |i: usize, d: u64| -> u64 {
        args.get(i).map_or(d, |s| {
            s.parse().unwrap_or_else(|_| {
                eprintln!("make-scenario: `{s}` is not a number");
                std::process::exit(2)
            })
        })
    };
    let lookups = num(2, 34_000) as usize;
    let days = num(3, 60);
    let attacks = num(4, 12) as usize;
    let start = Timestamp::from_secs_nanos(num(5, 1_788_000_000), 0);
    let s = raiz0worm(
        start,
        days,
        lookups,
        attacks,
        &[[10, 1, 0, 10], [10, 1, 0, 11], [10, 1, 0, 12]],
    );
    let f = std::fs::File::create(out).unwrap_or_else(|e| {
        eprintln!("make-scenario: {out}: {e}");
        std::process::exit(1)
    });
    if let Err(e) = s.capture.write_pcap(&mut BufWriter::new(f)) {
        eprintln!("make-scenario: {out}: {e}");
        std::process::exit(1);
    }
    eprintln!(
        "make-scenario: {out}: {} frames; {} lookups, {} pages, {} probes, {} worm exchanges",
        s.capture.frames.len(),
        s.dns_lookups,
        s.web_pages,
        s.probes,
        s.attacks.len()
    );
}
