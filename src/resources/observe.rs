//! Reading live state: one list call per kind and page, never one call per object; the kinds of
//! one merchant are read concurrently.

use super::{Kind, LiveMerchant};
use crate::api::error::ApiError;
use crate::api::vipps::MerchantApi;

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

/// Read the given kinds of one merchant. Agreements are read in every status (the plan needs
/// ACTIVE and PENDING to match, STOPPED and EXPIRED to report consent outcomes), page by page.
pub async fn observe(
    api: &MerchantApi,
    msn: &str,
    kinds: &[Kind],
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
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let batch = api
                .list_agreements(None, None, page, AGREEMENT_PAGE_SIZE)
                .await
                .map_err(err(Kind::Agreements))?;
            let n = batch.len();
            all.extend(batch);
            // A short page is the last one; the API gives no total count.
            if n < AGREEMENT_PAGE_SIZE as usize {
                break;
            }
            page += 1;
        }
        Ok(Some(all))
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
