//! The reference's downsampling: two passes of the Jarosz running-mean box filter along rows
//! and columns, then decimation to 64x64 at the window centres.
//!
//! This is a line-for-line port of `pdq/cpp/downscaling/downscaling.cpp`. Bit-exactness hangs
//! on the operation order: one float32 accumulator per line, updated add-then-subtract, and a
//! true division by the current window length. It is the oracle the fast path is tested against.

/// `computeJaroszFilterWindowSize(old, 64)` = `ceil(old / 128)`.
pub(crate) fn window_size(old_dimension: usize) -> usize {
    old_dimension.div_ceil(2 * 64)
}

/// `box1DFloat`: running mean over a window of `w` samples that shrinks at both ends (for even
/// `w` it reaches one more sample to the right than to the left).
pub(crate) fn box_1d(input: &[f32], output: &mut [f32], len: usize, stride: usize, w: usize) {
    let half = (w + 2) / 2;
    let phase1 = half - 1;
    let phase2 = w - half + 1;
    let phase3 = len - w;
    let phase4 = half - 1;

    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut sum = 0f32;
    let mut count = 0u32;
    for _ in 0..phase1 {
        sum += input[ri];
        count += 1;
        ri += stride;
    }
    for _ in 0..phase2 {
        sum += input[ri];
        count += 1;
        output[oi] = sum / count as f32;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase3 {
        sum += input[ri];
        sum -= input[li];
        output[oi] = sum / count as f32;
        li += stride;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase4 {
        sum -= input[li];
        count -= 1;
        output[oi] = sum / count as f32;
        li += stride;
        oi += stride;
    }
}

/// `jaroszFilterFloat` with two passes: the result ends up in `buf1`.
pub(crate) fn jarosz_filter(buf1: &mut [f32], buf2: &mut [f32], rows: usize, cols: usize) {
    let window_along_rows = window_size(cols);
    let window_along_cols = window_size(rows);
    for _ in 0..2 {
        for (src, dst) in buf1.chunks_exact(cols).zip(buf2.chunks_exact_mut(cols)) {
            box_1d(src, dst, cols, 1, window_along_rows);
        }
        for j in 0..cols {
            box_1d(&buf2[j..], &mut buf1[j..], rows, cols, window_along_cols);
        }
    }
}

/// Row (or column) of the input that output row (or column) `out_index` of 64 samples:
/// `(int)(((out + 0.5) * in) / 64)`, computed in double as the reference does.
#[inline]
pub(crate) fn decimation_index(out_index: usize, in_len: usize) -> usize {
    (((out_index as f64 + 0.5) * in_len as f64) / 64.0) as usize
}

/// `decimateFloat` to 64x64.
pub(crate) fn decimate(input: &[f32], rows: usize, cols: usize, out: &mut [[f32; 64]; 64]) {
    for (oi, out_row) in out.iter_mut().enumerate() {
        let row = &input[decimation_index(oi, rows) * cols..];
        for (oj, o) in out_row.iter_mut().enumerate() {
            *o = row[decimation_index(oj, cols)];
        }
    }
}
