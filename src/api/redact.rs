//! Blanking secrets out of text that is about to be shown (error bodies, logs, leak checks).

use crate::domain::Secret;

/// Replace every occurrence of each non-empty secret with `***`.
pub fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut values: Vec<&str> = secrets
        .iter()
        .map(|s| s.expose())
        .filter(|v| !v.is_empty())
        .collect();
    // Longest first, so a secret that contains another is blanked whole, not in pieces.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_owned();
    for v in values {
        if out.contains(v) {
            out = out.replace(v, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_every_occurrence() {
        let a = Secret::new("abc123");
        let b = Secret::new("abc123-longer");
        let empty = Secret::new("");
        let out = redact("x abc123-longer y abc123 z", &[&a, &b, &empty]);
        assert_eq!(out, "x *** y *** z");
    }

    #[test]
    fn leaves_clean_text_alone() {
        assert_eq!(
            redact("nothing here", &[&Secret::new("zzz")]),
            "nothing here"
        );
    }
}
