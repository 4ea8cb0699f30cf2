//! Java `.properties` syntax, as `java.util.Properties.load` reads it and so as Kafka reads
//! `server.properties`.
//!
//! The rules kept here, from the `Properties.load(Reader)` documentation:
//! - Lines end at `\n`, `\r` or `\r\n`. A line whose first non-blank character is `#` or `!` is a
//!   comment; blank lines are skipped. Blanks are space, tab and form feed.
//! - A line ending in an odd number of backslashes continues on the next line, whose leading
//!   blanks are dropped. A comment line never continues.
//! - The key runs to the first unescaped `=`, `:` or blank. Blanks around one `=` or `:` are
//!   skipped, and the rest of the line, trailing blanks included, is the value.
//! - Escapes: `\t`, `\n`, `\r`, `\f`, `\uXXXX`, and a backslash before any other character
//!   stands for that character (`\:`, `\=`, `\\`, `\ `).
//! - A key given twice keeps its last value.
//!
//! Java reads the bytes as ISO-8859-1. [`Properties::parse_bytes`] reads UTF-8 instead, which
//! is what files written today hold, and falls back to ISO-8859-1 for bytes that are not UTF-8,
//! so a file Java reads the same way is read the same way here.

use std::collections::BTreeMap;

/// Keys and values read from a properties file and `--override` arguments, later ones winning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties {
    entries: BTreeMap<String, String>,
}

/// A line that is not valid properties syntax. Only a bad `\u` escape can make one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// The 1-based line where the logical line holding the error starts.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for SyntaxError {}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

impl Properties {
    /// An empty set.
    pub fn new() -> Properties {
        Properties::default()
    }

    /// Parses the bytes of a properties file: UTF-8, or ISO-8859-1 when they are not UTF-8.
    pub fn parse_bytes(bytes: Vec<u8>) -> Result<Properties, SyntaxError> {
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => error.into_bytes().into_iter().map(char::from).collect(),
        };
        Properties::parse(&text)
    }

    /// Parses properties text.
    pub fn parse(text: &str) -> Result<Properties, SyntaxError> {
        let mut properties = Properties::new();
        for (line, logical) in logical_lines(text) {
            let (key, value) =
                split_key_value(&logical).map_err(|message| SyntaxError { line, message })?;
            properties.set(key, value);
        }
        Ok(properties)
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.insert(key.into(), value.into());
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Every key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

/// Joins continued lines and drops comments and blank lines. Yields each logical line, still
/// escaped, with the number of the natural line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut logical = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, natural) in natural_lines(text).enumerate() {
        let stripped = natural.trim_start_matches(is_blank);
        let (start, mut joined) = match current.take() {
            Some(pending) => pending,
            None => {
                if stripped.is_empty() || stripped.starts_with(['#', '!']) {
                    continue;
                }
                (index + 1, String::new())
            }
        };
        let trailing_backslashes = stripped.len() - stripped.trim_end_matches('\\').len();
        if trailing_backslashes % 2 == 1 {
            joined.push_str(&stripped[..stripped.len() - 1]);
            current = Some((start, joined));
        } else {
            joined.push_str(stripped);
            logical.push((start, joined));
        }
    }
    // A continuation at the end of the file ends the line, as in Java.
    logical.extend(current);
    logical
}

/// Splits at `\r\n`, `\n` or `\r`.
fn natural_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\n', '\r']) {
            None => {
                rest = None;
                (!text.is_empty()).then_some(text)
            }
            Some(end) => {
                let after = if text[end..].starts_with("\r\n") {
                    end + 2
                } else {
                    end + 1
                };
                rest = Some(&text[after..]);
                Some(&text[..end])
            }
        }
    })
}

/// Splits one logical line into its unescaped key and value.
fn split_key_value(line: &str) -> Result<(String, String), String> {
    let mut key_end = line.len();
    let mut value_start = line.len();
    let mut has_separator = false;
    let mut escaped = false;
    for (at, c) in line.char_indices() {
        if !escaped && (c == '=' || c == ':') {
            (key_end, value_start, has_separator) = (at, at + 1, true);
            break;
        }
        if !escaped && is_blank(c) {
            (key_end, value_start) = (at, at + 1);
            break;
        }
        escaped = c == '\\' && !escaped;
    }
    let mut value = &line[value_start..];
    loop {
        value = value.trim_start_matches(is_blank);
        match value.strip_prefix(['=', ':']) {
            Some(rest) if !has_separator => {
                has_separator = true;
                value = rest;
            }
            _ => break,
        }
    }
    Ok((unescape(&line[..key_end])?, unescape(value)?))
}

