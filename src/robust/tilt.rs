//! A picture turned by a few degrees on its own canvas, black corners showing: the angle read
//! from the four black wedges, the picture turned back, and the corners it lost filled from
//! the nearby picture so that they do not dominate PDQ's low frequencies.
//!
//! An edit tool that rotates "on the same canvas" leaves a black triangle in every corner:
//! turned clockwise, the top-left triangle is long down the left side and short along the top,
//! the top-right one long along the top, and so on round the corners. All four must agree on
//! the direction and (within a quarter) on the angle, which a photo with dark corners does not
//! do by chance.

use crate::error::Result;
use crate::pixels::{PixelFormat, PixelView, Pixels};

/// Largest channel value that counts as the black of a wedge (JPEG lifts black a little).
const BLACK: u8 = 40;
/// Angles outside this range (degrees) are not looked for.
const MIN_DEGREES: f64 = 1.0;
const MAX_DEGREES: f64 = 15.0;

/// The angle in degrees (positive: the picture was turned clockwise) if the four corners show
/// the black wedges of a picture turned on its own canvas.
pub fn detect(view: &PixelView<'_>) -> Option<f64> {
    let (w, h) = (view.width(), view.height());
    if w < 16 || h < 16 {
        return None;
    }
    let bpp = view.format().bytes_per_pixel();
    let black = |x: u32, y: u32| {
        let row = view.row(y);
        let i = x as usize * bpp;
        row[i..i + bpp.min(3)].iter().all(|&c| c <= BLACK)
    };
    // Black run lengths from each corner along the two edges that meet there.
    let run = |xs: &mut dyn Iterator<Item = (u32, u32)>| {
        xs.take_while(|&(x, y)| black(x, y)).count() as f64
    };
    let (lw, lh) = (w - 1, h - 1);
    // (along the top or bottom edge, along the left or right edge) per corner: TL, TR, BR, BL.
    let legs = [
        (
            run(&mut (0..w).map(|x| (x, 0))),
            run(&mut (0..h).map(|y| (0, y))),
        ),
        (
            run(&mut (0..w).map(|x| (lw - x, 0))),
            run(&mut (0..h).map(|y| (lw, y))),
        ),
        (
            run(&mut (0..w).map(|x| (lw - x, lh))),
            run(&mut (0..h).map(|y| (lw, lh - y))),
        ),
        (
            run(&mut (0..w).map(|x| (x, lh))),
            run(&mut (0..h).map(|y| (0, lh - y))),
        ),
    ];
    // Turned clockwise: TL and BR are long along the sides, TR and BL long along top/bottom.
    let clockwise = legs[0].1 > legs[0].0;
    let mut tangents = Vec::with_capacity(4);
    for (i, &(along_x, along_y)) in legs.iter().enumerate() {
        let (short, long) = if (i % 2 == 0) == clockwise {
            (along_x, along_y)
        } else {
            (along_y, along_x)
        };
        // A full edge of black is a bar or a black background, not a wedge.
        if short < 2.0 || long <= short || along_x >= w as f64 || along_y >= h as f64 {
            return None;
        }
        tangents.push(short / long);
    }
    let mean = tangents.iter().sum::<f64>() / 4.0;
    if tangents.iter().any(|t| (t - mean).abs() > 0.25 * mean) {
        return None;
    }
    let degrees = mean.atan().to_degrees();
    (MIN_DEGREES..=MAX_DEGREES)
        .contains(&degrees)
        .then_some(if clockwise { degrees } else { -degrees })
}

/// `view` turned back by `degrees` (the angle [`detect`] found) about its centre on the same
/// canvas, bilinear, with the corners the turn lost filled by a wide local average of the
/// picture around them. RGB out.
///
/// # Errors
/// None in practice (the output is as large as the input).
pub fn straighten(view: &PixelView<'_>, degrees: f64) -> Result<Pixels> {
    let (w, h) = (view.width() as usize, view.height() as usize);
    let bpp = view.format().bytes_per_pixel();
    let (sin, cos) = (-degrees).to_radians().sin_cos();
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let sample = |x: usize, y: usize, c: usize| -> f64 {
        let i = x * bpp + if bpp == 1 { 0 } else { c };
        f64::from(view.row(y as u32)[i])
    };
    let mut rgb = vec![0f64; w * h * 3];
    let mut valid = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            // The upload's pixel that lands on (x, y) when it is turned back.
            let (dx, dy) = (x as f64 - cx, y as f64 - cy);
            let sx = cx + dx * cos + dy * sin;
            let sy = cy - dx * sin + dy * cos;
            if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f64 || sy > (h - 1) as f64 {
                continue;
            }
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
            for c in 0..3 {
                let top = sample(x0, y0, c) * (1.0 - fx) + sample(x1, y0, c) * fx;
                let bottom = sample(x0, y1, c) * (1.0 - fx) + sample(x1, y1, c) * fx;
                rgb[(y * w + x) * 3 + c] = top * (1.0 - fy) + bottom * fy;
            }
            valid[y * w + x] = true;
        }
    }
    fill_invalid(&mut rgb, &valid, w, h);
    let data = rgb
        .iter()
        .map(|&v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    Pixels::new(data, w as u32, h as u32, PixelFormat::Rgb8)
}

