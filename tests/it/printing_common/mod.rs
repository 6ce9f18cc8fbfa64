//! Helpers for the printing, help and CI-recipe tests: an in-process simulator, the real binary
//! run against it, and QR decoding of PNG and SVG images.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use vippsctl::sim::{self, SimHandle};

pub async fn start_sim() -> SimHandle {
    sim::start(crate::common::test_config(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator starts")
}

/// The binary with sandbox credentials in its environment and nothing inherited that could
/// point it elsewhere.
pub fn vippsctl(cwd: &Path) -> Command {
    sandbox_env(Command::new(env!("CARGO_BIN_EXE_vippsctl")), cwd)
}

/// Any program (e.g. bash running a CI script) with the same environment as [`vippsctl`].
pub fn sandbox_env(mut cmd: Command, cwd: &Path) -> Command {
    cmd.current_dir(cwd)
        .env("VIPPS_CLIENT_ID", sim::SANDBOX_CLIENT_ID)
        .env("VIPPS_CLIENT_SECRET", sim::SANDBOX_CLIENT_SECRET)
        .env("VIPPS_SUBSCRIPTION_KEY", sim::SANDBOX_SUBSCRIPTION_KEY)
        .env("NO_COLOR", "1")
        .env_remove("VIPPSCTL_BASE_URL")
        .env_remove("VIPPSCTL_ENV")
        .env_remove("VIPPSCTL_LOG");
    cmd
}

/// Run a prepared command off the async runtime so the in-process simulator keeps serving.
pub async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
        .await
        .expect("the blocking task finishes")
}

pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every QR code found in a greyscale bitmap, decoded.
pub fn decode_grey(width: usize, height: usize, pixel: impl Fn(usize, usize) -> u8) -> Vec<String> {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, pixel);
    img.detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, content)| content))
        .collect()
}

/// Decode a PNG file (any colour type the `png` crate expands to 8-bit grey or RGB(A)).
pub fn decode_png(bytes: &[u8]) -> (u32, Vec<String>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sane PNG size")];
    let info = reader.next_frame(&mut buf).expect("PNG image data");
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let stride = info.line_size;
    let codes = decode_grey(w, h, |x, y| {
        let p = &buf[y * stride + x * channels..];
        match channels {
            1 | 2 => p[0],
            _ => ((p[0] as u32 + p[1] as u32 + p[2] as u32) / 3) as u8,
        }
    });
    (info.width, codes)
}

/// Rasterise a QR SVG made of one `<rect>` background and a `<path>` of axis-aligned rectangles
/// (`M x y h w v h H x V y Z`, absolute or relative), then decode it. Panics when the SVG has any
/// other structure, so a change in the image format shows up here rather than as a wrong decode.
pub fn decode_svg(svg: &str) -> Vec<String> {
    assert!(svg.contains("<svg"), "not an SVG: {svg:.200}");
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = svg.find(&format!("<{tag}"))?;
        let rest = &svg[start..];
        let end = rest.find('>')?;
        let el = &rest[..end];
        let key = format!(" {name}=\"");
        let v = el.find(&key)? + key.len();
        let len = el[v..].find('"')?;
        Some(el[v..v + len].to_string())
    };
    let num = |s: Option<String>| -> f64 {
        s.and_then(|v| v.trim_end_matches("px").parse().ok())
            .expect("a numeric width/height")
    };
    let (w, h) = (num(attr("svg", "width")), num(attr("svg", "height")));
    let d = attr("path", "d").expect("a <path d=...> with the dark modules");
    let (w, h) = (w.ceil() as usize, h.ceil() as usize);
    let mut dark = vec![false; w * h];
    let mut tokens: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in d.chars() {
        if c.is_ascii_alphabetic() {
            if !cur.is_empty() {
                tokens.push(std::mem::take(&mut cur));
            }
            tokens.push(c.to_string());
        } else if c == ' ' || c == ',' {
            if !cur.is_empty() {
                tokens.push(std::mem::take(&mut cur));
            }
        } else if c == '-' && !cur.is_empty() {
            tokens.push(std::mem::take(&mut cur));
            cur.push(c);
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    let mut fill = |pts: &[(f64, f64)]| {
        if pts.is_empty() {
            return;
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in pts {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        for y in (y0.max(0.0) as usize)..(y1.min(h as f64) as usize) {
            for x in (x0.max(0.0) as usize)..(x1.min(w as f64) as usize) {
                dark[y * w + x] = true;
            }
        }
    };
    let (mut x, mut y) = (0.0f64, 0.0f64);
    let mut sub: Vec<(f64, f64)> = Vec::new();
    let mut i = 0;
    let n = |i: usize| -> f64 { tokens[i].parse().expect("a number in the path") };
    while i < tokens.len() {
        let cmd = tokens[i].as_str();
        match cmd {
            "M" | "m" => {
                fill(&sub);
                sub.clear();
                let (a, b) = (n(i + 1), n(i + 2));
                (x, y) = if cmd == "M" { (a, b) } else { (x + a, y + b) };
                sub.push((x, y));
                i += 3;
            }
            "h" | "H" => {
                x = if cmd == "H" { n(i + 1) } else { x + n(i + 1) };
                sub.push((x, y));
                i += 2;
            }
            "v" | "V" => {
                y = if cmd == "V" { n(i + 1) } else { y + n(i + 1) };
                sub.push((x, y));
                i += 2;
            }
            "Z" | "z" => i += 1,
            other => panic!("unexpected path command {other:?} in the QR SVG"),
        }
    }
    fill(&sub);
    decode_grey(w, h, |px, py| if dark[py * w + px] { 0 } else { 255 })
}

/// What a scan of `content` leads to: the redirect target (from a 302) or the check-in page text.
pub async fn follow(content: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let resp = client
        .get(content)
        .send()
        .await
        .expect("the QR's URL answers");
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.text().await.unwrap_or_default();
    (status, location.unwrap_or(body))
}

/// Split a shell line into words: whitespace separated, single and double quotes respected,
/// `#` comments and redirections/pipes ended.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#' | '>' | '|' | ';' | '&') => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Copy a file, or a folder with everything in it.
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for e in std::fs::read_dir(from).expect("read dir") {
            let e = e.expect("entry");
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).expect("copy");
    }
}
