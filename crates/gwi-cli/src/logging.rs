//! Logging set-up: `GWI_LOG` picks the level (`info`, `debug`, ...) or `json` for JSON lines.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber writing to stderr; stdout stays clean for data outputs.
/// `quiet` commands (whose report is the output) log only errors unless asked for more.
pub fn init(verbose: bool, quiet: bool) {
    let setting = std::env::var("GWI_LOG").unwrap_or_default();
    let json = setting.split(',').any(|p| p.trim() == "json");
    let level: String = setting
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "json")
        .collect::<Vec<_>>()
        .join(",");
    let level = if !level.is_empty() {
        level
    } else if verbose {
        "debug".to_owned()
    } else if quiet {
        "error".to_owned()
    } else {
        "info,sqlx=warn,hyper=warn,reqwest=warn".to_owned()
    };
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.with_target(false).init();
    }
}
