//! All terminal output goes through here: kubectl-style plain tables and JSON.

use std::io::Write;

use clap::ValueEnum;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, presets};
use serde::Serialize;

use crate::error::CliError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Human-readable tables.
    #[default]
    Table,
    /// One JSON document (stable field names, see --help).
    Json,
    /// The same document as YAML.
    Yaml,
}

/// A kubectl-style table: upper-case headers, columns separated by three spaces, no
/// borders, never wrapped (so output is the same on any terminal and in a pipe).
pub fn table<I, R, C>(headers: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = R>,
    R: IntoIterator<Item = C>,
    C: Into<comfy_table::Cell>,
{
    let mut t = Table::new();
    t.load_style(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled).set_header(headers.to_vec());
    for row in rows {
        t.add_row(row);
    }
    for column in t.column_iter_mut() {
        column.set_padding((0, 3));
        column.set_cell_alignment(CellAlignment::Left);
        column.set_constraint(ColumnConstraint::ContentWidth);
    }
    let mut out = String::new();
    for line in t.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Print `value` in the chosen format; `table` renders it for people.
pub fn emit<T: Serialize>(format: Format, value: &T, table: impl FnOnce() -> String) -> Result<(), CliError> {
    match format {
        Format::Json => print_json(value),
        Format::Yaml => print_yaml(value),
        Format::Table => print(&table()),
    }
}

/// Print text to stdout.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Print a value as pretty JSON with a trailing newline.
pub fn print_json<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    print(&(text + "\n"))
}

/// Print a value as YAML.
pub fn print_yaml<T: Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_saphyr::to_string(value).map_err(std::io::Error::other)?;
    print(&text)
}

/// `1.18, 1.19, 1.20` - or `-` for nothing.
pub fn join<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() { "-".to_owned() } else { items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ") }
}
