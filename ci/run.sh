#!/usr/bin/env bash
# The one CI entry point. Jobs:
#   ci/run.sh test        fmt check, clippy -D warnings, the whole test suite (the README's test
#                         command; needs only a Rust toolchain)
#   ci/run.sh conformance compare with Suricata 7 on ../shared/corpus: events, suricata-verify
#                         alert checks, alert parity with ET Open (needs suricata, tshark)
#   ci/run.sh fuzz [SECS] smoke-run every fuzz target (needs cargo-fuzz)
#   ci/run.sh vnic        live AF_PACKET capture on a veth pair in a network namespace, fed by
#                         tcpreplay (needs root, iproute2, tcpreplay; skipped otherwise)
#   ci/run.sh image       build the appliance image and boot-test it under QEMU: events, A->B
#                         update, power cuts, rollback (ci/image-test; needs root, ~25 min)
#   ci/run.sh bench       the benchmarks in ci/bench (needs suricata; ci/bench/hunt needs jq;
#                         ci/bench/fleet starts 100 probes on loopback)
#   ci/run.sh all         test, then conformance and fuzz smoke when their tools exist
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:-test}

step() { printf '\n== %s\n' "$*"; }

run_test() {
  step "cargo fmt --check"
  cargo fmt --all -- --check
  step "cargo clippy -D warnings"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  if pkg-config --exists libdpdk 2>/dev/null; then
    step "cargo clippy -D warnings, DPDK build (--features dpdk)"
    cargo clippy -p probed -p capture -p pipeline -p dpdk-sys --features probed/dpdk --all-targets --locked -- -D warnings
  else
    echo "ci/run.sh: libdpdk-dev not found by pkg-config: the DPDK build is not checked"
  fi
  step "layering (a crate depends only on crates above it)"
  ci/layering
  step "cargo test"
  cargo test --workspace --release --locked
  step "example replay"
  cargo run --release --locked -q -p probed -- replay --no-progress -o target/example.eve.json testdata/pcaps/example.pcap
}

run_conformance() {
  step "release build"
  cargo build --release --locked -p probed
  step "conformance against Suricata 7 (events, and suricata-verify alert checks)"
  ci/conformance --alerts --report target/conformance.json
  step "alert parity with Suricata 7 on full ET Open"
  # Reported, not gating: the oracle runs a long-lived Suricata over a unix socket.
  ci/alert-parity --report target/alert-parity.json || echo "ci/run.sh: alert parity did not complete"
}

run_fuzz() {
  local secs=${1:-20}
  step "fuzz smoke (${secs}s per target)"
  mkdir -p target
  for t in $(cargo fuzz list --fuzz-dir firmware/fuzz); do
    # Fuzz a scratch copy of the committed seeds so the run never writes into the repository.
    rm -rf "target/fuzz-corpus/$t" && mkdir -p "target/fuzz-corpus/$t"
    cp firmware/fuzz/corpus/"$t"/* "target/fuzz-corpus/$t/" 2>/dev/null || true
    RUSTC_BOOTSTRAP=1 cargo fuzz run -O --fuzz-dir firmware/fuzz "$t" "target/fuzz-corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 >/dev/null 2>"target/fuzz-$t.log" \
      || { tail -40 "target/fuzz-$t.log"; exit 1; }
    echo "  $t: $(grep -o 'Done [0-9]* runs' "target/fuzz-$t.log" | tail -1)"
  done
}

case "$job" in
  test) run_test ;;
  conformance) run_conformance ;;
  fuzz) run_fuzz "${2:-20}" ;;
  vnic) step "virtual-NIC capture (AF_PACKET fanout vs replay)"; ci/vnic-test ;;
  image) step "appliance image boot test (QEMU)"; ci/image-test ;;
  bench) ci/bench/run && ci/bench/run --et-open && ci/bench/rules && ci/bench/hunt && ci/bench/fleet ;;
  all)
    run_test
    if [ -d ../shared/corpus ] && command -v suricata >/dev/null; then run_conformance; fi
    if command -v cargo-fuzz >/dev/null; then run_fuzz 10; fi
    ;;
  *) sed -n 2,13p "$0"; exit 2 ;;
esac
