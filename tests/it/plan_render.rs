//! Renderers are pure functions of a plan: snapshot every action kind in text, markdown and JSON.

use crate::common;
use common::fixtures::*;
use vippsctl::config::model::{CallbackQr, DeclaredStatus};
use vippsctl::domain::model::AgreementStatus;
use vippsctl::plan::render::{json, markdown, text};
use vippsctl::plan::{diff, DiffOptions, Plan};

fn every_action() -> Plan {
    let mut m = merchant();
    m.name = Some("Kaffebar".into());
    m.prune = vec![vippsctl::config::model::Kind::RedirectQrs];
    m.webhooks.push(wh(
        "https://k.example/new",
        &["epayments.payment.captured.v1"],
    ));
    m.webhooks
        .push(wh("https://k.example/h", &["user.checked-in.v1", "a.v1"]));
    m.redirect_qrs.push(rq(
        "table-1",
        "https://k.example/menu?table=1&lang=nb&campaign=winter-2026-long-value",
    ));
    m.redirect_qrs.push(rq("table-2", "https://k.example/2"));
    let mut t3 = rq("table-3", "https://k.example/3");
    t3.ttl = Some(600);
    m.redirect_qrs.push(t3);
    m.callback_qrs.push(CallbackQr {
        merchant_qr_id: "till-1".into(),
        location_description: "Kasse 1".into(),
        origin: origin(),
    });
    m.agreements.push(ag("member-1", 34900));
    let mut stop = ag("member-2", 100);
    stop.status = DeclaredStatus::Stopped;
    m.agreements.push(stop);
    m.agreements.push(ag("member-3", 100));
    let mut new = ag("member-4", 100);
    new.phone_number = Some("4791234567".into());
    m.agreements.push(new);
    let mut l = live();
    l.webhooks = Some(vec![
        live_wh("w-old", "https://k.example/h", &["user.checked-in.v1"]),
        live_wh("w-other", "https://other.example/x", &["a.v1"]),
    ]);
    l.redirect_qrs = Some(vec![
        live_rq(
            "table-1",
            "https://k.example/menu?table=1&lang=en&campaign=winter-2026-long-value",
        ),
        live_rq("table-3", "https://k.example/3"),
        live_rq("gone", "https://k.example/gone"),
    ]);
    l.agreements = Some(vec![
        live_ag("agr_1", "member-1", AgreementStatus::Active, 29900),
        live_ag("agr_2", "member-2", AgreementStatus::Active, 100),
        live_ag("agr_3", "member-3", AgreementStatus::Pending, 100),
        live_ag("agr_9", "unknown", AgreementStatus::Active, 100),
    ]);
    let mut quiet = merchant();
    quiet.msn = "654321".into();
    let mut c = config(m);
    c.merchants.push(quiet);
    let ql = vippsctl::plan::LiveMerchant {
        msn: "654321".into(),
        ..Default::default()
    };
    diff(&c, &[l, ql], &ctx(), &DiffOptions::default()).expect("plan")
}

#[test]
fn text() {
    insta::assert_snapshot!(text::render(&every_action(), text::Style { color: false }));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(markdown::render(&every_action()));
}

#[test]
fn json_round_trips() {
    let p = every_action();
    let s = json::render(&p);
    insta::assert_snapshot!(s);
    assert_eq!(json::read("plan.json", &s).unwrap(), p);
}

#[test]
fn markdown_stays_under_the_limit_and_keeps_the_summary() {
    let p = every_action();
    let full = markdown::render(&p);
    let cut = markdown::render_within(&p, 1200);
    assert!(cut.len() <= 1200, "{} bytes", cut.len());
    assert!(cut.starts_with(full.lines().next().unwrap()));
    assert!(
        cut.contains("left out") || cut.contains("truncated"),
        "{cut}"
    );
}

#[test]
fn saved_plan_reader_rejects_bad_input_with_a_location() {
    let e = json::read("p.json", "{\n  \"format_version\": 1,\n  oops").unwrap_err();
    assert!(e.to_string().starts_with("p.json:3:"), "{e}");
    let e = json::read("p.json", "{\"format_version\": 99}").unwrap_err();
    assert!(e.to_string().contains("version 99"), "{e}");
}

/// A fleet plan: 2,000 merchants, two of them destructive. The comment stays under GitHub's limit,
/// and although most merchants' details are left out, every merchant with changes is either a
/// row of the summary table or counted in its last row, with totals that add up; the text plan
/// has one line per merchant and the total.
#[test]
fn a_fleet_of_2000_merchants_keeps_a_summary_of_every_merchant() {
    const N: usize = 2000;
    let mut c = config(merchant());
    c.merchants.clear();
    let mut live = Vec::new();
    for i in 0..N {
        let mut m = merchant();
        m.msn = format!("{}", 7_000_000 + i);
        m.redirect_qrs.push(rq("door", "https://k.example/door"));
        m.redirect_qrs.push(rq("till", "https://k.example/till"));
        let mut l = vippsctl::plan::LiveMerchant {
            msn: m.msn.clone(),
            redirect_qrs: Some(vec![]),
            ..Default::default()
        };
        if i == 1500 || i == 1999 {
            m.prune = vec![vippsctl::config::model::Kind::RedirectQrs];
            l.redirect_qrs = Some(vec![live_rq("old", "https://k.example/old")]);
        }
        c.merchants.push(m);
        live.push(l);
    }
    let p = diff(&c, &live, &ctx(), &DiffOptions::default()).expect("plan");
    let md = markdown::render(&p);
    assert!(
        md.len() <= markdown::GITHUB_COMMENT_LIMIT,
        "{} bytes",
        md.len()
    );
    assert!(
        md.contains("**2,000 of 2,000 merchants have changes:**"),
        "{md}"
    );
    // Destructive merchants come first, so they are never among the counted rest.
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("| merchant |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(table[2].starts_with("| 7001500 |"), "{}", table[2]);
    assert!(table[3].starts_with("| 7001999 |"), "{}", table[3]);
    let rows = table.len() - 2 - 1;
    let last = table.last().unwrap();
    let more: usize = last
        .trim_start_matches("| … ")
        .split(' ')
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .expect("a count of the rest");
    assert_eq!(rows + more, N, "{last}");
    // The rest's totals: two creates per merchant, none destructive.
    let cells: Vec<&str> = last.split('|').map(str::trim).collect();
    assert_eq!(cells[2].replace(',', ""), (2 * more).to_string(), "{last}");
    assert_eq!(cells[5], "0", "{last}");

    let text = text::render(&p, text::Style { color: false });
    let lines = text
        .lines()
        .skip_while(|l| *l != "Merchants:")
        .skip(1)
        .take_while(|l| l.starts_with("  merchant "))
        .count();
    assert_eq!(lines, N);
    assert!(
        text.contains("  merchant 7001500: 2 to add, 0 to change, 0 to replace, 1 to destroy"),
        "merchant line"
    );
    assert!(
        text.trim_end()
            .ends_with("Plan: 4000 to add, 0 to change, 0 to replace, 2 to destroy."),
        "{}",
        &text[text.len() - 200..]
    );
}
