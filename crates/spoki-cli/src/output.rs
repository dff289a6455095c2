//! What a command prints: tables for people, JSON for programs, progress bars only on a
//! terminal, and never a credential unless asked.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub reveal_secrets: bool,
}

/// Widest cell of a table, so one long value does not wrap every row.
const CELL_CHARS: usize = 48;

impl Output {
    /// Prints an answer: as JSON with `--json`, else as a table.
    pub fn value(&self, value: &Value) {
        let mut value = value.clone();
        if !self.reveal_secrets {
            spoki_client::redact_credentials(&mut value);
        }
        if self.json {
            println!("{value}");
            return;
        }
        match &value {
            Value::Null => println!("done"),
            Value::Array(items) if items.is_empty() => println!("(none)"),
            Value::Array(items) => println!("{}", rows_table(items)),
            Value::Object(map) if map.is_empty() => println!("done"),
            Value::Object(map) => {
                let mut table = table(&["field", "value"]);
                for (key, v) in map {
                    table.add_row(vec![key.clone(), cell(v)]);
                }
                println!("{table}");
            }
            other => println!("{}", cell(other)),
        }
    }

    /// Prints a line for people; nothing with `--json`.
    pub fn say(&self, line: impl AsRef<str>) {
        if !self.json {
            println!("{}", line.as_ref());
        }
    }

    /// Prints a summary object with `--json`; nothing otherwise.
    pub fn summary(&self, value: Value) {
        if self.json {
            println!("{value}");
        }
    }

    /// A progress bar over `len` items, drawn only when stdout is a terminal and the output is
    /// for people.
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.json || !std::io::stdout().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({eta} left)")
                .expect("a valid template"),
        );
        bar.set_message(what.to_owned());
        bar
    }
}

/// An empty table with the house style and these headers.
pub fn table(headers: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.to_vec());
    table
}

/// A table of objects: one row each, one column per field that holds a plain value.
fn rows_table(items: &[Value]) -> Table {
    let mut columns: Vec<&str> = Vec::new();
    for item in items {
        if let Value::Object(map) = item {
            for (key, v) in map {
                if !v.is_object() && !v.is_array() && !columns.contains(&key.as_str()) {
                    columns.push(key);
                }
            }
        }
    }
    if columns.is_empty() {
        let mut t = table(&["value"]);
        for item in items {
            t.add_row(vec![cell(item)]);
        }
        return t;
    }
    let mut t = table(&columns);
    for item in items {
        t.add_row(
            columns
                .iter()
                .map(|c| item.get(c).map(cell).unwrap_or_default())
                .collect::<Vec<_>>(),
        );
    }
    t
}

/// A value as one cell: strings bare, other values as JSON, shortened to 48 characters.
pub fn cell(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if text.chars().count() <= CELL_CHARS {
        return text;
    }
    let mut short: String = text.chars().take(CELL_CHARS - 1).collect();
    short.push('…');
    short
}
