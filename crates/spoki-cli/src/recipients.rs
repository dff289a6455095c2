//! Contact CSV files: a header row `phone,first_name,last_name,email` (only `phone` is
//! required; `language` is known too) plus any custom field columns, named by their codes. Every row is checked before anything is sent.

use crate::error::{CliError, Result};
use spoki_client::models::{AutomationContact, ContactSync, Phone, Placeholders};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const STANDARD: [&str; 5] = ["phone", "first_name", "last_name", "email", "language"];

/// One valid row.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// Line of the file it came from (the header is line 1).
    pub line: u64,
    pub phone: Phone,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    pub custom_fields: BTreeMap<String, String>,
}

/// A row refused, with why.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
    pub fields: Vec<String>,
}

/// A checked file.
#[derive(Debug)]
pub struct Recipients {
    pub header: Vec<String>,
    pub valid: Vec<Recipient>,
    pub rejected: Vec<Rejected>,
}

impl Recipient {
    pub fn to_contact_sync(&self) -> ContactSync {
        let mut c = ContactSync::new(self.phone.clone());
        c.first_name = self.first_name.clone();
        c.last_name = self.last_name.clone();
        c.email = self.email.clone();
        c.language = self.language.clone();
        c.custom_fields = self.custom_fields.clone();
        c
    }

    pub fn to_automation_contact(&self) -> AutomationContact {
        let mut c = AutomationContact::new(self.phone.clone());
        c.first_name = self.first_name.clone();
        c.last_name = self.last_name.clone();
        c.email = self.email.clone();
        c.language = self.language.clone();
        c.custom_fields = self.custom_fields.clone();
        c
    }
}

impl Recipient {
    /// The row as the file wrote it, column by column of `header`.
    fn fields(&self, header: &[String]) -> Vec<String> {
        header
            .iter()
            .map(|column| {
                let known = match column.to_ascii_lowercase().as_str() {
                    "phone" => Some(self.phone.as_str().to_owned()),
                    "first_name" => self.first_name.clone(),
                    "last_name" => self.last_name.clone(),
                    "email" => self.email.clone(),
                    "language" => self.language.clone(),
                    _ => self.custom_fields.get(column).cloned(),
                };
                known.unwrap_or_default()
            })
            .collect()
    }
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// An email column that is no address.
#[derive(Debug, thiserror::Error)]
enum EmailError {
    #[error("email has no @")]
    NoAt,
    #[error("email is not an address")]
    NotAnAddress,
}

fn check_email(email: &str) -> std::result::Result<(), EmailError> {
    let (local, domain) = email.split_once('@').ok_or(EmailError::NoAt)?;
    if local.is_empty() || !domain.contains('.') || email.chars().any(char::is_whitespace) {
        return Err(EmailError::NotAnAddress);
    }
    Ok(())
}

/// Reads and checks a CSV file. Fails only when the file itself is unusable (unreadable, no
/// `phone` column); bad rows are returned in `rejected`.
pub fn read(path: &Path) -> Result<Recipients> {
    let input = std::fs::read(path).map_err(CliError::io(path))?;
    parse(&input, path)
}

/// Checks the CSV text `input` read from `path` (named in errors), as [`read`] does.
pub fn parse(input: &[u8], path: &Path) -> Result<Recipients> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let columns = Columns::of(&header, path)?;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let line = record.position().map_or(0, |p| p.line());
        let checked = columns.recipient(&record, line).and_then(|recipient| {
            match seen.get(recipient.phone.as_str()) {
                Some(first) => Err(format!("phone already on line {first}")),
                None => Ok(recipient),
            }
        });
        match checked {
            Ok(recipient) => {
                seen.insert(recipient.phone.as_str().to_owned(), line);
                valid.push(recipient);
            }
            Err(reason) => rejected.push(Rejected {
                line,
                reason,
                fields: record.iter().map(str::to_owned).collect(),
            }),
        }
    }
    Ok(Recipients {
        header,
        valid,
        rejected,
    })
}

