//! `Idempotency-Key` values derived from the action they protect, so that running the same apply
//! again (after a crash or a timeout with an unknown outcome) sends the same key and Vipps answers
//! with the first result instead of acting twice.

use sha2::{Digest, Sha256};

/// Recurring allows 1 to 40 characters without `#`, `?`, `/` or `\`; ePayment and Management 50,
/// `[a-zA-Z0-9-]`. 40 lower-case hex characters fit all of them.
pub const KEY_LEN: usize = 40;

/// A key for one action: the same parts give the same key, any difference gives another.
/// Parts are length-prefixed so that `["ab", "c"]` and `["a", "bc"]` differ.
pub fn idempotency_key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"vippsctl-idempotency-v1");
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let mut key = hex::encode(hasher.finalize());
    key.truncate(KEY_LEN);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_distinct_and_valid_for_every_api() {
        let a = idempotency_key(&["123456", "update_agreement", "agr_1", "{\"price\":100}"]);
        assert_eq!(
            a,
            idempotency_key(&["123456", "update_agreement", "agr_1", "{\"price\":100}"])
        );
        assert_ne!(
            a,
            idempotency_key(&["123456", "update_agreement", "agr_1", "{\"price\":200}"])
        );
        assert_ne!(idempotency_key(&["ab", "c"]), idempotency_key(&["a", "bc"]));
        assert_eq!(a.len(), KEY_LEN);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
