//! Slack's objects as sandbox tables: fixed channels, users and messages generated from the seed,
//! changed by mutations.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::core::rng::SandboxRng;
use crate::core::table::{Row, Table};
use crate::core::time::Secs;
use crate::provider::{Change, ChangeAction};

/// The workspace.
pub const TEAM_ID: &str = "T0SANDBOX";
/// The workspace's name.
pub const TEAM_NAME: &str = "Acme";
/// The bot user the sandbox's tokens belong to.
pub const BOT_USER: &str = "U0SBXBOT";
/// The bot's bot id (bot messages carry it).
pub const BOT_ID: &str = "B0SBXBOT";
/// The bot user's name.
pub const BOT_NAME: &str = "gwi-bot";

/// Generated data spans 2024, as the other providers' does.
const DATA_START: Secs = 1_704_067_200;
const DATA_END: Secs = 1_735_689_600;
const DAY: Secs = 86_400;
/// A message is "recent" (edited, replied to, deleted by mutations) within this of its
/// channel's newest message.
const RECENT: Secs = 3 * DAY;

/// One channel of the workspace.
#[derive(Debug, Clone, Copy)]
pub struct Channel {
    /// Channel id.
    pub id: &'static str,
    /// Channel name.
    pub name: &'static str,
    /// A private channel (a "group").
    pub private: bool,
    /// Archived: listed, readable, never changed.
    pub archived: bool,
    /// Whether the bot is a member (and may read its history).
    pub member: bool,
    /// Creation time.
    pub created: Secs,
    /// Topic and when it was set (0: never).
    pub topic: (&'static str, Secs),
    /// Purpose and when it was set (0: never).
    pub purpose: (&'static str, Secs),
}

impl Channel {
    /// The newest of its creation and topic and purpose changes.
    pub fn updated(&self) -> Secs {
        self.created.max(self.topic.1).max(self.purpose.1)
    }

    /// Whether mutations post, edit and delete in it.
    fn changes(&self) -> bool {
        self.member && !self.archived
    }
}

/// The workspace's channels; a channel's index is its scope in the tables.
pub const CHANNELS: [Channel; 5] = [
    Channel {
        id: "C0SBXGENRL",
        name: "general",
        private: false,
        archived: false,
        member: true,
        created: 1_672_531_200,
        topic: ("Company-wide announcements", 1_709_251_200),
        purpose: ("Everyone, everything", 0),
    },
    Channel {
        id: "C0SBXRANDM",
        name: "random",
        private: false,
        archived: false,
        member: true,
        created: 1_672_531_260,
        topic: ("Water cooler", 0),
        purpose: ("Non-work banter", 1_714_521_600),
    },
    Channel {
        id: "C0SBXOLDPR",
        name: "old-project",
        private: false,
        archived: true,
        member: true,
        created: 1_680_307_200,
        topic: ("Shipped, archived", 1_717_200_000),
        purpose: ("The 2023 launch", 1_680_307_200),
    },
    Channel {
        id: "C0SBXPRIVT",
        name: "eng-private",
        private: true,
        archived: false,
        member: true,
        created: 1_688_169_600,
        topic: ("On-call and incidents", 1_722_470_400),
        purpose: ("Engineering only", 0),
    },
    Channel {
        id: "C0SBXMRKTG",
        name: "marketing",
        private: false,
        archived: false,
        member: false,
        created: 1_693_526_400,
        topic: ("Campaigns", 0),
        purpose: ("Launch plans", 0),
    },
];

/// `(name, real name, title)` of the human users; user `i` has row id `i + 1` and Slack id
/// `U0SBX000<i+1>`; the last two are deactivated.
const PEOPLE: [(&str, &str, &str); 12] = [
    ("ada", "Ada Lovelace", "Engineer"),
    ("grace", "Grace Hopper", "Staff Engineer"),
    ("linus", "Linus Torvalds", "Kernel Lead"),
    ("margaret", "Margaret Hamilton", "Director"),
    ("ken", "Ken Thompson", "Engineer"),
    ("barbara", "Barbara Liskov", "Architect"),
    ("dennis", "Dennis Ritchie", "Engineer"),
    ("frances", "Frances Allen", "Researcher"),
    ("edsger", "Edsger Dijkstra", "Reviewer"),
    ("radia", "Radia Perlman", "Network Lead"),
    ("hedy", "Hedy Lamarr", "Inventor"),
    ("alan", "Alan Turing", "Consultant"),
];
const TITLES: [&str; 4] = ["Principal Engineer", "Manager", "On leave", "Advisor"];
const TEXTS: [&str; 8] = [
    "Deploy is done, all green.",
    "Can someone review the importer change?",
    "Standup moved to 10:30 today.",
    "The cache fix is on staging.",
    "Lunch at noon?",
    "Incident resolved, write-up to follow.",
    "New dashboard is live: <https://example.com/d|dashboard>",
    "Thanks <@U0SBX0002>!",
];
const EMOJI: [&str; 5] = ["thumbsup", "tada", "eyes", "white_check_mark", "heart"];
const FILES: [(&str, &str, &str); 3] = [
    ("report.pdf", "application/pdf", "pdf"),
    ("screenshot.png", "image/png", "png"),
    ("notes.txt", "text/plain", "text"),
];

/// A message timestamp: seconds and microseconds, compared as integers.
pub type Ts = (Secs, u32);

/// Parses `1712345678.000216` (or `1712345678`, or fewer fraction digits); `None` if malformed.
pub fn parse_ts(s: &str) -> Option<Ts> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if secs.is_empty() || !digits(secs) || !digits(frac) || frac.len() > 6 {
        return None;
    }
    let micros = format!("{frac:0<6}").parse().ok()?;
    Some((secs.parse().ok()?, micros))
}

/// `1712345678.000216`.
pub fn format_ts((secs, micros): Ts) -> String {
    format!("{secs}.{micros:06}")
}

/// A message row's `ts`.
pub fn row_ts(row: &Row) -> Ts {
    parse_ts(row.str("ts")).unwrap_or((0, 0))
}

/// The Slack id of human user `n` (1-based).
fn user_id(n: usize) -> String {
    format!("U0SBX{n:04}")
}

/// Everything the simulated workspace holds.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// Users, the bot last (scope 0); fields in Slack's words plus `title` and `email`.
    pub users: Table,
    /// Messages and replies (scope: channel index; a reply's parent: its thread parent's row id);
    /// fields are the message's own keys in Slack's words, plus `_previous` after an edit.
    pub messages: Table,
    /// Mutations applied, so each one draws different contents.
    pub generation: u64,
}

