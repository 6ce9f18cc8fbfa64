//! Real QR codes of a QR's content: SVG through `qrcode`'s renderer, PNG encoded with `png`.

use qrcode::render::svg;
use qrcode::{Color, QrCode};

/// Quiet zone in modules on each side, as the QR standard asks.
const QUIET: usize = 4;
pub const DEFAULT_SIZE: u32 = 400;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the content does not fit in a QR code")]
    TooLong(#[from] qrcode::types::QrError),
    #[error("could not encode the PNG")]
    Png(#[from] png::EncodingError),
}

pub fn svg(content: &str, size: u32) -> Result<String, ImageError> {
    let code = QrCode::new(content.as_bytes())?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .build())
}

/// A greyscale PNG of at least `size` pixels square (whole pixels per module).
pub fn png(content: &str, size: u32) -> Result<Vec<u8>, ImageError> {
    let code = QrCode::new(content.as_bytes())?;
    let width = code.width();
    let colors = code.to_colors();
    let modules = width + 2 * QUIET;
    let scale = (size as usize).div_ceil(modules).max(1);
    let side = modules * scale;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i % width + QUIET, i / width + QUIET);
        for y in my * scale..(my + 1) * scale {
            let row = y * side;
            pixels[row + mx * scale..row + (mx + 1) * scale].fill(0);
        }
    }
    let mut out = Vec::new();
    {
        let side = u32::try_from(side).unwrap_or(u32::MAX);
        let mut enc = png::Encoder::new(&mut out, side, side);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_a_png_of_the_requested_size_or_more() {
        let bytes = png("https://example.com/x", 200).expect("png");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().expect("header");
        let info = reader.info();
        assert!(info.width >= 200 && info.width == info.height);
    }

    #[test]
    fn svg_is_an_svg() {
        let s = svg("hello", 100).expect("svg");
        assert!(s.contains("<svg") && s.contains("</svg>"));
    }
}
