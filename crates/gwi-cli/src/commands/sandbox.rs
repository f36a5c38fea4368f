//! `gwi sandbox`: local simulated provider APIs with fault injection, and a signed-webhook sender.

use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use gwi_sandbox::{
    FaultConfig, RateLimitConfig, Sandbox, SandboxConfig, SendOptions, TokenPolicy, send_webhooks,
};
use url::Url;

const SERVE_EXAMPLES: &str = "\
Examples:
  gwi sandbox
      Serve every provider on http://127.0.0.1:8787/ with seed 1, scale 1 and no faults.
  gwi sandbox --provider gitlab
      Serve GitLab alone.
  gwi sandbox --port 0 --seed 42 --scale 10
      Pick a free port, and serve ten times more data drawn from seed 42.
  gwi sandbox --faults error=0.05,429=0.01,reset=0.01,latency=20ms
      Fail 5 % of requests with 500/502/503, 1 % with 429, reset 1 % mid-body, delay all by 20 ms.
  gwi sandbox send-webhook github --to http://127.0.0.1:8080/webhooks/github \\
      --secret s3cret --event pull_request --count 100 --duplicate-rate 0.1
      Send 100 signed pull_request deliveries, re-sending about 10 of them.
  gwi sandbox send-webhook slack --to http://127.0.0.1:8080/webhooks/slack --secret s3cret
      Send one signed Events API delivery.

Providers, each under its own prefix; point a connector's base_url there:
  github   http://127.0.0.1:8787/github (also at the root, and under /api/v3 for the Enterprise
           Server shape); token as `Authorization: Bearer <token>`
  gitlab   http://127.0.0.1:8787/gitlab (the API is under /gitlab/api/v4); token as
           `PRIVATE-TOKEN: <token>` or `Authorization: Bearer <token>`
  slack    http://127.0.0.1:8787/slack (Web API methods at /slack/api/<method>, such as
           /slack/api/conversations.history); token as `Authorization: Bearer <token>` or a
           `token` parameter; a token containing `missing-scope` is refused history reads
  linear   http://127.0.0.1:8787/linear (the GraphQL API at POST /linear/graphql); the key as
           `Authorization: <key>` (personal API key, no Bearer) or `Authorization: Bearer <token>`
  jira     http://127.0.0.1:8787/jira (Jira Cloud REST v3 under /jira/rest/api/3; projects ENG, OPS,
           DES; JQL dates read in Europe/Berlin); `Authorization: Basic base64(email:token)` (any
           email, for example gwi@acme.test) or `Authorization: Bearer <token>`
Any token starting with `gwi-sandbox` (for example `gwi-sandbox-token`) is accepted, unless
--token lists the accepted tokens. `GET /_sandbox/expected?provider=NAME` lists what a full sync
of that provider should store.

At runtime:
  curl http://127.0.0.1:8787/_sandbox/stats                      request, fault and record counts
  curl -XPOST http://127.0.0.1:8787/_sandbox/faults -d '{\"spec\": \"503=0.2\"}'   change faults
  curl -XPOST http://127.0.0.1:8787/_sandbox/mutate -d '{\"count\": 25, \"provider\": \"gitlab\"}'
                                                         update/create records (all providers
                                                         when `provider` is left out)
  curl '127.0.0.1:8787/_sandbox/expected?provider=github'  what a full sync should store
  gwi verify github                    the connector behaviour suite, on a sandbox of its own";

const FAULTS_HELP: &str = "\
Faults to inject, as comma-separated key=value pairs. Rates are per-request probabilities (a request \
gets at most one fault, so they must add up to at most 1):
  error=R      500, 502 and 503 at R/3 each (or set 500=R, 502=R, 503=R one by one)
  429=R        429 Too Many Requests with Retry-After
  403=R        403 secondary rate limit (GitHub's message) with Retry-After
  reset=R      send the headers and part of the body, then drop the connection
  truncate=R   200 with a body cut short (Content-Length matches the cut body)
  latency=D    delay every request by D (20ms), or by a random D in a range (10ms-50ms)
  retry-after=D  Retry-After sent with 429/403 faults (default 1s)
Draws come from --seed: same seed, same faults for a sequential client. `none` disables faults.";

/// Arguments of `gwi sandbox`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_long_help = SERVE_EXAMPLES)]
pub struct SandboxArgs {
    /// Something else than serving.
    #[command(subcommand)]
    pub command: Option<SandboxCommand>,
    /// How to serve.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Options for serving the simulated APIs.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on; 0 picks a free one (the URL is printed).
    #[arg(long, default_value_t = 8787, env = "GWI_SANDBOX_PORT")]
    pub port: u16,
    /// Address to listen on. The sandbox accepts sandbox tokens only; keep it on loopback.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Seed for the generated data, mutations and fault draws: same seed, same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Data size: at scale N each repository holds about N times 120 pull requests, 150 issues,
    /// 540 comments, 300 commits and 200 workflow runs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub scale: u32,
    /// Faults to inject (see `--help` for the keys), e.g. `error=0.05,429=0.01,latency=20ms`.
    #[arg(long, value_name = "SPEC", default_value = "none", value_parser = parse_faults, long_help = FAULTS_HELP)]
    pub faults: FaultConfig,
    /// Accept exactly this token (repeatable) instead of any token starting with `gwi-sandbox`.
    #[arg(long = "token", value_name = "TOKEN")]
    pub tokens: Vec<String>,
    /// Requests per hour before the primary rate limit refuses (each provider's own headers).
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub rate_limit: u64,
    /// Serve only this provider (repeatable); all of them by default.
    #[arg(long = "provider", value_name = "NAME",
          value_parser = clap::builder::PossibleValuesParser::new(gwi_sandbox::PROVIDERS))]
    pub providers: Vec<String>,
}

