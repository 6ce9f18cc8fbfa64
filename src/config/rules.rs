//! Checks that need the whole (merged) config: keys, URLs, limits across objects, cross-resource
//! rules. Shapes, lengths and patterns are the schema's job (`structure`).

use super::diagnostic::Diagnostic;
use super::index::SourceIndex;
use super::model::{Config, DeclaredStatus, Merchant, Origin, Pricing};
use super::structure::did_you_mean;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The event names the Webhooks API documents (API-FACTS section 6). Vipps adds events, so an
/// unknown name is a warning, not an error.
pub const KNOWN_EVENTS: &[&str] = &[
    "epayments.payment.created.v1",
    "epayments.payment.aborted.v1",
    "epayments.payment.expired.v1",
    "epayments.payment.cancelled.v1",
    "epayments.payment.captured.v1",
    "epayments.payment.refunded.v1",
    "epayments.payment.authorized.v1",
    "epayments.payment.terminated.v1",
    "recurring.agreement-activated.v1",
    "recurring.agreement-rejected.v1",
    "recurring.agreement-stopped.v1",
    "recurring.agreement-expired.v1",
    "recurring.charge-reserved.v1",
    "recurring.charge-captured.v1",
    "recurring.charge-canceled.v1",
    "recurring.charge-refunded.v1",
    "recurring.charge-failed.v1",
    "recurring.charge-creation-failed.v1",
    "user.checked-in.v1",
    "login.merchant-initiated.ping.v1",
];

/// The QR check-in event: at most one registration per sales unit.
pub const CHECK_IN_EVENT: &str = "user.checked-in.v1";
/// Registrations per event type per MSN.
pub const MAX_WEBHOOKS_PER_EVENT: usize = 25;

pub fn check(config: &Config, index: &SourceIndex, out: &mut Vec<Diagnostic>) {
    super::sinks::check(config, index, out);
    partner(config, out);
    if let Some(p) = config.partner_unit() {
        webhooks(&p, index, out);
        duplicates(&p, out);
    }
    for m in &config.merchants {
        webhooks(m, index, out);
        duplicates(m, out);
        agreements(m, index, out);
        super::policies::check(m, index, out);
        if let Some(first) = m.callback_qrs.first() {
            // A partner check-in webhook fires for every merchant of the partner.
            let covered = config.partner_declares(CHECK_IN_EVENT)
                || m.webhooks
                    .iter()
                    .any(|w| w.events.iter().any(|e| e == CHECK_IN_EVENT));
            if !covered {
                out.push(
                    Diagnostic::warning(&first.origin, format!("merchant {} has callback QR codes but no webhook on `{CHECK_IN_EVENT}`", m.msn))
                        .with_hint("scans are delivered only through that webhook; declare one (plan fails unless a live one exists)")
                        .with_code("callback-without-webhook"),
                );
            }
        }
    }
}

/// Partner webhooks are registered with the partner's own keys: without them nothing can
/// register them, so a declaration without `credentials` is an error naming what to set.
fn partner(config: &Config, out: &mut Vec<Diagnostic>) {
    let Some(p) = &config.partner else {
        return;
    };
    for k in p
        .prune
        .iter()
        .filter(|k| **k != super::model::Kind::Webhooks)
    {
        out.push(
            Diagnostic::error(
                &p.origin,
                format!(
                    "`partner.prune` lists `{}`: the partner level has webhooks only",
                    k.as_str()
                ),
            )
            .with_hint("write `prune: [webhooks]`, or leave it out")
            .with_code("partner-prune"),
        );
    }
    if let (None, Some(first)) = (&p.credentials, p.webhooks.first()) {
        out.push(
            Diagnostic::error(
                &p.origin,
                format!(
                    "partner webhooks need the partner's keys, and `partner` names none ({} declared, the first at {})",
                    p.webhooks.len(),
                    first.origin
                ),
            )
            .with_hint("set `partner.credentials: { clientId: VAR, clientSecret: VAR, subscriptionKey: VAR }`, naming the environment variables that hold the partner keys (partner webhooks are registered with them and no Merchant-Serial-Number)")
            .with_code("partner-credentials"),
        );
    }
}

/// The unit a rule's message names: `merchant 123456`, or `the partner`.
fn unit(m: &Merchant) -> String {
    if m.is_partner() {
        "the partner level".into()
    } else {
        format!("merchant {}", m.msn)
    }
}

