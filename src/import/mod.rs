//! `vippsctl import`: turn observed live state into a configuration file that plans to no changes.
//! Pure: the CLI observes, this module writes the YAML. The text is written by hand (not through a
//! serializer) because it carries comments where Vipps cannot give a value back, and its order is
//! fixed (merchants as asked, objects by key) so that re-importing gives a small git diff.

use crate::domain::model::{AgreementStatus, LiveAgreement, LiveRedirectQr, LiveWebhook, Pricing};
use crate::domain::Environment;
use crate::resources::{webhook, Kind, LiveMerchant};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub kinds: Vec<Kind>,
    /// Agreements in these statuses only.
    pub agreement_statuses: Vec<AgreementStatus>,
    /// Agreements created on or after this day (UTC) only.
    pub created_after: Option<NaiveDate>,
    pub environment: Option<Environment>,
    /// Sales-unit names by MSN (from discovery), written as each merchant's `name:`.
    pub names: BTreeMap<String, String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            kinds: Kind::ALL.to_vec(),
            agreement_statuses: vec![AgreementStatus::Active, AgreementStatus::Pending],
            created_after: None,
            environment: None,
            names: BTreeMap::new(),
        }
    }
}

/// The agreement lists an import needs: the statuses it is asked for, one list each (Vipps
/// lists one status per call), created after the start of the `--created-after` day.
pub fn agreement_lists(opts: &ImportOptions) -> crate::resources::observe::AgreementLists {
    let mut statuses = Vec::new();
    for s in &opts.agreement_statuses {
        if !statuses.contains(s) {
            statuses.push(*s);
        }
    }
    crate::resources::observe::AgreementLists {
        statuses,
        ended_for: Default::default(),
        // The API lists agreements created strictly after the instant; the day is inclusive.
        created_after: opts
            .created_after
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis() - 1),
    }
}

/// The ttl range the config (and the QR API) accepts.
const TTL_MIN: i64 = 300;

