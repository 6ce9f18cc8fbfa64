//! The Webhooks API's request signature, as Vipps signs every delivery (API-FACTS section 6,
//! WHA "Request authentication"): `x-ms-content-sha256` is base64(SHA-256(raw body)); the string
//! to sign is `POST\n{pathAndQuery}\n{x-ms-date};{host};{x-ms-content-sha256}` (LF only); the
//! signature is base64(HMAC-SHA256(key = the secret's UTF-8 bytes as registration returned it)).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The headers that sign one delivery, besides `host` (the HTTP client sends that one from the
/// URL, and it is signed as sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub date: String,
    pub content_sha256: String,
    pub authorization: String,
}

/// base64(SHA-256(body)).
pub fn content_sha256(body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
}

/// Sign a POST of `body` to `path_and_query` on `host` at `date` (an RFC 7231 date, as sent in
/// `x-ms-date`) with a registration's `secret`.
pub fn sign(
    secret: &str,
    path_and_query: &str,
    host: &str,
    date: &str,
    body: &[u8],
) -> SignedHeaders {
    let hash = content_sha256(body);
    let to_sign = format!("POST\n{path_and_query}\n{date};{host};{hash}");
    // HMAC takes keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    SignedHeaders {
        date: date.to_string(),
        content_sha256: hash,
        authorization: format!(
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
        ),
    }
}

/// What a receiver signs: the URL's path and query, and its host as the `Host` header carries it
/// (with the port only when it is not the scheme's default).
pub fn path_and_host(url: &url::Url) -> (String, String) {
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => String::new(),
    };
    (path, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published example (Webhooks API "Request authentication"): its secret, date, body,
    /// URL and the signature Vipps computed for them.
    #[test]
    fn signs_the_published_example_as_vipps_does() {
        let body = br#"{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}"#;
        let url = url::Url::parse("https://webhook.site/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63")
            .expect("url");
        let (path, host) = path_and_host(&url);
        let signed = sign(
            "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A==",
            &path,
            &host,
            "Thu, 30 Mar 2023 08:38:32 GMT",
            body,
        );
        assert_eq!(
            signed.content_sha256,
            "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="
        );
        assert_eq!(
            signed.authorization,
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U="
        );
    }

    #[test]
    fn the_signed_host_carries_a_port_only_when_the_url_names_one() {
        let u = url::Url::parse("http://127.0.0.1:4567/hooks?x=1").expect("url");
        assert_eq!(
            path_and_host(&u),
            ("/hooks?x=1".to_string(), "127.0.0.1:4567".to_string())
        );
        let u = url::Url::parse("https://shop.example:443/a").expect("url");
        assert_eq!(
            path_and_host(&u),
            ("/a".to_string(), "shop.example".to_string())
        );
    }
}
