//! Checking and re-encoding an uploaded image.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

/// What an upload may be. Every limit is checked before pixels are allocated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MediaLimits {
    /// Largest upload, in bytes.
    pub max_bytes: usize,
    /// Most pixels (width × height) of a decoded image: a small file that decodes to more
    /// (a decompression bomb) is refused from its header, before decoding.
    pub max_pixels: u64,
}

impl Default for MediaLimits {
    /// 16 MiB and 33 megapixels (an 8K photo), Mastodon's limits for images.
    fn default() -> Self {
        MediaLimits {
            max_bytes: 16 * 1024 * 1024,
            max_pixels: 33_177_600,
        }
    }
}

/// Why an upload was refused (each a 422 for clients), or could not be encoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    /// Larger than `max_bytes`.
    #[error("the file is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// Empty upload.
    #[error("the file is empty")]
    Empty,
    /// The bytes are not an image of any known format (a text file named `.png`, say).
    #[error("the file is not an image")]
    NotAnImage,
    /// An image format Cohort does not accept.
    #[error("unsupported image format {0}; use JPEG, PNG, GIF or WebP")]
    Unsupported(String),
    /// More pixels than `max_pixels` (huge dimensions, or a decompression bomb).
    #[error("the image is {width}x{height} pixels; at most {max} pixels are accepted")]
    TooManyPixels {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
        /// The limit.
        max: u64,
    },
    /// Decoding would need more memory than the pixel limit allows.
    #[error("the image needs more memory to decode than the configured pixel limit allows")]
    DecodeLimit,
    /// The image could not be decoded: truncated or corrupt.
    #[error("the image is truncated or corrupt")]
    Corrupt,
    /// Re-encoding failed (a bug or an exhausted resource, not the uploader's fault).
    #[error("the image could not be encoded: {0}")]
    Encode(String),
}

/// What an upload becomes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A status attachment: kept at its size (oriented upright), with a thumbnail of at most
    /// [`Shape::SMALL_SIDE`] pixels a side.
    Attachment,
    /// Cropped and scaled to exactly `width`×`height` (avatars 400×400, headers 1500×500).
    Fill {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
}

impl Shape {
    /// Longest side of an attachment's thumbnail.
    pub const SMALL_SIDE: u32 = 640;
    /// An account's or community's avatar.
    pub const AVATAR: Shape = Shape::Fill {
        width: 400,
        height: 400,
    };
    /// An account's header or a community's banner.
    pub const HEADER: Shape = Shape::Fill {
        width: 1500,
        height: 500,
    };
}

/// One encoded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedImage {
    /// The file.
    pub bytes: Vec<u8>,
    /// `image/jpeg` or `image/png`.
    pub content_type: &'static str,
    /// `jpg` or `png`.
    pub extension: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A processed upload: the re-encoded image, its thumbnail and its blurhash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessedImage {
    /// The full image (upright, metadata stripped).
    pub original: EncodedImage,
    /// The thumbnail.
    pub small: EncodedImage,
    /// A placeholder clients draw while loading.
    pub blurhash: String,
}

/// Checks `bytes` against `limits`, decodes them, and re-encodes them as `shape` asks.
/// Photos (JPEG) stay JPEG; everything else becomes PNG (keeping transparency; an animated
/// GIF keeps its first frame). Only pixels are carried over, so no metadata survives.
/// CPU-bound: call it from a blocking thread.
pub fn process(
    bytes: &[u8],
    limits: &MediaLimits,
    shape: Shape,
) -> Result<ProcessedImage, MediaError> {
    let (image, format) = decode(bytes, limits)?;
    let as_jpeg = format == ImageFormat::Jpeg;
    let full = match shape {
        Shape::Attachment => image,
        Shape::Fill { width, height } => image.resize_to_fill(width, height, FilterType::Triangle),
    };
    let small = if full.width().max(full.height()) > Shape::SMALL_SIDE {
        full.resize(Shape::SMALL_SIDE, Shape::SMALL_SIDE, FilterType::Triangle)
    } else {
        full.clone()
    };
    let blurhash = blurhash_of(&small)?;
    Ok(ProcessedImage {
        original: encode(&full, as_jpeg)?,
        small: encode(&small, as_jpeg)?,
        blurhash,
    })
}

/// What an upload claims to be, read from its header without decoding pixels: the checks a
/// caller can make before answering `202` and processing in the background.
pub fn inspect(bytes: &[u8], limits: &MediaLimits) -> Result<(u32, u32), MediaError> {
    let (decoder, _) = open(bytes, limits)?;
    Ok(decoder.dimensions())
}

/// Decodes under the limits, turned upright by its EXIF orientation (the only piece of
/// metadata used, and then dropped with the rest).
fn decode(bytes: &[u8], limits: &MediaLimits) -> Result<(DynamicImage, ImageFormat), MediaError> {
    let (mut decoder, format) = open(bytes, limits)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    Ok((image, format))
}

/// Checks size, format and dimensions, and returns a decoder bound by the limits.
fn open<'a>(
    bytes: &'a [u8],
    limits: &MediaLimits,
) -> Result<(impl ImageDecoder + 'a, ImageFormat), MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(MediaError::TooLarge {
            max: limits.max_bytes,
        });
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| MediaError::NotAnImage)?;
    let format = reader.format().ok_or(MediaError::NotAnImage)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(MediaError::Unsupported(
            format
                .extensions_str()
                .first()
                .copied()
                .unwrap_or("?")
                .to_owned(),
        ));
    }
    let mut decoder_limits = Limits::default();
    // Four bytes a pixel, twice over (the decoded frame and one conversion), caps what a
    // decoder may allocate even where a format's header understates the work.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(1 << 20));
    reader.limits(decoder_limits);
    let decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(MediaError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    Ok((decoder, format))
}

fn decode_error(err: ImageError) -> MediaError {
    match err {
        ImageError::Unsupported(e) => MediaError::Unsupported(e.to_string()),
        ImageError::Limits(_) => MediaError::DecodeLimit,
        _ => MediaError::Corrupt,
    }
}

fn encode(image: &DynamicImage, as_jpeg: bool) -> Result<EncodedImage, MediaError> {
    let mut bytes = Vec::new();
    let (content_type, extension) = if as_jpeg {
        let rgb = image.to_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, 85)
            .encode_image(&rgb)
            .map_err(|e| MediaError::Encode(e.to_string()))?;
        ("image/jpeg", "jpg")
    } else {
        let converted = if image.color().has_alpha() {
            DynamicImage::ImageRgba8(image.to_rgba8())
        } else {
            DynamicImage::ImageRgb8(image.to_rgb8())
        };
        converted
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .map_err(|e| MediaError::Encode(e.to_string()))?;
        ("image/png", "png")
    };
    Ok(EncodedImage {
        bytes,
        content_type,
        extension,
        width: image.width(),
        height: image.height(),
    })
}

/// Mastodon's 4×3 components, computed from a 32-pixel version (the hash is a blur anyway).
fn blurhash_of(image: &DynamicImage) -> Result<String, MediaError> {
    let tiny = image.thumbnail(32, 32).to_rgba8();
    blurhash::encode(4, 3, tiny.width(), tiny.height(), tiny.as_raw())
        .map_err(|e| MediaError::Encode(format!("blurhash: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
