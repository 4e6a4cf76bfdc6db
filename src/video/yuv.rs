//! Planar YUV to packed RGB24, exactly as FFmpeg 5.1's swscale does it in C: the conversion
//! vPDQ's reference (`ffmpegwrapper.cpp`, `sws_getContext(..., AV_PIX_FMT_RGB24, SWS_AREA,
//! ...)`) runs at native size.
//!
//! At native size swscale does not scale: `ff_get_unscaled_swscale` (libswscale/
//! swscale_unscaled.c) picks `ff_yuv2rgb_get_func_ptr` for YUV420P and YUV422P input with an even
//! output height, and without SIMD that is `yuv2rgb_c_24_rgb` (the `YUV2RGBFUNC` template in
//! libswscale/yuv2rgb.c) over the three lookup tables `ff_yuv2rgb_c_init_tables` builds. The
//! tables hold BT.601 coefficients whatever the stream says: vPDQ never calls
//! `sws_setColorspaceDetails`, so `sws_init_context` installs
//! `ff_yuv2rgb_coeffs[SWS_CS_DEFAULT]` (ITU-R 601) with brightness 0, contrast and saturation
//! 1.0. The range is the pixel format's: `yuvj420p`/`yuvj422p` (what FFmpeg's H.264 decoder
//! outputs when the SPS says `video_full_range_flag`) are handled as full range
//! (`handle_jpeg`), which the tables support.
//!
//! The result is the C path's, not the x86 SIMD path's (`ff_yuv2rgb_init_x86`, different
//! rounding): checked against `ffmpeg -cpuflags 0` (FFmpeg 5.1.9) on random planes, 4:2:0 and
//! 4:2:2, limited and full range. Note that the C path maps Y = 16 to 0 but Y = 235 to 253, not
//! 255 (its luma table starts at offset 326, about 1.5 steps early); that is what FFmpeg
//! outputs.
//!
//! Quirks kept because FFmpeg 5.1 has them:
//! * 4:2:2 reads the chroma row of the even line for both lines of a pair (the template doubles
//!   the chroma stride for YUV422P and indexes it with `y >> 1`).
//!
//! Where FFmpeg 5.1 has no defined result, this module extends the same formula:
//! * odd width: `yuv2rgb_c_24_rgb` converts pixel pairs only and never writes the last column
//!   (FFmpeg leaves whatever the buffer held); here it is converted with chroma column
//!   `(width - 1) / 2`;
//! * odd height: swscale does not use this converter at all (`!(dstH & 1)`) but its generic
//!   scaler, whose chroma interpolation differs; here the last row uses chroma row
//!   `(height - 1) / 2`.
//!
//! H.264 4:2:0 and 4:2:2 streams always have even display sizes (cropping is in units of two),
//! so only monochrome (4:0:0) streams can reach these cases.

use std::sync::OnceLock;

use crate::error::{Error, Result};

/// One plane: rows `stride` bytes apart.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plane<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) stride: usize,
}

/// How the chroma planes are subsampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChromaLayout {
    /// Half width, half height (`yuv420p`).
    Yuv420,
    /// Half width, full height (`yuv422p`).
    Yuv422,
}

/// The sample range of the luma and chroma values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SampleRange {
    /// Y in 16..=235, chroma in 16..=240 (`yuv420p`; H.264's default).
    Limited,
    /// All of 0..=255 (`yuvj420p`, `video_full_range_flag = 1`).
    Full,
}

/// `ff_yuv2rgb_coeffs[SWS_CS_DEFAULT]` (ITU-R BT.601): `{crv, cbu, cgu, cgv}` in 16.16 fixed
/// point, libswscale/yuv2rgb.c.
const BT601: [i64; 4] = [104597, 132201, 25675, 53279];

/// The lookup tables of `ff_yuv2rgb_c_init_tables` for 24-bit output (`case 24`), stored as
/// offsets into the one luma table: swscale's `table_rV[V]`, `table_gU[U] + table_gV[V]` and
/// `table_bU[U]` are pointers `y_table + yoffs + offset`, so the red sample of luma `Y` is
/// `y_table[yoffs + rv[V] + Y]`.
struct Tables {
    /// `y_table[i] = clip((i * cy - (384 << 16) - oy + 0x8000) >> 16)`.
    luma: [u8; 1024],
    rv: [i32; 256],
    gu: [i32; 256],
    gv: [i32; 256],
    bu: [i32; 256],
}

