//! Walking an error's causes (`source()`): the one walker behind the error printer's
//! `caused by:` lines and every one-line rendering (transport hooks, apply results, logs).
//! The interesting part of an error is often only in a cause (reqwest's "connection refused",
//! the token endpoint's 401 detail), so no rendering may stop at `to_string()`.

use std::error::Error;

/// `err`, then each of its causes in turn.
pub fn chain<'a>(
    err: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn Error + 'static)| (*e).source())
}

/// The messages of `err`'s causes (not `err` itself), without a cause that only repeats the
/// message before it (as a `#[error(transparent)]` or `"{0}"` wrapper does).
pub fn causes(err: &(dyn Error + 'static)) -> Vec<String> {
    let mut previous = err.to_string();
    let mut out = Vec::new();
    for cause in chain(err).skip(1) {
        let text = cause.to_string();
        if text != previous {
            out.push(text.clone());
        }
        previous = text;
    }
    out
}

/// `err` and its causes on one line, `a: b: c`, leaving out a cause whose text the line
/// already holds.
pub fn one_line(err: &(dyn Error + 'static)) -> String {
    let mut line = String::new();
    for e in chain(err) {
        let text = e.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Wrap(String, #[source] Option<Box<Wrap>>);

    fn nested(parts: &[&str]) -> Wrap {
        let mut e: Option<Box<Wrap>> = None;
        for p in parts.iter().rev() {
            e = Some(Box::new(Wrap(p.to_string(), e)));
        }
        *e.unwrap()
    }

    #[test]
    fn causes_skip_exact_repeats_and_one_line_skips_what_it_holds() {
        let e = nested(&[
            "could not get a token",
            "could not get a token",
            "401: bad secret",
        ]);
        assert_eq!(causes(&e), ["401: bad secret"]);
        assert_eq!(one_line(&e), "could not get a token: 401: bad secret");
        let e = nested(&["send failed: connection refused", "connection refused"]);
        assert_eq!(one_line(&e), "send failed: connection refused");
        assert_eq!(chain(&e).count(), 2);
    }
}
