//! Reading live state: one list call per kind (per agreement status) and page, never one call
//! per object; the kinds of one merchant are read concurrently.

use super::{Kind, LiveMerchant};
use crate::api::error::ApiError;
use crate::api::vipps::MerchantApi;
use crate::domain::model::{AgreementStatus, LiveAgreement};
use std::collections::{BTreeSet, HashSet};

/// Agreements per page: the API's maximum, so a plan needs as few of the 5-per-minute list calls
/// as possible.
pub const AGREEMENT_PAGE_SIZE: u32 = 2000;

/// A kind of one merchant that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("could not read the {kind} of merchant {msn}")]
pub struct ObserveError {
    pub msn: String,
    pub kind: Kind,
    #[source]
    pub source: ApiError,
}

/// Which agreements to list. Vipps lists one status per call (ACTIVE when none is named; "there
/// is no way to list all Agreements with all statuses"), and the list is limited to 5 calls per
/// minute per merchant, so only the statuses a run needs are listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgreementLists {
    /// Always listed.
    pub statuses: Vec<AgreementStatus>,
    /// STOPPED and EXPIRED (those not in `statuses`) are listed too, after the others, but only
    /// when one of these externalIds has no agreement among them: its ended agreements decide
    /// whether to draft it again.
    pub ended_for: BTreeSet<String>,
    /// Only agreements created after this instant (epoch milliseconds).
    pub created_after: Option<i64>,
}

impl AgreementLists {
    /// Exactly these statuses.
    pub fn only(statuses: &[AgreementStatus]) -> Self {
        AgreementLists {
            statuses: statuses.to_vec(),
            ..Default::default()
        }
    }

    /// All four statuses: four lists (plus pages).
    pub fn all() -> Self {
        AgreementLists::only(&[
            AgreementStatus::Active,
            AgreementStatus::Pending,
            AgreementStatus::Stopped,
            AgreementStatus::Expired,
        ])
    }

    /// The statuses listed only when `ended_for` needs them.
    fn conditional(&self) -> Vec<AgreementStatus> {
        [AgreementStatus::Stopped, AgreementStatus::Expired]
            .into_iter()
            .filter(|s| !self.statuses.contains(s))
            .collect()
    }
}

/// Every agreement in one status, page by page (a short page is the last one: the API gives
/// no total count).
async fn list_status(
    api: &MerchantApi,
    status: AgreementStatus,
    created_after: Option<i64>,
) -> Result<Vec<LiveAgreement>, ApiError> {
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let batch = api
            .list_agreements(Some(status), created_after, page, AGREEMENT_PAGE_SIZE)
            .await?;
        let n = batch.len();
        // A server that ignored the filter must not make one agreement count twice.
        all.extend(batch.into_iter().filter(|a| a.status == status));
        if n < AGREEMENT_PAGE_SIZE as usize {
            return Ok(all);
        }
        page += 1;
    }
}

async fn list_statuses(
    api: &MerchantApi,
    statuses: &[AgreementStatus],
    created_after: Option<i64>,
) -> Result<Vec<LiveAgreement>, ApiError> {
    let lists = statuses.iter().map(|s| list_status(api, *s, created_after));
    let mut all = Vec::new();
    for l in futures::future::try_join_all(lists).await? {
        all.extend(l);
    }
    Ok(all)
}

/// The agreements `lists` asks for: its statuses concurrently, then the ended ones if needed.
pub async fn list_agreements(
    api: &MerchantApi,
    lists: &AgreementLists,
) -> Result<Vec<LiveAgreement>, ApiError> {
    let mut all = list_statuses(api, &lists.statuses, lists.created_after).await?;
    let seen: HashSet<&str> = all
        .iter()
        .filter_map(|a| a.external_id.as_deref())
        .collect();
    let needs_ended = lists.ended_for.iter().any(|e| !seen.contains(e.as_str()));
    if needs_ended {
        let ended = list_statuses(api, &lists.conditional(), lists.created_after).await?;
        all.extend(ended);
    }
    let mut ids = HashSet::new();
    all.retain(|a| ids.insert(a.id.clone()));
    Ok(all)
}

/// Read the given kinds of one merchant; agreements as `lists` says.
pub async fn observe(
    api: &MerchantApi,
    msn: &str,
    kinds: &[Kind],
    lists: &AgreementLists,
) -> Result<LiveMerchant, ObserveError> {
    let wants = |k: Kind| kinds.contains(&k);
    let err = |kind: Kind| {
        move |source: ApiError| ObserveError {
            msn: msn.to_string(),
            kind,
            source,
        }
    };
    let webhooks = async {
        if wants(Kind::Webhooks) {
            api.list_webhooks()
                .await
                .map(Some)
                .map_err(err(Kind::Webhooks))
        } else {
            Ok(None)
        }
    };
    let redirect = async {
        if wants(Kind::RedirectQrs) {
            api.list_redirect_qrs()
                .await
                .map(Some)
                .map_err(err(Kind::RedirectQrs))
        } else {
            Ok(None)
        }
    };
    let callback = async {
        if wants(Kind::CallbackQrs) {
            api.list_callback_qrs()
                .await
                .map(Some)
                .map_err(err(Kind::CallbackQrs))
        } else {
            Ok(None)
        }
    };
    let agreements = async {
        if !wants(Kind::Agreements) {
            return Ok(None);
        }
        list_agreements(api, lists)
            .await
            .map(Some)
            .map_err(err(Kind::Agreements))
    };
    let (webhooks, redirect_qrs, callback_qrs, agreements) =
        tokio::try_join!(webhooks, redirect, callback, agreements)?;
    let mut live = LiveMerchant {
        msn: msn.to_string(),
        webhooks,
        redirect_qrs,
        callback_qrs,
        agreements,
    };
    live.normalise();
    Ok(live)
}

impl LiveMerchant {
    /// Sort everything so that fingerprints and plans do not depend on the API's order.
    pub fn normalise(&mut self) {
        if let Some(w) = &mut self.webhooks {
            for x in w.iter_mut() {
                x.events.sort();
            }
            w.sort_by(|a, b| (&a.url, &a.events, &a.id).cmp(&(&b.url, &b.events, &b.id)));
        }
        if let Some(q) = &mut self.redirect_qrs {
            q.sort_by(|a, b| a.id.cmp(&b.id));
        }
        if let Some(q) = &mut self.callback_qrs {
            q.sort_by(|a, b| a.merchant_qr_id.cmp(&b.merchant_qr_id));
        }
        if let Some(a) = &mut self.agreements {
            a.sort_by(|a, b| a.id.cmp(&b.id));
        }
    }
}
