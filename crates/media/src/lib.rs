//! Media: what an upload must be before it is kept, and where kept files live.
//!
//! [`process`] decodes an upload under [`MediaLimits`] (bytes, pixels, allocation), so a
//! decompression bomb or a file claiming huge dimensions is refused before its pixels are
//! allocated, then re-encodes it. Re-encoding keeps only pixels: EXIF (GPS position, camera
//! serial numbers), XMP, IPTC and comments are personal data and never reach the store.
//! [`MediaStorage`] keeps the resulting files by key; [`FsStorage`] is the filesystem
//! implementation under the data dir (an S3-compatible one can implement the same trait).
//!
//! The crate knows neither the database nor any wire format.

mod defaults;
mod process;
mod storage;

pub use defaults::{default_avatar_png, default_header_png};
pub use process::{EncodedImage, MediaError, MediaLimits, ProcessedImage, Shape, inspect, process};
pub use storage::{FsStorage, MediaStorage, StorageError};
