//! Live state as observed: the input of `plan::diff`.

use crate::domain::model::{LiveAgreement, LiveCallbackQr, LiveRedirectQr, LiveWebhook};
use serde::{Deserialize, Serialize};

/// The live objects of one merchant, per kind; `None` for a kind that was not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveMerchant {
    pub msn: String,
    pub webhooks: Option<Vec<LiveWebhook>>,
    pub redirect_qrs: Option<Vec<LiveRedirectQr>>,
    pub callback_qrs: Option<Vec<LiveCallbackQr>>,
    pub agreements: Option<Vec<LiveAgreement>>,
}