/// `gwi sandbox` subcommands.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Send signed webhook deliveries (the provider's payloads and headers) to a URL.
    #[command(after_long_help = "\
Examples:
  gwi sandbox send-webhook github --to http://127.0.0.1:8080/webhooks/github --secret s3cret \\
      --event pull_request
  GWI_WEBHOOK_SECRET=s3cret gwi sandbox send-webhook gitlab \\
      --to http://127.0.0.1:8080/webhooks/gitlab --count 500 \\
      --duplicate-rate 0.05 --bad-signature-rate 0.02 --concurrency 16

Each delivery is the one the provider sends for a change the sender makes to its own copy of a
sandbox's data (the same --seed and --scale; a running sandbox does not see these changes), sent
as soon as it is made, with the provider's own headers and signature and a delivery id new to
this run; a duplicate re-sends the same id and body a little later. Changes are stamped one
second apart from now, 32 at a time, so a long run stamps its last ones ahead of the clock;
URLs in payloads point at http://127.0.0.1:8787/.
  github  X-GitHub-Event, X-GitHub-Delivery, X-Hub-Signature-256: sha256=<hex HMAC-SHA256>
          events: pull_request, issues, issue_comment, pull_request_review,
          pull_request_review_comment, push, workflow_run
  gitlab  X-Gitlab-Event, X-Gitlab-Event-UUID, X-Gitlab-Token: <the secret>
          events: Merge Request Hook, Issue Hook, Note Hook, Push Hook
  jira    X-Atlassian-Webhook-Identifier, X-Hub-Signature: sha256=<hex HMAC-SHA256>
          events: jira:issue_created, jira:issue_updated, jira:issue_deleted,
          comment_created, comment_updated, comment_deleted
  slack   X-Slack-Request-Timestamp, X-Slack-Signature: v0=<hex HMAC-SHA256 of v0:time:body>
          events: message, user_change
  linear  Linear-Event, Linear-Delivery, Linear-Signature: <hex HMAC-SHA256>
          events: Issue, Comment, Project, Cycle
Exits non-zero if any request got no response.")]
    SendWebhook(SendWebhookArgs),
}

/// Options of `gwi sandbox send-webhook`.
#[derive(Debug, Args)]
pub struct SendWebhookArgs {
    /// Provider whose deliveries to send.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(gwi_sandbox::PROVIDERS))]
    pub provider: String,
    /// Receiver URL, e.g. http://127.0.0.1:8080/webhooks/github.
    #[arg(long)]
    pub to: Url,
    /// Shared webhook secret the signatures are made with.
    #[arg(long, env = "GWI_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: String,
    /// Only deliveries of this event, in the provider's words (see below); all of them if left out.
    #[arg(long)]
    pub event: Option<String>,
    /// Distinct deliveries to send.
    #[arg(long, default_value_t = 1)]
    pub count: usize,
    /// Share of deliveries sent a second time (same delivery id and body), after the originals.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate, value_name = "RATE")]
    pub duplicate_rate: f64,
    /// Share of deliveries signed with the wrong key (the receiver must refuse them).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate, value_name = "RATE")]
    pub bad_signature_rate: f64,
    /// Seed for the changes and the choices above.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Data scale the changes are made to (match the server's --scale to get the same records).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub scale: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Print the full report (every request) as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

fn parse_faults(spec: &str) -> Result<FaultConfig, String> {
    spec.parse::<FaultConfig>().map_err(|e| e.to_string())
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("`{text}` is not a rate between 0 and 1")),
    }
}

/// Runs `gwi sandbox`: serves until Ctrl-C, or sends webhooks.
pub async fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(SandboxCommand::SendWebhook(send)) => send_webhook(send).await,
        None => serve(args.serve).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let tokens = if args.tokens.is_empty() {
        TokenPolicy::default()
    } else {
        TokenPolicy::exact(args.tokens)
    };
    let config = SandboxConfig {
        bind: args.bind,
        port: args.port,
        seed: args.seed,
        scale: args.scale,
        faults: args.faults,
        tokens,
        rate_limit: RateLimitConfig {
            limit: args.rate_limit,
            ..RateLimitConfig::default()
        },
        providers: args.providers.clone(),
    };
    let sandbox = Sandbox::start(config)
        .await
        .context("starting the sandbox")?;
    let base = sandbox.base_url();
    println!("gwi sandbox listening on {base}");
    match sandbox.token() {
        Some(t) => println!("  token           {t}  (any token starting with `gwi-sandbox` works)"),
        None => println!("  token           one of the --token values"),
    }
    println!("  data            seed {}, scale {}", args.seed, args.scale);
    for name in sandbox.stats().records.keys() {
        println!("  {name:<15} {base}{name}");
        println!("  {:<15} {}", "", summary(&sandbox.expected(name)));
    }
    println!("  faults          {}", sandbox.faults());
    println!(
        "  control         GET {base}_sandbox/stats, POST {base}_sandbox/faults, POST {base}_sandbox/mutate"
    );
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    println!("stopping");
    sandbox.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// What a provider serves, in its connector's record types: `3 scopes: 120 issue, ...`.
