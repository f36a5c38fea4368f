//! The slice of JQL a sync sends: `project = KEY`, `project in (A, B)`, `updated >= "yyyy-MM-dd
//! HH:mm"` (also `>`, `<=`, `<`; read in the site user's time zone), joined by `AND`, and `ORDER
//! BY updated|created|key|id ASC|DESC, ...`. Anything else is refused the way Jira refuses it.

use chrono::{NaiveDate, NaiveDateTime, TimeZone as _};

use super::data::PROJECTS;
use crate::core::table::Direction;
use crate::core::time::Secs;

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Project indices kept (`None`: no project clause).
    pub projects: Option<Vec<usize>>,
    /// Time bounds on `updated` / `created`: `(field, op, secs)`.
    pub times: Vec<(&'static str, Op, Secs)>,
    /// Issue ids kept (`id = 10042`; `None`: no id clause).
    pub ids: Option<Vec<u64>>,
    /// Sort keys, first first.
    pub order: Vec<(&'static str, Direction)>,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
}

impl Op {
    /// Whether `value` passes against `bound`.
    pub fn holds(self, value: Secs, bound: Secs) -> bool {
        match self {
            Self::Ge => value >= bound,
            Self::Gt => value > bound,
            Self::Le => value <= bound,
            Self::Lt => value < bound,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Sym(String),
}

fn tokens(jql: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = jql.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\'' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some(q) if q == c => break,
                    Some(ch) => s.push(ch),
                    None => return Err("the quoted string is not closed.".to_owned()),
                }
            }
            out.push(Tok::Str(s));
        } else if matches!(c, '(' | ')' | ',') {
            chars.next();
            out.push(Tok::Sym(c.to_string()));
        } else if matches!(c, '=' | '!' | '<' | '>' | '~') {
            chars.next();
            let mut s = c.to_string();
            if chars.peek() == Some(&'=') {
                chars.next();
                s.push('=');
            }
            out.push(Tok::Sym(s));
        } else {
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || "()=,!<>~\"'".contains(ch) {
                    break;
                }
                s.push(ch);
                chars.next();
            }
            out.push(Tok::Word(s));
        }
    }
    Ok(out)
}

