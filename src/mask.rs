//! Masking of personal data and secrets: the one rule every output path uses (plans, diagnostics,
//! debug output, the simulator's call log). docs/concepts.md states the rule for users.
//!
//! - A **phone number** shows its last two characters; every other character becomes `*`
//!   (`4791234567` -> `********67`). A value of four characters or fewer is masked whole, so a
//!   short, mistyped value is not shown either. The length stays, so masked text lines up with
//!   the source it replaces, and masking a masked number changes nothing.
//! - A **secret** (a credential or webhook secret written where it does not belong) is replaced
//!   by one `*` per character, so nothing of it is shown.

use std::collections::HashMap;

/// A phone number as every output shows it: see the module documentation.
pub fn phone(number: &str) -> String {
    let n = number.chars().count();
    number
        .chars()
        .enumerate()
        .map(|(i, c)| if n > 4 && i + 2 >= n { c } else { '*' })
        .collect()
}

/// A secret as every output shows it: nothing of it.
pub fn secret(value: &str) -> String {
    "*".repeat(value.chars().count())
}

/// Values known to be personal data or secrets, hidden wherever they occur in a text.
///
/// Used where a message is built from values a user wrote (a diagnostic may quote a value in its
/// message, hint or source line): whatever the message says, the value does not get through.
/// A config may hold thousands of phone numbers, so the text is read once, looking up the
/// values of each length present at each place (longest first), not searched once per value.
#[derive(Debug, Clone, Default)]
pub struct Redactions {
    /// Value -> masked form.
    values: HashMap<String, String>,
    /// The byte lengths of the values, longest first.
    lengths: Vec<usize>,
}

/// Shorter values are not hidden by search and replace (they would hide unrelated words and
/// numbers); the places that hold them mask them by position instead.
const MIN_LEN: usize = 4;

impl Redactions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hide `value` as a phone number wherever it occurs.
    pub fn phone(&mut self, value: &str) {
        self.add(value, phone);
    }

    /// Hide `value` as a secret wherever it occurs.
    pub fn secret(&mut self, value: &str) {
        self.add(value, secret);
    }

    fn add(&mut self, value: &str, mask: fn(&str) -> String) {
        let value = value.trim();
        if value.chars().count() < MIN_LEN || self.values.contains_key(value) {
            return;
        }
        self.values.insert(value.to_string(), mask(value));
        if !self.lengths.contains(&value.len()) {
            self.lengths.push(value.len());
            self.lengths.sort_unstable_by(|a, b| b.cmp(a));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every known value replaced by its masked form (leftmost, longest first).
    pub fn apply(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            let hit = self
                .lengths
                .iter()
                .filter_map(|&n| rest.get(..n))
                .find_map(|v| self.values.get(v).map(|m| (v.len(), m)));
            match hit {
                Some((n, m)) => {
                    out.push_str(m);
                    rest = &rest[n..];
                }
                None => {
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_keep_their_last_two_digits() {
        assert_eq!(phone("4791234567"), "********67");
        assert_eq!(phone("+47 912 34 567"), "************67");
        assert_eq!(phone("12345"), "***45");
        assert_eq!(phone("1234"), "****");
        assert_eq!(phone("12"), "**");
        assert_eq!(phone(""), "");
        assert_eq!(phone(&phone("4791234567")), phone("4791234567"));
    }

    #[test]
    fn secrets_show_nothing() {
        assert_eq!(secret("whsec_abc"), "*********");
    }

    #[test]
    fn redactions_hide_every_occurrence_and_leave_short_values_alone() {
        let mut r = Redactions::new();
        r.phone("4791234567");
        r.secret("whsec_abc123");
        r.secret("ab");
        let text = r.apply("found 4791234567; quote it: \"4791234567\"; whsec_abc123 ab");
        assert_eq!(
            text,
            "found ********67; quote it: \"********67\"; ************ ab"
        );
    }

    #[test]
    fn many_values_are_masked_in_one_pass() {
        let mut r = Redactions::new();
        for n in 0..20_000u64 {
            r.phone(&format!("47{:08}", n));
        }
        assert_eq!(
            r.apply("call 4700012345 or 4700000007."),
            "call ********45 or ********07."
        );
        assert_eq!(r.apply("æøå 47000000"), "æøå 47000000");
    }

    #[test]
    fn a_value_inside_another_is_masked_whole() {
        let mut r = Redactions::new();
        r.secret("abcd");
        r.secret("xxabcdxx");
        assert_eq!(r.apply("xxabcdxx abcd"), "******** ****");
    }
}
