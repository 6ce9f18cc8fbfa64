//! Webhook registrations (Webhooks API v1). The id is server-assigned and nothing can be updated,
//! so a registration is identified by its url and event set; any change means registering the new
//! one first and deleting the old one after (no gap in delivery). Each registration has its own
//! secret, returned once.

use crate::config::model::Webhook;
use crate::domain::model::LiveWebhook;

/// The QR check-in event: at most one registration per sales unit.
pub const CHECK_IN_EVENT: &str = "user.checked-in.v1";

/// Registrations allowed per event type per sales unit (API-FACTS section 6).
pub fn limit_per_event(event: &str) -> usize {
    if event == CHECK_IN_EVENT {
        1
    } else {
        25
    }
}

/// The sorted, de-duplicated event set.
pub fn event_set(events: &[String]) -> Vec<String> {
    let mut v: Vec<String> = events.to_vec();
    v.sort();
    v.dedup();
    v
}

/// The identity of a registration: url plus event set.
pub fn key(url: &str, events: &[String]) -> String {
    format!("{} {}", url, event_set(events).join(","))
}

pub fn desired_key(w: &Webhook) -> String {
    key(&w.url, &w.events)
}

pub fn live_key(w: &LiveWebhook) -> String {
    key(&w.url, &w.events)
}

/// The address key a plan shows: the url alone when it is unique in the merchant, else url with events.
pub fn display_key(url: &str, events: &[String], url_is_unique: bool) -> String {
    if url_is_unique {
        url.to_string()
    } else {
        format!("{url} ({})", event_set(events).join(","))
    }
}

/// On a sales unit's own check-in registration when the partner has one too (API-FACTS 6: "the
/// sales-unit one wins when both exist").
pub const NOTE_SALES_UNIT_CHECK_IN_WINS: &str = "the partner also has a user.checked-in.v1 webhook: this sales unit's own registration wins, so its check-ins are delivered here and not to the partner's";

/// On the partner's check-in registration: the merchants of the run whose own one wins.
pub fn note_partner_check_in_loses(msns: &[&str]) -> String {
    // A fleet plan names a few; a note of 2,000 MSNs helps no reviewer.
    const NAMED: usize = 10;
    let named = if msns.len() > NAMED {
        format!(
            "{} and {} more",
            msns[..NAMED].join(", "),
            msns.len() - NAMED
        )
    } else {
        msns.join(", ")
    };
    format!(
        "user.checked-in.v1: {} {named} {} own registration, which wins over the partner's: {} check-ins are not delivered to this partner webhook",
        if msns.len() == 1 { "merchant" } else { "merchants" },
        if msns.len() == 1 { "has its" } else { "have their" },
        if msns.len() == 1 { "its" } else { "their" },
    )
}

pub const NOTE_SECRET_ROTATES: &str =
    "a new registration gets a new secret: receivers must switch to it (it goes to the secret sink)";

/// The key a webhook's secret gets in the `--secrets-out` file when it declares no sink:
/// `VIPPS_WEBHOOK_SECRET_<msn>_<url as a name>`. When another sinkless webhook of the merchant
/// would get the same name (the same url with other events, or urls that differ only in
/// punctuation), each of them gets a suffix from its url and event set instead, so no secret
/// overwrites another.
pub fn secrets_out_key(
    m: &crate::config::model::Merchant,
    w: &crate::config::model::Webhook,
) -> String {
    use sha2::{Digest, Sha256};
    const MAX: usize = 120;
    let base = |url: &str| {
        let tail: String = url
            .trim_start_matches("https://")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!(
            "VIPPS_WEBHOOK_SECRET_{}_{}",
            m.msn.to_ascii_uppercase(),
            tail.trim_matches('_')
        )
    };
    // All ASCII, so a byte cut is a character cut.
    let cut = |s: String| s[..s.len().min(MAX)].to_string();
    let own = desired_key(w);
    let mut k = base(&w.url);
    let shared = m.webhooks.iter().any(|o| {
        o.secret.is_none() && desired_key(o) != own && cut(base(&o.url)) == cut(k.clone())
    });
    if shared {
        let digest = hex::encode_upper(&Sha256::digest(own.as_bytes())[..4]);
        k.truncate(MAX - digest.len() - 1);
        k.push('_');
        k.push_str(&digest);
    } else {
        k.truncate(MAX);
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_out_keys_are_env_names_and_unique_in_the_merchant() {
        let yaml = "version: 1\nmerchants:\n  - msn: \"123456\"\n    webhooks:\n      - { url: https://kaffe.example/vipps/events, events: [a.v1] }\n      - { url: https://kaffe.example/other, events: [a.v1] }\n      - { url: https://kaffe.example/other, events: [b.v1] }\n      - { url: https://kaffe.example/vipps/events, events: [c.v1], secret: { file: s.env, key: K } }\n";
        let loaded =
            crate::config::load_sources(&[("c.yaml".into(), yaml.to_string())], &|_| None).unwrap();
        let m = &loaded.config.merchants[0];
        let keys: Vec<String> = m.webhooks.iter().map(|w| secrets_out_key(m, w)).collect();
        // The last webhook has a sink of its own and takes no name: the first keeps the plain one.
        assert_eq!(
            keys[0],
            "VIPPS_WEBHOOK_SECRET_123456_KAFFE_EXAMPLE_VIPPS_EVENTS"
        );
        assert!(keys[1].starts_with("VIPPS_WEBHOOK_SECRET_123456_KAFFE_EXAMPLE_OTHER_"));
        assert_ne!(keys[1], keys[2]);
        assert!(keys
            .iter()
            .all(|k| k.len() <= 120 && crate::config::diagnostic::is_env_name(k)));
    }
}
