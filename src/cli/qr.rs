//! `vippsctl qr export`: download the image of every declared QR code through the QR API's image
//! options and write a printable `index.html` sheet beside them.
//!
//! The images come from Vipps (never rendered here) because self-rendered QR designs need Vipps'
//! approval; the sheet only lays them out with their merchant, id and target.

use super::session;
use super::{Failure, GlobalArgs, Outcome};
use crate::api::vipps::MerchantApi;
use crate::config::model::Config;
use crate::domain::model::ImageFormat;
use crate::error_chain::one_line as error_chain;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct QrArgs {
    #[command(subcommand)]
    pub command: QrCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum QrCommand {
    /// Download an image of every declared redirect and callback QR code, plus an index.html
    /// sheet to print them from.
    #[command(after_help = "\
Examples:
  vippsctl qr export setup/ --out qr/                          # SVG images + qr/index.html
  vippsctl qr export setup/ --out qr/ --format png --size 1000  # 1000-pixel PNGs
  vippsctl qr export examples/cafe.yaml --out qr/ --sandbox     # try it on the simulator

Files are named <msn>-<kind>-<id>.<ext> (kind is redirect or callback; characters that are not
safe in file names are replaced). Open index.html in a browser and print it.")]
    Export(ExportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Vector images: sharp at any print size.
    Svg,
    /// Raster images of --size pixels.
    Png,
}

impl From<Format> for ImageFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Svg => ImageFormat::Svg,
            Format::Png => ImageFormat::Png,
        }
    }
}

impl Format {
    fn ext(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Configuration files or folders (every *.yaml / *.yml inside).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Folder to write the images and index.html into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Image format.
    #[arg(long, value_enum, default_value_t = Format::Svg)]
    pub format: Format,
    /// PNG width and height in pixels (100 to 2000; the API's default when absent).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(100..=2000))]
    pub size: Option<u32>,
    /// Use the built-in simulator (state in .vippsctl/sandbox.json) instead of the Vipps APIs.
    #[arg(long)]
    pub sandbox: bool,
}

/// Which of the two QR kinds a code is; also the `<kind>` part of its file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QrKind {
    Redirect,
    Callback,
}

impl QrKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QrKind::Redirect => "redirect",
            QrKind::Callback => "callback",
        }
    }
}

/// One code on the sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetEntry {
    pub msn: String,
    pub merchant_name: Option<String>,
    pub kind: QrKind,
    pub id: String,
    /// Where a scan leads as configured: the redirect URL, or the till's location description.
    pub target: String,
    /// The image's file name, relative to the sheet.
    pub file: String,
    /// What Vipps answered when the image was fetched (what a scan does now).
    pub live: Option<LiveCode>,
}

/// A code as read from the QR API when its image was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCode {
    /// The live redirect URL or location description.
    pub target: Option<String>,
    /// Seconds until the code expires and stops working for good; `None` when it never does.
    pub expires_in: Option<u64>,
}

pub async fn run(args: QrArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    match args.command {
        QrCommand::Export(a) => export(a, global).await,
    }
}

