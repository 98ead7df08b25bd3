//! A ticket code's QR picture as a PNG, for email: the `qrcode` crate lays
//! out the modules, the `png` crate writes them (black on white, 4 modules
//! of quiet zone, each module `SCALE` pixels: a ~200-pixel square for a
//! ticket code).

use qrcode::{Color, EcLevel, QrCode};

const SCALE: usize = 5;
const QUIET: usize = 4;

/// None only if `code` cannot be a QR code (far longer than any ticket
/// code) or the encoder fails; logged.
pub fn png(code: &str) -> Option<Vec<u8>> {
    let qr = match QrCode::with_error_correction_level(code, EcLevel::M) {
        Ok(qr) => qr,
        Err(e) => {
            tracing::error!(error = %e, "ticket code does not fit a QR code");
            return None;
        }
    };
    let modules = qr.width();
    let colors = qr.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    // One byte per pixel, 8-bit greyscale: 0 black, 255 white.
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules, i / modules);
        for dy in 0..SCALE {
            let row = (QUIET + my) * SCALE + dy;
            let start = row * side + (QUIET + mx) * SCALE;
            pixels[start..start + SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let written = encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&pixels));
    match written {
        Ok(()) => Some(out),
        Err(e) => {
            tracing::error!(error = %e, "QR picture not encoded");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_code_becomes_a_square_png() {
        let data = super::png("01J0000000000000000000000A-1-0123456789abcdef0123").expect("png");
        assert_eq!(&data[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, equal.
        let width = u32::from_be_bytes([data[16], data[17], data[18], data[19]]);
        let height = u32::from_be_bytes([data[20], data[21], data[22], data[23]]);
        assert_eq!(width, height);
        assert!((150..400).contains(&width), "{width}");
    }
}
