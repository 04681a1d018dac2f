//! Serving the node over HTTP: the arguments (`ServeArgs`, shared by the
//! `hiss-node` binary and `hissc node`, so the wheel's one binary serves too),
//! path-style S3 with AWS Signature V4 on every request (the keys in
//! `HISS_ACCESS_KEY` and `HISS_SECRET_KEY`), logs as JSON lines or text, and a
//! graceful stop on SIGINT or SIGTERM: no new connections, requests in flight
//! finish (an upload in flight either completes or leaves nothing).

use crate::node::Compute;
use crate::routes::Routes;
use crate::s3::{Limits, Node};
use crate::slots::SlotsSpec;
use crate::store::Store;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Where the node listens, its buffer, its keys, its limits and its tier.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (use port 0 for any free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: String,
    /// The buffer directory.
    #[arg(long)]
    pub data: PathBuf,
    /// Access key (every request must be signed with it).
    #[arg(long, env = "HISS_ACCESS_KEY", hide_env_values = true)]
    pub access_key: String,
    /// Secret key.
    #[arg(long, env = "HISS_SECRET_KEY", hide_env_values = true)]
    pub secret_key: String,
    /// The largest object or part, in bytes.
    #[arg(long, default_value_t = 5 << 30)]
    pub max_object_bytes: u64,
    /// Uploads received at once; more are answered `SlowDown` (clients retry).
    #[arg(long, default_value_t = 64)]
    pub max_uploads: usize,
    /// The persistent tier: a directory (default: `DATA/tier`), or
    /// `s3://BUCKET[/PREFIX]` on the S3 service at `--tier-endpoint` (keys in
    /// `HISS_TIER_ACCESS_KEY` and `HISS_TIER_SECRET_KEY`).
    #[arg(long)]
    pub tier: Option<String>,
    /// The S3 tier's endpoint (`http://host:port`).
    #[arg(long)]
    pub tier_endpoint: Option<String>,
    /// The S3 tier's region.
    #[arg(long, default_value = "us-east-1")]
    pub tier_region: String,
    /// Keep flushed objects' bytes in the buffer too (by default they are
    /// evicted and read back from the tier).
    #[arg(long)]
    pub keep_flushed: bool,
    /// The slots objects run on: `cpu:N` (the kernel compiled for the CPU, one
    /// core each) and `emulated:M` (the cycle-accurate simulator), e.g.
    /// `cpu:8,emulated:1`. Default: one CPU slot per core.
    #[arg(long, value_name = "KIND:N,...")]
    pub slots: Option<crate::slots::SlotsSpec>,
    /// The fraction of objects run on a CPU slot that are run again in an
    /// emulated slot and compared (a difference is an error in the log and in
    /// the metric `hiss_verify_mismatches_total`).
    #[arg(long, default_value_t = 0.0, value_name = "P", value_parser = fraction)]
    pub verify_sample: f64,
    /// The most bytes the buffer holds (objects not yet evicted to the tier,
    /// results, states, bodies arriving); a body that would pass it is
    /// answered 507 InsufficientStorage, as a full disk is. Default: what the
    /// file system of `--data` takes.
    #[arg(long, value_name = "BYTES")]
    pub buffer_bytes: Option<u64>,
    /// An object of a kernel without states also takes the CPU slots free
    /// when its run starts and shares its frames among their cores (for
    /// compute-bound kernels on a node with cores to spare; docs/node.md).
    #[arg(long)]
    pub split_objects: bool,
    /// Log format: `text` or `json`.
    #[arg(long, default_value = "text")]
    pub log_format: String,
}

/// A fraction from 0 to 1 (`--verify-sample`).
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("`{s}` is not a fraction from 0 to 1")),
    }
}

