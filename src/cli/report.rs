//! The one error printer: `error:` / `caused by:` / `hint:` on stderr (uv's shape).

use std::fmt::Write as _;
use std::process::ExitCode;

/// What a command ended with when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success / no changes.
    Ok,
    /// `--detailed-exitcode`: changes present.
    Changes,
    /// The command already printed its own diagnostics (e.g. `validate`) and failed.
    Failed,
    /// A signal stopped the command after it reported what it did: this exit code.
    Interrupted(u8),
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        ExitCode::from(match o {
            Outcome::Ok => super::exit::OK,
            Outcome::Changes => super::exit::CHANGES,
            Outcome::Failed => super::exit::ERROR,
            Outcome::Interrupted(code) => code,
        })
    }
}

/// An error on its way to the user: the message, its causes and an optional hint on what to do.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub causes: Vec<String>,
    pub hint: Option<String>,
    pub exit_code: u8,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            causes: Vec::new(),
            hint: None,
            exit_code: super::exit::ERROR,
        }
    }

    /// A failure whose diagnostics were already printed: exit 1, print nothing more.
    pub fn silent() -> Self {
        Failure::new("")
    }

    /// Build from an error, walking its `source()` chain into `caused by:` lines.
    pub fn from_error(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut f = Failure::new(err.to_string());
        f.causes = crate::error_chain::causes(err);
        f
    }

    pub fn caused_by(mut self, err: impl std::fmt::Display) -> Self {
        self.causes.push(err.to_string());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The text printed to stderr.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.message.is_empty() {
            return out;
        }
        let _ = writeln!(out, "error: {}", self.message);
        for c in &self.causes {
            // An error's Display often repeats its source; skip exact repeats.
            if c != &self.message {
                let _ = writeln!(out, "  caused by: {c}");
            }
        }
        if let Some(h) = &self.hint {
            let _ = writeln!(out, "hint: {h}");
        }
        out
    }
}

impl<E: std::error::Error + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::from_error(&e)
    }
}

pub(crate) fn print(f: &Failure) -> ExitCode {
    eprint!("{}", f.render());
    ExitCode::from(f.exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_error_causes_and_hint() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let f = Failure::new("could not read setup/cafe.yaml")
            .caused_by(io)
            .hint("check the path");
        assert_eq!(
            f.render(),
            "error: could not read setup/cafe.yaml\n  caused by: no such file\nhint: check the path\n"
        );
    }
}
