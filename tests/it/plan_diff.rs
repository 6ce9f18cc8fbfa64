//! The pure diff: each resource rule from ARCHITECTURE.md section 3, on hand-built desired and live
//! states (no network, no simulator).

use crate::common;
use common::fixtures::*;

use vippsctl::config::model::{CallbackQr, Currency, DeclaredStatus, Merchant, Pricing};
use vippsctl::domain::model::AgreementStatus;
use vippsctl::plan::{diff, Action, DiffOptions, LiveMerchant, Plan, Problem, Reason};
use vippsctl::resources::{Address, Field, Kind};

fn plan(m: Merchant, l: LiveMerchant) -> Plan {
    diff(&config(m), &[l], &ctx(), &DiffOptions::default()).expect("plan")
}

fn problems(m: Merchant, l: LiveMerchant) -> Vec<Problem> {
    diff(&config(m), &[l], &ctx(), &DiffOptions::default()).expect_err("problems")
}

fn actions(p: &Plan) -> Vec<(Action, String)> {
    p.changes()
        .map(|c| (c.action, c.address.to_string()))
        .collect()
}

#[test]
fn equal_states_give_no_changes() {
    let mut m = merchant();
    m.webhooks
        .push(wh("https://k.example/h", &["b.v1", "a.v1"]));
    m.redirect_qrs.push(rq("t1", "https://k.example/1"));
    m.agreements.push(ag("member-1", 100));
    let mut l = live();
    l.webhooks = Some(vec![live_wh(
        "w1",
        "https://k.example/h",
        &["a.v1", "b.v1"],
    )]);
    l.redirect_qrs = Some(vec![live_rq("t1", "https://k.example/1")]);
    l.agreements = Some(vec![live_ag(
        "agr_1",
        "member-1",
        AgreementStatus::Active,
        100,
    )]);
    let p = plan(m, l);
    assert!(!p.has_changes(), "{:?}", actions(&p));
    assert_eq!(p.changes().count(), 0);
}

#[test]
fn webhook_event_change_is_replaced_create_first() {
    let mut m = merchant();
    m.webhooks
        .push(wh("https://k.example/h", &["a.v1", "c.v1"]));
    let mut l = live();
    l.webhooks = Some(vec![live_wh("w1", "https://k.example/h", &["a.v1"])]);
    let p = plan(m, l);
    let c: Vec<_> = p.changes().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].action, Action::ReplaceCreateFirst);
    assert_eq!(c[0].live_id.as_deref(), Some("w1"));
    assert!(c[0].notes.iter().any(|n| n.contains("new secret")));
}

#[test]
fn check_in_webhook_replacement_deletes_first_because_of_the_limit() {
    let mut m = merchant();
    m.webhooks
        .push(wh("https://k.example/h", &["user.checked-in.v1", "a.v1"]));
    let mut l = live();
    l.webhooks = Some(vec![live_wh(
        "w1",
        "https://k.example/h",
        &["user.checked-in.v1"],
    )]);
    let p = plan(m, l);
    let c = p.changes().next().unwrap();
    assert_eq!(c.action, Action::ReplaceDeleteFirst);
    assert_eq!(
        c.reason,
        Some(Reason::EventLimit {
            event: "user.checked-in.v1".into(),
            limit: 1
        })
    );
}

#[test]
fn undeclared_live_objects_are_unmanaged_unless_pruned() {
    let mut m = merchant();
    m.redirect_qrs.push(rq("keep", "https://k.example/1"));
    let mut l = live();
    l.redirect_qrs = Some(vec![
        live_rq("keep", "https://k.example/1"),
        live_rq("old", "https://k.example/old"),
    ]);
    let p = plan(m.clone(), l.clone());
    assert_eq!(
        actions(&p),
        vec![(Action::Unmanaged, format!("{MSN}.redirectQrs[old]"))]
    );
    assert!(!p.has_changes());

    m.prune = vec![vippsctl::config::model::Kind::RedirectQrs];
    let p = plan(m, l);
    let c = p.changes().next().unwrap();
    assert_eq!(c.action, Action::Delete);
    assert!(c.notes.iter().any(|n| n.contains("printed")));
    assert_eq!(p.summary().destroy, 1);
}

