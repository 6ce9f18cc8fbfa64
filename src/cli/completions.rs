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
    let mut root = man_command();
    let pages = man_pages(&mut root);
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                Failure::new(format!("could not create {}", dir.display())).caused_by(e)
            })?;
            for (name, page) in &pages {
                let path = dir.join(format!("{name}.1"));
                std::fs::write(&path, page).map_err(|e| {
                    Failure::new(format!("could not write {}", path.display())).caused_by(e)
                })?;
            }
            eprintln!("Wrote {} man pages to {}", pages.len(), dir.display());
            Ok(Outcome::Ok)
        }
        None => write_stdout(pages.first().map(|(_, p)| p.as_bytes()).unwrap_or_default()),
    }
}

/// The command tree as the man pages show it: no `help` subcommand (it has no page of its own).
fn man_command() -> clap::Command {
    fn without_help(cmd: clap::Command) -> clap::Command {
        let cmd = cmd.disable_help_subcommand(true);
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        names
            .iter()
            .fold(cmd, |cmd, name| cmd.mut_subcommand(name, without_help))
    }
    let mut cmd = without_help(Cli::command());
    cmd.build();
    cmd
}

/// Every page, the main one first: `(vippsctl-plan, roff text)`.
fn man_pages(root: &mut clap::Command) -> Vec<(String, String)> {
    fn walk(cmd: &clap::Command, parent: Option<&str>, out: &mut Vec<(String, String)>) {
        let name = page_name(cmd);
        out.push((name.clone(), man_page(cmd, parent)));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, Some(&name), out);
        }
    }
    let mut out = Vec::new();
    walk(root, None, &mut out);
    out
}

fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}