async fn export(args: ExportArgs, global: &GlobalArgs) -> Result<Outcome, Failure> {
    let loaded = session::load_config(&args.paths, global)?;
    let entries = declared_codes(&loaded.config, args.format);
    if entries.is_empty() {
        return Err(
            Failure::new("no QR codes are declared in the configuration")
                .hint("declare them under a merchant's `redirectQrs:` or `callbackQrs:`"),
        );
    }
    if args.size.is_some() && args.format == Format::Svg {
        eprintln!("warning: --size applies to PNG images only; SVG images scale to any size");
    }
    let session = session::connect(global, &loaded.config, args.sandbox, 1).await?;
    let apis = &session.apis;
    std::fs::create_dir_all(&args.out).map_err(|e| {
        Failure::new(format!("could not create {}", args.out.display())).caused_by(e)
    })?;
    // Image links need no credentials (API-FACTS §7), so a plain client fetches them.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Failure::new("could not start the HTTP client").caused_by(e))?;

    let format = args.format;
    let size = args.size;
    let out = args.out.clone();
    let fetches = entries.iter().map(|entry| {
        let api = apis.get(&entry.msn).cloned();
        let http = http.clone();
        let out = out.clone();
        async move {
            let result = match api {
                Some(api) => fetch_one(&api, &http, entry, format, size, &out).await,
                None => Err(FetchError::Other(format!(
                    "no API client for merchant {}",
                    entry.msn
                ))),
            };
            (entry, result)
        }
    });
    // Bounded: the transport's rate limiter paces API calls, this bounds the image downloads.
    let results: Vec<_> = futures::stream::iter(fetches).buffered(8).collect().await;

    let mut written = Vec::new();
    let mut failures = Vec::new();
    let mut missing = false;
    for (entry, result) in results {
        match result {
            Ok(live) => written.push(SheetEntry {
                live: Some(live),
                ..entry.clone()
            }),
            Err(err) => {
                missing |= matches!(err, FetchError::Missing);
                let message = err.to_string();
                failures.push(format!(
                    "{} QR `{}` of merchant {}: {message}",
                    entry.kind.as_str(),
                    entry.id,
                    entry.msn
                ));
            }
        }
    }
    let index = out.join("index.html");
    write_bytes(&index, sheet_html(&written, chrono::Utc::now()).as_bytes())?;
    for e in &written {
        println!("{}", out.join(&e.file).display());
    }
    println!("{}", index.display());
    eprintln!(
        "Wrote {} of {} QR codes and {}; open it in a browser to print.",
        written.len(),
        entries.len(),
        index.display()
    );
    if failures.is_empty() {
        return Ok(Outcome::Ok);
    }
    let mut f = Failure::new(format!(
        "{} of {} QR codes could not be exported",
        failures.len(),
        entries.len()
    ));
    for line in failures {
        f = f.caused_by(line);
    }
    Err(if missing {
        f.hint("a declared QR code must exist before it can be printed: run `vippsctl apply` first")
    } else {
        f.hint("run again with -v for the API calls made")
    })
}

/// Why one code could not be exported.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    /// Declared but not live: the usual cause is a config that was never applied.
    #[error("it does not exist in the API")]
    Missing,
    #[error("{0}")]
    Other(String),
}

