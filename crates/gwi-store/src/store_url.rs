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

/// `url` with any `user:password@` part replaced, safe for errors and logs.
///
/// Works on text rather than a parsed URL, so malformed URLs are redacted too.
pub fn redact(url: &str) -> String {
    let Some(at) = url.rfind('@') else {
        return url.to_owned();
    };
    let start = url[..at].find("://").map_or(0, |i| i + 3);
    format!("{}[redacted]{}", &url[..start], &url[at..])
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
    }
}