/// Text for roff: backslashes and dashes escaped, and no line starting with a control character.
fn roff_text(s: &str) -> String {
    let t = s.replace('\\', "\\e").replace('-', "\\-");
    t.lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One section rendered by clap_mangen, without the preamble it puts before every rendering.
fn mangen_section(
    man: &clap_mangen::Man,
    render: fn(&clap_mangen::Man, &mut dyn Write) -> std::io::Result<()>,
) -> String {
    let mut buf = Vec::new();
    // Rendering into a Vec cannot fail.
    let _ = render(man, &mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.lines()
        .filter(|l| !l.starts_with(".ie \\n(.g .ds Aq") && !l.starts_with(".el .ds Aq"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A page: clap_mangen's NAME, DESCRIPTION and OPTIONS, and vippsctl's own title line (version
/// in the source slot, not the date's), SYNOPSIS with value names and repeats, EXAMPLES kept
/// line by line, EXIT STATUS, ENVIRONMENT and SEE ALSO.
fn man_page(cmd: &clap::Command, parent: Option<&str>) -> String {
    let name = page_name(cmd);
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = String::from(".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n");
    out.push_str(&format!(
        ".TH \"{}\" \"1\" \"{}\" \"vippsctl {}\" \"vippsctl manual\"\n",
        name.to_uppercase(),
        man_date().unwrap_or_default(),
        env!("CARGO_PKG_VERSION")
    ));
    // Hyphenating and filling commands and addresses breaks them where a reader cannot see it.
    out.push_str(".nh\n.ad l\n");
    out.push_str(&mangen_section(&man, clap_mangen::Man::render_name_section));
    out.push_str(&synopsis(cmd));
    out.push_str(&mangen_section(
        &man,
        clap_mangen::Man::render_description_section,
    ));
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        out.push_str(&mangen_section(
            &man,
            clap_mangen::Man::render_options_section,
        ));
    }
    let subs: Vec<&clap::Command> = cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    if !subs.is_empty() {
        out.push_str(".SH COMMANDS\n");
        for s in &subs {
            out.push_str(&format!(
                ".TP\n\\fB{}\\fR(1)\n{}\n",
                roff_text(&page_name(s)),
                roff_text(&s.get_about().map(|a| a.to_string()).unwrap_or_default())
            ));
        }
    }
    if let Some(after) = cmd.get_after_long_help().or(cmd.get_after_help()) {
        out.push_str(&after_help(&after.to_string()));
    }
    out.push_str(EXIT_STATUS);
    out.push_str(&environment(cmd));
    out.push_str(".SH \"SEE ALSO\"\n");
    let mut see: Vec<String> = Vec::new();
    if name != "vippsctl" {
        see.push("vippsctl".into());
    }
    if let Some(p) = parent.filter(|p| *p != "vippsctl") {
        see.push(p.to_string());
    }
    see.extend(subs.iter().map(|s| page_name(s)));
    let refs: Vec<String> = see
        .iter()
        .map(|s| format!("\\fB{}\\fR(1)", roff_text(s)))
        .collect();
    if !refs.is_empty() {
        out.push_str(&format!("{}\n.PP\n", refs.join(", ")));
    }
    out.push_str(
        "The guide, the configuration reference and every flag: docs/guide.md, docs/config.md and docs/cli.md in the vippsctl sources.\n",
    );
    out
}

/// The page date: the day given by `SOURCE_DATE_EPOCH` (reproducible builds), else none: a page
/// printed now must not claim to be as old as today.
fn man_date() -> Option<String> {
    let secs: i64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let t = chrono::DateTime::from_timestamp(secs, 0)?;
    Some(t.format("%Y-%m-%d").to_string())
}

/// `vippsctl plan [--sandbox] [--out FILE] [--replace ADDRESS]... PATH...`: every visible option
/// with its value name, `...` where it repeats, then the positionals and a subcommand.
fn synopsis(cmd: &clap::Command) -> String {
    let mut words = vec![format!(
        "\\fB{}\\fR",
        roff_text(cmd.get_bin_name().unwrap_or_else(|| cmd.get_name()))
    )];
    for a in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
    {
        let flag = match (a.get_short(), a.get_long()) {
            (Some(s), Some(l)) => format!("\\fB\\-{s}\\fR|\\fB\\-\\-{}\\fR", roff_text(l)),
            (Some(s), None) => format!("\\fB\\-{s}\\fR"),
            (None, Some(l)) => format!("\\fB\\-\\-{}\\fR", roff_text(l)),
            (None, None) => continue,
        };
        let takes_value = a.get_num_args().is_some_and(|n| n.takes_values());
        let value = if takes_value {
            let v = a
                .get_value_names()
                .map(|v| v.join(" "))
                .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
            format!(" \\fI{}\\fR", roff_text(&v))
        } else {
            String::new()
        };
        let repeats = matches!(
            a.get_action(),
            clap::ArgAction::Append | clap::ArgAction::Count
        );
        let word = format!("{flag}{value}");
        let word = if a.is_required_set() {
            word
        } else {
            format!("[{word}]")
        };
        words.push(if repeats { format!("{word}...") } else { word });
    }
    for a in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let v = a
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
        let many = a.get_num_args().is_some_and(|n| n.max_values() > 1);
        let word = format!("\\fI{}\\fR{}", roff_text(&v), if many { "..." } else { "" });
        words.push(if a.is_required_set() {
            word
        } else {
            format!("[{word}]")
        });
    }
    if cmd.has_subcommands() {
        words.push("\\fICOMMAND\\fR".into());
    }
    format!(".SH SYNOPSIS\n{}\n", words.join(" "))
}

/// The after-help text: an `Examples:` block as EXAMPLES, one example per line (no filling),
/// the rest as NOTES paragraphs.
fn after_help(text: &str) -> String {
    let mut examples = String::new();
    let mut notes = String::new();
    for block in text.split("\n\n") {
        let lines: Vec<&str> = block.lines().collect();
        match lines.split_first() {
            Some((head, rest)) if head.trim() == "Examples:" => {
                examples.push_str(".nf\n");
                for l in rest {
                    examples.push_str(&roff_text(l.trim_start()));
                    examples.push('\n');
                }
                examples.push_str(".fi\n");
            }
            Some(_) => {
                notes.push_str(".PP\n");
                notes.push_str(&roff_text(block));
                notes.push('\n');
            }
            None => {}
        }
    }
    let mut out = String::new();
    if !examples.is_empty() {
        out.push_str(".SH EXAMPLES\n");
        out.push_str(&examples);
    }
    if !notes.is_empty() {
        out.push_str(".SH NOTES\n");
        out.push_str(&notes);
    }
    out
}

/// The exit codes of every command (docs/exit-codes.md has the details per command).
const EXIT_STATUS: &str = ".SH \"EXIT STATUS\"
.TP
0
Success; for \\fBplan \\-\\-detailed\\-exitcode\\fR: no changes.
.TP
1
An error: bad input, an invalid configuration, a usage error (an unknown flag or a bad value),
live state that could not be read, a refused plan, a failed action.
.TP
2
Only \\fBplan \\-\\-detailed\\-exitcode\\fR: the plan has changes, or drift that apply cannot undo.
";

/// Variables every command reads, besides the options' own (`env = ...` on an option).
const ENVIRONMENT: &[(&str, &str)] = &[
    ("VIPPS_CLIENT_ID, VIPPS_CLIENT_SECRET, VIPPS_SUBSCRIPTION_KEY", "The API credentials (a merchant's `credentials:` can name other variables). Never needed with --sandbox."),
    ("VIPPSCTL_LOG", "A tracing filter for stderr logging, e.g. vippsctl=debug."),
    ("NO_COLOR", "Set and not empty: no colour, as --no-color."),
    ("CLICOLOR_FORCE, FORCE_COLOR", "Set, not empty and not 0: colour even when the output is not a terminal (NO_COLOR wins)."),
    ("CLICOLOR", "0: no colour on a terminal."),
    ("TERM", "dumb: no colour, and apply shows progress as plain lines instead of a bar."),
];

fn environment(cmd: &clap::Command) -> String {
    let mut out = String::from(".SH ENVIRONMENT\n");
    let mut item = |name: &str, text: &str| {
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff_text(name),
            roff_text(text)
        ));
    };
    for (name, text) in ENVIRONMENT {
        item(name, text);
    }
    for a in cmd.get_arguments() {
        if let (Some(var), Some(long)) = (a.get_env(), a.get_long()) {
            item(&var.to_string_lossy(), &format!("As --{long}."));
        }
    }
    out
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
