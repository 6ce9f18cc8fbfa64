//! TEMPORARY contract stub, replaced by the codegen branch at merge.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("stub")]
    Stub,
}
impl ApiError {
    pub fn status(&self) -> Option<u16> {
        None
    }
    pub fn is_conflict(&self) -> bool {
        false
    }
    pub fn is_not_found(&self) -> bool {
        false
    }
    pub fn outcome_unknown(&self) -> bool {
        false
    }
}
