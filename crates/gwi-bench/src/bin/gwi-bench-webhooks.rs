//! `gwi-bench-webhooks`: sends GitHub-signed `pull_request` deliveries to a webhook endpoint.
//!
//! Open-loop by default: a scheduler releases deliveries at the offered rate whatever the
//! server does, and latency runs from the moment a delivery was released, so a slow server
//! shows up as latency rather than as a politely lower send rate. `--max` instead keeps every
//! connection busy back-to-back (closed loop) to find peak throughput.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use gwi_bench::github::RepoContext;
use gwi_bench::latency::LatencySummary;
use gwi_bench::webhook::{SignedBody, body_pool, unique_delivery};
use http::{HeaderValue, Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc};

/// Send GitHub-signed pull_request deliveries at a fixed rate (or flat out) and report
/// deliveries/s and latency percentiles.
#[derive(Debug, Parser)]
#[command(name = "gwi-bench-webhooks", version, about)]
struct Args {
    /// Webhook endpoint, e.g. `http://127.0.0.1:8080/webhooks/github`.
    #[arg(long)]
    url: String,
    /// Webhook secret the server verifies with.
    #[arg(long, env = "GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    secret: SecretString,
    /// Offered load in deliveries per second (open loop).
    #[arg(long, default_value_t = 2_000.0)]
    rate: f64,
    /// Closed loop: every connection sends back-to-back, ignoring --rate.
    #[arg(long)]
    max: bool,
    /// Seconds to send for.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Keep-alive connections (each carries one request at a time).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Distinct pre-rendered bodies cycled through (PR numbers 1..=N); each delivery adds its
    /// own sequence number and is signed as it is sent, so no two bodies are alike.
    #[arg(long, default_value_t = 512)]
    bodies: usize,
    /// Repository named in the payloads, as `owner/name`.
    #[arg(long, default_value = "acme/widgets")]
    repo: String,
    /// Per-request timeout in milliseconds (a timed-out request counts as an error).
    #[arg(long, default_value_t = 30_000)]
    timeout_ms: u64,
    /// Write the `X-GitHub-Delivery` id of every 2xx-answered delivery here, one per line.
    #[arg(long)]
    ids_out: Option<PathBuf>,
    /// Write the summary as JSON here.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

/// One finished request.
struct Sample {
    latency_us: u64,
    status: u16,
    delivery: Option<uuid::Uuid>,
}

/// What the run measured.
#[derive(Debug, Serialize)]
struct Report {
    mode: &'static str,
    offered_rate: Option<f64>,
    duration_s: f64,
    connections: usize,
    body_bytes_mean: usize,
    sent: usize,
    ok_2xx: usize,
    status_202: usize,
    status_200: usize,
    status_4xx: usize,
    status_5xx: usize,
    errors: usize,
    not_sent: usize,
    elapsed_s: f64,
    deliveries_per_s: f64,
    latency: LatencySummary,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // Two threads leave the rest of a small machine to the server under test.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(args))
}

struct Target {
    host: String,
    port: u16,
    authority: HeaderValue,
    path: Uri,
}

fn target(url: &str) -> Result<Target, Box<dyn std::error::Error>> {
    let uri: Uri = url.parse()?;
    if uri.scheme_str() != Some("http") {
        return Err("--url must be an http:// URL".into());
    }
    let authority = uri.authority().ok_or("--url needs a host")?;
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse()?;
    Ok(Target {
        host: authority.host().to_owned(),
        port: authority.port_u16().unwrap_or(80),
        authority: HeaderValue::from_str(authority.as_str())?,
        path,
    })
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let target = Arc::new(target(&args.url)?);
    let (owner, name) = args
        .repo
        .split_once('/')
        .ok_or("--repo must be owner/name")?;
    let ctx = RepoContext::new(owner, name, "https://api.github.com");
    let pool = Arc::new(body_pool(args.bodies, &ctx));
    let secret: Arc<[u8]> = Arc::from(args.secret.expose_secret().as_bytes());
    let run_id: Arc<str> = Arc::from(uuid::Uuid::new_v4().simple().to_string());
    let body_bytes_mean = pool.iter().map(Bytes::len).sum::<usize>() / pool.len().max(1);
    let duration = Duration::from_secs_f64(args.duration.max(0.1));
    let timeout = Duration::from_millis(args.timeout_ms);
    let connections = args.connections.max(1);

    let start = Instant::now();
    let send_until = start + duration;
    // Open loop: the scheduler releases deliveries; workers take the next one when free.
    let (tx, rx) = mpsc::unbounded_channel::<(u64, Instant)>();
    let rx = Arc::new(Mutex::new(rx));
    let total = if args.max {
        0
    } else {
        (args.rate * duration.as_secs_f64()).round() as u64
    };
    let scheduler = (!args.max).then(|| {
        let rate = args.rate.max(0.001);
        tokio::spawn(async move {
            let mut released = 0_u64;
            while released < total {
                let due = ((start.elapsed().as_secs_f64() * rate) as u64 + 1).min(total);
                let now = Instant::now();
                while released < due {
                    if tx.send((released, now)).is_err() {
                        return;
                    }
                    released += 1;
                }
                let next = start + Duration::from_secs_f64(released as f64 / rate);
                tokio::time::sleep_until(next.into()).await;
            }
        })
    });

    let mut workers = Vec::with_capacity(connections);
    for w in 0..connections {
        let target = target.clone();
        let pool = pool.clone();
        let secret = secret.clone();
        let run_id = run_id.clone();
        let rx = rx.clone();
        let max = args.max;
        workers.push(tokio::spawn(async move {
            let mut worker = Worker::new(target, pool, secret, run_id, timeout);
            let mut k = w as u64;
            loop {
                let released = if max {
                    if Instant::now() >= send_until {
                        break;
                    }
                    k += connections as u64;
                    (k, Instant::now())
                } else {
                    let next = rx.lock().await.recv().await;
                    match next {
                        Some(item) => item,
                        None => break,
                    }
                };
                worker.deliver(released.0, released.1).await;
            }
            worker.samples
        }));
    }

    if let Some(s) = scheduler {
        let _ = s.await;
    }
    // Past the sending window plus a grace period, stop waiting and count the rest as not sent.
    let deadline = send_until + timeout + Duration::from_secs(5);
    let mut samples = Vec::new();
    for w in workers {
        if let Ok(Ok(s)) = tokio::time::timeout_at(deadline.into(), w).await {
            samples.extend(s)
        }
    }
    let elapsed = start.elapsed().as_secs_f64();

    let report = summarise(
        &args,
        &samples,
        total,
        elapsed,
        connections,
        body_bytes_mean,
    );
    print_report(&report);
    if let Some(path) = &args.ids_out {
        let mut text = String::with_capacity(samples.len() * 37);
        for s in &samples {
            if let (true, Some(id)) = ((200..300).contains(&s.status), s.delivery) {
                text.push_str(&id.hyphenated().to_string());
                text.push('\n');
            }
        }
        std::fs::write(path, text)?;
    }
    if let Some(path) = &args.json_out {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

fn summarise(
    args: &Args,
    samples: &[Sample],
    total: u64,
    elapsed: f64,
    connections: usize,
    body_bytes_mean: usize,
) -> Report {
    let count = |f: &dyn Fn(u16) -> bool| samples.iter().filter(|s| f(s.status)).count();
    let ok_2xx = count(&|s| (200..300).contains(&s));
    let mut latencies: Vec<u64> = samples
        .iter()
        .filter(|s| (200..300).contains(&s.status))
        .map(|s| s.latency_us)
        .collect();
    Report {
        mode: if args.max { "max" } else { "fixed-rate" },
        offered_rate: (!args.max).then_some(args.rate),
        duration_s: args.duration,
        connections,
        body_bytes_mean,
        sent: samples.len(),
        ok_2xx,
        status_202: count(&|s| s == 202),
        status_200: count(&|s| s == 200),
        status_4xx: count(&|s| (400..500).contains(&s)),
        status_5xx: count(&|s| (500..600).contains(&s)),
        errors: count(&|s| s == 0),
        not_sent: (total as usize).saturating_sub(samples.len()),
        elapsed_s: elapsed,
        deliveries_per_s: if elapsed > 0.0 {
            ok_2xx as f64 / elapsed
        } else {
            0.0
        },
        latency: LatencySummary::from_micros(&mut latencies),
    }
}

fn print_report(r: &Report) {
    let ms = |us: u64| us as f64 / 1_000.0;
    match r.offered_rate {
        Some(rate) => println!(
            "mode: open loop, {rate:.0} deliveries/s offered for {:.1} s over {} connections, ~{} B bodies",
            r.duration_s, r.connections, r.body_bytes_mean
        ),
        None => println!(
            "mode: closed loop (max), {:.1} s over {} connections, ~{} B bodies",
            r.duration_s, r.connections, r.body_bytes_mean
        ),
    }
    println!(
        "sent {}: 2xx {} (202: {}, 200: {}), 4xx {}, 5xx {}, errors {}, not sent {}",
        r.sent,
        r.ok_2xx,
        r.status_202,
        r.status_200,
        r.status_4xx,
        r.status_5xx,
        r.errors,
        r.not_sent
    );
    println!(
        "throughput: {:.0} deliveries/s answered 2xx ({:.2} s)",
        r.deliveries_per_s, r.elapsed_s
    );
    println!(
        "latency (2xx): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        ms(r.latency.p50_us),
        ms(r.latency.p90_us),
        ms(r.latency.p99_us),
        ms(r.latency.p999_us),
        ms(r.latency.max_us)
    );
}

/// One keep-alive connection and the samples it recorded.
struct Worker {
    target: Arc<Target>,
    pool: Arc<Vec<Bytes>>,
    secret: Arc<[u8]>,
    /// This run's id, in every body, so two runs never send one body.
    run_id: Arc<str>,
    timeout: Duration,
    conn: Option<http1::SendRequest<Full<Bytes>>>,
    samples: Vec<Sample>,
}

impl Worker {
    fn new(
        target: Arc<Target>,
        pool: Arc<Vec<Bytes>>,
        secret: Arc<[u8]>,
        run_id: Arc<str>,
        timeout: Duration,
    ) -> Self {
        Self {
            target,
            pool,
            secret,
            run_id,
            timeout,
            conn: None,
            samples: Vec::new(),
        }
    }

    async fn connect(&self) -> Option<http1::SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect((self.target.host.as_str(), self.target.port))
            .await
            .ok()?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.ok()?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Some(sender)
    }

    /// Sends delivery `k`, released at `released`, and records how it went.
    async fn deliver(&mut self, k: u64, released: Instant) {
        let template = &self.pool[(k % self.pool.len() as u64) as usize];
        let item = unique_delivery(template, &self.run_id, k, &self.secret);
        let delivery = uuid::Uuid::new_v4();
        let status = match self.send(item, delivery).await {
            Some(status) => status,
            None => {
                // Drop the connection: the next delivery reconnects.
                self.conn = None;
                0
            }
        };
        self.samples.push(Sample {
            latency_us: released.elapsed().as_micros() as u64,
            status,
            delivery: Some(delivery),
        });
    }

    async fn send(&mut self, item: SignedBody, delivery: uuid::Uuid) -> Option<u16> {
        if self.conn.as_ref().is_none_or(|c| c.is_closed()) {
            self.conn = self.connect().await;
        }
        let conn = self.conn.as_mut()?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.target.path.clone())
            .header(header::HOST, self.target.authority.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, "GitHub-Hookshot/gwi-bench")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", delivery.hyphenated().to_string())
            .header("x-github-hook-id", "424242")
            .header("x-github-hook-installation-target-type", "repository")
            .header("x-github-hook-installation-target-id", "700000001")
            .header("x-hub-signature-256", item.signature)
            .body(Full::new(item.body))
            .ok()?;
        let exchange = async {
            conn.ready().await.ok()?;
            let response = conn.send_request(request).await.ok()?;
            let status = response.status().as_u16();
            response.into_body().collect().await.ok()?;
            Some(status)
        };
        tokio::time::timeout(self.timeout, exchange).await.ok()?
    }
}
