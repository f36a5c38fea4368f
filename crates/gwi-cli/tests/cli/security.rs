//! Attacks on a real `gwi serve`, each asserted refused, and the store checked afterwards: only
//! the two genuine deliveries are in it, and no secret appears in anything the server printed.

use crate::free_port;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use gwi_core::config::Secret;
use gwi_core::store::{InboxStatus, Store};
use gwi_core::webhook::sign;

const ACME_SECRET: &str = "acme-webhook-secret-0c6d1f0e9a";
const GLOBEX_SECRET: &str = "globex-webhook-secret-5b7e2a41";
const TOKEN: &str = "ghp_security_suite_token_never_printed";
const OPENED: &[u8] =
    include_bytes!("../../../gwi-connectors/tests/fixtures/github/webhooks/issues/opened.json");
const EDITED: &[u8] =
    include_bytes!("../../../gwi-connectors/tests/fixtures/github/webhooks/issues/edited.json");
/// The server's body limit and its cap on body bytes in flight, kept small to test both.
const BODY_LIMIT: usize = 65_536;

/// A `gwi serve` on a free local port, killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gwi"));
    command
        .args(["serve", "--config", "gwi.toml"])
        .current_dir(dir)
        .env("ACME_SECRET", ACME_SECRET)
        .env("GLOBEX_SECRET", GLOBEX_SECRET)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GWI_LOG", "debug")
        .env_remove("GWI_CONFIG")
        .env_remove("GWI_STORE");
    command
}

fn config(addr: SocketAddr, acme_secret: &str) -> String {
    format!(
        r#"[store]
url = "sqlite://gwi.db"

[server]
listen = "{addr}"
body_limit_bytes = {BODY_LIMIT}
body_bytes_in_flight = {BODY_LIMIT}
header_read_timeout_secs = 1
workers = 1

[connectors.github]
base_url = "http://127.0.0.1:9"
repositories = ["acme/widgets"]
auth = {{ type = "bearer", token = "env:GITHUB_TOKEN" }}
webhook_secret = "{acme_secret}"

[connectors.github.tenants.globex]
repositories = ["globex/app"]
webhook_secret = "env:GLOBEX_SECRET"
"#
    )
}

fn start(dir: &Path) -> Served {
    let addr = free_port();
    std::fs::write(dir.join("gwi.toml"), config(addr, "env:ACME_SECRET")).unwrap();
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let child = serve_command(dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "gwi serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Served { child, addr }
}

/// One raw HTTP/1.1 request; the status code of the answer (0 if the connection closed first).
fn post(addr: SocketAddr, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    exchange(addr, path, headers, body.len(), body)
}

/// A request declaring `declared` body bytes and sending `body`; the answer's status code.
fn exchange(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    declared: usize,
    body: &[u8],
) -> u16 {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = tcp.write_all(head.as_bytes());
    let _ = tcp.write_all(body);
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

fn github_headers(secret: &str, delivery: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let mut headers = sign::github(&Secret::literal(secret), body);
    headers.push(("x-github-event", "issues".to_owned()));
    headers.push(("x-github-delivery", delivery.to_owned()));
    headers
}

/// Whether the server closes `tcp` within `within`.
fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
    tcp.set_read_timeout(Some(within)).unwrap();
    let mut buffer = [0u8; 512];
    loop {
        match tcp.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
            }
        }
    }
}

/// What each attack sent and how it was answered.
struct Tally {
    lines: Vec<String>,
    requests: usize,
}

impl Tally {
    fn expect(&mut self, attack: &str, sent: usize, statuses: &[u16], wanted: u16) {
        self.requests += sent;
        assert!(
            statuses.iter().all(|s| *s == wanted),
            "{attack}: wanted {wanted}, got {statuses:?}"
        );
        self.lines
            .push(format!("{attack}: {sent} sent, all {wanted}"));
    }
}