/// Resolves backslash escapes. Consecutive `\u` escapes are read as UTF-16, so a surrogate
/// pair gives one character, as in Java's strings.
fn unescape(escaped: &str) -> Result<String, String> {
    let mut text = String::with_capacity(escaped.len());
    let mut units: Vec<u16> = Vec::new();
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush_utf16(&mut units, &mut text)?;
            text.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            break;
        };
        if next == 'u' {
            let digits: String = chars.by_ref().take(4).collect();
            let unit = (digits.len() == 4)
                .then(|| u16::from_str_radix(&digits, 16).ok())
                .flatten()
                .ok_or_else(|| format!("malformed \\uXXXX escape `\\u{digits}`"))?;
            units.push(unit);
            continue;
        }
        flush_utf16(&mut units, &mut text)?;
        text.push(match next {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\x0c',
            other => other,
        });
    }
    flush_utf16(&mut units, &mut text)?;
    Ok(text)
}

fn flush_utf16(units: &mut Vec<u16>, text: &mut String) -> Result<(), String> {
    for decoded in char::decode_utf16(units.drain(..)) {
        let c = decoded.map_err(|error| {
            format!(
                "\\u escape is an unpaired surrogate {:#06x}",
                error.unpaired_surrogate()
            )
        })?;
        text.push(c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        Properties::parse(text)
            .unwrap()
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn one(text: &str) -> (String, String) {
        let mut all = pairs(text);
        assert_eq!(all.len(), 1, "{text:?} gave {all:?}");
        all.remove(0)
    }

    fn kv(key: &str, value: &str) -> (String, String) {
        (key.to_string(), value.to_string())
    }

    #[test]
    fn separators_and_blanks_around_them() {
        assert_eq!(one("a=b"), kv("a", "b"));
        assert_eq!(one("a:b"), kv("a", "b"));
        assert_eq!(one("a b"), kv("a", "b"));
        assert_eq!(one("  a \t= \x0c b"), kv("a", "b"));
        assert_eq!(one("a : b"), kv("a", "b"));
        // Only one separator is skipped: the second `=` belongs to the value.
        assert_eq!(one("a==b"), kv("a", "=b"));
        assert_eq!(one("a = =b"), kv("a", "=b"));
        // Trailing blanks stay in the value; a key alone has an empty value.
        assert_eq!(one("a=b  "), kv("a", "b  "));
        assert_eq!(one("a"), kv("a", ""));
        assert_eq!(one("a="), kv("a", ""));
        assert_eq!(
            one("listeners=PLAINTEXT://:9092"),
            kv("listeners", "PLAINTEXT://:9092")
        );
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let text =
            "# a comment\n! another\n\n   \n  # indented comment\nkey=value # not a comment\n";
        assert_eq!(pairs(text), vec![kv("key", "value # not a comment")]);
    }

    #[test]
    fn continuation_joins_lines_and_drops_leading_blanks() {
        let text = "listeners=PLAINTEXT://a:1,\\\n    CONTROLLER://a:2\nnext=1";
        assert_eq!(
            pairs(text),
            vec![
                kv("listeners", "PLAINTEXT://a:1,CONTROLLER://a:2"),
                kv("next", "1")
            ]
        );
        // An even number of backslashes is an escaped backslash, not a continuation.
        assert_eq!(pairs("a=x\\\\\nb=y"), vec![kv("a", "x\\"), kv("b", "y")]);
        // A continued line that starts with `#` is part of the value.
        assert_eq!(one("a=x\\\n#y"), kv("a", "x#y"));
        // A comment does not continue.
        assert_eq!(pairs("# c \\\na=1"), vec![kv("a", "1")]);
        // A continuation at the end of the file ends the line.
        assert_eq!(one("a=x\\"), kv("a", "x"));
    }

    #[test]
    fn every_line_ending_counts() {
        assert_eq!(
            pairs("a=1\r\nb=2\rc=3\nd=4"),
            vec![kv("a", "1"), kv("b", "2"), kv("c", "3"), kv("d", "4")]
        );
        assert_eq!(one("a=x\\\r\n  y"), kv("a", "xy"));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            one(r"key\:with\=seps\ and\ blanks=v"),
            kv("key:with=seps and blanks", "v")
        );
        assert_eq!(one(r"a=\t\n\r\f\q\\"), kv("a", "\t\n\r\x0cq\\"));
        assert_eq!(one(r"a=caf\u00e9"), kv("a", "café"));
        assert_eq!(one(r"a=\ud83d\ude00"), kv("a", "😀"));
    }

    #[test]
    fn bad_unicode_escapes_are_errors_with_their_line() {
        let error = Properties::parse("a=1\n\nb=\\u12G4").unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.message.contains("malformed"), "{error}");
        assert!(Properties::parse("b=\\u12").is_err());
        assert!(Properties::parse("b=\\ud83d").is_err());
    }

    #[test]
    fn later_values_win() {
        assert_eq!(one("a=1\na=2"), kv("a", "2"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_latin1() {
        let properties = Properties::parse_bytes(b"a=caf\xe9".to_vec()).unwrap();
        assert_eq!(properties.get("a"), Some("café"));
        let properties = Properties::parse_bytes("a=café".as_bytes().to_vec()).unwrap();
        assert_eq!(properties.get("a"), Some("café"));
    }
}