fn webhooks(m: &Merchant, index: &SourceIndex, out: &mut Vec<Diagnostic>) {
    let mut per_event: HashMap<&str, usize> = HashMap::new();
    for w in &m.webhooks {
        let at = index.field(&w.origin, "url");
        https_url(&w.url, "webhook `url`", &at, out);
        if let Ok(u) = url::Url::parse(&w.url) {
            if !publicly_routable(&u) {
                out.push(
                    Diagnostic::warning(&at, "webhook url points at a local or private address")
                        .with_hint("Vipps delivers only to world-reachable endpoints")
                        .with_code("webhook-unreachable"),
                );
            }
            if let Some(port) = u.port() {
                if ![80, 443, 8080].contains(&port) {
                    out.push(
                        Diagnostic::warning(&at, format!("webhook url uses port {port}"))
                            .with_hint("Vipps delivers to common ports only (443, 80, 8080)")
                            .with_code("webhook-port"),
                    );
                }
            }
        }
        let mut seen = BTreeSet::new();
        for (i, e) in w.events.iter().enumerate() {
            let at = index.field(&w.origin, &format!("events[{i}]"));
            if !seen.insert(e.as_str()) {
                out.push(
                    Diagnostic::warning(
                        &at,
                        format!("event `{e}` is listed twice in this webhook"),
                    )
                    .with_code("duplicate-event"),
                );
                continue;
            }
            if !KNOWN_EVENTS.contains(&e.as_str()) {
                let mut d = Diagnostic::warning(&at, format!("unknown webhook event `{e}`"))
                    .with_code("unknown-event");
                if e == "user.checkin.v1" {
                    d = d.with_hint(format!("renamed to `{CHECK_IN_EVENT}` in 2023"));
                } else if let Some(close) = did_you_mean(e, KNOWN_EVENTS.iter().copied()) {
                    d = d.with_hint(format!("did you mean `{close}`?"));
                } else {
                    d = d.with_hint("Vipps may have added it; otherwise check the name in the Webhooks API event list");
                }
                out.push(d);
            }
            let n = per_event.entry(e.as_str()).or_default();
            *n += 1;
            let limit = if e == CHECK_IN_EVENT {
                1
            } else {
                MAX_WEBHOOKS_PER_EVENT
            };
            if *n == limit + 1 {
                out.push(
                    Diagnostic::error(&at, format!(
                            "more than {} on `{e}` for {}",
                            if limit == 1 { "one webhook".to_string() } else { format!("{limit} webhooks") },
                            unit(m)
                        ))
                        .with_hint(if m.is_partner() && limit == 1 {
                            "the QR API allows one partner webhook on check-ins besides each sales unit's own".to_string()
                        } else if m.is_partner() {
                            format!("the Webhooks API allows {limit} partner registrations per event (a bucket of their own, beside each sales unit's)")
                        } else if limit == 1 {
                            "the QR API delivers check-ins to one webhook per sales unit".to_string()
                        } else {
                            format!("the Webhooks API allows {limit} registrations per event per sales unit")
                        })
                        .with_code("webhook-limit"),
                );
            }
        }
    }
}

fn duplicates(m: &Merchant, out: &mut Vec<Diagnostic>) {
    /// `key` identifies the object; `label` names it in the message.
    struct Seen<'a>(BTreeMap<String, &'a Origin>);
    impl<'a> Seen<'a> {
        fn check(
            &mut self,
            key: String,
            label: String,
            origin: &'a Origin,
            msn: &str,
            out: &mut Vec<Diagnostic>,
        ) {
            match self.0.get(&key) {
                Some(first) => out.push(
                    Diagnostic::error(
                        origin,
                        format!(
                            "{label} is declared twice for {}",
                            if msn == super::model::PARTNER {
                                "the partner level".to_string()
                            } else {
                                format!("merchant {msn}")
                            }
                        ),
                    )
                    .with_hint(format!("first declared at {first}"))
                    .with_code("duplicate-object"),
                ),
                None => {
                    self.0.insert(key, origin);
                }
            }
        }
    }
    let mut seen = Seen(BTreeMap::new());
    for w in &m.webhooks {
        let events: BTreeSet<&str> = w.events.iter().map(String::as_str).collect();
        let events = events.into_iter().collect::<Vec<_>>().join(", ");
        // The url is on the source line shown; the message leaves it out because a url may
        // carry a token from `${NAME}`.
        let label = format!("webhook with this url and events [{events}]");
        seen.check(format!("{} {events}", w.url), label, &w.origin, &m.msn, out);
    }
    let mut seen = Seen(BTreeMap::new());
    for q in &m.redirect_qrs {
        seen.check(
            q.id.clone(),
            format!("redirect QR `{}`", q.id),
            &q.origin,
            &m.msn,
            out,
        );
    }
    let mut seen = Seen(BTreeMap::new());
    for q in &m.callback_qrs {
        let label = format!("callback QR `{}`", q.merchant_qr_id);
        seen.check(q.merchant_qr_id.clone(), label, &q.origin, &m.msn, out);
    }
    let mut seen = Seen(BTreeMap::new());
    for a in &m.agreements {
        let label = format!("agreement `{}`", a.external_id);
        seen.check(a.external_id.clone(), label, &a.origin, &m.msn, out);
    }
}

