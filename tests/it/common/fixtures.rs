//! Hand-built desired and live states for the plan tests.
#![allow(dead_code)]

use vippsctl::config::model::{
    Agreement, Config, Currency, DeclaredStatus, Interval, IntervalUnit, Merchant, Origin, Pricing,
    RedirectQr, Webhook,
};
use vippsctl::domain::model::{AgreementStatus, LiveAgreement, LiveRedirectQr, LiveWebhook};
use vippsctl::plan::{LiveMerchant, PlanContext};

pub const MSN: &str = "123456";

pub fn ctx() -> PlanContext {
    PlanContext {
        environment: vippsctl::domain::Environment::Test,
        base_url: "http://sim".into(),
        config_files: vec!["setup.yaml".into()],
        config_digest: "d".into(),
        spec_versions: "test".into(),
    }
}

pub fn origin() -> Origin {
    Origin {
        file: "setup.yaml".into(),
        line: 1,
        column: 1,
    }
}

pub fn merchant() -> Merchant {
    Merchant {
        msn: MSN.into(),
        name: None,
        credentials: None,
        prune: vec![],
        webhooks: vec![],
        redirect_qrs: vec![],
        callback_qrs: vec![],
        agreements: vec![],
        agreement_policies: vec![],
        origin: origin(),
    }
}

pub fn config(m: Merchant) -> Config {
    Config {
        version: 1,
        environment: None,
        merchants: vec![m],
        partner: None,
    }
}

pub fn wh(url: &str, events: &[&str]) -> Webhook {
    Webhook {
        url: url.into(),
        events: events.iter().map(|s| s.to_string()).collect(),
        secret: None,
        origin: origin(),
    }
}

pub fn live_wh(id: &str, url: &str, events: &[&str]) -> LiveWebhook {
    LiveWebhook {
        id: id.into(),
        url: url.into(),
        events: events.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn rq(id: &str, url: &str) -> RedirectQr {
    RedirectQr {
        id: id.into(),
        redirect_url: url.into(),
        ttl: None,
        origin: origin(),
    }
}

pub fn live_rq(id: &str, url: &str) -> LiveRedirectQr {
    LiveRedirectQr {
        id: id.into(),
        redirect_url: url.into(),
        url: None,
        expires_in: Some(-1),
    }
}

pub fn ag(ext: &str, amount: i64) -> Agreement {
    Agreement {
        external_id: ext.into(),
        product_name: "Kaffe".into(),
        product_description: None,
        pricing: Pricing::Legacy {
            amount,
            currency: Currency::NOK,
        },
        interval: Some(Interval {
            unit: IntervalUnit::Month,
            count: 1,
        }),
        merchant_redirect_url: "https://k.example/thanks".into(),
        merchant_agreement_url: None,
        phone_number: None,
        status: DeclaredStatus::Active,
        protect: false,
        origin: origin(),
    }
}

pub fn live_ag(id: &str, ext: &str, status: AgreementStatus, amount: i64) -> LiveAgreement {
    LiveAgreement {
        id: id.into(),
        status,
        external_id: Some(ext.into()),
        product_name: "Kaffe".into(),
        product_description: None,
        pricing: vippsctl::domain::model::Pricing::Legacy {
            amount,
            currency: "NOK".into(),
        },
        interval: Some(vippsctl::domain::model::Interval {
            unit: vippsctl::domain::model::IntervalUnit::Month,
            count: 1,
        }),
        merchant_redirect_url: None,
        merchant_agreement_url: None,
        created: Some(format!("2026-01-0{}", id.len() % 9)),
    }
}

pub fn live() -> LiveMerchant {
    LiveMerchant {
        msn: MSN.into(),
        webhooks: Some(vec![]),
        redirect_qrs: Some(vec![]),
        callback_qrs: Some(vec![]),
        agreements: Some(vec![]),
    }
}