/// Read the code from the QR API (with its image link), download the image into `out`, and return
/// what the API said about the code.
async fn fetch_one(
    api: &Arc<MerchantApi>,
    http: &reqwest::Client,
    entry: &SheetEntry,
    format: Format,
    size: Option<u32>,
    out: &Path,
) -> Result<LiveCode, FetchError> {
    let image_format = ImageFormat::from(format);
    let lacks = |operation: &str, field: &str| crate::api::error::ApiError::Decode {
        operation: operation.into(),
        status: None,
        message: format!("the response lacks `{field}`"),
    };
    let found = match entry.kind {
        QrKind::Redirect => api
            .redirect_qr_with_image(&entry.id, image_format, size)
            .await
            .and_then(|q| {
                let live = LiveCode {
                    target: Some(q.redirect_url),
                    expires_in: q.expires_in.and_then(|s| u64::try_from(s).ok()),
                };
                Ok((q.url.ok_or_else(|| lacks("get_redirect_qr", "url"))?, live))
            }),
        QrKind::Callback => api
            .get_callback_qr(&entry.id, image_format, size)
            .await
            .and_then(|q| {
                let live = LiveCode {
                    target: q.location_description,
                    expires_in: None,
                };
                Ok((
                    q.qr_image_url
                        .ok_or_else(|| lacks("get_callback_qr", "qrImageUrl"))?,
                    live,
                ))
            }),
    };
    let (url, live) = found.map_err(|e| {
        if e.is_not_found() {
            FetchError::Missing
        } else {
            FetchError::Other(error_chain(&e))
        }
    })?;
    let resp = http.get(&url).send().await.map_err(|e| {
        FetchError::Other(format!("could not download the image: {}", error_chain(&e)))
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(FetchError::Other(format!(
            "downloading the image gave HTTP {status}"
        )));
    }
    let bytes = resp.bytes().await.map_err(|e| {
        FetchError::Other(format!("could not download the image: {}", error_chain(&e)))
    })?;
    if !looks_like(format, &bytes) {
        return Err(FetchError::Other(format!(
            "the image link did not return {} data",
            format.ext().to_uppercase()
        )));
    }
    let bytes = match (format, size) {
        (Format::Png, Some(n)) => fit_png(&bytes, n).map_err(|e| {
            FetchError::Other(format!("could not make the PNG {n} x {n} pixels: {e}"))
        })?,
        _ => bytes.to_vec(),
    };
    let path = out.join(&entry.file);
    write_atomic(&path, &bytes)
        .map_err(|e| FetchError::Other(format!("could not write {}: {e}", path.display())))?;
    Ok(live)
}

/// The PNG at exactly `n` x `n` pixels, as `--size` promises. The API's image is used as it is
/// when it has that size; otherwise (an API that rounds to whole pixels per module) it is scaled
/// by nearest neighbour, which keeps the modules sharp: the code itself is the API's, unchanged.
fn fit_png(bytes: &[u8], n: u32) -> Result<Vec<u8>, png::DecodingError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info()?;
    let (w, h) = (reader.info().width, reader.info().height);
    if (w, h) == (n, n) {
        return Ok(bytes.to_vec());
    }
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let frame = reader.next_frame(&mut buf)?;
    let channels = frame.color_type.samples();
    let rgba = |x: usize, y: usize| -> [u8; 4] {
        let p = &buf[y * frame.line_size + x * channels..];
        match channels {
            1 => [p[0], p[0], p[0], 255],
            2 => [p[0], p[0], p[0], p[1]],
            3 => [p[0], p[1], p[2], 255],
            _ => [p[0], p[1], p[2], p[3]],
        }
    };
    let side = n as usize;
    let mut pixels = Vec::with_capacity(side * side * 4);
    for y in 0..side {
        let sy = (2 * y + 1) * h as usize / (2 * side);
        for x in 0..side {
            pixels.extend_from_slice(&rgba((2 * x + 1) * w as usize / (2 * side), sy));
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, n, n);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let written = enc
        .write_header()
        .and_then(|mut w| w.write_image_data(&pixels).and_then(|()| w.finish()));
    written.map_err(|e| png::DecodingError::IoError(std::io::Error::other(e)))?;
    Ok(out)
}

/// A cheap check that the download is the image asked for, not an HTML error page.
fn looks_like(format: Format, bytes: &[u8]) -> bool {
    match format {
        Format::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        Format::Svg => {
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).to_lowercase();
            head.contains("<svg")
        }
    }
}

fn write_bytes(path: &Path, content: &[u8]) -> Result<(), Failure> {
    write_atomic(path, content)
        .map_err(|e| Failure::new(format!("could not write {}", path.display())).caused_by(e))
}

/// A reader never sees half an image; printed images and the sheet are not secret.
fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    crate::fsutil::write_atomic(path, content, crate::fsutil::PUBLIC)
}

