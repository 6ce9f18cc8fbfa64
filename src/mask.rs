//! Masking of personal data and secrets: the one rule every output path uses (plans, diagnostics,
//! debug output, the simulator's call log). docs/concepts.md states the rule for users.
//!
//! - A **phone number** shows its last two characters; every other character becomes `*`
//!   (`4791234567` -> `********67`). A value of four characters or fewer is masked whole, so a
//!   short, mistyped value is not shown either. The length stays, so masked text lines up with
//!   the source it replaces, and masking a masked number changes nothing.
//! - A **secret** (a credential or webhook secret written where it does not belong) is replaced
//!   by one `*` per character, so nothing of it is shown.

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
#[derive(Debug, Clone, Default)]
pub struct Redactions {
    /// (value, masked form), longest value first so a value inside another is not half-masked.
    values: Vec<(String, String)>,
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
        if value.chars().count() >= MIN_LEN {
            self.insert(value, mask(value));
        }
    }

    fn insert(&mut self, value: &str, masked: String) {
        if self.values.iter().any(|(v, _)| v == value) {
            return;
        }
        self.values.push((value.to_string(), masked));
        self.values
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    }

    pub fn extend(&mut self, other: &Redactions) {
        for (v, m) in &other.values {
            self.insert(v, m.clone());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every known value replaced by its masked form.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (v, m) in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), m);
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
    fn a_value_inside_another_is_masked_whole() {
        let mut r = Redactions::new();
        r.secret("abcd");
        r.secret("xxabcdxx");
        assert_eq!(r.apply("xxabcdxx abcd"), "******** ****");
    }
}
