//! The whole `--help` tree as one snapshot, so a changed flag or text shows up in review
//! (`cargo insta review`), and every example in the help texts parses with today's flags.

use crate::printing_common;

use clap::{CommandFactory, Parser};
use printing_common::words;
use vippsctl::cli::Cli;

/// Fixed width, so the snapshot is the same on every terminal.
fn command() -> clap::Command {
    let mut cmd = Cli::command().term_width(100);
    cmd.build();
    cmd
}

/// Every command with its full path (`vippsctl qr export`), depth first, in declaration order.
fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
    out.push((path.to_string(), cmd.clone()));
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        walk(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

fn all() -> Vec<(String, clap::Command)> {
    let mut out = Vec::new();
    walk(&command(), "vippsctl", &mut out);
    out
}

/// `[env: VIPPSCTL_ENV=production]` shows the caller's environment; the snapshot must not.
fn without_env_values(help: &str) -> String {
    let mut out = String::with_capacity(help.len());
    let mut rest = help;
    while let Some(at) = rest.find("[env: ") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let end = tail.find(']').map_or(tail.len(), |e| e + 1);
        let item = &tail[..end];
        match item.find('=') {
            Some(eq) => {
                out.push_str(&item[..=eq]);
                out.push(']');
            }
            None => out.push_str(item),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn help_tree_snapshot() {
    let mut text = String::new();
    for (path, mut cmd) in all() {
        text.push_str(&format!("===== {path} --help =====\n"));
        text.push_str(&without_env_values(&cmd.render_long_help().to_string()));
        text.push('\n');
    }
    insta::assert_snapshot!("help_tree", text);
}

#[test]
fn every_command_has_an_about_and_the_main_ones_have_examples() {
    for (path, cmd) in all() {
        assert!(
            cmd.get_about().is_some(),
            "`{path}` has no one-line description"
        );
        for arg in cmd.get_arguments() {
            if arg.is_hide_set() || ["help", "version"].contains(&arg.get_id().as_str()) {
                continue;
            }
            assert!(
                arg.get_help().is_some() || arg.get_long_help().is_some(),
                "`{path}`: the argument `{}` has no help text",
                arg.get_id()
            );
        }
    }
    let mut cmd = command();
    for name in [
        "vippsctl",
        "validate",
        "plan",
        "apply",
        "qr",
        "completions",
        "man",
    ] {
        let help = if name == "vippsctl" {
            cmd.render_long_help().to_string()
        } else {
            let sub = cmd.find_subcommand_mut(name).expect("subcommand");
            sub.render_long_help().to_string()
        };
        assert!(help.contains("Examples:"), "`{name} --help` shows examples");
    }
}

#[test]
fn every_example_in_the_help_parses() {
    let mut examples = 0;
    for (path, mut cmd) in all() {
        let help = cmd.render_long_help().to_string();
        let Some((_, tail)) = help.split_once("Examples:") else {
            continue;
        };
        for line in tail.lines() {
            let line = line.trim();
            if !line.starts_with("vippsctl ") {
                continue;
            }
            let argv = words(line);
            examples += 1;
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("an example in `{path} --help` does not parse: {line}\n{e}");
            }
        }
    }
    assert!(examples >= 20, "only {examples} examples found");
}

#[test]
fn env_values_are_blanked() {
    assert_eq!(
        without_env_values("x [env: VIPPSCTL_ENV=production] y [env: B=] z"),
        "x [env: VIPPSCTL_ENV=] y [env: B=] z"
    );
}

#[test]
fn the_word_splitter_handles_quotes_and_comments() {
    assert_eq!(
        words("vippsctl plan 'a b' \"c\" d # note"),
        vec!["vippsctl", "plan", "a b", "c", "d"]
    );
    assert_eq!(words("vippsctl man | man -l -"), vec!["vippsctl", "man"]);
}
