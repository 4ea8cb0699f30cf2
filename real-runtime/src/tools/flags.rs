//! Flags in the style of Kafka's tools: `--name VALUE` or `--name=VALUE`, switches without a
//! value, and flags that repeat (`--property k=v --property k2=v2`).

use std::collections::BTreeMap;

use crate::cli::CliError;

/// How a flag takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--flag VALUE`, at most once.
    Value,
    /// `--flag VALUE`, any number of times.
    Repeated,
    /// `--flag` alone.
    Switch,
}

/// Parsed flags and the words that were not flags.
#[derive(Debug, Default)]
pub struct Flags {
    values: BTreeMap<String, Vec<String>>,
    /// Words that are not flags, in order (a sub-command, say).
    pub words: Vec<String>,
}

impl Flags {
    /// Parses `args` against `known` (names with their leading `--`).
    pub fn parse(args: &[String], known: &[(&str, Kind)]) -> Result<Flags, CliError> {
        let mut flags = Flags::default();
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            if !arg.starts_with("--") {
                flags.words.push(arg.clone());
                continue;
            }
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (arg.as_str(), None),
            };
            let Some(&(_, kind)) = known.iter().find(|(known, _)| *known == name) else {
                return Err(CliError::Usage(format!("unknown flag `{name}`")));
            };
            let value = match kind {
                Kind::Switch if inline.is_some() => {
                    return Err(CliError::Usage(format!("`{name}` takes no value")))
                }
                Kind::Switch => String::new(),
                Kind::Value | Kind::Repeated => inline
                    .or_else(|| rest.next().cloned())
                    .ok_or_else(|| CliError::Usage(format!("`{name}` needs a value")))?,
            };
            let seen = flags.values.entry(name.to_string()).or_default();
            if kind != Kind::Repeated && !seen.is_empty() {
                return Err(CliError::Usage(format!("`{name}` is given twice")));
            }
            seen.push(value);
        }
        Ok(flags)
    }

    /// The value of a `Value` flag.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|values| values.first())
            .map(String::as_str)
    }

    /// Whether a switch (or any flag) was given.
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Every value of a `Repeated` flag.
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// The value of a flag the command cannot do without.
    pub fn required(&self, name: &str) -> Result<&str, CliError> {
        self.value(name)
            .ok_or_else(|| CliError::Usage(format!("missing `{name}`")))
    }

    /// A flag's value parsed as a number, or `default` when absent.
    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, CliError> {
        match self.value(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| CliError::Usage(format!("{name}: `{text}` is not a number"))),
        }
    }

    /// `key=value` pairs of a repeated flag (`--property`, `--config`).
    pub fn pairs(&self, name: &str) -> Result<Vec<(String, String)>, CliError> {
        self.all(name)
            .iter()
            .map(|pair| match pair.split_once('=') {
                Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
                _ => Err(CliError::Usage(format!(
                    "{name}: `{pair}` is not KEY=VALUE"
                ))),
            })
            .collect()
    }
}

/// `host:port[,host:port…]` as Kafka's `--bootstrap-server` takes it.
pub fn bootstrap_servers(text: &str) -> Result<Vec<(String, u16)>, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "--bootstrap-server: `{text}` is not HOST:PORT[,HOST:PORT]"
        ))
    };
    text.split(',')
        .map(|server| {
            let (host, port) = server.trim().rsplit_once(':').ok_or_else(bad)?;
            let port = port.parse().map_err(|_| bad())?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            match host.is_empty() {
                true => Err(bad()),
                false => Ok((host.to_string(), port)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    const KNOWN: &[(&str, Kind)] = &[
        ("--topic", Kind::Value),
        ("--property", Kind::Repeated),
        ("--from-beginning", Kind::Switch),
    ];

    #[test]
    fn values_switches_repeats_and_words() {
        let flags = Flags::parse(
            &words("create --topic=t --property a=1 --from-beginning --property b=2"),
            KNOWN,
        )
        .unwrap();
        assert_eq!(flags.words, vec!["create"]);
        assert_eq!(flags.value("--topic"), Some("t"));
        assert!(flags.has("--from-beginning"));
        assert_eq!(
            flags.pairs("--property").unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for text in [
            "--nope 1",
            "--topic",
            "--topic a --topic b",
            "--from-beginning=yes",
        ] {
            assert!(Flags::parse(&words(text), KNOWN).is_err(), "{text}");
        }
        let flags = Flags::parse(&words("--property novalue"), KNOWN).unwrap();
        assert!(flags.pairs("--property").is_err());
    }

    #[test]
    fn bootstrap_lists() {
        assert_eq!(
            bootstrap_servers("a:1,[::1]:2").unwrap(),
            vec![("a".to_string(), 1), ("::1".to_string(), 2)]
        );
        for bad in ["a", "a:x", ":1", "a:99999"] {
            assert!(bootstrap_servers(bad).is_err(), "{bad}");
        }
    }
}
