//! Archive ingest throughput on an EVE file, without the dataplane: how many events per second
//! the ingest thread sustains (parse, policy, tokens, CBOR, LZ4, index).
//!
//! usage: cargo run --release -p hunt --example ingest_bench -- EVE.json DATA_DIR
//! (`SERIAL=1`: one line at a time on this thread; default: chunks of `CHUNK` lines (600, about
//! what one 256 KiB chunk of the dataplane holds), transcoded in parallel as the ingest thread
//! does)

use std::io::BufRead;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(eve), Some(dir)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: ingest_bench EVE.json DATA_DIR");
        std::process::exit(2);
    };
    let lines: Vec<Vec<u8>> = std::io::BufReader::new(std::fs::File::open(eve)?)
        .split(b'\n')
        .collect::<Result<_, _>>()?;
    let store = store::Store::open(std::path::Path::new(dir))?;
    let mut ing = hunt::ingest::Ingest::open(&store, store::ArchiveConfig::default())?;
    let mut sink = std::io::sink();
    let parallel = std::env::var_os("SERIAL").is_none();
    let t = Instant::now();
    if parallel {
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        for chunk in refs.chunks(
            std::env::var("CHUNK")
                .ok()
                .and_then(|c| c.parse().ok())
                .unwrap_or(600),
        ) {
            ing.lines(chunk, &mut sink)?;
        }
    } else {
        for l in &lines {
            ing.line(l, &mut sink)?;
        }
    }
    let st = ing.finish(&mut sink)?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} events archived in {s:.3} s: {:.0} events/s, {:.1} MB/s of EVE",
        st.archived,
        st.archived as f64 / s,
        lines.iter().map(|l| l.len() + 1).sum::<usize>() as f64 / s / 1e6
    );
    Ok(())
}