impl Tables {
    /// `ff_yuv2rgb_c_init_tables(c, ff_yuv2rgb_coeffs[SWS_CS_DEFAULT], full_range, 0, 1 << 16,
    /// 1 << 16)` for `AV_PIX_FMT_RGB24`, FFmpeg 5.1 (libswscale/yuv2rgb.c), with its
    /// `fill_table` and `fill_gv_table`. C's integer division truncates toward zero and its
    /// `>>` of a negative `int64_t` is arithmetic, as Rust's `/` and `>>` on `i64` are.
    fn new(range: SampleRange) -> Tables {
        let full = range == SampleRange::Full;
        let mut crv = BT601[0];
        let mut cbu = BT601[1];
        let mut cgu = -BT601[2];
        let mut cgv = -BT601[3];
        let mut cy: i64 = 1 << 16;
        let mut oy: i64 = 0;
        if !full {
            cy = (cy * 255) / 219;
            oy = 16 << 16;
        } else {
            crv = (crv * 224) / 255;
            cbu = (cbu * 224) / 255;
            cgu = (cgu * 224) / 255;
            cgv = (cgv * 224) / 255;
        }
        // Contrast and saturation are 1 << 16 and brightness 0: the scaling steps
        // (`cy * contrast >> 16`, `crv * contrast * saturation >> 32`, `oy -= 256 *
        // brightness`) leave every value unchanged.

        // "scale coefficients by cy"
        crv = ((crv << 16) + 0x8000) / cy;
        cbu = ((cbu << 16) + 0x8000) / cy;
        cgu = ((cgu << 16) + 0x8000) / cy;
        cgv = ((cgv << 16) + 0x8000) / cy;

        let mut luma = [0u8; 1024];
        let mut yb = -(384i64 << 16) - oy;
        for entry in luma.iter_mut() {
            *entry = ((yb + 0x8000) >> 16).clamp(0, 255) as u8;
            yb += cy;
        }
        // fill_table: table[i] = y_table + yoffs - (inc >> 9) + ((clip(i) * inc) >> 16);
        // fill_gv_table: table[i] = -(inc >> 9) + ((clip(i) * inc) >> 16).
        let fill = |inc: i64| -> [i32; 256] {
            let mut table = [0i32; 256];
            for (i, entry) in table.iter_mut().enumerate() {
                *entry = (-(inc >> 9) + ((i as i64 * inc) >> 16)) as i32;
            }
            table
        };
        Tables {
            luma,
            rv: fill(crv),
            gu: fill(cgu),
            gv: fill(cgv),
            bu: fill(cbu),
        }
    }

    fn get(range: SampleRange) -> &'static Tables {
        static LIMITED: OnceLock<Tables> = OnceLock::new();
        static FULL: OnceLock<Tables> = OnceLock::new();
        match range {
            SampleRange::Limited => LIMITED.get_or_init(|| Tables::new(range)),
            SampleRange::Full => FULL.get_or_init(|| Tables::new(range)),
        }
    }

    /// `yoffs` of `ff_yuv2rgb_c_init_tables`.
    fn luma_offset(range: SampleRange) -> i32 {
        match range {
            SampleRange::Limited => 326,
            SampleRange::Full => 384,
        }
    }
}

/// Converts 8-bit planar YUV to tightly packed RGB24 (`width * 3` bytes a row), as
/// `yuv2rgb_c_24_rgb` does (see the module documentation for odd sizes).
///
/// The chroma planes must hold `ceil(width / 2)` samples a row and `ceil(height / 2)` rows
/// (4:2:0) or `height` rows (4:2:2).
///
/// # Errors
/// [`Error::InvalidPixels`] if a side is zero or a plane is too short for its stride and size.
pub(crate) fn yuv_to_rgb24(
    y_plane: Plane<'_>,
    u_plane: Plane<'_>,
    v_plane: Plane<'_>,
    width: u32,
    height: u32,
    layout: ChromaLayout,
    range: SampleRange,
) -> Result<Vec<u8>> {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 {
        return Err(Error::InvalidPixels {
            reason: format!("frame is {width}x{height}; both sides must be non-zero"),
        });
    }
    let chroma_w = w.div_ceil(2);
    let chroma_h = match layout {
        ChromaLayout::Yuv420 => h.div_ceil(2),
        ChromaLayout::Yuv422 => h,
    };
    check_plane("Y", y_plane, w, h)?;
    check_plane("U", u_plane, chroma_w, chroma_h)?;
    check_plane("V", v_plane, chroma_w, chroma_h)?;
    let out_len = w
        .checked_mul(h)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| Error::InvalidPixels {
            reason: format!("{width}x{height} RGB overflows"),
        })?;

    let tables = Tables::get(range);
    let yoffs = Tables::luma_offset(range);
    let mut rgb = vec![0u8; out_len];
    for (row, out) in rgb.chunks_exact_mut(w * 3).enumerate() {
        let chroma_row = match layout {
            ChromaLayout::Yuv420 => row >> 1,
            // The template doubles the chroma stride for YUV422P and still indexes `y >> 1`
            // for a pair of lines starting at even `y`: chroma row `y & !1`.
            ChromaLayout::Yuv422 => row & !1,
        };
        let luma = &y_plane.data[row * y_plane.stride..][..w];
        let us = &u_plane.data[chroma_row * u_plane.stride..][..chroma_w];
        let vs = &v_plane.data[chroma_row * v_plane.stride..][..chroma_w];
        for (pair, (rgb_pair, luma_pair)) in out.chunks_mut(6).zip(luma.chunks(2)).enumerate() {
            // LOADCHROMA
            let (u, v) = (us[pair] as usize, vs[pair] as usize);
            let r = yoffs + tables.rv[v];
            let g = yoffs + tables.gu[u] + tables.gv[v];
            let b = yoffs + tables.bu[u];
            // PUTRGB24
            for (px, &y) in rgb_pair.chunks_exact_mut(3).zip(luma_pair) {
                let y = y as i32;
                px[0] = tables.luma[(r + y) as usize];
                px[1] = tables.luma[(g + y) as usize];
                px[2] = tables.luma[(b + y) as usize];
            }
        }
    }
    Ok(rgb)
}

