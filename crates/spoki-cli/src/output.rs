//! What a command prints: tables for people, JSON for programs, progress bars only on a
//! terminal, and never a credential unless asked.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    pub reveal_secrets: bool,
}

/// The format of `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables and sentences, for people.
    Table,
    /// One JSON value per answer or report, with raw values (money in Spoki's thousandths).
    Json,
    /// Tab-separated rows with a header, for scripts; reports for people go to stderr.
    Tsv,
}

/// Widest cell of a table, so one long value does not wrap every row.
const CELL_CHARS: usize = 48;

impl Output {
    /// Whether the output is JSON for programs.
    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// Prints an answer: as JSON, tab-separated rows or a table, as `--output` says.
    pub fn value(&self, value: &Value) {
        self.answer(value, &[]);
    }

    /// [`value`](Self::value), showing the `money` fields (Spoki's thousandths of EUR) as money
    /// in tables and rows; JSON keeps the raw numbers.
    pub fn answer(&self, value: &Value, money: &[&str]) {
        let mut value = value.clone();
        if !self.reveal_secrets {
            spoki_client::redact_credentials(&mut value);
        }
        if self.json() {
            println!("{value}");
            return;
        }
        as_money(&mut value, money);
        if self.format == Format::Tsv {
            print!("{}", tsv(&value));
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

    /// Prints a line for people: on stdout for tables, on stderr beside tab-separated rows,
    /// nothing with JSON.
    pub fn say(&self, line: impl AsRef<str>) {
        match self.format {
            Format::Table => println!("{}", line.as_ref()),
            Format::Tsv => eprintln!("{}", line.as_ref()),
            Format::Json => {}
        }
    }

    /// Prints a summary object with JSON; nothing otherwise.
    pub fn summary(&self, value: Value) {
        if self.json() {
            println!("{value}");
        }
    }

    /// A progress bar over `len` items, drawn only when stdout is a terminal and the output is
    /// for people.
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.format != Format::Table || !std::io::stdout().is_terminal() {
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

/// Replaces each `money` field of an object (or of each object of a list) holding an integer
/// of thousandths of EUR by its text as money: `420` → `0.42 EUR`.
fn as_money(value: &mut Value, money: &[&str]) {
    if money.is_empty() {
        return;
    }
    let objects: Vec<&mut serde_json::Map<String, Value>> = match value {
        Value::Object(map) => vec![map],
        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        _ => Vec::new(),
    };
    for map in objects {
        for field in money {
            let Some(v) = map.get_mut(*field) else {
                continue;
            };
            if let Some(m) = v
                .as_i64()
                .and_then(spoki_client::models::Money::from_millis)
            {
                *v = Value::String(m.to_string());
            }
        }
    }
}

/// A value as tab-separated rows: a header of the columns, then one row per item (one row for
/// an object). Tabs and newlines inside values become spaces.
fn tsv(value: &Value) -> String {
    let field = |v: &Value| {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        text.replace(['\t', '\n', '\r'], " ")
    };
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => return String::new(),
        other => vec![other],
    };
    let mut columns: Vec<&str> = Vec::new();
    for item in &items {
        if let Value::Object(map) = item {
            for key in map.keys() {
                if !columns.contains(&key.as_str()) {
                    columns.push(key);
                }
            }
        }
    }
    let mut out = String::new();
    if columns.is_empty() {
        for item in items {
            out.push_str(&field(item));
            out.push('\n');
        }
        return out;
    }
    out.push_str(&columns.join("\t"));
    out.push('\n');
    for item in items {
        let row: Vec<String> = columns
            .iter()
            .map(|c| item.get(c).map(field).unwrap_or_default())
            .collect();
        out.push_str(&row.join("\t"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_fields_read_as_money_and_others_stay() {
        let mut v = json!({"current_credit": 420, "id": 420});
        as_money(&mut v, &["current_credit"]);
        assert_eq!(v, json!({"current_credit": "0.42 EUR", "id": 420}));
        let mut list = json!([{"current_credit": 1500}, {"current_credit": null}]);
        as_money(&mut list, &["current_credit"]);
        assert_eq!(
            list,
            json!([{"current_credit": "1.50 EUR"}, {"current_credit": null}])
        );
    }

    #[test]
    fn rows_are_tab_separated_with_a_header() {
        let v = json!([{"id": 1, "name": "a\tb"}, {"id": 2, "extra": true}]);
        assert_eq!(tsv(&v), "id\tname\textra\n1\ta b\t\n2\t\ttrue\n");
        assert_eq!(tsv(&json!({"id": 7})), "id\n7\n");
    }
}
