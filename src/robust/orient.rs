//! The eight orientations of an image in pixel space: the pixels themselves rotated or
//! mirrored, so that PDQ's box filter and decimation see the copy exactly as they saw the
//! original. (The DCT shortcut, [`crate::pdq::DihedralHashes`], transforms the 64x64 buffer
//! instead; on small images its sampling grid no longer lines up with the original's and a
//! rotated copy can land tens of bits away.)

use crate::error::Result;
use crate::hash::pdq::Dihedral;
use crate::pixels::{PixelView, Pixels};

/// `pixels` with `orientation` applied (as [`Dihedral`] names it: `Rotate90` turns the image
/// 90° counter-clockwise, `FlipY` mirrors it left to right, ...).
///
/// # Errors
/// None in practice: the output has as many pixels as the input (the `Result` comes from
/// [`Pixels::new`]'s checks).
pub fn orient(pixels: &PixelView<'_>, orientation: Dihedral) -> Result<Pixels> {
    let (w, h) = (pixels.width() as usize, pixels.height() as usize);
    let swaps = matches!(
        orientation,
        Dihedral::Rotate90 | Dihedral::Rotate270 | Dihedral::FlipPlus1 | Dihedral::FlipMinus1
    );
    let (ow, oh) = if swaps { (h, w) } else { (w, h) };
    let bpp = pixels.format().bytes_per_pixel();
    let mut out = vec![0u8; ow * oh * bpp];
    match bpp {
        1 => copy_oriented::<1>(pixels, orientation, &mut out, ow, oh),
        3 => copy_oriented::<3>(pixels, orientation, &mut out, ow, oh),
        _ => copy_oriented::<4>(pixels, orientation, &mut out, ow, oh),
    }
    Pixels::new(out, ow as u32, oh as u32, pixels.format())
}

/// Fills `out` (`ow` x `oh` pixels of `B` bytes): output (x, y) takes the input pixel at
/// `start + x * step_x + y * step_y` bytes. Pixels move as fixed-size arrays, and the
/// transposing orientations go in square tiles so that both sides stay in cache.
fn copy_oriented<const B: usize>(
    pixels: &PixelView<'_>,
    orientation: Dihedral,
    out: &mut [u8],
    ow: usize,
    oh: usize,
) {
    const TILE: usize = 32;
    let (w, h) = (pixels.width() as isize, pixels.height() as isize);
    let src = pixels.packed_bytes();
    let (s, b) = (pixels.stride() as isize, B as isize);
    let (last_x, last_y) = ((w - 1) * b, (h - 1) * s);
    let (start, step_x, step_y) = match orientation {
        Dihedral::Original => (0, b, s),
        Dihedral::Rotate90 => (last_x, s, -b),
        Dihedral::Rotate180 => (last_x + last_y, -b, -s),
        Dihedral::Rotate270 => (last_y, -s, b),
        Dihedral::FlipX => (last_y, b, -s),
        Dihedral::FlipY => (last_x, -b, s),
        Dihedral::FlipPlus1 => (0, s, b),
        Dihedral::FlipMinus1 => (last_x + last_y, -s, -b),
    };
    for ty in (0..oh).step_by(TILE) {
        for tx in (0..ow).step_by(TILE) {
            for y in ty..(ty + TILE).min(oh) {
                let row = &mut out[y * ow * B..(y + 1) * ow * B];
                let row_start = start + y as isize * step_y;
                let end = (tx + TILE).min(ow);
                for (x, px) in row[tx * B..end * B].chunks_exact_mut(B).enumerate() {
                    let at = (row_start + (tx + x) as isize * step_x) as usize;
                    let from: [u8; B] = src[at..at + B].try_into().expect("B bytes");
                    px.copy_from_slice(&from);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::PixelFormat;

    fn grid(w: u32, h: u32) -> Pixels {
        let data = (0..w * h).map(|i| i as u8).collect();
        Pixels::new(data, w, h, PixelFormat::Grey8).unwrap()
    }

    fn at(p: &Pixels, x: u32, y: u32) -> u8 {
        p.as_bytes()[(y * p.width() + x) as usize]
    }

    #[test]
    fn corners_go_where_each_orientation_says() {
        // 3x2:  0 1 2
        //       3 4 5
        let p = grid(3, 2);
        let top_left = |o| {
            let q = orient(&p.view(), o).unwrap();
            (q.width(), q.height(), at(&q, 0, 0), at(&q, 1, 0))
        };
        assert_eq!(top_left(Dihedral::Original), (3, 2, 0, 1));
        // Counter-clockwise: the right column becomes the top row.
        assert_eq!(top_left(Dihedral::Rotate90), (2, 3, 2, 5));
        assert_eq!(top_left(Dihedral::Rotate180), (3, 2, 5, 4));
        // Clockwise: the left column, read bottom up, becomes the top row.
        assert_eq!(top_left(Dihedral::Rotate270), (2, 3, 3, 0));
        assert_eq!(top_left(Dihedral::FlipX), (3, 2, 3, 4));
        assert_eq!(top_left(Dihedral::FlipY), (3, 2, 2, 1));
        assert_eq!(top_left(Dihedral::FlipPlus1), (2, 3, 0, 3));
        assert_eq!(top_left(Dihedral::FlipMinus1), (2, 3, 5, 2));
    }

    #[test]
    fn rotations_compose_and_flips_undo_themselves() {
        let p = grid(7, 4);
        let twice = orient(
            &orient(&p.view(), Dihedral::Rotate90).unwrap().view(),
            Dihedral::Rotate90,
        );
        assert_eq!(
            twice.unwrap().as_bytes(),
            orient(&p.view(), Dihedral::Rotate180).unwrap().as_bytes()
        );
        for o in [
            Dihedral::FlipX,
            Dihedral::FlipY,
            Dihedral::FlipPlus1,
            Dihedral::FlipMinus1,
        ] {
            let back = orient(&orient(&p.view(), o).unwrap().view(), o).unwrap();
            assert_eq!(back.as_bytes(), p.as_bytes(), "{o}");
        }
    }

    #[test]
    fn pixel_space_agrees_with_the_dct_shortcut_on_a_64_pixel_square() {
        // At 64x64 the box filter is one pixel wide and decimation keeps every pixel, so
        // orienting the pixels and orienting the DCT must give (nearly) the same hash; this
        // pins the orientation names to the DCT shortcut's.
        let data: Vec<u8> = (0..64u32 * 64)
            .map(|i| {
                let (x, y) = (i % 64, i / 64);
                ((x * 3 + y * y / 5 + (x * y) % 17 + if x < 20 && y < 12 { 90 } else { 0 }) % 256)
                    as u8
            })
            .collect();
        let p = Pixels::new(data, 64, 64, PixelFormat::Grey8).unwrap();
        let dihedral =
            crate::pdq::hash_dihedral(&p.view(), crate::pdq::LumaMode::Reference).unwrap();
        for o in Dihedral::ALL {
            let turned = orient(&p.view(), o).unwrap();
            let h = crate::pdq::hash(&turned.view()).unwrap();
            let d = h.hash.distance(&dihedral.get(o));
            assert!(d <= 4, "{o}: {d} bits from the DCT shortcut");
        }
    }
}
