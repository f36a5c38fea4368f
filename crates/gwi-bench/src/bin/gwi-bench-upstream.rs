//! `gwi-bench-upstream`: serves N GitHub-shaped pull requests from memory for benchmarks.
//!
//! Prints its base URL on stdout once it is listening, then serves until SIGINT/SIGTERM.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use gwi_bench::shape::{IdOrder, RecordSize, Shape, UpdatedOrder};
use gwi_bench::upstream::{Upstream, router};

/// Serve N GitHub-shaped pull requests, 100 per page with `Link` headers, from memory.
#[derive(Debug, Parser)]
#[command(name = "gwi-bench-upstream", version, about)]
struct Args {
    /// Port to listen on (0 picks a free one; the base URL printed on stdout says which).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Number of pull requests to serve.
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Repository the pull requests belong to, as `owner/name`.
    #[arg(long, default_value = "acme/widgets")]
    repo: String,
    /// About how large each pull request is: small 0.5 KB, medium 2.5 KB, large 8.5 KB.
    #[arg(long, value_enum, default_value_t = RecordSize::Medium)]
    size: RecordSize,
    /// Order of pull request numbers (record ids) along the listing.
    #[arg(long, value_enum, default_value_t = IdOrder::Descending)]
    ids: IdOrder,
    /// Whether `updated_at` falls along the listing (as when sorted by `updated`) or not.
    #[arg(long, value_enum, default_value_t = UpdatedOrder::Follows)]
    updated: UpdatedOrder,
    /// Fields added to every pull request that no client reads.
    #[arg(long, default_value_t = 0)]
    extra_fields: usize,
    /// Tokio worker threads (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    rt.enable_all().build()?.block_on(serve(args))
}

async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let (owner, name) = args
        .repo
        .split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or("--repo must be owner/name")?;
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");

    let started = Instant::now();
    let shape = Shape {
        size: args.size,
        ids: args.ids,
        updated: args.updated,
        extra_fields: args.extra_fields,
    };
    let upstream = Arc::new(Upstream::new(&base_url, owner, name, args.records, &shape));
    eprintln!(
        "gwi-bench-upstream: {} pull requests of {owner}/{name} ({shape}) in {} pages, {:.1} MiB, rendered in {:.2} s",
        upstream.pulls().records(),
        upstream.pulls().last_page(100),
        upstream.pulls().bytes() as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64()
    );

    // The script waits for this line: only print it once the pages exist.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{base_url}")?;
    out.flush()?;
    drop(out);

    axum::serve(listener, router(upstream.clone()))
        .with_graceful_shutdown(shutdown())
        .await?;
    let s = upstream.stats().snapshot();
    eprintln!(
        "gwi-bench-upstream: served {} requests ({} pull pages, {} records, {:.1} MiB), {} not found",
        s.requests,
        s.pull_pages,
        s.pull_records,
        s.body_bytes as f64 / 1_048_576.0,
        s.not_found
    );
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
