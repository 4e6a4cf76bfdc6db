//! Decoded pixels: the hand-off between decoding and hashing.
//!
//! [`PixelView`] borrows a caller's buffer (with a row stride, so a sub-rectangle of a larger
//! frame can be hashed in place); [`Pixels`] owns one (what [`crate::decode`] produces). Only
//! 8-bit layouts are accepted: every PDQ reference hashes 8-bit samples.

use crate::error::{Error, Result};

/// How the bytes of one pixel are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Three bytes: red, green, blue.
    Rgb8,
    /// Four bytes: red, green, blue, alpha. Alpha is ignored (dropped, not composited), as in
    /// every PDQ reference.
    Rgba8,
    /// One byte of grey. Its luma is the value itself (the reference's grey path), which is not
    /// always what the RGB formula gives for R = G = B.
    Grey8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgb8 => 3,
            PixelFormat::Rgba8 => 4,
            PixelFormat::Grey8 => 1,
        }
    }
}

/// A borrowed, validated 8-bit image: `height` rows of `width` pixels, rows `stride` bytes apart.
#[derive(Debug, Clone, Copy)]
pub struct PixelView<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
}

impl<'a> PixelView<'a> {
    /// Wraps `data`, checking that it holds `height` rows of `width` pixels, `stride` bytes
    /// apart (the last row needs only `width * bytes_per_pixel` bytes).
    ///
    /// # Errors
    /// [`Error::InvalidPixels`] if a side is zero, the stride is shorter than a row, or the
    /// buffer is too short.
    pub fn new(
        data: &'a [u8],
        width: u32,
        height: u32,
        stride: usize,
        format: PixelFormat,
    ) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::InvalidPixels {
                reason: format!("image is {width}x{height}; both sides must be non-zero"),
            });
        }
        let row_bytes = (width as usize)
            .checked_mul(format.bytes_per_pixel())
            .ok_or_else(|| Error::InvalidPixels {
                reason: format!("width {width} overflows"),
            })?;
        if stride < row_bytes {
            return Err(Error::InvalidPixels {
                reason: format!(
                    "stride {stride} is shorter than a row of {width} {format:?} pixels ({row_bytes} bytes)"
                ),
            });
        }
        let needed = stride
            .checked_mul(height as usize - 1)
            .and_then(|n| n.checked_add(row_bytes))
            .ok_or_else(|| Error::InvalidPixels {
                reason: format!("{height} rows of stride {stride} overflow"),
            })?;
        if data.len() < needed {
            return Err(Error::InvalidPixels {
                reason: format!(
                    "buffer has {} bytes, {width}x{height} {format:?} with stride {stride} needs {needed}",
                    data.len()
                ),
            });
        }
        Ok(PixelView {
            data,
            width,
            height,
            stride,
            format,
        })
    }

    /// Wraps a tightly packed buffer (stride = `width * bytes_per_pixel`).
    ///
    /// # Errors
    /// As [`PixelView::new`].
    pub fn packed(data: &'a [u8], width: u32, height: u32, format: PixelFormat) -> Result<Self> {
        let stride = (width as usize).saturating_mul(format.bytes_per_pixel());
        Self::new(data, width, height, stride, format)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Bytes from one row to the next.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Whether rows follow each other with no padding.
    pub fn is_packed(&self) -> bool {
        self.stride == self.width as usize * self.format.bytes_per_pixel()
    }

    /// All rows as one slice, from the first byte of row 0 to the last byte of the last row
    /// (with any padding between rows).
    pub fn packed_bytes(&self) -> &'a [u8] {
        let end = self.stride * (self.height as usize - 1)
            + self.width as usize * self.format.bytes_per_pixel();
        &self.data[..end]
    }

    /// The `width` x `height` rectangle whose top-left pixel is (`x`, `y`), without copying.
    ///
    /// # Errors
    /// [`Error::InvalidPixels`] if the rectangle is empty or reaches outside the image.
    pub fn crop(&self, x: u32, y: u32, width: u32, height: u32) -> Result<PixelView<'a>> {
        let inside = x.checked_add(width).is_some_and(|r| r <= self.width)
            && y.checked_add(height).is_some_and(|b| b <= self.height);
        if !inside {
            return Err(Error::InvalidPixels {
                reason: format!(
                    "crop {width}x{height} at ({x}, {y}) reaches outside the {}x{} image",
                    self.width, self.height
                ),
            });
        }
        let start = y as usize * self.stride + x as usize * self.format.bytes_per_pixel();
        PixelView::new(&self.data[start..], width, height, self.stride, self.format)
    }

    /// Row `y` (`width * bytes_per_pixel` bytes). Panics if `y >= height`.
    pub fn row(&self, y: u32) -> &'a [u8] {
        let start = y as usize * self.stride;
        &self.data[start..start + self.width as usize * self.format.bytes_per_pixel()]
    }
}

/// An owned 8-bit image, tightly packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    data: Vec<u8>,
    width: u32,
    height: u32,
    format: PixelFormat,
}

impl Pixels {
    /// Takes ownership of a tightly packed buffer.
    ///
    /// # Errors
    /// [`Error::InvalidPixels`] if the buffer length is not `width * height * bytes_per_pixel`
    /// or a side is zero.
    pub fn new(data: Vec<u8>, width: u32, height: u32, format: PixelFormat) -> Result<Self> {
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(format.bytes_per_pixel()));
        if expected != Some(data.len()) || width == 0 || height == 0 {
            return Err(Error::InvalidPixels {
                reason: format!(
                    "buffer has {} bytes, a packed {width}x{height} {format:?} image needs {}",
                    data.len(),
                    expected.map_or_else(|| "more than usize".to_string(), |n| n.to_string())
                ),
            });
        }
        Ok(Pixels {
            data,
            width,
            height,
            format,
        })
    }

    /// Borrows the pixels as a [`PixelView`].
    pub fn view(&self) -> PixelView<'_> {
        PixelView {
            data: &self.data,
            width: self.width,
            height: self.height,
            stride: self.width as usize * self.format.bytes_per_pixel(),
            format: self.format,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixel layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The packed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Gives the packed bytes back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}
