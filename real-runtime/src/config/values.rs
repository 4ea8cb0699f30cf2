//! Typed readings of one property value, following Kafka's `ConfigDef` parsing: values are
//! trimmed; INT is a Java `int`, LONG a Java `long`; BOOLEAN is `true` or `false` in any case;
//! LIST is comma-separated with each item trimmed and an empty string meaning no items.

use super::error::ConfigError;

/// Reads an INT or LONG in `min..=max`.
pub fn integer(key: &'static str, value: &str, min: i64, max: i64) -> Result<i64, ConfigError> {
    let expected = || {
        if (min, max) == (i64::MIN, i64::MAX) {
            "an integer".to_string()
        } else if max == i64::MAX {
            format!("an integer of at least {min}")
        } else {
            format!("an integer from {min} to {max}")
        }
    };
    match value.trim().parse::<i64>() {
        Ok(number) if (min..=max).contains(&number) => Ok(number),
        _ => Err(ConfigError::value(key, value, expected())),
    }
}

/// Reads a Java `int` in `min..=i32::MAX`.
pub fn int_at_least(key: &'static str, value: &str, min: i32) -> Result<i32, ConfigError> {
    let number = integer(key, value, i64::from(min), i64::from(i32::MAX))?;
    i32::try_from(number).map_err(|_| ConfigError::value(key, value, "a Java int"))
}

/// Reads a Java `long` in `min..=i64::MAX`.
pub fn long_at_least(key: &'static str, value: &str, min: i64) -> Result<i64, ConfigError> {
    integer(key, value, min, i64::MAX)
}

/// Reads a BOOLEAN.
pub fn boolean(key: &'static str, value: &str) -> Result<bool, ConfigError> {
    let trimmed = value.trim();
    if trimmed.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if trimmed.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ConfigError::value(key, value, "true or false"))
    }
}

/// Reads a LIST: comma-separated items, each trimmed. An empty item (`a,,b`) is refused.
pub fn list<'a>(key: &'static str, value: &'a str) -> Result<Vec<&'a str>, ConfigError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<&str> = trimmed.split(',').map(str::trim).collect();
    if items.iter().any(|item| item.is_empty()) {
        return Err(ConfigError::value(
            key,
            value,
            "a comma-separated list without empty items",
        ));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_trimmed_and_range_checked() {
        assert_eq!(int_at_least("k", " 42 ", 1), Ok(42));
        assert_eq!(long_at_least("k", "9223372036854775807", 1), Ok(i64::MAX));
        let error = int_at_least("num.partitions", "0", 1).unwrap_err();
        assert_eq!(
            error.to_string(),
            "num.partitions: invalid value \"0\": expected an integer from 1 to 2147483647"
        );
        assert!(int_at_least("k", "2147483648", 0).is_err());
        assert!(int_at_least("k", "1.5", 0).is_err());
        assert!(int_at_least("k", "", 0).is_err());
        assert!(long_at_least("k", "9223372036854775808", 0).is_err());
    }

    #[test]
    fn booleans_ignore_case() {
        assert_eq!(boolean("k", "TRUE"), Ok(true));
        assert_eq!(boolean("k", " false "), Ok(false));
        assert_eq!(
            boolean("auto.create.topics.enable", "yes")
                .unwrap_err()
                .to_string(),
            "auto.create.topics.enable: invalid value \"yes\": expected true or false"
        );
    }

    #[test]
    fn lists_split_on_commas() {
        assert_eq!(list("k", " a , b,c "), Ok(vec!["a", "b", "c"]));
        assert_eq!(list("k", "  "), Ok(vec![]));
        assert!(list("k", "a,,b").is_err());
    }
}