fn summary(expected: &[gwi_sandbox::Expected]) -> String {
    let mut by_type: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for e in expected {
        *by_type.entry(e.record_type).or_default() += 1;
    }
    let scopes: std::collections::BTreeSet<&str> =
        expected.iter().map(|e| e.scope.as_str()).collect();
    let parts: Vec<String> = by_type.iter().map(|(t, n)| format!("{n} {t}")).collect();
    format!("{} scopes: {}", scopes.len(), parts.join(", "))
}

async fn send_webhook(args: SendWebhookArgs) -> anyhow::Result<ExitCode> {
    let options = SendOptions {
        event: args.event,
        duplicate_rate: args.duplicate_rate,
        bad_signature_rate: args.bad_signature_rate,
        seed: args.seed,
        scale: args.scale,
        concurrency: usize::from(args.concurrency),
        ..SendOptions::new(&args.provider, args.to.clone(), args.secret, args.count)
    };
    let report = send_webhooks(options).await.context(
        "sending webhooks (`gwi sandbox send-webhook --help` lists each provider's events)",
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let statuses: Vec<String> = report
            .status_counts
            .iter()
            .map(|(status, n)| format!("{status}: {n}"))
            .collect();
        println!(
            "sent {} requests to {} ({} deliveries, {} duplicates, {} with a bad signature)",
            report.sent, args.to, report.deliveries, report.duplicates, report.bad_signatures
        );
        println!(
            "  responses       {}",
            if statuses.is_empty() {
                "none".into()
            } else {
                statuses.join(", ")
            }
        );
        if report.transport_errors > 0 {
            let first = report
                .results
                .iter()
                .find_map(|r| r.error.as_deref())
                .unwrap_or("");
            println!(
                "  no response     {} (first: {first})",
                report.transport_errors
            );
        }
    }
    Ok(if report.transport_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn serve_flags_parse_with_defaults() {
        let cli = Cli::try_parse_from([
            "gwi",
            "--seed",
            "7",
            "--faults",
            "error=0.05,429=0.01,latency=20ms",
        ])
        .unwrap();
        assert!(cli.args.command.is_none());
        assert_eq!(cli.args.serve.port, 8787);
        assert_eq!(cli.args.serve.seed, 7);
        assert_eq!(cli.args.serve.scale, 1);
        assert_eq!(cli.args.serve.faults.too_many_requests, 0.01);
    }

    #[test]
    fn send_webhook_help_lists_every_event_of_every_provider() {
        use clap::CommandFactory as _;
        let mut cli = Cli::command();
        let help = cli
            .find_subcommand_mut("send-webhook")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        for provider in gwi_sandbox::PROVIDERS {
            let events = gwi_sandbox::webhook_events(provider).unwrap_or_default();
            assert!(!events.is_empty(), "{provider}");
            for event in events {
                assert!(
                    help.contains(event),
                    "{provider}: {event} missing from the help"
                );
            }
        }
    }

    #[test]
    fn bad_fault_specs_are_refused() {
        assert!(Cli::try_parse_from(["gwi", "--faults", "error=3"]).is_err());
        assert!(Cli::try_parse_from(["gwi", "--faults", "wobble=0.1"]).is_err());
    }

    #[test]
    fn send_webhook_parses() {
        let cli = Cli::try_parse_from([
            "gwi",
            "send-webhook",
            "github",
            "--to",
            "http://127.0.0.1:9/hook",
            "--secret",
            "s",
            "--event",
            "push",
            "--count",
            "5",
            "--duplicate-rate",
            "0.5",
        ])
        .unwrap();
        let Some(SandboxCommand::SendWebhook(a)) = cli.args.command else {
            panic!("expected send-webhook");
        };
        assert_eq!(a.event.as_deref(), Some("push"));
        assert_eq!(a.count, 5);
        assert_eq!(a.duplicate_rate, 0.5);
        assert!(
            Cli::try_parse_from([
                "gwi",
                "send-webhook",
                "gitbucket",
                "--to",
                "http://x/",
                "--secret",
                "s",
            ])
            .is_err()
        );
        assert!(
            Cli::try_parse_from([
                "gwi",
                "send-webhook",
                "github",
                "--to",
                "http://x/",
                "--secret",
                "s",
                "--bad-signature-rate",
                "2"
            ])
            .is_err()
        );
    }
}
