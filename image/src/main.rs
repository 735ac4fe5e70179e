//! `probe-image`: release signing keys and signed update bundles, for `image/build` and for
//! release engineers. The bundle format and its checks live in the `update` crate, which the
//! probe uses to verify what this tool writes.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use mgmt_proto::SigningKey;
use update::bundle::{self, NewBundle, Trust};

/// Release signing keys and signed A/B update bundles for the probe appliance.
///
/// `image/build` calls this to sign the bundle it builds; docs/update.md describes the format.
#[derive(Debug, Parser)]
#[command(name = "probe-image", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a release signing key: DIR/release.pk8 (PKCS#8, mode 0600: keep it offline)
    /// and DIR/release.pub (the trusted-keys line the image carries).
    ///
    /// Example: probe-image keygen --out keys/
    Keygen {
        /// Directory for the key files.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Replace existing key files.
        #[arg(long)]
        force: bool,
    },
    /// Write a signed update bundle from a root filesystem image, a kernel and an initrd.
    ///
    /// Example: probe-image bundle --key keys/release.pk8 --version 0.2.0 --generation 7
    /// --compatible qemu-x86_64 --rootfs root.squashfs --kernel vmlinuz --initrd initrd.img
    /// -o ndr-probe-0.2.0.bundle
    Bundle {
        /// The release signing key (PKCS#8).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Product name.
        #[arg(long, default_value = "ndr-probe")]
        product: String,
        /// Human version.
        #[arg(long)]
        version: String,
        /// Generation: must be higher than every generation released before.
        #[arg(long)]
        generation: u64,
        /// Hardware ids the bundle may be installed on (repeat or comma-separate).
        #[arg(long, value_delimiter = ',', required = true)]
        compatible: Vec<String>,
        /// Extra kernel command-line arguments.
        #[arg(long, default_value = "")]
        cmdline: String,
        /// Build time to record (RFC 3339; default: SOURCE_DATE_EPOCH or none, for
        /// reproducible bundles).
        #[arg(long, default_value = "")]
        created: String,
        /// The read-only root (squashfs).
        #[arg(long, value_name = "FILE")]
        rootfs: PathBuf,
        /// The kernel.
        #[arg(long, value_name = "FILE")]
        kernel: PathBuf,
        /// The initrd.
        #[arg(long, value_name = "FILE")]
        initrd: PathBuf,
        /// The bundle to write.
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Verify a bundle against trusted keys and print its manifest (JSON).
    ///
    /// Example: probe-image inspect --trust keys/release.pub ndr-probe-0.2.0.bundle
    Inspect {
        /// Trusted keys file.
        #[arg(long, value_name = "FILE")]
        trust: PathBuf,
        /// The bundle.
        bundle: PathBuf,
    },
    /// Print a shell completion script to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("probe-image: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Keygen { out, force } => {
            fs::create_dir_all(&out).with_context(|| out.display().to_string())?;
            let pk8 = out.join("release.pk8");
            if pk8.exists() && !force {
                anyhow::bail!("{} exists (--force replaces it)", pk8.display());
            }
            let (doc, key) = SigningKey::generate()?;
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&pk8)
                .with_context(|| pk8.display().to_string())?;
            f.write_all(&doc)?;
            let public = out.join("release.pub");
            fs::write(&public, bundle::trust_line(&key))
                .with_context(|| public.display().to_string())?;
            println!("key {} in {}", key.id(), out.display());
        }
        Command::Bundle {
            key,
            product,
            version,
            generation,
            compatible,
            cmdline,
            created,
            rootfs,
            kernel,
            initrd,
            out,
        } => {
            let doc = fs::read(&key).with_context(|| key.display().to_string())?;
            let key = SigningKey::from_pkcs8(&doc).with_context(|| key.display().to_string())?;
            let spec = NewBundle {
                product,
                version,
                generation,
                compatible,
                cmdline,
                created,
                parts: vec![
                    ("rootfs".into(), rootfs),
                    ("kernel".into(), kernel),
                    ("initrd".into(), initrd),
                ],
            };
            let m = bundle::create(&spec, &key, &out)?;
            println!(
                "{}: {} {} generation {}, {} bytes of parts, signed by {}",
                out.display(),
                m.product,
                m.version,
                m.generation,
                m.parts.iter().map(|p| p.size).sum::<u64>(),
                key.id()
            );
        }
        Command::Inspect { trust, bundle } => {
            let v = bundle::open(&bundle, &Trust::load(&trust)?)
                .with_context(|| bundle.display().to_string())?;
            v.check_parts(&mut |_| {})
                .with_context(|| bundle.display().to_string())?;
            let out = serde_json::json!({"signer": v.signer, "manifest": v.manifest});
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "probe-image",
                &mut std::io::stdout(),
            );
        }
    }
    Ok(())
}