fn check_plane(name: &str, plane: Plane<'_>, w: usize, h: usize) -> Result<()> {
    let needed = plane
        .stride
        .checked_mul(h - 1)
        .and_then(|n| n.checked_add(w));
    if plane.stride < w || needed.is_none_or(|n| plane.data.len() < n) {
        return Err(Error::InvalidPixels {
            reason: format!(
                "{name} plane of {} bytes with stride {} cannot hold {w}x{h} samples",
                plane.data.len(),
                plane.stride
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(data: &[u8], stride: usize) -> Plane<'_> {
        Plane { data, stride }
    }

    fn grey(w: u32, h: u32, y: u8, layout: ChromaLayout, range: SampleRange) -> Vec<u8> {
        let (cw, ch) = (
            (w as usize).div_ceil(2),
            match layout {
                ChromaLayout::Yuv420 => (h as usize).div_ceil(2),
                ChromaLayout::Yuv422 => h as usize,
            },
        );
        let luma = vec![y; (w * h) as usize];
        let chroma = vec![128u8; cw * ch];
        yuv_to_rgb24(
            plane(&luma, w as usize),
            plane(&chroma, cw),
            plane(&chroma, cw),
            w,
            h,
            layout,
            range,
        )
        .unwrap()
    }

    #[test]
    fn limited_range_grey_matches_ffmpeg_c_path() {
        // `ffmpeg -cpuflags 0 -f rawvideo -pix_fmt yuv420p ... -pix_fmt rgb24` (FFmpeg 5.1.9):
        // Y 16, 17, 18, 19, 128, 234, 235, 255 with grey chroma give these levels.
        for (y, expected) in [
            (16, 0),
            (17, 0),
            (18, 1),
            (19, 2),
            (128, 129),
            (234, 252),
            (235, 253),
            (255, 255),
        ] {
            let rgb = grey(2, 2, y, ChromaLayout::Yuv420, SampleRange::Limited);
            assert!(rgb.iter().all(|&c| c == expected), "Y={y}: {rgb:?}");
        }
    }

    #[test]
    fn full_range_grey_is_identity() {
        for y in [0u8, 1, 16, 128, 235, 254, 255] {
            let rgb = grey(4, 2, y, ChromaLayout::Yuv420, SampleRange::Full);
            assert!(rgb.iter().all(|&c| c == y), "Y={y}: {rgb:?}");
        }
    }

    #[test]
    fn hand_computed_colour() {
        // Limited range, Y=81 U=90 V=240 (BT.601 red). By hand: cy = 65536 * 255 / 219 =
        // 76309; crv = ((104597 << 16) + 0x8000) / 76309 = 89830; rv[240] = -(89830 >> 9) +
        // (240 * 89830 >> 16) = -175 + 328 = 153; red = y_table[326 + 153 + 81] =
        // (560 * 76309 - 400 * 65536 + 0x8000) >> 16 = 252. `ffmpeg -cpuflags 0` gives
        // 252, 0, 0 for this pixel too.
        let t = Tables::new(SampleRange::Limited);
        assert_eq!(t.rv[240], 153);
        assert_eq!(t.luma[560], 252);
        let (luma, u, v) = ([81u8; 4], [90u8], [240u8]);
        let rgb = yuv_to_rgb24(
            plane(&luma, 2),
            plane(&u, 1),
            plane(&v, 1),
            2,
            2,
            ChromaLayout::Yuv420,
            SampleRange::Limited,
        )
        .unwrap();
        assert_eq!(&rgb[..3], &[252, 0, 0][..]);
        assert!(rgb.chunks(3).all(|px| px == &rgb[..3]));
    }

    #[test]
    fn table_indices_stay_in_range() {
        // swscale's tables are sized so that no Y, U, V indexes outside the luma table.
        for range in [SampleRange::Limited, SampleRange::Full] {
            let t = Tables::new(range);
            let yoffs = Tables::luma_offset(range);
            for u in 0..256 {
                for v in 0..256 {
                    for off in [t.rv[v], t.gu[u] + t.gv[v], t.bu[u]] {
                        let low = yoffs + off;
                        assert!(low >= 0 && low + 255 < 1024, "{range:?} u={u} v={v}");
                    }
                }
            }
        }
    }

    #[test]
    fn chroma_is_shared_by_2x2_blocks_in_420() {
        // 4x2 image, two chroma samples: left block red-ish, right block blue-ish.
        let luma = [100u8; 8];
        let (u, v) = ([90u8, 240], [240u8, 110]);
        let rgb = yuv_to_rgb24(
            plane(&luma, 4),
            plane(&u, 2),
            plane(&v, 2),
            4,
            2,
            ChromaLayout::Yuv420,
            SampleRange::Limited,
        )
        .unwrap();
        let px = |x: usize, y: usize| &rgb[(y * 4 + x) * 3..][..3];
        assert_eq!(px(0, 0), px(1, 1));
        assert_eq!(px(2, 0), px(3, 1));
        assert_ne!(px(1, 0), px(2, 0));
    }

    #[test]
    fn yuv422_uses_the_even_chroma_row_for_both_lines() {
        // 2x2, 4:2:2: chroma rows differ, but FFmpeg 5.1's C path uses row 0 for both lines.
        let luma = [120u8; 4];
        let (u, v) = ([60u8, 200], [200u8, 60]);
        let rgb = yuv_to_rgb24(
            plane(&luma, 2),
            plane(&u, 1),
            plane(&v, 1),
            2,
            2,
            ChromaLayout::Yuv422,
            SampleRange::Limited,
        )
        .unwrap();
        assert_eq!(&rgb[..6], &rgb[6..]);
    }

    #[test]
    fn odd_and_tiny_sizes_with_strides() {
        for (w, h) in [
            (1u32, 1u32),
            (1, 2),
            (2, 1),
            (3, 3),
            (5, 2),
            (7, 5),
            (9, 4),
            (17, 3),
        ] {
            let (cw, ch) = ((w as usize).div_ceil(2), (h as usize).div_ceil(2));
            let stride = w as usize + 3;
            let luma: Vec<u8> = (0..stride * h as usize)
                .map(|i| (i * 37 % 256) as u8)
                .collect();
            let u: Vec<u8> = (0..(cw + 1) * ch).map(|i| (i * 91 % 256) as u8).collect();
            let v: Vec<u8> = (0..(cw + 1) * ch).map(|i| (i * 53 % 256) as u8).collect();
            let rgb = yuv_to_rgb24(
                plane(&luma, stride),
                plane(&u, cw + 1),
                plane(&v, cw + 1),
                w,
                h,
                ChromaLayout::Yuv420,
                SampleRange::Limited,
            )
            .unwrap();
            assert_eq!(rgb.len(), (w * h * 3) as usize);
            // The last pixel equals the same conversion done on a 1x1 image of its samples.
            let (x, y) = (w as usize - 1, h as usize - 1);
            let (cx, cy) = (x / 2, y / 2);
            let one = yuv_to_rgb24(
                plane(&luma[y * stride + x..][..1], 1),
                plane(&u[cy * (cw + 1) + cx..][..1], 1),
                plane(&v[cy * (cw + 1) + cx..][..1], 1),
                1,
                1,
                ChromaLayout::Yuv420,
                SampleRange::Limited,
            )
            .unwrap();
            assert_eq!(&rgb[rgb.len() - 3..], &one[..], "{w}x{h}");
        }
    }

    #[test]
    fn short_planes_and_zero_sizes_are_errors() {
        let luma = [0u8; 16];
        let chroma = [128u8; 4];
        let convert = |w, h, y: &[u8], c: &[u8]| {
            yuv_to_rgb24(
                plane(y, 4),
                plane(c, 2),
                plane(c, 2),
                w,
                h,
                ChromaLayout::Yuv420,
                SampleRange::Limited,
            )
        };
        assert!(convert(4, 4, &luma, &chroma).is_ok());
        assert!(convert(4, 5, &luma, &chroma).is_err());
        assert!(convert(4, 4, &luma, &chroma[..3]).is_err());
        assert!(convert(0, 4, &luma, &chroma).is_err());
        assert!(convert(5, 4, &luma, &chroma).is_err());
    }
}