fn agreements(m: &Merchant, index: &SourceIndex, out: &mut Vec<Diagnostic>) {
    for a in &m.agreements {
        https_url(
            &a.merchant_redirect_url,
            "`merchantRedirectUrl`",
            &index.field(&a.origin, "merchantRedirectUrl"),
            out,
        );
        match &a.merchant_agreement_url {
            Some(u) => https_url(
                u,
                "`merchantAgreementUrl`",
                &index.field(&a.origin, "merchantAgreementUrl"),
                out,
            ),
            // The Recurring spec: "required for Norwegian Merchants". The configuration does not
            // say where the sales unit is, so this warns; Vipps (and the sandbox) refuse the draft.
            None if a.status == DeclaredStatus::Active => out.push(
                Diagnostic::warning(
                    &a.origin,
                    format!(
                        "agreement `{}` has no `merchantAgreementUrl`; Vipps refuses the draft for a Norwegian sales unit without it",
                        a.external_id
                    ),
                )
                .with_hint("add `merchantAgreementUrl: https://...` (the page where the customer manages the agreement); other markets may leave it out")
                .with_code("missing-merchant-agreement-url"),
            ),
            None => {}
        }
        if let Pricing::Variable {
            suggested_max_amount,
            currency,
        } = &a.pricing
        {
            let cap = currency.variable_max();
            if *suggested_max_amount > cap {
                out.push(
                    Diagnostic::error(
                        &index.field(&a.origin, "pricing.suggestedMaxAmount"),
                        format!("`suggestedMaxAmount` {suggested_max_amount} is above the {} limit of {cap}", currency.as_str()),
                    )
                    .with_hint(format!("amounts are in minor units: {cap} is {} {}", cap / 100, currency.as_str()))
                    .with_code("amount-limit"),
                );
            }
        }
        if a.protect && a.status == DeclaredStatus::Stopped {
            out.push(
                Diagnostic::error(&index.field(&a.origin, "status"), format!("agreement `{}` is protected but declared STOPPED", a.external_id))
                    .with_hint("remove `protect: true` first if it really should be stopped (stopping is irreversible)")
                    .with_code("protected-stop"),
            );
        }
    }
}

fn publicly_routable(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            !(d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".local")
                || d.ends_with(".internal"))
        }
        Some(url::Host::Ipv4(ip)) => {
            !(ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified())
        }
        Some(url::Host::Ipv6(ip)) => !(ip.is_loopback() || ip.is_unspecified()),
        None => false,
    }
}

/// What is wrong with a URL that Vipps calls or opens, if anything: a code, the message (which
/// never quotes the URL: it may carry a token from `${NAME}`) and a hint. The schema's `^https://`
/// pattern reports through this too, so both say the same.
pub(crate) fn https_problem(
    text: &str,
    what: &str,
) -> Option<(&'static str, String, Option<&'static str>)> {
    match url::Url::parse(text) {
        Err(e) => Some((
            "invalid-url",
            format!("{what} is not a valid URL: {e}"),
            Some("write an absolute URL, e.g. https://example.com/path"),
        )),
        Ok(u) if u.scheme() != "https" => Some((
            "insecure-url",
            format!("{what} must use https, not {}", u.scheme()),
            Some("the Vipps APIs call and open HTTPS URLs only"),
        )),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => {
            Some(("invalid-url", format!("{what} has no host"), None))
        }
        Ok(_) => None,
    }
}

pub(crate) fn https_url(text: &str, what: &str, at: &Origin, out: &mut Vec<Diagnostic>) {
    if let Some((code, message, hint)) = https_problem(text, what) {
        let mut d = Diagnostic::error(at, message).with_code(code);
        d.hint = hint.map(str::to_string);
        out.push(d);
    }
}