/// A time in `[from, to)`.
/// A timestamp in `[from, to)` seconds not in `used`.
fn fresh(rng: &mut SandboxRng, used: &mut BTreeSet<Ts>, from: Secs, to: Secs) -> Ts {
    loop {
        let ts = (rng.time_between(from, to), rng.below(1_000_000) as u32);
        if used.insert(ts) {
            return ts;
        }
    }
}

fn text(rng: &mut SandboxRng) -> String {
    rng.pick(&TEXTS).copied().unwrap_or("hi").to_owned()
}

impl Data {
    /// The workspace for `seed`, each member channel holding about `60 * scale` messages.
    pub fn generate(seed: u64, scale: u32) -> Self {
        let mut data = Self::default();
        let mut rng = SandboxRng::derive(seed, "slack-users", &[]);
        for (i, (name, real, title)) in PEOPLE.iter().enumerate() {
            let updated = rng.time_between(DATA_START, DATA_END);
            data.users.insert(
                Row::new(i as u64 + 1, 0, updated)
                    .with("id", user_id(i + 1))
                    .with("name", *name)
                    .with("real_name", *real)
                    .with("title", *title)
                    .with("email", format!("{name}@acme.example.com"))
                    .with("deleted", i >= PEOPLE.len() - 2)
                    .with("is_bot", false),
            );
        }
        data.users.insert(
            Row::new(PEOPLE.len() as u64 + 1, 0, DATA_START + 30 * DAY)
                .with("id", BOT_USER)
                .with("name", BOT_NAME)
                .with("real_name", "gwi")
                .with("title", "")
                .with("deleted", false)
                .with("is_bot", true),
        );
        let scale = u64::from(scale.max(1));
        for (scope, _) in CHANNELS.iter().enumerate().filter(|(_, c)| c.member) {
            let mut rng = SandboxRng::derive(seed, "slack", &[scope as u64]);
            let mut used = BTreeSet::new();
            let count = (55 + rng.below(11)) * scale;
            let mut tops: Vec<Ts> = (0..count)
                .map(|_| fresh(&mut rng, &mut used, DATA_START, DATA_END - 10 * DAY))
                .collect();
            tops.sort_unstable();
            for ts in tops {
                let id = data.messages.max_id() + 1;
                let row = data.message_row(&mut rng, id, scope, ts, true);
                let row = decorate(&mut rng, row, ts);
                data.messages.insert(row);
                if rng.chance(0.25) {
                    let mut replies: Vec<Ts> = (0..1 + rng.below(5))
                        .map(|_| fresh(&mut rng, &mut used, ts.0 + 1, ts.0 + 5 * DAY))
                        .collect();
                    replies.sort_unstable();
                    for reply in replies {
                        data.add_reply(&mut rng, id, reply, true);
                    }
                }
            }
        }
        data
    }

