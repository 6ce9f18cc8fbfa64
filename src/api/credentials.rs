//! The credential set of one sales unit (or one partner): read from environment variables only, so
//! that secrets never live in the YAML kept in git.

use crate::domain::Secret;

/// The default variable names, used when a merchant's config names none of its own.
pub const CLIENT_ID_VAR: &str = "VIPPS_CLIENT_ID";
pub const CLIENT_SECRET_VAR: &str = "VIPPS_CLIENT_SECRET";
pub const SUBSCRIPTION_KEY_VAR: &str = "VIPPS_SUBSCRIPTION_KEY";

/// `client_id`, `client_secret` and `Ocp-Apim-Subscription-Key` for `/accesstoken/get`.
/// `Debug` prints `***` for every field (the client id too: with the secret it is half a login).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Credentials {
    pub client_id: Secret,
    pub client_secret: Secret,
    pub subscription_key: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("environment variable {var} is not set")]
    Missing { var: String },
    #[error("environment variable {var} is empty")]
    Empty { var: String },
    #[error("environment variable {var} is not valid UTF-8")]
    NotUnicode { var: String },
    #[error("the value of environment variable {var} cannot be sent as an HTTP header (it contains control characters)")]
    NotAHeaderValue { var: String },
    /// More than one of the above, so that one run names them all.
    #[error("{}", several(.0))]
    Several(Vec<CredentialsError>),
}

/// `environment variables A, B and C are not set; environment variable D is empty`.
fn several(errors: &[CredentialsError]) -> String {
    let missing: Vec<&str> = errors
        .iter()
        .filter_map(|e| match e {
            CredentialsError::Missing { var } => Some(var.as_str()),
            _ => None,
        })
        .collect();
    let mut parts = Vec::new();
    match missing.as_slice() {
        [] => {}
        [one] => parts.push(format!("environment variable {one} is not set")),
        [rest @ .., last] => parts.push(format!(
            "environment variables {} and {last} are not set",
            rest.join(", ")
        )),
    }
    parts.extend(
        errors
            .iter()
            .filter(|e| !matches!(e, CredentialsError::Missing { .. }))
            .map(ToString::to_string),
    );
    parts.join("; ")
}

impl CredentialsError {
    /// One error for `errors` (in order, each variable once): `None` when there are none.
    pub fn all(errors: Vec<CredentialsError>) -> Option<CredentialsError> {
        let mut flat: Vec<CredentialsError> = Vec::new();
        for e in errors {
            let items = match e {
                CredentialsError::Several(v) => v,
                e => vec![e],
            };
            for e in items {
                if !flat.contains(&e) {
                    flat.push(e);
                }
            }
        }
        match flat.len() {
            0 => None,
            1 => flat.pop(),
            _ => Some(CredentialsError::Several(flat)),
        }
    }
}

