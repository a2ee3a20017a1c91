//! The images shown for an account or community that has none: clients crash or draw a
//! broken image on an empty URL, so `avatar` and `header` always name a real file.

use std::io::Cursor;
use std::sync::OnceLock;

use image::{ImageFormat, Rgb, RgbImage};

/// A 400×400 grey silhouette-free square, PNG.
pub fn default_avatar_png() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(|| plain_png(400, 400, Rgb([0x9b, 0xa4, 0xae])))
}

/// A 1500×500 plain header, PNG.
pub fn default_header_png() -> &'static [u8] {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    PNG.get_or_init(|| plain_png(1500, 500, Rgb([0xd9, 0xe1, 0xe8])))
}

fn plain_png(width: u32, height: u32, colour: Rgb<u8>) -> Vec<u8> {
    let image = RgbImage::from_pixel(width, height, colour);
    let mut bytes = Vec::new();
    // Encoding a plain in-memory RGB buffer as PNG cannot fail; an empty Vec (served as a
    // zero-length body) would be the only consequence if it did.
    let _ = image.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png);
    bytes
}