    /// A live human user's Slack id, drawn by `rng`.
    fn author(&self, rng: &mut SandboxRng) -> String {
        let ids: Vec<&str> = self
            .users
            .live()
            .filter(|u| u.field("deleted") == false && u.field("is_bot") == false)
            .map(|u| u.str("id"))
            .collect();
        rng.pick(&ids)
            .map_or_else(|| user_id(1), |s| (*s).to_owned())
    }

    /// A new top-level message (sometimes the bot's, when `bot` allows) at `ts`.
    fn message_row(&self, rng: &mut SandboxRng, id: u64, scope: usize, ts: Ts, bot: bool) -> Row {
        let row = Row::new(id, scope, ts.0)
            .with("ts", format_ts(ts))
            .with("text", text(rng));
        if bot && rng.chance(0.06) {
            row.with("subtype", "bot_message").with("bot_id", BOT_ID)
        } else {
            row.with("user", self.author(rng))
        }
    }

    /// Adds a reply at `ts` to the thread of message `parent` (making it a parent if it was not
    /// one), decorated like generated messages when `decorated`; gives the reply's row id.
    fn add_reply(&mut self, rng: &mut SandboxRng, parent: u64, ts: Ts, decorated: bool) -> u64 {
        let Some(p) = self.messages.get(parent) else {
            return 0;
        };
        let (scope, thread_ts) = (p.scope, p.str("ts").to_owned());
        let parent_user = match p.str("user") {
            "" => BOT_USER.to_owned(),
            u => u.to_owned(),
        };
        let id = self.messages.max_id() + 1;
        let mut row = self
            .message_row(rng, id, scope, ts, false)
            .child_of(parent)
            .with("thread_ts", thread_ts.clone())
            .with("parent_user_id", parent_user);
        if decorated {
            row = decorate(rng, row, ts);
        }
        let user = row.str("user").to_owned();
        self.messages.insert(row);
        if let Some(p) = self.messages.get_mut(parent) {
            let mut users: Vec<Value> = p
                .fields
                .get("reply_users")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !users.iter().any(|u| u == user.as_str()) {
                users.push(user.into());
            }
            let latest = parse_ts(p.str("latest_reply")).unwrap_or((0, 0)).max(ts);
            p.updated = p.updated.max(ts.0);
            let count = p.u64("reply_count") + 1;
            p.fields.insert("thread_ts".into(), thread_ts.into());
            p.fields.insert("reply_count".into(), count.into());
            p.fields
                .insert("reply_users_count".into(), users.len().into());
            p.fields.insert("reply_users".into(), users.into());
            p.fields
                .insert("latest_reply".into(), format_ts(latest).into());
        }
        id
    }

    /// The newest time anything was created or changed.
    pub fn newest(&self) -> Secs {
        let channels = CHANNELS.iter().map(Channel::updated).max().unwrap_or(0);
        self.messages
            .newest()
            .max(self.users.newest())
            .max(channels)
    }

