//! One error type for the whole crate: every message says what is wrong and
//! where (file, line, column), so a user can fix the input without a debugger.

use std::fmt;

/// Where in an input something went wrong. Lines and columns are 1-based, as
/// an editor or spreadsheet shows them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// The column's header or the JSON path, when there is one.
    pub field: Option<String>,
}

impl Location {
    pub fn file(file: &str) -> Self {
        Location { file: file.to_string(), ..Default::default() }
    }

    pub fn line(file: &str, line: u64) -> Self {
        Location { file: file.to_string(), line: Some(line), ..Default::default() }
    }

    pub fn cell(file: &str, line: u64, column: u64, field: &str) -> Self {
        Location { file: file.to_string(), line: Some(line), column: Some(column), field: (!field.is_empty()).then(|| field.to_string()) }
    }

    pub fn field(file: &str, field: impl Into<String>) -> Self {
        Location { file: file.to_string(), field: Some(field.into()), ..Default::default() }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        match (self.column, &self.field) {
            (Some(c), Some(name)) => write!(f, ", column {c} ({})", truncate(name, 40))?,
            (Some(c), None) => write!(f, ", column {c}")?,
            (None, Some(name)) => write!(f, ", {}", truncate(name, 60))?,
            (None, None) => {}
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed at a known place.
    #[error("{at}: {message}")]
    Input { at: Location, message: String },
    /// The request cannot be carried out (bad option, size limit, empty data).
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub fn input(at: Location, message: impl Into<String>) -> Self {
        Error::Input { at, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    /// The place the error points at, if it points at one.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Error::Input { at, .. } => Some(at),
            Error::Invalid(_) => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shortens user text quoted in a message so one bad cell cannot flood a log.
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        out.push('…');
    }
    out
}
