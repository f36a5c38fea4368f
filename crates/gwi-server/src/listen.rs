//! Accepting connections with limits of its own: a cap on open connections and a deadline on
//! every request head (which also closes idle keep-alive connections), so clients that connect
//! and send slowly, or not at all, cannot hold the service.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::ServerConfig;

/// Pause after a failed `accept` (out of file descriptors, say) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits for
/// open connections to finish their requests (idle ones close at once).
pub(crate) async fn serve<F>(
    listener: TcpListener,
    router: Router,
    config: &ServerConfig,
    shutdown: F,
) where
    F: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // A free slot before accepting: at the cap, new clients wait in the kernel's backlog
        // instead of costing a task and a buffer each.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let tcp = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::debug!("accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // Small JSON answers go out at once instead of waiting on Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let connection = graceful.watch(
            http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(router.clone())),
        );
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Timeouts and clients that vanish mid-request end up here: not the server's fault.
                tracing::debug!("connection closed: {e}");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
