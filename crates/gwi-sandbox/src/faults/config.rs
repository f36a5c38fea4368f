//! Fault rates and their text form (`error=0.05,429=0.01,reset=0.01,latency=20ms`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::error::SandboxError;

/// How often each fault is injected, per request (rates are probabilities in `[0, 1]`, summing to
/// at most 1: a request gets at most one of them), plus latency added to every request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// 500 Internal Server Error.
    pub error_500: f64,
    /// 502 Bad Gateway.
    pub error_502: f64,
    /// 503 Service Unavailable.
    pub error_503: f64,
    /// 429 Too Many Requests with `Retry-After`.
    pub too_many_requests: f64,
    /// 403 with the provider's secondary-rate-limit message and `Retry-After`.
    pub secondary_rate_limit: f64,
    /// Headers and half the body, then the connection is dropped.
    pub reset: f64,
    /// 200 with a body cut short (its `Content-Length` matches the cut body, so only JSON decoding
    /// notices).
    pub truncate: f64,
    /// Smallest delay added before every request is handled.
    pub latency_min: Duration,
    /// Largest delay added (uniform between min and max; equal means a fixed delay).
    pub latency_max: Duration,
    /// `Retry-After` sent with injected 429/403 answers; small so syncs under faults end quickly.
    pub retry_after: Duration,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self::none()
    }
}

impl FaultConfig {
    /// No faults, no latency, `Retry-After: 1`.
    pub const fn none() -> Self {
        Self {
            error_500: 0.0,
            error_502: 0.0,
            error_503: 0.0,
            too_many_requests: 0.0,
            secondary_rate_limit: 0.0,
            reset: 0.0,
            truncate: 0.0,
            latency_min: Duration::ZERO,
            latency_max: Duration::ZERO,
            retry_after: Duration::from_secs(1),
        }
    }

    /// Sets 500, 502 and 503 to a third of `rate` each.
    pub fn with_error_rate(mut self, rate: f64) -> Self {
        self.error_500 = rate / 3.0;
        self.error_502 = rate / 3.0;
        self.error_503 = rate / 3.0;
        self
    }

    /// The sum of all fault rates (the share of requests that get some fault).
    pub fn total_rate(&self) -> f64 {
        self.rates().iter().map(|(_, r)| r).sum()
    }

    /// True when nothing would be injected (no rates, no latency).
    pub fn is_quiet(&self) -> bool {
        self.total_rate() <= 0.0 && self.latency_max.is_zero()
    }

    /// Each fault's spec key with its rate, in the order draws are resolved.
    pub fn rates(&self) -> [(&'static str, f64); 7] {
        [
            ("500", self.error_500),
            ("502", self.error_502),
            ("503", self.error_503),
            ("429", self.too_many_requests),
            ("403", self.secondary_rate_limit),
            ("reset", self.reset),
            ("truncate", self.truncate),
        ]
    }

    /// Checks rates are probabilities that sum to at most 1 and latency bounds are ordered.
    pub fn validate(&self) -> Result<(), SandboxError> {
        for (key, rate) in self.rates() {
            if !(0.0..=1.0).contains(&rate) || rate.is_nan() {
                return Err(SandboxError::InvalidFaultSpec(format!(
                    "rate for `{key}` must be between 0 and 1, got {rate}"
                )));
            }
        }
        if self.total_rate() > 1.0 + 1e-9 {
            return Err(SandboxError::InvalidFaultSpec(format!(
                "fault rates add up to {:.3}, more than 1",
                self.total_rate()
            )));
        }
        if self.latency_min > self.latency_max {
            return Err(SandboxError::InvalidFaultSpec(
                "latency minimum is above its maximum".into(),
            ));
        }
        Ok(())
    }

    /// Applies one `key=value` setting (the spec's grammar; see [`FromStr`]).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SandboxError> {
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        let rate = || -> Result<f64, SandboxError> {
            value.parse::<f64>().map_err(|_| {
                SandboxError::InvalidFaultSpec(format!(
                    "`{key}` needs a rate like 0.05, got `{value}`"
                ))
            })
        };
        match key.as_str() {
            "error" | "5xx" | "errors" => *self = self.with_error_rate(rate()?),
            "500" => self.error_500 = rate()?,
            "502" => self.error_502 = rate()?,
            "503" => self.error_503 = rate()?,
            "429" => self.too_many_requests = rate()?,
            "403" | "secondary" => self.secondary_rate_limit = rate()?,
            "reset" => self.reset = rate()?,
            "truncate" => self.truncate = rate()?,
            "latency" => {
                let (lo, hi) = match value.split_once('-').or_else(|| value.split_once("..")) {
                    Some((lo, hi)) => (
                        parse_duration(lo)?,
                        parse_duration(hi.trim_start_matches('.'))?,
                    ),
                    None => {
                        let d = parse_duration(value)?;
                        (d, d)
                    }
                };
                self.latency_min = lo;
                self.latency_max = hi;
            }
            "retry-after" | "retry_after" => self.retry_after = parse_duration(value)?,
            other => {
                return Err(SandboxError::InvalidFaultSpec(format!(
                    "unknown fault `{other}` (known: error, 500, 502, 503, 429, 403, reset, truncate, \
                     latency, retry-after)"
                )));
            }
        }
        Ok(())
    }