/// Where each column of a contacts file is. Custom field codes keep their case (Spoki's are
/// upper case); the known columns are matched in any case.
struct Columns {
    count: usize,
    phone: usize,
    first_name: Option<usize>,
    last_name: Option<usize>,
    email: Option<usize>,
    language: Option<usize>,
    custom: Vec<(usize, String)>,
}

impl Columns {
    fn of(header: &[String], path: &Path) -> Result<Columns> {
        let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        let phone = column("phone").ok_or_else(|| {
            CliError::Usage(format!(
                "{}: the header row has no `phone` column (expected phone,first_name,last_name,email,…)",
                path.display()
            ))
        })?;
        let custom = header
            .iter()
            .enumerate()
            .filter(|(_, h)| !h.is_empty() && !STANDARD.iter().any(|s| h.eq_ignore_ascii_case(s)))
            .map(|(i, h)| (i, h.clone()))
            .collect();
        Ok(Columns {
            count: header.len(),
            phone,
            first_name: column("first_name"),
            last_name: column("last_name"),
            email: column("email"),
            language: column("language"),
            custom,
        })
    }

    /// The recipient of one row, or why the row is refused.
    fn recipient(
        &self,
        record: &csv::StringRecord,
        line: u64,
    ) -> std::result::Result<Recipient, String> {
        if record.len() != self.count {
            return Err(format!(
                "{} fields where the header has {}",
                record.len(),
                self.count
            ));
        }
        let get = |at: Option<usize>| at.and_then(|i| record.get(i)).and_then(non_empty);
        let phone = Phone::parse(record.get(self.phone).unwrap_or("").trim())
            .map_err(|e| format!("phone: {e}"))?;
        let email = get(self.email);
        if let Some(Err(e)) = email.as_deref().map(check_email) {
            return Err(e.to_string());
        }
        Ok(Recipient {
            line,
            phone,
            first_name: get(self.first_name),
            last_name: get(self.last_name),
            email,
            language: get(self.language),
            custom_fields: self
                .custom
                .iter()
                .filter_map(|(i, name)| Some((name.clone(), get(Some(*i))?)))
                .collect(),
        })
    }
}

fn csv_error(path: &Path, e: csv::Error) -> CliError {
    CliError::Usage(format!("{}: {e}", path.display()))
}

impl Recipients {
    /// Refuses the rows that leave a custom placeholder of the template without a value:
    /// Spoki would take them and WhatsApp refuse the message.
    pub fn require(&mut self, needed: &Placeholders) {
        let rows = std::mem::take(&mut self.valid);
        for row in rows {
            let missing = needed.missing(&row.custom_fields);
            if missing.is_empty() {
                self.valid.push(row);
                continue;
            }
            let codes: Vec<String> = missing.iter().map(|c| format!("%%{c}%%")).collect();
            self.rejected.push(Rejected {
                line: row.line,
                reason: format!(
                    "no value for {} (the template needs a {} column)",
                    codes.join(", "),
                    missing.join(", ")
                ),
                fields: row.fields(&self.header),
            });
        }
        self.rejected.sort_by_key(|r| r.line);
    }

    /// Tells stderr about each refused row: its line and why.
    pub fn print_rejected(&self) {
        for r in &self.rejected {
            eprintln!("line {}: {}", r.line, r.reason);
        }
    }

    /// Writes the refused rows, each with its line number and reason, to `path` (removing a
    /// stale file when every row is fine).
    pub fn write_rejects(&self, path: &Path) -> Result<()> {
        if self.rejected.is_empty() {
            return match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CliError::io(path)(e)),
                _ => Ok(()),
            };
        }
        let mut writer = csv::WriterBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(|e| csv_error(path, e))?;
        let mut header = vec!["line".to_owned(), "reason".to_owned()];
        header.extend(self.header.iter().cloned());
        writer
            .write_record(&header)
            .map_err(|e| csv_error(path, e))?;
        for r in &self.rejected {
            let mut row = vec![r.line.to_string(), r.reason.clone()];
            row.extend(r.fields.iter().cloned());
            writer.write_record(&row).map_err(|e| csv_error(path, e))?;
        }
        writer.flush().map_err(CliError::io(path))
    }
}
