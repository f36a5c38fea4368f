//! Store URLs: which engine a URL names, and how to show one without its password.

/// The engine a store URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres:` and `postgresql:` URLs.
    Postgres,
}

/// The engine `url` names by its scheme, if gwi knows it.
pub fn engine_for(url: &str) -> Option<Engine> {
    let (scheme, _) = url.split_once(':')?;
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => Some(Engine::Sqlite),
        "postgres" | "postgresql" => Some(Engine::Postgres),
        _ => None,
    }
}

/// Query parameters that carry a credential (`?password=...` is a libpq option).
const SECRET_PARAMS: [&str; 2] = ["password", "sslpassword"];

/// `url` with any `user:password@` part and any `password=` parameter replaced, safe for
/// errors and logs.
///
/// Works on text rather than a parsed URL, so malformed URLs are redacted too.
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.rfind('@') {
        Some(at) => {
            let start = base[..at].find("://").map_or(0, |i| i + 3);
            format!("{}[redacted]{}", &base[..start], &base[at..])
        }
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if SECRET_PARAMS.iter().any(|s| key.eq_ignore_ascii_case(s)) => {
                    format!("{key}=[redacted]")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_chosen_by_scheme() {
        assert_eq!(engine_for("sqlite://./gwi.db"), Some(Engine::Sqlite));
        assert_eq!(engine_for("sqlite::memory:"), Some(Engine::Sqlite));
        assert_eq!(engine_for("postgres://u@h/db"), Some(Engine::Postgres));
        assert_eq!(engine_for("PostgreSQL://u@h/db"), Some(Engine::Postgres));
        assert_eq!(engine_for("mysql://u@h/db"), None);
        assert_eq!(engine_for("./gwi.db"), None);
    }

    #[test]
    fn redact_hides_credentials_even_in_malformed_urls() {
        assert_eq!(
            redact("mysql://admin:hunter2@db.local/x"),
            "mysql://[redacted]@db.local/x"
        );
        assert_eq!(redact("admin:hunter2@db.local"), "[redacted]@db.local");
        assert_eq!(redact("sqlite://./gwi.db"), "sqlite://./gwi.db");
        assert_eq!(
            redact("postgres://db.local/gwi?sslmode=require&password=hunter2&PASSWORD=x"),
            "postgres://db.local/gwi?sslmode=require&password=[redacted]&PASSWORD=[redacted]"
        );
        assert_eq!(
            redact("postgres://u:p@h/db?application_name=a@b"),
            "postgres://[redacted]@h/db?application_name=a@b"
        );
    }
}
