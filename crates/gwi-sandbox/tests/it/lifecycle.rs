use std::time::Duration;

use crate::start_default;

async fn refuses_connections(addr: std::net::SocketAddr) -> bool {
    // The server task stops asynchronously; give it a bounded number of chances.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sb = start_default().await;
    let addr = sb.addr();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    sb.shutdown().await;
    assert!(refuses_connections(addr).await);
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let sb = start_default().await;
    let addr = sb.addr();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(sb);
    assert!(refuses_connections(addr).await);
}

#[tokio::test]
async fn port_zero_picks_a_free_port_and_base_url_matches_it() {
    let a = start_default().await;
    let b = start_default().await;
    assert_ne!(a.addr().port(), b.addr().port());
    assert_eq!(a.base_url().as_str(), format!("http://{}/", a.addr()));
    assert_eq!(
        a.enterprise_base_url().as_str(),
        format!("http://{}/api/v3/", a.addr())
    );
    assert_eq!(a.token(), Some("gwi-sandbox-token"));
}
