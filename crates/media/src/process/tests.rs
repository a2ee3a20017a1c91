use super::*;
use image::{GrayImage, Luma, Rgb, RgbImage};

fn limits() -> MediaLimits {
    MediaLimits {
        max_bytes: 1024 * 1024,
        max_pixels: 1_000_000,
    }
}

fn noisy_rgb(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 7 + y * 13) as u8, (x * x + y) as u8, (x ^ y) as u8])
    })
}

fn png_of(image: &DynamicImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes
}

fn jpeg_of(image: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, 90)
        .encode_image(image)
        .unwrap();
    bytes
}

/// An APP1 EXIF segment (big-endian TIFF) with a camera make, an orientation of 6 (turn
/// 90° clockwise to view) and a GPS block holding a latitude reference.
fn exif_app1() -> Vec<u8> {
    let mut tiff: Vec<u8> = vec![0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8];
    let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        let mut e = Vec::new();
        e.extend_from_slice(&tag.to_be_bytes());
        e.extend_from_slice(&kind.to_be_bytes());
        e.extend_from_slice(&count.to_be_bytes());
        e.extend_from_slice(&value);
        e
    };
    // IFD0 at 8: three entries (8 + 2 + 36 + 4 = 50), the make at 50, the GPS IFD at 60.
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend(entry(0x010F, 2, 10, 50u32.to_be_bytes()));
    tiff.extend(entry(0x0112, 3, 1, [0, 6, 0, 0]));
    tiff.extend(entry(0x8825, 4, 1, 60u32.to_be_bytes()));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(b"SecretCam\0");
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    segment.extend(payload);
    segment
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn exif_gps_and_camera_data_are_stripped_and_orientation_is_applied() {
    let jpeg = jpeg_of(&noisy_rgb(64, 32));
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend(exif_app1());
    with_exif.extend_from_slice(&jpeg[2..]);
    assert!(contains(&with_exif, b"Exif") && contains(&with_exif, b"SecretCam"));

    let out = process(&with_exif, &limits(), Shape::Attachment).unwrap();
    for file in [&out.original, &out.small] {
        assert_eq!(file.content_type, "image/jpeg");
        assert!(!contains(&file.bytes, b"Exif"), "EXIF survived");
        assert!(!contains(&file.bytes, b"SecretCam"), "camera make survived");
    }
    // Orientation 6 turns the 64×32 picture upright: 32×64.
    assert_eq!((out.original.width, out.original.height), (32, 64));
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    // Four megapixels of one colour compress to a few kilobytes.
    let bomb = png_of(&DynamicImage::ImageLuma8(GrayImage::from_pixel(
        2000,
        2000,
        Luma([0]),
    )));
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    assert_eq!(
        process(&bomb, &limits(), Shape::Attachment),
        Err(MediaError::TooManyPixels {
            width: 2000,
            height: 2000,
            max: 1_000_000
        })
    );
}

#[test]
fn huge_claimed_dimensions_are_refused() {
    let mut png = png_of(&DynamicImage::ImageRgb8(noisy_rgb(8, 8)));
    // IHDR's data starts at byte 16 (signature 8, length 4, type 4): width, height.
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let refused = process(&png, &limits(), Shape::Attachment).unwrap_err();
    assert!(
        matches!(
            refused,
            MediaError::TooManyPixels { width: 100_000, .. } | MediaError::DecodeLimit
        ),
        "{refused:?}"
    );
}

#[test]
fn a_truncated_file_is_refused() {
    let png = png_of(&DynamicImage::ImageRgb8(noisy_rgb(64, 64)));
    let truncated = &png[..png.len() / 2];
    assert_eq!(
        process(truncated, &limits(), Shape::Attachment),
        Err(MediaError::Corrupt)
    );
}

#[test]
fn a_text_file_named_png_is_refused() {
    assert_eq!(
        process(
            b"just some text, saved as photo.png\n",
            &limits(),
            Shape::Attachment
        ),
        Err(MediaError::NotAnImage)
    );
    assert_eq!(
        process(b"", &limits(), Shape::Attachment),
        Err(MediaError::Empty)
    );
}

#[test]
fn unsupported_formats_are_refused() {
    // A BMP header: recognised, but not a format Cohort accepts.
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&[0u8; 60]);
    assert!(matches!(
        process(&bmp, &limits(), Shape::Attachment),
        Err(MediaError::Unsupported(_))
    ));
}

#[test]
fn files_over_the_byte_limit_are_refused() {
    let small = MediaLimits {
        max_bytes: 100,
        max_pixels: 1_000_000,
    };
    let png = png_of(&DynamicImage::ImageRgb8(noisy_rgb(64, 64)));
    assert_eq!(
        process(&png, &small, Shape::Attachment),
        Err(MediaError::TooLarge { max: 100 })
    );
}

#[test]
fn a_processed_image_has_a_thumbnail_and_a_blurhash() {
    let png = png_of(&DynamicImage::ImageRgb8(noisy_rgb(1000, 500)));
    let out = process(&png, &limits(), Shape::Attachment).unwrap();
    assert_eq!((out.original.width, out.original.height), (1000, 500));
    assert_eq!(out.original.content_type, "image/png");
    assert_eq!((out.small.width, out.small.height), (640, 320));
    assert_eq!(out.blurhash.len(), 28, "{}", out.blurhash);
    let decoded = image::load_from_memory(&out.small.bytes).unwrap();
    assert_eq!(decoded.width(), 640);
}

#[test]
fn avatars_are_cropped_to_a_square() {
    let png = png_of(&DynamicImage::ImageRgb8(noisy_rgb(800, 300)));
    let out = process(&png, &limits(), Shape::AVATAR).unwrap();
    assert_eq!((out.original.width, out.original.height), (400, 400));
}

#[test]
fn the_default_images_are_real_pngs() {
    let avatar = image::load_from_memory(crate::default_avatar_png()).unwrap();
    assert_eq!((avatar.width(), avatar.height()), (400, 400));
    let header = image::load_from_memory(crate::default_header_png()).unwrap();
    assert_eq!((header.width(), header.height()), (1500, 500));
}