    /// Reads the JSON form `POST /_sandbox/faults` takes: either `{"spec": "error=0.05,..."}` or an
    /// object of the same keys, rates as numbers and durations as strings (`{"429": 0.1,
    /// "latency": "20ms"}`). Settings not named keep their value in `base`.
    pub fn from_json(base: Self, value: &serde_json::Value) -> Result<Self, SandboxError> {
        let obj = value.as_object().ok_or_else(|| {
            SandboxError::InvalidFaultSpec("expected a JSON object of fault settings".into())
        })?;
        let mut cfg = base;
        for (key, v) in obj {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Null => continue,
                other => {
                    return Err(SandboxError::InvalidFaultSpec(format!(
                        "`{key}` must be a number or a string, got {other}"
                    )));
                }
            };
            if key == "spec" {
                cfg = if text.trim().is_empty() || text.trim() == "none" {
                    Self {
                        retry_after: cfg.retry_after,
                        ..Self::none()
                    }
                } else {
                    apply_spec(cfg, &text)?
                };
            } else {
                cfg.set(key, &text)?;
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

fn apply_spec(mut cfg: FaultConfig, spec: &str) -> Result<FaultConfig, SandboxError> {
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            SandboxError::InvalidFaultSpec(format!("`{item}` should look like key=value"))
        })?;
        cfg.set(k, v)?;
    }
    Ok(cfg)
}

/// Parses `error=0.05,429=0.01,403=0.01,reset=0.01,truncate=0.01,latency=20ms,retry-after=1s`.
///
/// `error` spreads evenly over 500/502/503, which can also be set one by one; `latency` takes a fixed
/// duration or a range (`10ms-50ms`); durations take `us`, `ms`, `s` or `m`. `none` or an empty
/// string means no faults.
impl FromStr for FaultConfig {
    type Err = SandboxError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        if spec.trim().is_empty() || spec.trim() == "none" {
            return Ok(Self::none());
        }
        let cfg = apply_spec(Self::none(), spec)?;
        cfg.validate()?;
        Ok(cfg)
    }
}

impl fmt::Display for FaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .rates()
            .iter()
            .filter(|(_, r)| *r > 0.0)
            .map(|(k, r)| format!("{k}={r}"))
            .collect();
        if !self.latency_max.is_zero() {
            parts.push(format!("latency={}", latency_text(self)));
        }
        if parts.is_empty() {
            parts.push("none".into());
        }
        parts.push(format!("retry-after={}", duration_text(self.retry_after)));
        f.write_str(&parts.join(","))
    }
}

impl Serialize for FaultConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, r) in self.rates() {
            m.serialize_entry(k, &r)?;
        }
        m.serialize_entry("latency", &latency_text(self))?;
        m.serialize_entry("retry_after", &duration_text(self.retry_after))?;
        m.serialize_entry("spec", &self.to_string())?;
        m.end()
    }
}

fn latency_text(c: &FaultConfig) -> String {
    if c.latency_min == c.latency_max {
        duration_text(c.latency_max)
    } else {
        format!(
            "{}-{}",
            duration_text(c.latency_min),
            duration_text(c.latency_max)
        )
    }
}

fn duration_text(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}us", d.as_micros())
    }
}

/// Parses `250us`, `20ms`, `1s`, `1.5s`, `2m` (and `0`).
pub fn parse_duration(text: &str) -> Result<Duration, SandboxError> {
    let t = text.trim();
    let bad = || SandboxError::InvalidFaultSpec(format!("`{t}` is not a duration like 20ms or 1s"));
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    let split = t.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n < 0.0 {
        return Err(bad());
    }
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_spec() {
        let c: FaultConfig = "error=0.06,429=0.01,reset=0.01,latency=20ms"
            .parse()
            .unwrap();
        assert!((c.error_500 - 0.02).abs() < 1e-12);
        assert!((c.error_503 - 0.02).abs() < 1e-12);
        assert_eq!(c.too_many_requests, 0.01);
        assert_eq!(c.reset, 0.01);
        assert_eq!(c.latency_min, Duration::from_millis(20));
        assert_eq!(c.latency_max, Duration::from_millis(20));
        assert_eq!(c.retry_after, Duration::from_secs(1));
    }

    #[test]
    fn parses_latency_ranges_and_retry_after() {
        let c: FaultConfig = "latency=10ms-50ms,retry-after=2s,403=0.5".parse().unwrap();
        assert_eq!(c.latency_min, Duration::from_millis(10));
        assert_eq!(c.latency_max, Duration::from_millis(50));
        assert_eq!(c.retry_after, Duration::from_secs(2));
        assert_eq!(c.secondary_rate_limit, 0.5);
    }

    #[test]
    fn refuses_unknown_keys_bad_rates_and_sums_above_one() {
        assert!("bogus=0.1".parse::<FaultConfig>().is_err());
        assert!("429=1.5".parse::<FaultConfig>().is_err());
        assert!("error=0.9,429=0.2".parse::<FaultConfig>().is_err());
        assert!("latency=20".parse::<FaultConfig>().is_err());
        assert!("429".parse::<FaultConfig>().is_err());
    }

    #[test]
    fn display_round_trips() {
        let c: FaultConfig = "500=0.1,truncate=0.2,latency=5ms-7ms,retry-after=3s"
            .parse()
            .unwrap();
        let again: FaultConfig = c.to_string().parse().unwrap();
        assert_eq!(c, again);
        assert_eq!(FaultConfig::none().to_string(), "none,retry-after=1s");
    }

    #[test]
    fn json_form_accepts_keys_or_a_spec() {
        let v = serde_json::json!({"429": 0.25, "latency": "1ms"});
        let c = FaultConfig::from_json(FaultConfig::none(), &v).unwrap();
        assert_eq!(c.too_many_requests, 0.25);
        assert_eq!(c.latency_max, Duration::from_millis(1));
        let v = serde_json::json!({"spec": "reset=0.5"});
        let c = FaultConfig::from_json(c, &v).unwrap();
        assert_eq!(c.reset, 0.5);
        assert_eq!(c.too_many_requests, 0.25);
        let cleared = FaultConfig::from_json(c, &serde_json::json!({"spec": "none"})).unwrap();
        assert!(cleared.is_quiet());
    }
}