/// Serves the node until SIGINT or SIGTERM: exit 0 after a graceful stop, 1
/// when it cannot start (the reason on stderr), 2 when the runtime cannot start.
pub fn main(args: ServeArgs) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HISS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let sub = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        sub.json().init();
    } else {
        sub.init();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let store = Store::open(&args.data)
        .map_err(|e| format!("cannot open the buffer `{}`: {e}", args.data.display()))?;
    let tier = open_tier(&args)?;
    tracing::info!(tier = %tier.describe(), "persistent tier");
    let node = Node::new(
        store,
        Limits {
            max_object_bytes: args.max_object_bytes,
            max_uploads: args.max_uploads,
            buffer_bytes: args.buffer_bytes,
        },
        Compute {
            slots: args.slots.clone().unwrap_or_else(SlotsSpec::per_core),
            verify_sample: args.verify_sample,
            split_objects: args.split_objects,
        },
        tier.clone(),
    )?;
    tracing::info!(slots = %node.pool.spec(), verify_sample = args.verify_sample, "slots");
    let flush_signal = node.flush.clone();
    let flusher = crate::flush::Flusher {
        store: node.store.clone(),
        tier,
        metrics: node.metrics.clone(),
        signal: flush_signal.clone(),
        evict: !args.keep_flushed,
    };
    let flush_thread = std::thread::Builder::new()
        .name("flush".into())
        .spawn(move || flusher.run())
        .map_err(|e| e.to_string())?;
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let routes = Routes {
        store: node.store.clone(),
        events: node.events.clone(),
        metrics: node.metrics.clone(),
        pool: node.pool.clone(),
        closing,
    };
    let service = {
        let mut b = S3ServiceBuilder::new(node);
        b.set_auth(SimpleAuth::from_single(args.access_key, args.secret_key));
        b.set_route(routes);
        b.set_validation(crate::routes::Names);
        crate::fresh::Fresh { inner: b.build() }
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // the first line on stdout: where the node listens (tests read it)
    println!("hiss-node listening on http://{addr}");
    tracing::info!(%addr, data = %args.data.display(), "listening");
    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let service = Arc::new(service);
    loop {
        let socket = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = ctrl_c.as_mut() => break,
            _ = sigterm.recv() => break,
        };
        let conn = http.serve_connection(TokioIo::new(socket), (*service).clone());
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    tracing::info!("stopping: finishing requests in flight");
    let _ = closing_tx.send(true);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
            tracing::warn!("requests still in flight after 30 s; stopping anyway");
        }
    }
    // the flusher finishes the object in hand; the rest is flushed at the next start
    flush_signal.stop();
    let _ = tokio::task::spawn_blocking(move || flush_thread.join()).await;
    tracing::info!("stopped");
    Ok(())
}

/// The node's name in a shared tier: its host name and the sha256 of its
/// buffer's absolute path (stable across restarts, distinct between nodes).
fn node_name(args: &ServeArgs) -> Result<String, String> {
    let data = std::fs::canonicalize(&args.data).map_err(|e| e.to_string())?;
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let h =
        hiss_runtime::bundle::sha256_hex(format!("{}\n{}", host.trim(), data.display()).as_bytes());
    Ok(h[..16].to_string())
}

/// The persistent tier the arguments name.
fn open_tier(args: &ServeArgs) -> Result<Arc<dyn crate::tier::Tier>, String> {
    use crate::tier::{DirTier, S3Tier};
    match &args.tier {
        Some(t) if t.starts_with("s3://") => {
            let rest = &t["s3://".len()..];
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let prefix = if prefix.is_empty() || prefix.ends_with('/') {
                prefix.to_string()
            } else {
                format!("{prefix}/")
            };
            let endpoint = args
                .tier_endpoint
                .as_deref()
                .ok_or("an S3 tier needs --tier-endpoint http://HOST:PORT")?;
            let key = std::env::var("HISS_TIER_ACCESS_KEY")
                .map_err(|_| "an S3 tier needs HISS_TIER_ACCESS_KEY")?;
            let secret = std::env::var("HISS_TIER_SECRET_KEY")
                .map_err(|_| "an S3 tier needs HISS_TIER_SECRET_KEY")?;
            Ok(Arc::new(S3Tier::new(
                endpoint,
                bucket,
                &prefix,
                &args.tier_region,
                &key,
                &secret,
            )?))
        }
        Some(dir) => Ok(Arc::new(DirTier::new(
            std::path::Path::new(dir),
            &node_name(args)?,
        )?)),
        None => Ok(Arc::new(DirTier::new(
            &args.data.join("tier"),
            &node_name(args)?,
        )?)),
    }
}
