//! Which values of a config file are secrets or personal data, so that the diagnostic renderer
//! masks them wherever a message, hint or source line would show them: phone numbers, credential
//! fields holding a value instead of a variable name, and anything written under `secret` that is
//! not part of a sink (a pasted webhook secret).

use super::diagnostic::is_env_name;
use super::tree::{key_text, Node, Value};
use crate::mask::Redactions;

/// The parts of a secret sink that are not secrets: where it goes, not what.
const SINK_FIELDS: [&str; 3] = ["file", "key", "command"];

/// Record the sensitive values of a (parsed, interpolated) file.
pub(crate) fn collect(root: &Node, out: &mut Redactions) {
    walk(root, None, 0, out);
}

#[derive(Clone, Copy)]
enum Context {
    Phone,
    Credential,
    /// Under `secret`, outside the sink's own fields.
    Secret,
}

fn walk(node: &Node, ctx: Option<Context>, depth: usize, out: &mut Redactions) {
    if depth > super::tree::MAX_DEPTH {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                let key = key_text(k);
                let inner = match (ctx, key.as_str()) {
                    (Some(Context::Secret), k) if SINK_FIELDS.contains(&k) => None,
                    (Some(Context::Secret), _) => Some(Context::Secret),
                    (_, "phoneNumber") => Some(Context::Phone),
                    (_, "clientId" | "clientSecret" | "subscriptionKey") => {
                        Some(Context::Credential)
                    }
                    (_, "secret") => Some(Context::Secret),
                    _ => ctx,
                };
                walk(v, inner, depth + 1, out);
            }
        }
        Value::Seq(items) => {
            for item in items {
                walk(item, ctx, depth + 1, out);
            }
        }
        _ => {
            if let Some(c) = ctx {
                scalar(node, c, out);
            }
        }
    }
}

fn scalar(node: &Node, ctx: Context, out: &mut Redactions) {
    let value = match &node.value {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    };
    // The text as written (a number's digits) and the value it became (from `${NAME}`, say).
    let forms = value
        .into_iter()
        .chain(node.raw.clone().filter(|r| !r.contains("${")));
    for v in forms {
        match ctx {
            Context::Phone => out.phone(&v),
            Context::Credential if is_env_name(&v) => {}
            Context::Credential | Context::Secret => out.secret(&v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(yaml: &str, text: &str) -> String {
        let root = super::super::tree::parse(yaml).unwrap().unwrap();
        let mut r = Redactions::new();
        collect(&root, &mut r);
        r.apply(text)
    }

    #[test]
    fn phones_credentials_and_pasted_secrets_are_found() {
        let yaml = "a:\n  phoneNumber: 4791234567\n  credentials: { clientId: MY_ID, clientSecret: \"s3cr3t-value\" }\n  secret: whsec_abcdef\n  other: { secret: { file: s.env, key: KEYNAME, value: pasted-one } }\n";
        assert_eq!(
            masked(
                yaml,
                "4791234567 MY_ID s3cr3t-value whsec_abcdef s.env KEYNAME pasted-one"
            ),
            "********67 MY_ID ************ ************ s.env KEYNAME **********"
        );
    }
}