#[test]
fn redirect_url_updates_in_place_and_ttl_forces_replacement() {
    let mut m = merchant();
    m.redirect_qrs.push(rq("a", "https://k.example/new"));
    let mut with_ttl = rq("b", "https://k.example/b");
    with_ttl.ttl = Some(600);
    m.redirect_qrs.push(with_ttl);
    let mut l = live();
    l.redirect_qrs = Some(vec![
        live_rq("a", "https://k.example/old"),
        live_rq("b", "https://k.example/b"),
    ]);
    let p = plan(m, l);
    let got = actions(&p);
    assert!(got.contains(&(Action::Update, format!("{MSN}.redirectQrs[a]"))));
    assert!(got.contains(&(Action::ReplaceDeleteFirst, format!("{MSN}.redirectQrs[b]"))));
}

#[test]
fn callback_qrs_need_a_check_in_webhook() {
    let mut m = merchant();
    m.callback_qrs.push(CallbackQr {
        merchant_qr_id: "till-1".into(),
        location_description: "Kasse 1".into(),
        origin: origin(),
    });
    let errs = problems(m.clone(), live());
    assert!(errs[0].message.contains("user.checked-in.v1"), "{errs:?}");
    assert!(errs[0].hint.is_some());

    // A live, unmanaged check-in webhook covers it.
    let mut l = live();
    l.webhooks = Some(vec![live_wh(
        "w",
        "https://k.example/c",
        &["user.checked-in.v1"],
    )]);
    let p = plan(m, l);
    assert!(actions(&p).contains(&(Action::Create, format!("{MSN}.callbackQrs[till-1]"))));
}

#[test]
fn per_event_limit_counts_live_unmanaged_webhooks() {
    let mut m = merchant();
    m.webhooks
        .push(wh("https://k.example/new", &["user.checked-in.v1"]));
    let mut l = live();
    l.webhooks = Some(vec![live_wh(
        "w",
        "https://k.example/old",
        &["user.checked-in.v1"],
    )]);
    let errs = problems(m.clone(), l.clone());
    assert!(errs[0].message.contains("allows 1"), "{errs:?}");
    // With pruning the old one goes, and the plan is valid.
    m.prune = vec![vippsctl::config::model::Kind::Webhooks];
    let p = plan(m, l);
    assert_eq!(p.summary().add, 1);
    assert_eq!(p.summary().destroy, 1);
}

#[test]
fn agreements_patch_in_place_and_refuse_unpatchable_changes() {
    let mut m = merchant();
    m.agreements.push(ag("member-1", 200));
    let mut l = live();
    l.agreements = Some(vec![live_ag(
        "agr_1",
        "member-1",
        AgreementStatus::Active,
        100,
    )]);
    let p = plan(m.clone(), l.clone());
    let c = p.changes().next().unwrap();
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.fields[0].field, Field::PricingAmount);
    assert_eq!(c.fields[0].after, Some(serde_json::json!(200)));
    assert!(c.idempotency_key.is_some());

    m.agreements[0].pricing = Pricing::Flexible {
        currency: Currency::NOK,
    };
    let errs = problems(m, l);
    assert!(errs[0].message.contains("pricing.type"), "{errs:?}");
    assert!(errs[0].hint.as_deref().unwrap().contains("consent"));
}

#[test]
fn pending_agreements_await_consent_and_are_not_redrafted() {
    let mut m = merchant();
    m.agreements.push(ag("member-1", 100));
    let mut l = live();
    l.agreements = Some(vec![live_ag(
        "agr_1",
        "member-1",
        AgreementStatus::Pending,
        100,
    )]);
    let p = plan(m, l);
    let c = p.changes().next().unwrap();
    assert_eq!(c.action, Action::AwaitingConsent);
    assert!(!p.has_changes());
}

#[test]
fn expired_draft_is_redrafted_with_a_new_idempotency_key() {
    let mut m = merchant();
    m.agreements.push(ag("member-1", 100));
    let fresh = plan(m.clone(), live());
    let mut l = live();
    l.agreements = Some(vec![live_ag(
        "agr_1",
        "member-1",
        AgreementStatus::Expired,
        100,
    )]);
    let again = plan(m, l);
    let (a, b) = (
        fresh.changes().next().unwrap(),
        again.changes().next().unwrap(),
    );
    assert_eq!(b.action, Action::Create);
    assert_ne!(a.idempotency_key, b.idempotency_key);
    assert!(matches!(b.reason, Some(Reason::RedraftAfterExpiry { .. })));
}

