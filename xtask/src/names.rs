//! Turning spec names into Rust names and docs.

/// `contacts_sync_all` → `ContactsSyncAll`.
pub fn camel(name: &str) -> String {
    name.split(['_', '-', ' '])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            let first = chars.next().unwrap().to_ascii_uppercase();
            std::iter::once(first).chain(chars).collect::<String>()
        })
        .collect()
}

/// `contacts_sync` → `CONTACTS_SYNC`.
pub fn snake_upper(name: &str) -> String {
    name.to_ascii_uppercase()
}

/// `hasUnreadChats` → `has_unread_chats`.
pub fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// A JSON field name as a Rust field name, raw when it is a keyword.
pub fn rust_field(json: &str) -> String {
    let name = snake(json);
    if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// Doc comment lines for `text`, each prefixed with `indent`.
pub fn doc_lines(text: &str, indent: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                format!("{indent}///\n")
            } else {
                format!("{indent}/// {}\n", link_urls(line))
            }
        })
        .collect()
}

/// Bare URLs as rustdoc autolinks (`<https://...>`), which rustdoc otherwise warns about.
fn link_urls(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            let trimmed = word.trim_end_matches(['.', ',', ';', ')']);
            if (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
                && !trimmed.starts_with('<')
            {
                format!("<{trimmed}>{}", &word[trimmed.len()..])
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