/// Replaces every invalid pixel by the mean of the valid pixels in a square window around it
/// (a normalised box filter through summed-area tables), widening to the whole image's mean
/// where the window holds none.
fn fill_invalid(rgb: &mut [f64], valid: &[bool], w: usize, h: usize) {
    let radius = (w.min(h) / 8).max(2);
    // Summed-area tables of the valid pixels' values and of their count, (w+1) x (h+1).
    let stride = w + 1;
    let mut sums = vec![[0f64; 4]; stride * (h + 1)];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let v = if valid[i] {
                [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 1.0]
            } else {
                [0.0; 4]
            };
            let (up, left, diag) = (
                sums[y * stride + x + 1],
                sums[(y + 1) * stride + x],
                sums[y * stride + x],
            );
            sums[(y + 1) * stride + x + 1] =
                std::array::from_fn(|k| v[k] + up[k] + left[k] - diag[k]);
        }
    }
    let total = sums[h * stride + w];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if valid[i] {
                continue;
            }
            let (x0, y0) = (x.saturating_sub(radius), y.saturating_sub(radius));
            let (x1, y1) = ((x + radius + 1).min(w), (y + radius + 1).min(h));
            let s: [f64; 4] = std::array::from_fn(|k| {
                sums[y1 * stride + x1][k] - sums[y0 * stride + x1][k] - sums[y1 * stride + x0][k]
                    + sums[y0 * stride + x0][k]
            });
            let (s, n) = if s[3] >= 1.0 {
                (s, s[3])
            } else {
                (total, total[3].max(1.0))
            };
            for c in 0..3 {
                rgb[i * 3 + c] = s[c] / n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of the demo landscapes turned by `degrees` clockwise on its own canvas, black
    /// corners (nearest neighbour).
    fn turned(degrees: f64) -> Pixels {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/uploads/landscape-2.jpg"
        );
        let img = image::open(path).unwrap().to_rgb8();
        let (w, h) = img.dimensions();
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                // Clockwise on screen (y down): the source is turned the other way.
                let (sx, sy) = (
                    (cx + dx * cos + dy * sin).round(),
                    (cy - dx * sin + dy * cos).round(),
                );
                let inside = sx >= 0.0 && sy >= 0.0 && sx <= w as f64 - 1.0 && sy <= h as f64 - 1.0;
                data.extend_from_slice(&if inside {
                    img.get_pixel(sx as u32, sy as u32).0
                } else {
                    [0, 0, 0]
                });
            }
        }
        Pixels::new(data, w, h, PixelFormat::Rgb8).unwrap()
    }

    #[test]
    fn the_angle_and_its_direction_are_read_from_the_corners() {
        for degrees in [5.0, -5.0, 3.0, -8.0, 12.0] {
            let p = turned(degrees);
            let found = detect(&p.view()).unwrap_or_else(|| panic!("{degrees}: none"));
            assert!((found - degrees).abs() < 0.4, "{degrees}: found {found}");
        }
    }

    #[test]
    fn straight_pictures_and_black_bars_are_not_tilted() {
        let straight = turned(0.0);
        assert_eq!(detect(&straight.view()), None);
        // Black bars (full edges of black) are not wedges.
        let (w, h) = (straight.width(), straight.height());
        let mut data = straight.as_bytes().to_vec();
        data[..(w * 3 * 20) as usize].fill(0);
        let barred = Pixels::new(data, w, h, PixelFormat::Rgb8).unwrap();
        assert_eq!(detect(&barred.view()), None);
        // An all-black image neither.
        let black = Pixels::new(vec![0; 300 * 200 * 3], 300, 200, PixelFormat::Rgb8).unwrap();
        assert_eq!(detect(&black.view()), None);
    }

    #[test]
    fn turning_back_lands_near_the_straight_hash() {
        let straight = crate::pdq::hash(&turned(0.0).view()).unwrap();
        let tilted = turned(6.0);
        let back = straighten(&tilted.view(), detect(&tilted.view()).unwrap()).unwrap();
        let d = crate::pdq::hash(&back.view())
            .unwrap()
            .hash
            .distance(&straight.hash);
        let before = crate::pdq::hash(&tilted.view())
            .unwrap()
            .hash
            .distance(&straight.hash);
        assert!(
            d < before && d <= 31,
            "turned back {d} bits, tilted {before}"
        );
    }
}