/// Every declared QR code in config order, with its file name.
pub fn declared_codes(config: &Config, format: Format) -> Vec<SheetEntry> {
    let mut entries = Vec::new();
    for m in &config.merchants {
        for q in &m.redirect_qrs {
            entries.push(SheetEntry {
                msn: m.msn.clone(),
                merchant_name: m.name.clone(),
                kind: QrKind::Redirect,
                id: q.id.clone(),
                target: q.redirect_url.clone(),
                file: String::new(),
                live: None,
            });
        }
        for q in &m.callback_qrs {
            entries.push(SheetEntry {
                msn: m.msn.clone(),
                merchant_name: m.name.clone(),
                kind: QrKind::Callback,
                id: q.merchant_qr_id.clone(),
                target: q.location_description.clone(),
                file: String::new(),
                live: None,
            });
        }
    }
    let names = file_names(&entries, format.ext());
    for (e, name) in entries.iter_mut().zip(names) {
        e.file = name;
    }
    entries
}

/// Longest id part kept in a file name; longer ids are cut and get a hash suffix.
const MAX_STEM: usize = 100;

/// `<msn>-<kind>-<id>.<ext>` for each entry, unique even on case-insensitive file systems.
fn file_names(entries: &[SheetEntry], ext: &str) -> Vec<String> {
    let stems: Vec<(String, bool)> = entries.iter().map(|e| safe_stem(&e.id)).collect();
    let base =
        |e: &SheetEntry, stem: &str| format!("{}-{}-{stem}", safe_stem(&e.msn).0, e.kind.as_str());
    let mut count: HashMap<String, usize> = HashMap::new();
    for (e, (stem, _)) in entries.iter().zip(&stems) {
        *count.entry(base(e, stem).to_lowercase()).or_default() += 1;
    }
    entries
        .iter()
        .zip(&stems)
        .map(|(e, (stem, lossy))| {
            let name = base(e, stem);
            // Ids that clean to the same name (`bord 1`, `bord_1`, `Bord_1` on a case-insensitive
            // file system) and cut ids are told apart by a short hash of the real id.
            let clash = count.get(&name.to_lowercase()).copied().unwrap_or(0) > 1;
            let truncated = *lossy && stem.len() == MAX_STEM;
            if clash || truncated {
                format!("{name}-{}.{ext}", short_hash(&e.id))
            } else {
                format!("{name}.{ext}")
            }
        })
        .collect()
}

fn short_hash(s: &str) -> String {
    hex::encode(&Sha256::digest(s.as_bytes())[..4])
}

