//! The Vipps MobilePay environments and their hosts.

use serde::{Deserialize, Serialize};

/// Which Vipps MobilePay environment to talk to. Credentials are separate per environment.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The test environment, `https://apitest.vipps.no` (test keys, the test app, test data).
    #[default]
    Test,
    /// Production, `https://api.vipps.no` (production keys, real money).
    Production,
}

impl Environment {
    /// The API host: all APIs of one environment share it.
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Test => "https://apitest.vipps.no",
            Environment::Production => "https://api.vipps.no",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