impl Credentials {
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        subscription_key: impl Into<String>,
    ) -> Self {
        Credentials {
            client_id: Secret::new(client_id),
            client_secret: Secret::new(client_secret),
            subscription_key: Secret::new(subscription_key),
        }
    }

    /// `VIPPS_CLIENT_ID`, `VIPPS_CLIENT_SECRET`, `VIPPS_SUBSCRIPTION_KEY`.
    pub fn from_env() -> Result<Self, CredentialsError> {
        Self::from_env_vars(CLIENT_ID_VAR, CLIENT_SECRET_VAR, SUBSCRIPTION_KEY_VAR)
    }

    /// The variable names a merchant's config gives (one credential set per sales unit or partner).
    pub fn from_env_vars(
        id_var: &str,
        secret_var: &str,
        key_var: &str,
    ) -> Result<Self, CredentialsError> {
        Self::from_lookup(id_var, secret_var, key_var, |name| std::env::var_os(name))
    }

    /// A client id and secret alone, for `/miami/v1/token`, which takes no subscription key (the
    /// set's subscription key is empty and never sent).
    pub fn client_from_env_vars(id_var: &str, secret_var: &str) -> Result<Self, CredentialsError> {
        // The key is looked up under a name no environment has, answered with a placeholder.
        const NO_KEY: &str = "\0vippsctl-no-subscription-key";
        let mut c = Self::from_lookup(id_var, secret_var, NO_KEY, |name| {
            if name == NO_KEY {
                Some("-".into())
            } else {
                std::env::var_os(name)
            }
        })?;
        c.subscription_key = Secret::new("");
        Ok(c)
    }

    /// Like [`Credentials::from_env_vars`] with any source of variables (tests use a map rather
    /// than mutating the process environment, which other threads read at the same time).
    pub fn from_lookup(
        id_var: &str,
        secret_var: &str,
        key_var: &str,
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, CredentialsError> {
        let read = |var: &str| -> Result<Secret, CredentialsError> {
            let raw = lookup(var).ok_or_else(|| CredentialsError::Missing { var: var.into() })?;
            let value = raw
                .into_string()
                .map_err(|_| CredentialsError::NotUnicode { var: var.into() })?;
            // A trailing newline from `$(cat keyfile)`-style exports is never part of a key.
            let value = value.trim();
            if value.is_empty() {
                return Err(CredentialsError::Empty { var: var.into() });
            }
            if reqwest::header::HeaderValue::from_str(value).is_err() {
                return Err(CredentialsError::NotAHeaderValue { var: var.into() });
            }
            Ok(Secret::new(value))
        };
        match (read(id_var), read(secret_var), read(key_var)) {
            (Ok(client_id), Ok(client_secret), Ok(subscription_key)) => Ok(Credentials {
                client_id,
                client_secret,
                subscription_key,
            }),
            (a, b, c) => Err(CredentialsError::all(
                [a.err(), b.err(), c.err()].into_iter().flatten().collect(),
            )
            .unwrap_or(CredentialsError::Several(Vec::new()))),
        }
    }

    /// Every secret in the set, for [`crate::api::redact::redact`].
    pub fn secrets(&self) -> [&Secret; 3] {
        [&self.client_id, &self.client_secret, &self.subscription_key]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_the_named_variables() {
        let c = Credentials::from_lookup(
            "A_ID",
            "A_SECRET",
            "A_KEY",
            env(&[("A_ID", "id-1"), ("A_SECRET", "s3cr3t\n"), ("A_KEY", "k3y")]),
        )
        .unwrap();
        assert_eq!(c, Credentials::new("id-1", "s3cr3t", "k3y"));
    }

    #[test]
    fn missing_variable_is_named_and_no_value_is_shown() {
        let err = Credentials::from_lookup(
            "A_ID",
            "A_SECRET",
            "A_KEY",
            env(&[("A_ID", "id-value-1"), ("A_SECRET", "secret-value-2")]),
        )
        .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("A_KEY"), "{text}");
        assert!(!text.contains("id-value-1") && !text.contains("secret-value-2"));
    }

    #[test]
    fn every_missing_variable_is_named_at_once() {
        let err = Credentials::from_lookup("A_ID", "A_SECRET", "A_KEY", env(&[("A_SECRET", " ")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variables A_ID and A_KEY are not set; environment variable A_SECRET is empty"
        );
    }

    #[test]
    fn empty_and_control_characters_are_refused() {
        let e =
            Credentials::from_lookup("I", "S", "K", env(&[("I", "x"), ("S", "  "), ("K", "k")]))
                .unwrap_err();
        assert_eq!(e, CredentialsError::Empty { var: "S".into() });
        let e = Credentials::from_lookup(
            "I",
            "S",
            "K",
            env(&[("I", "x"), ("S", "a\u{7}b"), ("K", "k")]),
        )
        .unwrap_err();
        assert_eq!(e, CredentialsError::NotAHeaderValue { var: "S".into() });
    }

    #[test]
    fn debug_prints_no_secret() {
        let c = Credentials::new("client-id-123", "client-secret-456", "sub-key-789");
        let text = format!("{c:?}");
        for s in ["client-id-123", "client-secret-456", "sub-key-789"] {
            assert!(!text.contains(s), "{text}");
        }
    }
}