/// A file-name-safe version of `id` (ASCII letters, digits, `-`, `_`, `.`), and whether anything
/// was changed. Norwegian and Danish letters are spelled out so names stay readable.
pub fn safe_stem(id: &str) -> (String, bool) {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => out.push(c),
            // A dot is safe inside a name but `..` and leading dots are not worth the risk.
            '.' if !out.is_empty() && !out.ends_with('.') => out.push('.'),
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            'ø' | 'ö' => out.push('o'),
            'Ø' | 'Ö' => out.push('O'),
            'å' => out.push_str("aa"),
            'Å' => out.push_str("AA"),
            'ä' => out.push('a'),
            'Ä' => out.push('A'),
            'ü' => out.push('u'),
            'Ü' => out.push('U'),
            _ => out.push('_'),
        }
    }
    let trimmed = out.trim_end_matches('.').to_string();
    let mut out = if trimmed.is_empty() {
        "_".to_string()
    } else {
        trimmed
    };
    if out.len() > MAX_STEM {
        out.truncate(MAX_STEM);
    }
    let lossy = out != id;
    (out, lossy)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const SHEET_CSS: &str = "\
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:12mm;color:#000;background:#fff}
h1{font-size:14pt;margin:0 0 2mm}
p.note{font-size:9pt;color:#444;margin:0 0 6mm}
p.broken{color:#b00;font-weight:bold}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(62mm,1fr));gap:8mm}
figure{margin:0;padding:4mm;border:1px dashed #999;text-align:center;break-inside:avoid;page-break-inside:avoid}
figure img{width:50mm;height:50mm;image-rendering:pixelated;display:block;margin:0 auto 2mm}
figcaption{font-size:9pt;overflow-wrap:anywhere}
figcaption .id{font-size:11pt;font-weight:bold;display:block}
figcaption .target{display:block;color:#333}
figcaption .differs{display:block;color:#b00}
figcaption .expires{display:block;font-weight:bold;color:#b00}
p.source{font-size:9pt;margin:0 0 6mm}
@page{size:A4;margin:10mm}
@media print{body{margin:0}p.note,p.broken{display:none}figure{border-color:#ccc}}
";

/// Reports images that did not load (e.g. index.html copied without them); hidden in print.
const SHEET_SCRIPT: &str = "\
window.addEventListener('load',function(){
var imgs=document.querySelectorAll('main img'),bad=0;
for(var i=0;i<imgs.length;i++){if(!imgs[i].complete||imgs[i].naturalWidth===0){bad++;}}
document.body.setAttribute('data-images-loaded',String(imgs.length-bad));
if(bad>0){var p=document.createElement('p');p.className='broken';
p.textContent=bad+' of '+imgs.length+' QR images did not load: keep index.html in the folder with the images.';
document.body.insertBefore(p,document.body.firstChild);}
});
";

/// The printable sheet: self-contained HTML (inline CSS, no external assets) referring to the
/// image files beside it. Targets and expiry are the live ones the API gave with each image (what
/// a scan does), and the sheet says so; a configured target that differs is named beside it.
pub fn sheet_html(entries: &[SheetEntry], made: chrono::DateTime<chrono::Utc>) -> String {
    let mut cards = String::new();
    let mut expiring = 0;
    for e in entries {
        let merchant = match &e.merchant_name {
            Some(n) => format!("{} (MSN {})", escape(n), escape(&e.msn)),
            None => format!("MSN {}", escape(&e.msn)),
        };
        let live = e.live.as_ref();
        let shown = live.and_then(|l| l.target.as_deref()).unwrap_or(&e.target);
        let target = match e.kind {
            QrKind::Redirect => format!("opens {}", escape(shown)),
            QrKind::Callback => format!("check-in at {}", escape(shown)),
        };
        let differs = if shown != e.target {
            format!(
                "<span class=\"differs\">the configuration says {}: not applied yet</span>",
                escape(&e.target)
            )
        } else {
            String::new()
        };
        let (expires_attr, expires) = match live.and_then(|l| l.expires_in) {
            Some(left) => {
                expiring += 1;
                let at = i64::try_from(left)
                    .ok()
                    .and_then(chrono::TimeDelta::try_seconds)
                    .and_then(|d| made.checked_add_signed(d));
                let when = at.map_or_else(
                    || "far in the future".to_string(),
                    |t| format!("on {}", t.format("%Y-%m-%d %H:%M UTC")),
                );
                (
                    format!(" data-expires-in=\"{left}\""),
                    format!(
                        "<span class=\"expires\">Expires {when} (in {}), then stops working for good</span>",
                        duration_words(left)
                    ),
                )
            }
            None => (String::new(), String::new()),
        };
        cards.push_str(&format!(
            "<figure class=\"qr\" data-msn=\"{msn}\" data-kind=\"{kind}\" data-id=\"{id}\"{expires_attr}>\
<img src=\"{file}\" alt=\"QR code {id}\">\
<figcaption><span class=\"id\">{id}</span><span class=\"merchant\">{merchant}</span>\
<span class=\"target\">{target}</span>{differs}{expires}</figcaption></figure>\n",
            msn = escape(&e.msn),
            kind = e.kind.as_str(),
            id = escape(&e.id),
            file = escape(&e.file),
        ));
    }
    let expiring = match expiring {
        0 => "No code on it expires.".to_string(),
        1 => "1 code expires: it is marked.".to_string(),
        n => format!("{n} codes expire: they are marked."),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>QR codes</title>\n<style>\n{SHEET_CSS}</style>\n<script>\n{SHEET_SCRIPT}</script>\n</head>\n\
<body data-qr-count=\"{n}\">\n<h1>QR codes</h1>\n\
<p class=\"note\">{n} codes, written by vippsctl qr export. Print this page (the note is not printed).</p>\n\
<p class=\"source\">Targets and expiry as read from Vipps on {made} (what a scan does), not as \
configured. {expiring}</p>\n\
<main>\n{cards}</main>\n</body></html>\n",
        n = entries.len(),
        made = made.format("%Y-%m-%d %H:%M UTC"),
    )
}

/// `about 90 days`, `about 5 hours`, `12 minutes`: `seconds` in the largest unit that makes at
/// least two of it, rounded.
fn duration_words(seconds: u64) -> String {
    let round = |unit: u64| (seconds + unit / 2) / unit;
    match seconds {
        s if s >= 2 * 86_400 => format!("about {} days", round(86_400)),
        s if s >= 2 * 3_600 => format!("about {} hours", round(3_600)),
        s if s >= 120 => format!("{} minutes", round(60)),
        s => format!("{s} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(msn: &str, kind: QrKind, id: &str) -> SheetEntry {
        SheetEntry {
            msn: msn.into(),
            merchant_name: None,
            kind,
            id: id.into(),
            target: "https://example.com".into(),
            file: String::new(),
            live: None,
        }
    }

    #[test]
    fn safe_stems_keep_plain_ids_and_clean_the_rest() {
        assert_eq!(safe_stem("till-1"), ("till-1".to_string(), false));
        assert_eq!(safe_stem("bord 1"), ("bord_1".to_string(), true));
        assert_eq!(safe_stem("blåbær"), ("blaabaer".to_string(), true));
        for hostile in ["../../etc/passwd", "..\\x", ".hidden", "a/../b", "CON:"] {
            let (stem, lossy) = safe_stem(hostile);
            assert!(lossy, "{hostile}");
            assert!(
                !stem.contains("..") && !stem.starts_with('.'),
                "{hostile} -> {stem}"
            );
            assert!(!stem.contains(['/', '\\', ':']), "{hostile} -> {stem}");
        }
        assert_eq!(safe_stem("..").0, "_");
        assert_eq!(safe_stem("").0, "_");
        assert!(safe_stem(&"x".repeat(500)).0.len() <= MAX_STEM);
    }

    #[test]
    fn file_names_are_unique_and_stay_inside_the_folder() {
        let entries = vec![
            entry("123456", QrKind::Redirect, "bord 1"),
            entry("123456", QrKind::Redirect, "bord_1"),
            entry("123456", QrKind::Redirect, "Bord_1"),
            entry("123456", QrKind::Callback, "bord 1"),
            entry("123456", QrKind::Callback, "../x"),
            entry("123456", QrKind::Callback, &"y".repeat(300)),
            entry("123456", QrKind::Callback, &format!("{}z", "y".repeat(300))),
        ];
        let names = file_names(&entries, "png");
        let lower: std::collections::HashSet<String> =
            names.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(lower.len(), names.len(), "{names:?}");
        assert_eq!(names[3], "123456-callback-bord_1.png");
        for n in &names {
            assert!(
                !n.contains('/') && !n.contains('\\') && !n.starts_with('.'),
                "{n}"
            );
            assert!(n.len() < 200, "{n}");
            assert!(n.ends_with(".png"));
        }
    }

    #[test]
    fn the_sheet_escapes_everything_it_shows() {
        let mut e = entry("123456", QrKind::Callback, "<script>alert(1)</script>");
        e.target = "Kasse \"1\" & <b>".into();
        e.merchant_name = Some("Café <Ø>".into());
        e.file = "123456-callback-_script_.svg".into();
        let html = sheet_html(&[e], chrono::Utc::now());
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Kasse &quot;1&quot; &amp; &lt;b&gt;"));
        assert!(html.contains("Café &lt;Ø&gt;"));
        assert!(html.contains("data-qr-count=\"1\""));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external assets"
        );
    }
}
