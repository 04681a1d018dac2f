//! `hiss-node --listen 127.0.0.1:9000 --data DIR`: serves the node over HTTP
//! (path-style S3, AWS Signature V4 with the keys in `HISS_ACCESS_KEY` and
//! `HISS_SECRET_KEY`), logs as JSON lines (`--log-format json`) or text, and stops
//! gracefully on SIGINT or SIGTERM: no new connections, requests in flight
//! finish (an upload in flight either completes or leaves nothing).

use clap::Parser;
use hiss_node::routes::Routes;
use hiss_node::s3::{Limits, Node};
use hiss_node::store::Store;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "hiss-node",
    version,
    about = "An S3-compatible HISS buffer node that runs kernels on the data as it arrives"
)]
struct Args {
    /// Address to listen on (use port 0 for any free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: String,
    /// The buffer directory.
    #[arg(long)]
    data: PathBuf,
    /// Access key (every request must be signed with it).
    #[arg(long, env = "HISS_ACCESS_KEY", hide_env_values = true)]
    access_key: String,
    /// Secret key.
    #[arg(long, env = "HISS_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// The largest object or part, in bytes.
    #[arg(long, default_value_t = 5 << 30)]
    max_object_bytes: u64,
    /// Uploads received at once; more are answered `SlowDown` (clients retry).
    #[arg(long, default_value_t = 64)]
    max_uploads: usize,
    /// Log format: `text` or `json`.
    #[arg(long, default_value = "text")]
    log_format: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
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

async fn serve(args: Args) -> Result<(), String> {
    let store = Store::open(&args.data)
        .map_err(|e| format!("cannot open the buffer `{}`: {e}", args.data.display()))?;
    let node = Node::new(
        store,
        Limits {
            max_object_bytes: args.max_object_bytes,
            max_uploads: args.max_uploads,
        },
    )?;
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let routes = Routes {
        store: node.store.clone(),
        events: node.events.clone(),
        metrics: node.metrics.clone(),
        closing,
    };
    let service = {
        let mut b = S3ServiceBuilder::new(node);
        b.set_auth(SimpleAuth::from_single(args.access_key, args.secret_key));
        b.set_route(routes);
        b.set_validation(hiss_node::routes::Names);
        hiss_node::fresh::Fresh { inner: b.build() }
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
        () = graceful.shutdown() => tracing::info!("stopped"),
        () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
            tracing::warn!("requests still in flight after 30 s; stopping anyway");
        }
    }
    Ok(())
}
