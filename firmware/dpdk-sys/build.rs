//! With the `bind` feature: finds DPDK with pkg-config, generates bindings for the EAL,
//! ethdev, mempool and mbuf APIs with bindgen, and compiles the C shim for DPDK's
//! static-inline functions. Without it, nothing (the crate is empty).
// A build script reports failure by panicking with the reason.
#![allow(clippy::panic)]

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "bind")]
    bind::run();
}

#[cfg(feature = "bind")]
mod bind {
    use std::env;
    use std::path::PathBuf;

    pub(super) fn run() {
        println!("cargo:rerun-if-changed=src/shim.c");
        println!("cargo:rerun-if-changed=src/wrapper.h");
        let _lib = match pkg_config::Config::new()
            .atleast_version("22.11")
            .probe("libdpdk")
        {
            Ok(l) => l,
            Err(e) => panic!(
                "DPDK not found by pkg-config ({e}). Install Debian's libdpdk-dev 22.11 \
                 (apt-get install libdpdk-dev pkg-config libclang-dev), or build without \
                 the dpdk feature."
            ),
        };
        // `pkg-config --cflags libdpdk` also carries `-include rte_config.h` and -march,
        // which the pkg-config crate drops: ask for them as given.
        let cflags = std::process::Command::new("pkg-config")
            .args(["--cflags", "libdpdk"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let flags: Vec<String> = {
            let mut v = Vec::new();
            let mut it = cflags.split_whitespace();
            while let Some(f) = it.next() {
                if f == "-include" {
                    if let Some(h) = it.next() {
                        v.push(format!("-include{h}"));
                    }
                } else {
                    v.push(f.to_owned());
                }
            }
            if !v.iter().any(|f| f.starts_with("-include")) {
                v.push("-includerte_config.h".into());
            }
            v
        };

        let mut cc = cc::Build::new();
        cc.file("src/shim.c").warnings(false).opt_level(2);
        for f in &flags {
            cc.flag(f);
        }
        cc.compile("probe_dpdk_shim");

        let bindings = bindgen::Builder::default()
            .header("src/wrapper.h")
            .clang_args(flags.iter().filter(|f| !f.starts_with("-march")))
            .allowlist_function("rte_eal_init|rte_eal_cleanup|rte_strerror|rte_socket_id")
            .allowlist_function("rte_thread_register|rte_thread_unregister")
            .allowlist_function(
                "rte_eth_dev_count_avail|rte_eth_dev_info_get|rte_eth_dev_configure",
            )
            .allowlist_function("rte_eth_rx_queue_setup|rte_eth_tx_queue_setup|rte_eth_dev_start")
            .allowlist_function("rte_eth_dev_stop|rte_eth_dev_close|rte_eth_dev_socket_id")
            .allowlist_function("rte_eth_stats_get|rte_eth_stats_reset|rte_eth_promiscuous_enable")
            .allowlist_function("rte_eth_dev_adjust_nb_rx_tx_desc|rte_eth_dev_get_name_by_port")
            .allowlist_function("rte_eth_dev_is_valid_port|rte_eth_link_get_nowait")
            .allowlist_function(
                "rte_eth_find_next_owned_by|rte_pktmbuf_pool_create|rte_mempool_free",
            )
            .allowlist_function("rte_mbuf_dynfield_lookup|rte_mbuf_dynflag_lookup")
            .allowlist_function("probe_.*")
            .allowlist_type("rte_eth_conf|rte_eth_dev_info|rte_eth_stats|rte_eth_link")
            .allowlist_var("RTE_ETH_MQ_.*|RTE_MAX_ETHPORTS|RTE_ETHDEV_QUEUE_STAT_CNTRS")
            .allowlist_var("RTE_ETH_NAME_MAX_LEN|RTE_MBUF_DEFAULT_DATAROOM|RTE_PKTMBUF_HEADROOM")
            .allowlist_var("RTE_MBUF_DYNFIELD_TIMESTAMP_NAME|RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME")
            .opaque_type(
                "rte_mbuf|rte_mempool|rte_l2tpv2_combined_msg_hdr|rte_arp_hdr|rte_arp_ipv4",
            )
            .derive_default(true)
            .layout_tests(false)
            .generate_comments(false)
            .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
            .generate()
            .unwrap_or_else(|e| panic!("bindgen over DPDK's headers: {e}"));
        let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
        bindings
            .write_to_file(out.join("bindings.rs"))
            .unwrap_or_else(|e| panic!("writing the DPDK bindings: {e}"));
    }
}