    /// Applies `count` changes stamped `at` to member channels that are not archived and to
    /// users; every record touched is reported once, with its strongest action.
    pub fn mutate(
        &mut self,
        count: usize,
        at: Secs,
        rng: &mut SandboxRng,
    ) -> Vec<(&'static str, ChangeAction, u64)> {
        self.generation += 1;
        let recent_from: Vec<Option<Ts>> = (0..CHANNELS.len())
            .map(|scope| {
                self.messages
                    .live()
                    .filter(|r| r.scope == scope && r.parent.is_none())
                    .map(row_ts)
                    .max()
                    .map(|(secs, micros)| (secs - RECENT, micros))
            })
            .collect();
        let scopes: Vec<usize> = (0..CHANNELS.len())
            .filter(|&s| CHANNELS[s].changes())
            .collect();
        let mut n = 0;
        let mut changes = Vec::new();
        for _ in 0..count {
            let Some(&scope) = rng.pick(&scopes) else {
                break;
            };
            let from = recent_from[scope];
            let recent = |r: &Row| {
                r.scope == scope && r.parent.is_none() && from.is_some_and(|f| row_ts(r) >= f)
            };
            let draw = rng.unit();
            if draw < 0.4 {
                n += 1;
                let id = self.messages.max_id() + 1;
                let row = self.message_row(rng, id, scope, (at, n), true);
                self.messages.insert(row);
                changes.push(("message", ChangeAction::Created, id));
            } else if draw < 0.6 {
                if let Some(parent) = self.messages.pick(rng, recent) {
                    n += 1;
                    let reply = self.add_reply(rng, parent, (at, n), false);
                    self.messages.update(parent, at, |_| {});
                    changes.push(("message", ChangeAction::Created, reply));
                    changes.push(("thread", ChangeAction::Updated, parent));
                }
            } else if draw < 0.75 {
                let human = |r: &Row| recent(r) && !r.str("user").is_empty();
                if let Some(id) = self.messages.pick(rng, human) {
                    let new_text = format!("{} (edited)", text(rng));
                    self.messages.update(id, at, |row| edit(row, new_text, at));
                    changes.push(("message", ChangeAction::Updated, id));
                }
            } else if draw < 0.85 {
                let lonely = |r: &Row| recent(r) && r.u64("reply_count") == 0;
                if let Some(id) = self.messages.pick(rng, lonely) {
                    self.messages.delete(id, at);
                    changes.push(("message", ChangeAction::Deleted, id));
                }
            } else {
                // A deactivated person comes back, so user changes never run out.
                let person = |r: &Row| r.field("is_bot") == false;
                if let Some(id) = self.users.pick(rng, person) {
                    let gone = self
                        .users
                        .get(id)
                        .is_some_and(|r| r.field("deleted") == true);
                    let key = match rng.below(3) {
                        _ if gone => "deleted",
                        0 => "title",
                        1 => "real_name",
                        _ => "deleted",
                    };
                    let title = rng.pick(&TITLES).copied().unwrap_or("");
                    self.users.update(id, at, |row| {
                        let value = match key {
                            "title" => json!(title),
                            "real_name" => json!(format!("{} Jr.", row.str("real_name"))),
                            _ => json!(!gone),
                        };
                        row.fields.insert(key.to_owned(), value);
                    });
                    changes.push(("user", ChangeAction::Updated, id));
                }
            }
        }
        ChangeAction::strongest(changes)
    }
}

/// Edits `row` at `at` to `text`, keeping what it was for the `message_changed` event.
fn edit(row: &mut Row, text: String, at: Secs) {
    let previous = json!({"text": row.field("text"), "edited": row.field("edited")});
    let edited = json!({"user": row.str("user"), "ts": format_ts((at, 0))});
    row.fields.insert("_previous".into(), previous);
    row.fields.insert("text".into(), text.into());
    row.fields.insert("edited".into(), edited);
}

/// Some generated messages were edited, got reactions or carry files.
fn decorate(rng: &mut SandboxRng, mut row: Row, ts: Ts) -> Row {
    let user = row.str("user").to_owned();
    if !user.is_empty() && rng.chance(0.12) {
        let at = ts.0 + 60 + rng.below(DAY as u64) as Secs;
        row.fields.insert(
            "edited".into(),
            json!({"user": user, "ts": format_ts((at, 0))}),
        );
        row.updated = row.updated.max(at);
    }
    if rng.chance(0.15) {
        let users: BTreeSet<String> = (0..1 + rng.below(3))
            .map(|n| user_id(1 + (n + rng.below(10)) as usize % 10))
            .collect();
        let name = rng.pick(&EMOJI).copied().unwrap_or("eyes");
        row.fields.insert(
            "reactions".into(),
            json!([{"name": name, "users": users, "count": users.len()}]),
        );
    }
    if !user.is_empty() && rng.chance(0.08) {
        let (name, mimetype, filetype) = rng.pick(&FILES).copied().unwrap_or(FILES[0]);
        row.fields.insert(
            "files".into(),
            json!([{
                "id": format!("F0SBX{:06}", row.id), "created": ts.0, "timestamp": ts.0,
                "name": name, "title": name, "mimetype": mimetype, "filetype": filetype,
                "pretty_type": filetype.to_uppercase(), "user": user, "user_team": TEAM_ID,
                "mode": "hosted", "editable": false, "is_external": false,
                "size": 1024 + rng.below(500_000), "is_public": true,
            }]),
        );
    }
    row
}

/// A change as the sandbox reports it.
pub fn change(data: &Data, kind: &'static str, action: ChangeAction, id: u64) -> Option<Change> {
    let scope = if kind == "user" {
        data.users.get(id)?;
        TEAM_ID.to_owned()
    } else {
        CHANNELS.get(data.messages.get(id)?.scope)?.id.to_owned()
    };
    Some(Change {
        provider: "slack",
        generation: data.generation,
        scope,
        kind,
        action,
        id,
        number: None,
        sha: None,
    })
}
