//! No input makes the loader panic: random bytes, and valid configs mangled the ways files get
//! mangled (truncated, lines duplicated or swapped, tabs, anchors and aliases inserted).
//! Pathological inputs (alias bombs, 10k-deep nesting) end with an error, which a loader without
//! caps could not do in bounded time and memory.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use vippsctl::config;

fn env(name: &str) -> Option<String> {
    (name == "SET").then(|| "value".to_string())
}

fn examples() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    [
        "cafe.yaml",
        "webshop.yaml",
        "partner/10-oslo.yaml",
        "partner/30-bergen.yaml",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(root.join(f)).unwrap_or_default())
    .collect()
}

fn load_text(text: &str) -> Result<config::Loaded, config::Diagnostics> {
    config::load_sources(&[(PathBuf::from("fuzz.yaml"), text.to_string())], &env)
}

/// Every diagnostic can be rendered, with its line read back from the source.
fn render_all(text: &str) {
    match load_text(text) {
        Ok(l) => {
            let _ = config::render(&l.warnings, &l.sources, true);
        }
        Err(d) => {
            assert!(d.items.iter().any(|i| i.is_error()));
            let _ = d.render(true);
            let _ = config::render_json(&d.items);
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertTab(usize),
    InsertAnchor(usize, usize),
    InsertText(usize, String),
    DeleteLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::InsertTab),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::InsertAnchor(a, b)),
        (
            any::<usize>(),
            prop::sample::select(vec![
                ": ", "- ", "[", "{", "}", "]", "\"", "'", "#", "&a ", "*a", "!!str ", "? ",
                "${SET}", "${UNSET}", "$${", "\n", "  ", "yes", "0777", "~", "|\n", ">-\n",
                "%TAG ", "---\n", "ø", "\u{feff}", "\r\n",
            ])
            .prop_map(str::to_string)
        )
            .prop_map(|(a, s)| Mutation::InsertText(a, s)),
        any::<usize>().prop_map(Mutation::DeleteLine),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    let boundary = |i: usize| {
        let mut i = i % (text.len() + 1);
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match m {
        Mutation::Truncate(i) => return text[..boundary(*i)].to_string(),
        Mutation::InsertText(i, s) => {
            let i = boundary(*i);
            return format!("{}{s}{}", &text[..i], &text[i..]);
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
        Mutation::InsertTab(i) if !lines.is_empty() => lines[i % n].insert(0, '\t'),
        Mutation::InsertAnchor(a, b) if lines.len() > 1 => {
            // Anchor one value and refer to it elsewhere, the way people share blocks.
            let (a, b) = (a % n, b % n);
            if let Some(pos) = lines[a].find(": ") {
                lines[a].insert_str(pos + 2, "&shared ");
                if let Some(pos) = lines[b].find(": ") {
                    lines[b].truncate(pos + 2);
                    lines[b].push_str("*shared");
                }
            }
        }
        Mutation::DeleteLine(i) if !lines.is_empty() => {
            lines.remove(i % n);
        }
        _ => {}
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        render_all(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn yaml_ish_noise_never_panics(text in "[a-zA-Z0-9:&*\\-\\[\\]{}#!|>'\" \n\t$%@?,.]{0,400}") {
        render_all(&text);
    }

    #[test]
    fn mutated_examples_never_panic(
        which in 0usize..4,
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let mut text = examples()[which].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        render_all(&text);
    }
}

#[test]
fn non_utf8_file_is_a_located_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("c.yaml");
    std::fs::write(&f, b"version: 1\nmerchants:\n  - msn: \"12\xff34\"\n").expect("write");
    let err = config::load(&[f], &env).expect_err("not UTF-8");
    assert_eq!(err.items[0].code, "encoding");
    assert_eq!(err.items[0].location.as_ref().map(|o| o.line), Some(3));
}

#[test]
fn alias_bomb_ends_with_an_error() {
    // 10 levels of 10 aliases: 10^10 values if expanded.
    let mut y =
        String::from("version: 1\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        y.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    y.push_str("merchants: *a9\n");
    let err = load_text(&y).expect_err("refused");
    assert!(
        err.items.iter().any(|d| d.code == "yaml-alias-limit"),
        "{:?}",
        err.items
    );
}

#[test]
fn ten_thousand_deep_nesting_ends_with_an_error() {
    let flow = format!(
        "version: 1\nmerchants: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(load_text(&flow).is_err());
    let flow_maps = format!(
        "version: 1\nmerchants: {}{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    assert!(load_text(&flow_maps).is_err());
    let block: String = (0..10_000)
        .map(|i| format!("{}- \n", " ".repeat(i)))
        .collect();
    let err = load_text(&format!("version: 1\nmerchants:\n{block}")).expect_err("refused");
    assert!(
        err.items.iter().any(|d| d.code == "yaml-too-deep"),
        "{:?}",
        err.items
    );
}