/// A JQL date (`yyyy-MM-dd HH:mm`, `yyyy/MM/dd HH:mm` or a bare date) in zone `tz`, as UTC.
pub fn parse_date(s: &str, tz: chrono_tz::Tz) -> Option<Secs> {
    let s = s.trim().replace('/', "-");
    let naive = NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    // A local time skipped by a DST change is read an hour later, as Jira does.
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.timestamp())
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    tz: chrono_tz::Tz,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn word_is(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn value(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Word(w) | Tok::Str(w)) => Ok(w),
            other => Err(format!(
                "Expecting a value but got {}.",
                shown(other.as_ref())
            )),
        }
    }

    fn project(&self, key: &str) -> Result<usize, String> {
        PROJECTS
            .iter()
            .position(|p| p.1.eq_ignore_ascii_case(key) || p.0 == key)
            .ok_or_else(|| format!("The value '{key}' does not exist for the field 'project'."))
    }

    fn clause(&mut self, q: &mut Query) -> Result<(), String> {
        let field = match self.next() {
            Some(Tok::Word(w)) => w.to_ascii_lowercase(),
            other => {
                return Err(format!(
                    "Expecting a field name but got {}.",
                    shown(other.as_ref())
                ));
            }
        };
        match field.as_str() {
            "project" => {
                let keys = if self.word_is("in") {
                    self.next();
                    if self.next() != Some(Tok::Sym("(".into())) {
                        return Err("Expecting '(' after 'in'.".to_owned());
                    }
                    let mut keys = vec![self.value()?];
                    loop {
                        match self.next() {
                            Some(Tok::Sym(s)) if s == "," => keys.push(self.value()?),
                            Some(Tok::Sym(s)) if s == ")" => break,
                            other => {
                                return Err(format!(
                                    "Expecting ',' or ')' but got {}.",
                                    shown(other.as_ref())
                                ));
                            }
                        }
                    }
                    keys
                } else {
                    match self.next() {
                        Some(Tok::Sym(s)) if s == "=" => vec![self.value()?],
                        other => {
                            return Err(format!(
                                "The operator {} is not supported by the 'project' field.",
                                shown(other.as_ref())
                            ));
                        }
                    }
                };
                let scopes = keys
                    .iter()
                    .map(|k| self.project(k))
                    .collect::<Result<Vec<_>, _>>()?;
                q.projects = Some(match q.projects.take() {
                    None => scopes,
                    Some(held) => held.into_iter().filter(|s| scopes.contains(s)).collect(),
                });
            }
            "id" => {
                match self.next() {
                    Some(Tok::Sym(s)) if s == "=" => {}
                    other => {
                        return Err(format!(
                            "The operator {} is not supported by the 'id' field.",
                            shown(other.as_ref())
                        ));
                    }
                }
                let raw = self.value()?;
                let id = raw
                    .parse::<u64>()
                    .map_err(|_| format!("The issue id '{raw}' is not a number."))?;
                q.ids = Some(match q.ids.take() {
                    None => vec![id],
                    Some(held) => held.into_iter().filter(|h| *h == id).collect(),
                });
            }
            "updated" | "updateddate" | "created" | "createddate" => {
                let name = if field.starts_with("updated") {
                    "updated"
                } else {
                    "created"
                };
                let op = match self.next() {
                    Some(Tok::Sym(s)) => match s.as_str() {
                        ">=" => Op::Ge,
                        ">" => Op::Gt,
                        "<=" => Op::Le,
                        "<" => Op::Lt,
                        _ => {
                            return Err(format!(
                                "The operator '{s}' is not supported by the '{name}' field."
                            ));
                        }
                    },
                    other => {
                        return Err(format!(
                            "Expecting an operator but got {}.",
                            shown(other.as_ref())
                        ));
                    }
                };
                let raw = self.value()?;
                let t = parse_date(&raw, self.tz).ok_or_else(|| {
                    format!(
                        "Date value '{raw}' for field '{name}' is invalid. Valid formats include: \
                         'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a \
                         period format e.g. '-5d', '4w 2d'."
                    )
                })?;
                q.times.push((name, op, t));
            }
            other => {
                return Err(format!(
                    "Field '{other}' does not exist or you do not have permission to view it."
                ));
            }
        }
        Ok(())
    }

    fn order(&mut self, q: &mut Query) -> Result<(), String> {
        self.next();
        if !self.word_is("by") {
            return Err("Expecting 'BY' after 'ORDER'.".to_owned());
        }
        self.next();
        loop {
            let key = match self.next() {
                Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                    "updated" | "updateddate" => "updated",
                    "created" | "createddate" => "created",
                    "key" | "issuekey" => "key",
                    "id" => "id",
                    other => return Err(format!("Not able to sort using field '{other}'.")),
                },
                other => {
                    return Err(format!(
                        "Expecting a field name but got {}.",
                        shown(other.as_ref())
                    ));
                }
            };
            let mut dir = Direction::Asc;
            if let Some(Tok::Word(w)) = self.peek()
                && let Some(d) = Direction::parse(w)
            {
                dir = d;
                self.next();
            }
            q.order.push((key, dir));
            match self.next() {
                None => return Ok(()),
                Some(Tok::Sym(s)) if s == "," => {}
                other => return Err(format!("Expecting ',' but got {}.", shown(other.as_ref()))),
            }
        }
    }
}

fn shown(t: Option<&Tok>) -> String {
    match t {
        None => "the end of the query".to_owned(),
        Some(Tok::Word(w) | Tok::Sym(w)) => format!("'{w}'"),
        Some(Tok::Str(s)) => format!("'\"{s}\"'"),
    }
}

/// Parses `jql`, dates read in `tz`; `Err` is the text after `Error in the JQL Query: `.
pub fn parse(jql: &str, tz: chrono_tz::Tz) -> Result<Query, String> {
    let mut p = Parser {
        toks: tokens(jql)?,
        at: 0,
        tz,
    };
    let mut q = Query::default();
    // Every clause is joined by AND, so a parenthesised group narrows like any other clause.
    let mut depth = 0usize;
    let mut want_clause = true;
    while let Some(tok) = p.peek() {
        let open = matches!(tok, Tok::Sym(s) if s == "(");
        let close = matches!(tok, Tok::Sym(s) if s == ")");
        if want_clause && open {
            p.next();
            depth += 1;
        } else if !want_clause && close && depth > 0 {
            p.next();
            depth -= 1;
        } else if p.word_is("order") {
            if depth > 0 {
                return Err("Expecting ')' before 'ORDER BY'.".to_owned());
            }
            p.order(&mut q)?;
            break;
        } else if !want_clause {
            if !p.word_is("and") {
                return Err(format!(
                    "Expecting either 'AND' or 'ORDER BY' but got {}.",
                    shown(p.peek())
                ));
            }
            p.next();
            want_clause = true;
        } else {
            p.clause(&mut q)?;
            want_clause = false;
        }
    }
    if depth > 0 {
        return Err("Expecting ')' but got the end of the query.".to_owned());
    }
    Ok(q)
}
