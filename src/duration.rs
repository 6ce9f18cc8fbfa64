//! Durations as people write them on a command line (`500ms`, `30s`, `5m`, `1h`; a bare number
//! is seconds), and back.

use std::time::Duration;

/// Parse `500ms`, `30s`, `1.5s`, `5m`, `2h` or `30` (seconds).
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "'{text}' is not a duration (e.g. 500ms, 30s, 5m, 1h)"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (e.g. 500ms, 30s, 5m, 1h)"))?;
    let secs = value * scale;
    if !secs.is_finite() || secs > 366.0 * 86400.0 {
        return Err(format!("'{text}' is longer than a year"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A duration that must not be zero (a timeout of nothing would fail every request).
pub fn parse_positive(text: &str) -> Result<Duration, String> {
    match parse(text)? {
        d if d.is_zero() => Err(format!("'{text}' must be longer than 0")),
        d => Ok(d),
    }
}

/// `d` in the largest unit that shows it exactly (`30m`, `1h`), else as [`human`].
///
/// [`human`]: crate::api::ratelimit::human
pub fn show(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() == 0 && secs >= 3600 && secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if d.subsec_nanos() == 0 && secs >= 60 && secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        crate::api::ratelimit::human(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_round_trips() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        for bad in ["", "s", "5 days", "-1s", "1e400", "9999h"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse_positive("0s").is_err());
        assert_eq!(show(Duration::from_secs(1800)), "30m");
        assert_eq!(show(Duration::from_secs(3600)), "1h");
        assert_eq!(show(Duration::from_secs(30)), "30s");
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
    }
}
