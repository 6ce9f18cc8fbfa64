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
            let _ = config::render_json(&d.items, &d.sources);
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

/// Peak resident memory of this process in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

const HUGE_MIB: usize = 16;

/// Huge inputs of the shapes that cost a YAML loader most: one enormous scalar, and a flat
/// sequence of hundreds of thousands of items. Both end (loaded or refused) without a panic.
/// Runs in its own process too (next test), so its peak memory can be measured.
#[test]
fn huge_inputs_end_without_panic() {
    let long = format!(
        "version: 1\nmerchants:\n  - msn: \"123456\"\n    name: {}\n",
        "n".repeat(HUGE_MIB << 20)
    );
    let _ = load_text(&long);
    drop(long);
    let items = (HUGE_MIB << 20) / 8;
    let mut flat = String::with_capacity(HUGE_MIB << 20);
    flat.push_str("version: 1\nmerchants:\n");
    for i in 0..items {
        flat.push_str(&format!("- {}\n", i % 10_000));
    }
    // Regression: one diagnostic per bad item took about 1 GiB here; the value cap stops it.
    let err = load_text(&flat).expect_err("numbers are not merchants");
    assert!(
        err.items.iter().any(|d| d.code == "yaml-too-large"),
        "{:?}",
        err.items.iter().take(3).collect::<Vec<_>>()
    );
    drop(flat);
    if let Some(kib) = peak_rss_kib() {
        println!("PEAK_RSS_KIB={kib}");
    }
}

#[test]
fn huge_inputs_peak_memory_is_bounded() {
    if peak_rss_kib().is_none() {
        eprintln!("no /proc/self/status here; skipping the memory measurement");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "config_fuzz::huge_inputs_end_without_panic",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("run self");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kib: u64 = stdout
        .split("PEAK_RSS_KIB=")
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("peak not printed:\n{stdout}"));
    eprintln!(
        "peak RSS loading {HUGE_MIB} MiB configs: {} MiB",
        kib / 1024
    );
    // The input, its tree and slack; it was 60 times the input before the value cap.
    let bound_mib = 10 * HUGE_MIB as u64 + 64;
    assert!(
        kib / 1024 < bound_mib,
        "peak {} MiB >= {bound_mib} MiB",
        kib / 1024
    );
}
