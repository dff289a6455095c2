//! Generates the wire enums of `spoki-models` (`generated/enums.rs`).

use crate::names::doc_lines;
use crate::spec::{Enum, Repr, Spec};
use std::fmt::Write;

pub fn enums(spec: &Spec) -> String {
    let mut out = String::from("use serde::{Deserialize, Deserializer, Serialize, Serializer};\n");
    for (name, e) in &spec.enums {
        write_enum(&mut out, name, e);
    }
    out
}

fn write_enum(out: &mut String, name: &str, e: &Enum) {
    out.push_str(&doc_lines(&enum_doc(e), ""));
    write_enum_type(out, name, e);
    write_enum_methods(out, name, e);
    write_enum_conversions(out, name);
    write_enum_serde(out, name, e);
}

/// The spec's doc, plus the note that every enum is open to values the SDK does not know.
fn enum_doc(e: &Enum) -> String {
    let mut doc = e.doc.clone();
    if let Some(u) = &e.uncertain {
        doc.push_str("\n\nUncertain: ");
        doc.push_str(u);
    }
    doc.push_str(
        "\n\nValues this SDK does not know decode as `Unknown` with the value kept as sent, \
         so match with a wildcard arm.",
    );
    doc
}

/// The enum declaration: one variant per known value, then `Unknown`.
fn write_enum_type(out: &mut String, name: &str, e: &Enum) {
    out.push_str("#[derive(Debug, Clone, PartialEq, Eq, Hash)]\n#[non_exhaustive]\n");
    writeln!(out, "pub enum {name} {{").unwrap();
    for (variant, value) in &e.values {
        writeln!(out, "    /// `{}`", value.spellings()[0]).unwrap();
        writeln!(out, "    {variant},").unwrap();
    }
    out.push_str("    /// A value this version of the SDK does not know, as sent.\n");
    out.push_str("    Unknown(String),\n}\n\n");
}

/// The inherent impl: `KNOWN`, `as_str`, `is_known` and `from_wire`, which reads every
/// spelling of a value.
fn write_enum_methods(out: &mut String, name: &str, e: &Enum) {
    writeln!(out, "impl {name} {{").unwrap();
    out.push_str("    /// Every value this SDK knows.\n");
    writeln!(out, "    pub const KNOWN: &'static [{name}] = &[").unwrap();
    for variant in e.values.keys() {
        writeln!(out, "        {name}::{variant},").unwrap();
    }
    out.push_str("    ];\n\n");
    out.push_str("    /// The value as it travels on the wire (integers as decimal text).\n");
    out.push_str("    pub fn as_str(&self) -> &str {\n        match self {\n");
    for (variant, value) in &e.values {
        writeln!(
            out,
            "            {name}::{variant} => {:?},",
            value.spellings()[0]
        )
        .unwrap();
    }
    writeln!(out, "            {name}::Unknown(value) => value,").unwrap();
    out.push_str("        }\n    }\n\n");
    out.push_str("    /// Whether this is a value the SDK knows.\n");
    writeln!(
        out,
        "    pub fn is_known(&self) -> bool {{\n        !matches!(self, {name}::Unknown(_))\n    }}\n"
    )
    .unwrap();
    out.push_str("    fn from_wire(value: &str) -> Self {\n        match value {\n");
    for (variant, value) in &e.values {
        let arms: Vec<String> = value.spellings().iter().map(|s| format!("{s:?}")).collect();
        writeln!(
            out,
            "            {} => {name}::{variant},",
            arms.join(" | ")
        )
        .unwrap();
    }
    writeln!(
        out,
        "            other => {name}::Unknown(other.to_owned()),"
    )
    .unwrap();
    out.push_str("        }\n    }\n}\n\n");
}

/// `From<&str>`, `FromStr` and `Display`, all through the wire text.
fn write_enum_conversions(out: &mut String, name: &str) {
    writeln!(
        out,
        "impl From<&str> for {name} {{\n    fn from(value: &str) -> Self {{\n        Self::from_wire(value)\n    }}\n}}\n"
    )
    .unwrap();
    writeln!(
        out,
        "impl std::str::FromStr for {name} {{\n    type Err = std::convert::Infallible;\n    fn from_str(value: &str) -> Result<Self, Self::Err> {{\n        Ok(Self::from_wire(value))\n    }}\n}}\n"
    )
    .unwrap();
    writeln!(
        out,
        "impl std::fmt::Display for {name} {{\n    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{\n        f.write_str(self.as_str())\n    }}\n}}\n"
    )
    .unwrap();
}

/// `Serialize` as the enum's repr (text or integer); `Deserialize` from any scalar.
fn write_enum_serde(out: &mut String, name: &str, e: &Enum) {
    let serialize = match e.repr {
        Repr::String => "crate::wire::serialize_text(self.as_str(), serializer)",
        Repr::Integer => "crate::wire::serialize_integer(self.as_str(), serializer)",
    };
    writeln!(
        out,
        "impl Serialize for {name} {{\n    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{\n        {serialize}\n    }}\n}}\n"
    )
    .unwrap();
    writeln!(
        out,
        "impl<'de> Deserialize<'de> for {name} {{\n    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n        crate::wire::deserialize_scalar(deserializer).map(|v| Self::from_wire(&v))\n    }}\n}}\n"
    )
    .unwrap();
}
