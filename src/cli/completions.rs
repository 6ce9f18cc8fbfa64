//! `vippsctl completions SHELL` and `vippsctl man`: both generated from the clap definitions, so
//! they can never disagree with what the binary accepts.

use super::{Cli, Failure, Outcome};
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Examples:
  vippsctl completions bash > ~/.local/share/bash-completion/completions/vippsctl
  vippsctl completions zsh > \"${fpath[1]}/_vippsctl\"
  vippsctl completions fish > ~/.config/fish/completions/vippsctl.fish
  vippsctl completions powershell >> $PROFILE")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Examples:
  vippsctl man | man -l -                  # read it now
  vippsctl man --out /usr/local/share/man/man1   # one page per subcommand")]
pub struct ManArgs {
    /// Write vippsctl.1 and one page per subcommand (vippsctl-plan.1, ...) into DIR instead of
    /// printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> Result<Outcome, Failure> {
    use clap_complete::Shell as S;
    let shell = match args.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
    };
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vippsctl", &mut buf);
    write_stdout(&buf)
}

pub fn man(args: &ManArgs) -> Result<Outcome, Failure> {
    let cmd = Cli::command();
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                Failure::new(format!("could not create {}", dir.display())).caused_by(e)
            })?;
            clap_mangen::generate_to(cmd, dir).map_err(|e| {
                Failure::new(format!(
                    "could not write the man pages to {}",
                    dir.display()
                ))
                .caused_by(e)
            })?;
            eprintln!("Wrote the man pages to {}", dir.display());
            Ok(Outcome::Ok)
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .map_err(|e| Failure::new("could not render the man page").caused_by(e))?;
            write_stdout(&buf)
        }
    }
}

/// A closed pipe (`vippsctl man | head`) is not an error worth a report.
fn write_stdout(bytes: &[u8]) -> Result<Outcome, Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(Outcome::Ok),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::Ok),
        Err(e) => Err(Failure::new("could not write to stdout").caused_by(e)),
    }
}
