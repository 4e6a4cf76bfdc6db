//! From the 64x64 downsample to bits: quality metric, the 16x16 corner of the 2-D DCT-II, the
//! median threshold, and the eight dihedral variants taken in the DCT domain.
//!
//! Ported from `pdq/cpp/hashing/pdqhashing.cpp`, keeping every float32 sum in the reference's
//! order (rustdct cannot reproduce its rounding, and on images whose true coefficients are zero
//! the rounding decides the bits).

use std::sync::LazyLock;

use crate::hash::Hash256;

/// The reference's 16x64 DCT matrix (rows 1..=16 of the 64-point DCT-II), float32.
static DCT_MATRIX: LazyLock<[[f32; 64]; 16]> = LazyLock::new(|| {
    // The reference's literal 3.14159265358979323846 is exactly std's PI as an f64.
    const PI: f64 = std::f64::consts::PI;
    // The scale is a float promoted to double for the product, then stored as float.
    let scale = (2.0f64 / 64.0).sqrt() as f32;
    let mut d = [[0f32; 64]; 16];
    for (i, row) in d.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let angle = (PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
            *v = (scale as f64 * angle.cos()) as f32;
        }
    }
    d
});

/// `pdqImageDomainQualityMetric`: the sum of quantised neighbour gradients, scaled to 0..=100.
pub(crate) fn quality(a: &[[f32; 64]; 64]) -> u8 {
    #[inline(always)]
    fn step(u: f32, v: f32) -> i32 {
        // float32 arithmetic, then (int) truncation toward zero.
        ((((u - v) * 100.0) / 255.0) as i32).abs()
    }
    let mut gradient_sum: i32 = 0;
    for (upper, lower) in a.iter().zip(&a[1..]) {
        for (&u, &v) in upper.iter().zip(lower) {
            gradient_sum += step(u, v);
        }
    }
    for row in a.iter() {
        for pair in row.windows(2) {
            gradient_sum += step(pair[0], pair[1]);
        }
    }
    (gradient_sum / 90).min(100) as u8
}

/// `dct64To16`: `B = D A Dᵀ`, each coefficient one float32 sum in increasing `k`.
pub(crate) fn dct_64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = &*DCT_MATRIX;
    // T = D A. Looping k outside j keeps each T[i][j]'s sum in increasing k and lets the
    // compiler vectorise across j.
    let mut t = [[0f32; 64]; 16];
    for (t_row, d_row) in t.iter_mut().zip(d.iter()) {
        for (k, a_row) in a.iter().enumerate() {
            let dk = d_row[k];
            for (tv, &av) in t_row.iter_mut().zip(a_row.iter()) {
                *tv += dk * av;
            }
        }
    }
    // B = T Dᵀ: B[i][j] = Σ_k T[i][k] D[j][k].
    let mut b = [[0f32; 16]; 16];
    for (b_row, t_row) in b.iter_mut().zip(t.iter()) {
        for (k, &tk) in t_row.iter().enumerate() {
            for (bv, d_row) in b_row.iter_mut().zip(d.iter()) {
                *bv += tk * d_row[k];
            }
        }
    }
    b
}

/// The lower median (the 128th smallest of 256), what the reference's Torben selection returns.
fn lower_median(b: &[[f32; 16]; 16]) -> f32 {
    let mut values: Vec<f32> = b.iter().flatten().copied().collect();
    let (_, median, _) = values.select_nth_unstable_by(127, f32::total_cmp);
    *median
}

/// `pdqBuffer16x16ToBits`: bit `16*i + j` is set when `B[i][j]` is strictly above the median.
pub(crate) fn to_hash(b: &[[f32; 16]; 16]) -> Hash256 {
    let median = lower_median(b);
    let mut words = [0u64; 4];
    for (i, row) in b.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                let k = i * 16 + j;
                words[k / 64] |= 1 << (k % 64);
            }
        }
    }
    Hash256::from_words(words)
}

/// One of the eight symmetries of the square: what was done to the pixels.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Dihedral {
    /// The image as it is.
    Original,
    /// Rotated 90° counter-clockwise.
    Rotate90,
    /// Rotated 180°.
    Rotate180,
    /// Rotated 90° clockwise.
    Rotate270,
    /// Flipped top to bottom.
    FlipX,
    /// Mirrored left to right.
    FlipY,
    /// Transposed (flipped about the main diagonal).
    FlipPlus1,
    /// Flipped about the anti-diagonal.
    FlipMinus1,
}

impl Dihedral {
    /// All eight, in the reference CLI's output order.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// Short name, as used in the reference's CSV output (`orig`, `rot90`, ..., `flipm`).
    pub const fn name(self) -> &'static str {
        match self {
            Dihedral::Original => "orig",
            Dihedral::Rotate90 => "rot90",
            Dihedral::Rotate180 => "rot180",
            Dihedral::Rotate270 => "rot270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipPlus1 => "flipp",
            Dihedral::FlipMinus1 => "flipm",
        }
    }

    /// The DCT of the transformed image, from the DCT of the original (sign flips of odd
    /// frequencies and transposes; `dct16OriginalTo*` in the reference).
    pub(crate) fn transform(self, a: &[[f32; 16]; 16]) -> [[f32; 16]; 16] {
        let mut b = [[0f32; 16]; 16];
        for i in 0..16 {
            for j in 0..16 {
                let v = a[i][j];
                let neg = -v;
                match self {
                    Dihedral::Original => b[i][j] = v,
                    Dihedral::Rotate90 => b[j][i] = if j & 1 == 1 { v } else { neg },
                    Dihedral::Rotate180 => b[i][j] = if (i + j) & 1 == 1 { neg } else { v },
                    Dihedral::Rotate270 => b[j][i] = if i & 1 == 1 { v } else { neg },
                    Dihedral::FlipX => b[i][j] = if i & 1 == 1 { v } else { neg },
                    Dihedral::FlipY => b[i][j] = if j & 1 == 1 { v } else { neg },
                    Dihedral::FlipPlus1 => b[j][i] = v,
                    Dihedral::FlipMinus1 => b[j][i] = if (i + j) & 1 == 1 { neg } else { v },
                }
            }
        }
        b
    }
}

impl std::fmt::Display for Dihedral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
