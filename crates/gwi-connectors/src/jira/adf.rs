//! Atlassian Document Format to plain text, so descriptions and comments can be searched.
//!
//! Blocks (paragraphs, headings, quotes, code blocks, list items, table rows) end with a line
//! break and are separated by a blank line; lists get `- ` or `1. ` markers, indented when
//! nested; mentions keep their `@Name`, emoji their shortcode, links their text followed by the
//! address when it differs, cards and embeds their address. Unknown nodes give their text
//! children. Documents come from the network: nesting past [`MAX_DEPTH`] is cut rather than
//! followed, and any value renders to some text without failing.

use serde_json::Value;

/// Deeper nodes are left out, so a hostile document cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// The plain text of an ADF document; a plain string (as REST v2 and webhooks give) is its own
/// text, anything else has none.
pub(crate) fn plain_text(doc: &Value) -> String {
    match doc {
        Value::String(text) => text.clone(),
        Value::Object(_) => {
            let mut out = Writer::default();
            out.node(doc, 0);
            out.finish()
        }
        _ => String::new(),
    }
}

#[derive(Default)]
struct Writer {
    text: String,
    /// The list markers of the lists we are in, innermost last: `None` for bullets, the next
    /// number for ordered lists.
    lists: Vec<Option<u64>>,
}

impl Writer {
    fn node(&mut self, node: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let kind = node.get("type").and_then(Value::as_str).unwrap_or_default();
        let attr = |name: &str| {
            node.get("attrs")
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        match kind {
            "text" => self.text(node),
            "hardBreak" => self.text.push('\n'),
            "mention" => self.text.push_str(attr("text")),
            "emoji" => self.text.push_str(match attr("text") {
                "" => attr("shortName"),
                text => text,
            }),
            "inlineCard" | "blockCard" | "embedCard" => self.text.push_str(attr("url")),
            "status" => self.text.push_str(attr("text")),
            "date" => self.text.push_str(attr("timestamp")),
            "rule" => self.block(|w| w.text.push_str("---")),
            "bulletList" | "orderedList" => {
                let start = (kind == "orderedList").then(|| {
                    node.get("attrs")
                        .and_then(|a| a.get("order"))
                        .and_then(Value::as_u64)
                        .unwrap_or(1)
                });
                if self.lists.is_empty() {
                    // A list stands apart from the block before it, as blocks do.
                    self.start_line();
                    if !self.text.is_empty() && !self.text.ends_with("\n\n") {
                        self.text.push('\n');
                    }
                }
                self.lists.push(start);
                self.children(node, depth);
                self.lists.pop();
            }
            "listItem" => {
                self.start_line();
                let indent = "  ".repeat(self.lists.len().saturating_sub(1));
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let marker = format!("{n}. ");
                        *n += 1;
                        marker
                    }
                    _ => "- ".to_owned(),
                };
                self.text.push_str(&indent);
                self.text.push_str(&marker);
                self.children(node, depth);
            }
            "paragraph" | "heading" | "codeBlock" | "blockquote" | "panel" | "tableRow"
            | "expand" | "nestedExpand" | "decisionItem" | "taskItem" => {
                if self.lists.is_empty() {
                    self.block(|w| {
                        if kind == "blockquote" {
                            w.text.push_str("> ");
                        }
                        w.children(node, depth);
                    });
                } else {
                    // Inside a list item, its paragraphs continue the item's line.
                    self.children(node, depth);
                }
            }
            "tableCell" | "tableHeader" => {
                if !self.text.ends_with('\n') && !self.text.is_empty() && !self.text.ends_with(' ')
                {
                    self.text.push_str(" | ");
                }
                self.children(node, depth);
            }
            _ => self.children(node, depth),
        }
    }

    fn text(&mut self, node: &Value) {
        let text = node.get("text").and_then(Value::as_str).unwrap_or_default();
        self.text.push_str(text);
        let href = node
            .get("marks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|m| m.get("type").and_then(Value::as_str) == Some("link"))
            .find_map(|m| m.get("attrs")?.get("href")?.as_str());
        if let Some(href) = href
            && href != text
        {
            self.text.push_str(" (");
            self.text.push_str(href);
            self.text.push(')');
        }
    }

    fn children(&mut self, node: &Value, depth: usize) {
        for child in node
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.node(child, depth + 1);
        }
    }

    /// A block: on a line of its own, followed by a blank line.
    fn block(&mut self, body: impl FnOnce(&mut Self)) {
        self.start_line();
        if !self.text.is_empty() && !self.text.ends_with("\n\n") {
            self.text.push('\n');
        }
        body(self);
        self.text.push('\n');
    }

    fn start_line(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    fn finish(self) -> String {
        self.text.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn paragraphs_lists_mentions_code_and_links_render_as_text() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Ask "},
                {"type": "mention", "attrs": {"id": "1", "text": "@Ada"}},
                {"type": "text", "text": " about "},
                {"type": "text", "text": "the docs", "marks": [{"type": "link", "attrs": {"href": "https://x.test/d"}}]},
                {"type": "text", "text": " and "},
                {"type": "text", "text": "cargo test", "marks": [{"type": "code"}]}
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
                {"type": "listItem", "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "two"}]},
                    {"type": "orderedList", "content": [
                        {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "deep"}]}]}
                    ]}
                ]}
            ]},
            {"type": "codeBlock", "attrs": {"language": "sh"}, "content": [{"type": "text", "text": "make\nmake test"}]}
        ]});
        assert_eq!(
            plain_text(&doc),
            "Ask @Ada about the docs (https://x.test/d) and cargo test\n\n- one\n- two\n  1. deep\n\nmake\nmake test"
        );
        assert_eq!(plain_text(&json!("plain v2 text")), "plain v2 text");
        assert_eq!(plain_text(&Value::Null), "");
    }

    #[test]
    fn the_recorded_issue_description_renders() {
        let issue: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/jira/rest/issue_get_adf.json"
        ))
        .unwrap();
        let text = plain_text(&issue["fields"]["description"]);
        assert!(!text.is_empty() && !text.contains('{'), "{text}");
    }

    fn nested(depth: usize) -> Value {
        (0..depth).fold(
            json!({"type": "text", "text": "x"}),
            |inner, _| json!({"type": "paragraph", "content": [inner]}),
        )
    }

    #[test]
    fn hostile_nesting_is_cut_not_followed() {
        assert_eq!(plain_text(&nested(10)), "x");
        // serde_json refuses input nested past 128; past 64 the renderer stops.
        assert_eq!(plain_text(&nested(100)), "");
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "[a-z]{0,6}".prop_map(Value::String),
            prop::sample::select(vec![
                "doc",
                "paragraph",
                "text",
                "listItem",
                "bulletList",
                "orderedList",
                "mention",
                "tableCell"
            ])
            .prop_map(|t| json!({"type": t, "text": "t", "attrs": {"text": "@a", "order": 3}})),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                (
                    prop::sample::select(vec![
                        "doc",
                        "paragraph",
                        "bulletList",
                        "orderedList",
                        "listItem",
                        "table",
                        "tableRow",
                        "tableCell",
                        "blockquote"
                    ]),
                    prop::collection::vec(inner, 0..5)
                )
                    .prop_map(|(t, content)| json!({"type": t, "content": content})),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_document_renders_without_failing(doc in any_json()) {
            let _ = plain_text(&doc);
        }
    }
}