/// Quote a string for YAML: a JSON string is a valid YAML double-quoted scalar, and quoting
/// everything keeps `no`, `0123` or `1e3` from changing type.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// When an agreement was created, from the API's epoch milliseconds or RFC 3339 text.
pub fn created_at(a: &LiveAgreement) -> Option<DateTime<Utc>> {
    let c = a.created.as_deref()?.trim();
    if !c.is_empty() && c.chars().all(|ch| ch.is_ascii_digit()) {
        return c
            .parse::<i64>()
            .ok()
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
    }
    DateTime::parse_from_rfc3339(c)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Write the configuration for these merchants.
pub fn render(live: &[LiveMerchant], opts: &ImportOptions) -> String {
    let partner_msn = crate::config::model::PARTNER;
    let partner = live.iter().find(|l| l.msn == partner_msn);
    let live: Vec<&LiveMerchant> = live.iter().filter(|l| l.msn != partner_msn).collect();
    let mut out = String::new();
    let msns: Vec<&str> = live.iter().map(|l| l.msn.as_str()).collect();
    out.push_str("# yaml-language-server: $schema=vippsctl.schema.json\n");
    if msns.is_empty() {
        // `import --all --shard i/n` with a shard that holds none of the sales units.
        out.push_str("# Imported by `vippsctl import`: no merchants.\n");
    } else {
        let _ = writeln!(
            out,
            "# Imported by `vippsctl import` from the live state of {} {}.",
            if msns.len() == 1 {
                "merchant"
            } else {
                "merchants"
            },
            msns.join(", ")
        );
    }
    out.push_str(
        "# `vippsctl schema > vippsctl.schema.json` writes the schema the first line points at.\n",
    );
    out.push_str("version: 1\n");
    if let Some(e) = opts.environment {
        let _ = writeln!(out, "environment: {e}");
    }
    if let Some(w) = partner
        .and_then(|p| p.webhooks.as_ref())
        .filter(|w| !w.is_empty())
    {
        use crate::api::credentials::{CLIENT_ID_VAR, CLIENT_SECRET_VAR, SUBSCRIPTION_KEY_VAR};
        out.push_str(
            "# Partner webhooks: registered with the partner keys and no Merchant-Serial-Number;
",
        );
        out.push_str(
            "# they fire for every merchant of the partner.
",
        );
        out.push_str(
            "partner:
",
        );
        let _ = writeln!(
            out,
            "  credentials: {{ clientId: {CLIENT_ID_VAR}, clientSecret: {CLIENT_SECRET_VAR}, subscriptionKey: {SUBSCRIPTION_KEY_VAR} }}"
        );
        // Two spaces less than a merchant's list, which sits under `- msn:`.
        let mut block = String::new();
        webhooks(&mut block, partner_msn, w);
        for line in block.lines() {
            let _ = writeln!(out, "{}", line.strip_prefix("  ").unwrap_or(line));
        }
    }
    if live.is_empty() {
        out.push_str("merchants: []\n");
        return out;
    }
    out.push_str("merchants:\n");
    for m in live {
        merchant(&mut out, m, opts);
    }
    out
}

fn merchant(out: &mut String, m: &LiveMerchant, opts: &ImportOptions) {
    let _ = writeln!(out, "  - msn: {}", q(&m.msn));
    if let Some(name) = opts.names.get(&m.msn).filter(|n| !n.trim().is_empty()) {
        let _ = writeln!(out, "    name: {}", q(name));
    }
    let wants = |k: Kind| opts.kinds.contains(&k);
    if let (true, Some(w)) = (wants(Kind::Webhooks), &m.webhooks) {
        webhooks(out, &m.msn, w);
    }
    if let (true, Some(r)) = (wants(Kind::RedirectQrs), &m.redirect_qrs) {
        redirect_qrs(out, r);
    }
    if let (true, Some(c)) = (wants(Kind::CallbackQrs), &m.callback_qrs) {
        if !c.is_empty() {
            out.push_str("    callbackQrs:\n");
            for x in c {
                let _ = writeln!(out, "      - merchantQrId: {}", q(&x.merchant_qr_id));
                match x.location_description.as_deref().filter(|d| !d.is_empty()) {
                    Some(d) => {
                        let _ = writeln!(out, "        locationDescription: {}", q(d));
                    }
                    None => {
                        out.push_str("        # Vipps returned no location description; this one is made up: change it.\n");
                        let _ =
                            writeln!(out, "        locationDescription: {}", q(&x.merchant_qr_id));
                    }
                }
            }
        }
    }
    if let (true, Some(a)) = (wants(Kind::Agreements), &m.agreements) {
        agreements(out, a, opts);
    }
}

fn webhooks(out: &mut String, msn: &str, live: &[LiveWebhook]) {
    if live.is_empty() {
        return;
    }
    out.push_str("    webhooks:\n");
    for w in live {
        let unique = live.iter().filter(|o| o.url == w.url).count() <= 1;
        let key = webhook::display_key(&w.url, &w.events, unique);
        out.push_str(
            "      # Vipps never shows a webhook's signing secret again. To get a new one into your\n",
        );
        out.push_str(
            "      # secret store, declare a `secret:` sink here (file or command) and rotate it with\n",
        );
        let _ = writeln!(
            out,
            "      # vippsctl plan --replace '{}.webhooks[{key}]'",
            msn
        );
        let _ = writeln!(out, "      - url: {}", q(&w.url));
        let events: Vec<String> = webhook::event_set(&w.events).iter().map(|e| q(e)).collect();
        let _ = writeln!(out, "        events: [{}]", events.join(", "));
    }
}

fn redirect_qrs(out: &mut String, live: &[LiveRedirectQr]) {
    if live.is_empty() {
        return;
    }
    out.push_str("    redirectQrs:\n");
    for r in live {
        let _ = writeln!(out, "      - id: {}", q(&r.id));
        let _ = writeln!(out, "        redirectUrl: {}", q(&r.redirect_url));
        if let Some(left) = r.expires_in.filter(|s| *s >= 0) {
            let _ = writeln!(
                out,
                "        # Vipps reports the seconds left ({left}), not the ttl the code was made with."
            );
            let _ = writeln!(out, "        ttl: {}", left.max(TTL_MIN));
        }
    }
}

fn agreements(out: &mut String, live: &[LiveAgreement], opts: &ImportOptions) {
    let picked: Vec<&LiveAgreement> = live
        .iter()
        .filter(|a| opts.agreement_statuses.contains(&a.status))
        .filter(|a| match opts.created_after {
            None => true,
            Some(day) => created_at(a).is_some_and(|c| c.date_naive() >= day),
        })
        .collect();
    let mut by_ext: BTreeMap<&str, Vec<&LiveAgreement>> = BTreeMap::new();
    let mut no_external_id = 0usize;
    for a in &picked {
        match a.external_id.as_deref().filter(|e| !e.is_empty()) {
            Some(e) => by_ext.entry(e).or_default().push(a),
            None => no_external_id += 1,
        }
    }
    let mut skipped: Vec<String> = Vec::new();
    let mut chosen: Vec<&LiveAgreement> = Vec::new();
    for (ext, group) in &by_ext {
        let open: Vec<&&LiveAgreement> = group
            .iter()
            .filter(|a| matches!(a.status, AgreementStatus::Active | AgreementStatus::Pending))
            .collect();
        match open.len() {
            0 => {
                // Only ended ones: the newest stands for the externalId.
                if let Some(a) = group.iter().max_by_key(|a| (created_at(a), a.id.clone())) {
                    chosen.push(a);
                }
            }
            1 => chosen.push(open[0]),
            n => skipped.push(format!("{ext}: {n} open agreements share this externalId")),
        }
    }
    if chosen.is_empty() && skipped.is_empty() && no_external_id == 0 {
        return;
    }
    out.push_str("    agreements:\n");
    if no_external_id > 0 {
        let _ = writeln!(
            out,
            "      # {no_external_id} agreement(s) without an externalId were left out: vippsctl keys agreements by it."
        );
    }
    for s in &skipped {
        let _ = writeln!(
            out,
            "      # Left out {s}; vippsctl cannot tell which one to manage."
        );
    }
    for a in chosen {
        agreement(out, a);
    }
}

fn agreement(out: &mut String, a: &LiveAgreement) {
    let ext = a.external_id.as_deref().unwrap_or_default();
    let currency = a.pricing.currency();
    if !matches!(currency, "NOK" | "DKK" | "EUR") {
        let _ = writeln!(
            out,
            "      # Left out {} ({}): currency {} is not one vippsctl knows.",
            q(ext),
            a.id,
            q(currency)
        );
        return;
    }
    let _ = writeln!(out, "      - externalId: {}  # {}", q(ext), a.id);
    let _ = writeln!(out, "        productName: {}", q(&a.product_name));
    if let Some(d) = &a.product_description {
        let _ = writeln!(out, "        productDescription: {}", q(d));
    }
    let pricing = match &a.pricing {
        Pricing::Legacy { amount, currency } => {
            format!("{{ type: LEGACY, amount: {amount}, currency: {currency} }}")
        }
        Pricing::Variable {
            suggested_max_amount,
            currency,
            ..
        } => format!(
            "{{ type: VARIABLE, suggestedMaxAmount: {suggested_max_amount}, currency: {currency} }}"
        ),
        Pricing::Flexible { currency } => format!("{{ type: FLEXIBLE, currency: {currency} }}"),
    };
    let _ = writeln!(out, "        pricing: {pricing}");
    if let Some(i) = &a.interval {
        let unit = crate::resources::agreement::show_interval(i);
        let unit = unit.split_whitespace().nth(1).unwrap_or("MONTH");
        let _ = writeln!(
            out,
            "        interval: {{ unit: {unit}, count: {} }}",
            i.count
        );
    }
    match &a.merchant_redirect_url {
        Some(u) => {
            let _ = writeln!(out, "        merchantRedirectUrl: {}", q(u));
        }
        None => {
            out.push_str("        # Vipps did not return the redirect URL (it is used only while the customer consents).\n");
            out.push_str("        merchantRedirectUrl: \"https://example.com/replace-me\"\n");
        }
    }
    if let Some(u) = &a.merchant_agreement_url {
        let _ = writeln!(out, "        merchantAgreementUrl: {}", q(u));
    }
    out.push_str("        # phoneNumber: not returned by Vipps (personal data); it only prefilled the consent page.\n");
    if matches!(
        a.status,
        AgreementStatus::Stopped | AgreementStatus::Expired
    ) {
        let _ = writeln!(
            out,
            "        status: STOPPED  # live: {}",
            a.status.as_str()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Interval, IntervalUnit};

    fn agreement(ext: Option<&str>, status: AgreementStatus, created: &str) -> LiveAgreement {
        LiveAgreement {
            id: format!("agr_{}", ext.unwrap_or("x")),
            status,
            external_id: ext.map(str::to_string),
            product_name: "Gold: \"yes\"".into(),
            product_description: None,
            pricing: Pricing::Legacy {
                amount: 29900,
                currency: "NOK".into(),
            },
            interval: Some(Interval {
                unit: IntervalUnit::Month,
                count: 1,
            }),
            merchant_redirect_url: Some("https://shop.example/back".into()),
            merchant_agreement_url: None,
            created: Some(created.into()),
        }
    }

    #[test]
    fn created_accepts_millis_and_rfc3339() {
        let a = agreement(Some("a"), AgreementStatus::Active, "1700000000000");
        assert_eq!(created_at(&a).map(|d| d.timestamp()), Some(1_700_000_000));
        let a = agreement(Some("a"), AgreementStatus::Active, "2026-01-02T03:04:05Z");
        assert!(created_at(&a).is_some());
        let a = agreement(Some("a"), AgreementStatus::Active, "garbage");
        assert!(created_at(&a).is_none());
    }

    #[test]
    fn filters_by_status_and_date_and_notes_what_was_left_out() {
        let live = LiveMerchant {
            msn: "123456".into(),
            agreements: Some(vec![
                agreement(Some("old"), AgreementStatus::Active, "2020-01-01T00:00:00Z"),
                agreement(Some("new"), AgreementStatus::Active, "2026-06-01T00:00:00Z"),
                agreement(
                    Some("gone"),
                    AgreementStatus::Stopped,
                    "2026-06-01T00:00:00Z",
                ),
                agreement(None, AgreementStatus::Active, "2026-06-01T00:00:00Z"),
            ]),
            ..Default::default()
        };
        let opts = ImportOptions {
            created_after: NaiveDate::from_ymd_opt(2026, 1, 1),
            ..Default::default()
        };
        let y = render(&[live], &opts);
        assert!(y.contains("externalId: \"new\""), "{y}");
        assert!(!y.contains("\"old\""), "{y}");
        assert!(!y.contains("\"gone\""), "{y}");
        assert!(y.contains("1 agreement(s) without an externalId"), "{y}");
        assert!(y.contains(r#"productName: "Gold: \"yes\"""#), "{y}");
    }
}
