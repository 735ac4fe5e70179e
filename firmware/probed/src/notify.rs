//! systemd's readiness protocol (sd_notify): datagrams such as `READY=1` to the socket named
//! by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace), and watchdog pings when
//! `$WATCHDOG_USEC` asks for them. Without systemd every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Sends one notification; failures are logged, never fatal (systemd may be gone).
pub(crate) fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let path = path.to_string_lossy().into_owned();
    let r = (|| -> std::io::Result<()> {
        let sock = UnixDatagram::unbound()?;
        if let Some(name) = path.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            sock.send_to_addr(state.as_bytes(), &addr)?;
        } else {
            sock.send_to(state.as_bytes(), &path)?;
        }
        Ok(())
    })();
    if let Err(e) = r {
        tracing::debug!("sd_notify {state:?} to {path}: {e}");
    }
}

/// The watchdog interval systemd asked for, if it asked this process.
fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok() != Some(std::process::id()) {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Pings the watchdog at half its interval until `stop` is set.
pub(crate) fn start_watchdog(stop: Arc<AtomicBool>) {
    let Some(every) = watchdog_interval() else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let step = Duration::from_millis(100).min(every / 2);
            let mut waited = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(step);
                waited += step;
                if waited >= every / 2 {
                    waited = Duration::ZERO;
                    notify("WATCHDOG=1");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("watchdog thread: {e}");
    }
}
