//! Webhook registrations (Webhooks API v1). The id is server-assigned and nothing can be updated,
//! so a registration is identified by its url and event set; any change means registering the new
//! one first and deleting the old one after (no gap in delivery). Each registration has its own
//! secret, returned once.

use crate::api::model::LiveWebhook;
use crate::config::model::Webhook;

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

pub const NOTE_SECRET_ROTATES: &str =
    "a new registration gets a new secret: receivers must switch to it (it goes to the secret sink)";