#[test]
fn every_attack_is_refused_and_nothing_forged_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let served = start(dir.path());
    let addr = served.addr;
    let mut tally = Tally {
        lines: Vec::new(),
        requests: 0,
    };
    let acme = "/webhooks/github";

    let genuine = post(
        addr,
        acme,
        &github_headers(ACME_SECRET, "d-genuine", OPENED),
        OPENED,
    );
    assert_eq!(genuine, 202, "the genuine delivery");

    let mut unsigned = github_headers(ACME_SECRET, "d-unsigned", OPENED);
    unsigned.retain(|(name, _)| !name.eq_ignore_ascii_case("x-hub-signature-256"));
    let status = post(addr, acme, &unsigned, OPENED);
    tally.expect("unsigned delivery", 1, &[status], 401);

    let forged = github_headers("a-guessed-secret", "d-forged", OPENED);
    let status = post(addr, acme, &forged, OPENED);
    tally.expect("signed with a guessed secret", 1, &[status], 401);

    let mut tampered = OPENED.to_vec();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    let status = post(
        addr,
        acme,
        &github_headers(ACME_SECRET, "d-tampered", OPENED),
        &tampered,
    );
    tally.expect("body changed after signing", 1, &[status], 401);

    let captured = github_headers(ACME_SECRET, "d-cross", OPENED);
    let status = post(addr, "/webhooks/github/globex", &captured, OPENED);
    tally.expect("acme's delivery sent to tenant globex", 1, &[status], 401);
    let status = post(addr, "/webhooks/github/initech", &captured, OPENED);
    tally.expect("a tenant the config does not name", 1, &[status], 404);

    let replays: Vec<u16> = (0..10)
        .map(|n| {
            let fresh = github_headers(ACME_SECRET, &format!("d-replay-{n}"), OPENED);
            post(addr, acme, &fresh, OPENED)
        })
        .collect();
    tally.expect(
        "captured delivery replayed under fresh ids",
        10,
        &replays,
        200,
    );
    let status = post(
        addr,
        acme,
        &github_headers(ACME_SECRET, "d-genuine", OPENED),
        OPENED,
    );
    tally.expect("captured delivery replayed as is", 1, &[status], 200);

    // Refused on its declared length, before a byte of it is read.
    let big = vec![b' '; BODY_LIMIT + 1];
    let headers = github_headers(ACME_SECRET, "d-big", &big);
    let status = exchange(addr, acme, &headers, big.len(), b"");
    tally.expect("body over the limit", 1, &[status], 413);

    let text = b"not json at all";
    let status = post(
        addr,
        acme,
        &github_headers(ACME_SECRET, "d-text", text),
        text,
    );
    tally.expect("signed body that is not JSON", 1, &[status], 400);

    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"POST /webhooks/github HTTP/1.1\r\nhost: x\r\n")
        .unwrap();
    assert!(
        closed_within(&mut half, Duration::from_secs(5)),
        "a half-sent request head stays open"
    );
    tally.requests += 1;
    tally
        .lines
        .push("request head never finished: closed after the header timeout".to_owned());

    // A client declaring nearly the whole in-flight cap and sending nothing more: others are
    // refused at once (503), and served again once it is gone.
    let mut hog = TcpStream::connect(addr).unwrap();
    hog.write_all(
        format!(
            "POST /webhooks/github HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{{",
            BODY_LIMIT - 10
        )
        .as_bytes(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = post(
        addr,
        acme,
        &github_headers(ACME_SECRET, "d-busy", EDITED),
        EDITED,
    );
    tally.expect("bodies in flight at their cap", 1, &[status], 503);
    drop(hog);

    let flood: Vec<u16> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                scope.spawn(move || {
                    (0..25)
                        .map(|n| {
                            let body = format!(r#"{{"forged":{t},"n":{n}}}"#).into_bytes();
                            let headers =
                                github_headers("not-the-secret", &format!("f-{t}-{n}"), &body);
                            post(addr, acme, &headers, &body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    tally.expect(
        "flood of forged deliveries from 8 clients",
        flood.len(),
        &flood,
        401,
    );

    // The service still takes genuine work after all of it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = post(
            addr,
            acme,
            &github_headers(ACME_SECRET, "d-after", EDITED),
            EDITED,
        );
        if status == 202 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the genuine delivery after the attacks got {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(served);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let counts = runtime.block_on(async {
        let url = format!("sqlite://{}", dir.path().join("gwi.db").display());
        let store: std::sync::Arc<dyn Store> = gwi_store::open(&url).await.unwrap();
        let counts = store.inbox_counts().await.unwrap();
        store.close().await;
        counts
    });
    let stored: u64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(
        stored, 2,
        "only the two genuine deliveries are stored: {counts:?}"
    );
    assert!(
        counts
            .iter()
            .all(|(status, n)| *status != InboxStatus::Dead || *n == 0),
        "{counts:?}"
    );

    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    for secret in [ACME_SECRET, GLOBEX_SECRET, TOKEN] {
        assert!(!log.contains(secret), "the server printed a secret");
    }
    println!(
        "security suite: {} attack requests, every one refused; the store holds the 2 genuine deliveries\n  {}",
        tally.requests,
        tally.lines.join("\n  ")
    );
}

#[test]
fn an_empty_secret_file_stops_the_server_at_start_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.secret"), "\n").unwrap();
    std::fs::write(
        dir.path().join("gwi.toml"),
        config(free_port(), "file:empty.secret"),
    )
    .unwrap();
    let output = serve_command(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("webhook_secret"), "{stderr}");
    assert!(stderr.contains("empty"), "{stderr}");
}