#[test]
fn agreements_stop_only_when_declared_and_never_when_protected() {
    let mut m = merchant();
    let mut a = ag("member-1", 100);
    a.status = DeclaredStatus::Stopped;
    m.agreements.push(a);
    let mut l = live();
    l.agreements = Some(vec![
        live_ag("agr_1", "member-1", AgreementStatus::Active, 100),
        live_ag("agr_2", "someone-else", AgreementStatus::Active, 100),
    ]);
    let p = plan(m.clone(), l.clone());
    let stops: Vec<_> = p.changes().filter(|c| c.action == Action::Stop).collect();
    assert_eq!(stops.len(), 1, "only the declared one is stopped");
    assert_eq!(stops[0].live_id.as_deref(), Some("agr_1"));
    assert_eq!(
        p.merchants[0].unmanaged_agreements,
        vec![("ACTIVE".to_string(), 1)]
    );

    m.agreements[0].protect = true;
    let errs = problems(m, l);
    assert!(errs[0].message.contains("protect"), "{errs:?}");
}

#[test]
fn phone_numbers_never_enter_the_plan() {
    let mut m = merchant();
    let mut a = ag("member-1", 100);
    a.phone_number = Some("4791234567".into());
    m.agreements.push(a);
    let p = plan(m, live());
    let json = vippsctl::plan::render::json::render(&p);
    assert!(!json.contains("4791234567"));
    assert!(json.contains("********67"));
}

#[test]
fn forced_replacement_of_a_webhook_rotates_it() {
    let mut m = merchant();
    m.webhooks.push(wh("https://k.example/h", &["a.v1"]));
    let mut l = live();
    l.webhooks = Some(vec![live_wh("w1", "https://k.example/h", &["a.v1"])]);
    let opts = DiffOptions {
        replace: vec![Address::new(MSN, Kind::Webhooks, "https://k.example/h")],
    };
    let p = diff(&config(m), &[l], &ctx(), &opts).unwrap();
    assert_eq!(
        p.changes().next().unwrap().action,
        Action::ReplaceCreateFirst
    );
}

/// Live fingerprints are the first 8 bytes of the SHA-256 of the live state's JSON with each QR's
/// seconds left reduced to whether it expires: the same state a second later fingerprints the
/// same, and the digest does not depend on how the plan computes it (a saved plan made by an
/// earlier build compares equal).
#[test]
fn live_fingerprints_ignore_seconds_left_and_digest_the_live_json() {
    fn digest<T: serde::Serialize>(v: &T) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(v).unwrap_or_default();
        hex::encode(&Sha256::digest(&json)[..8])
    }
    let mut m = merchant();
    m.redirect_qrs.push(rq("t1", "https://k.example/1"));
    let mut declared = live_rq("t1", "https://k.example/1");
    declared.expires_in = Some(3600);
    let mut undeclared = live_rq("t2", "https://k.example/2");
    undeclared.expires_in = Some(120);
    let mut l = live();
    l.redirect_qrs = Some(vec![declared, undeclared]);
    let p = plan(m.clone(), l.clone());

    let mut later = l.clone();
    for q in later.redirect_qrs.iter_mut().flatten() {
        q.expires_in = q.expires_in.map(|s| s - 1);
    }
    let p_later = plan(m, later);
    assert_eq!(
        p.merchants[0].live_fingerprint,
        p_later.merchants[0].live_fingerprint
    );

    let mut stable = l.clone();
    for q in stable.redirect_qrs.iter_mut().flatten() {
        q.expires_in = Some(0);
    }
    assert_eq!(p.merchants[0].live_fingerprint, digest(&stable));
    let unmanaged = p
        .changes()
        .find(|c| c.address.to_string().contains("t2"))
        .expect("the undeclared QR is in the plan");
    let stable_qr = stable.redirect_qrs.as_ref().map(|q| q[1].clone());
    assert_eq!(
        unmanaged.live_fingerprint.as_deref(),
        stable_qr.as_ref().map(digest).as_deref()
    );
}
