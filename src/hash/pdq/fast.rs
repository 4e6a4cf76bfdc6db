//! The fast downsample: the same 64x64 buffer as [`super::reference_downsample`], bit for bit,
//! streamed in strips and vectorised across independent lines.
//!
//! Bit-exactness rests on keeping, for every line, the reference's float32 operations in their
//! order: one accumulator, add then subtract, a true division by the current count, no FMA. What
//! changes is only which lines run side by side:
//!
//! * row passes run `S` rows at once: a strip of `S` rows is transposed so that each column
//!   becomes one vector of `S` lanes (one lane per row), the running sum walks along the
//!   columns, and the result is transposed back;
//! * column passes run all columns at once, one input row at a time, over a ring holding the
//!   last `window` rows and more (lanes = columns, any vector width); row pass 1 transposes its
//!   strips straight into column pass 1's ring;
//! * nothing full-size is kept: luma -> row pass 1 -> column pass 1 -> row pass 2 -> column
//!   pass 2 stream strip by strip. Row pass 2 still runs its running sum over every column (float
//!   addition is not associative, so every output carries the whole rounding history) but
//!   divides and stores only at the 64 decimation columns, and column pass 2 runs on those 64
//!   columns only and divides only at the 64 decimation rows.
//!
//! The same generic body is instantiated once per [`Level`]: under `avx2` (8x8 in-register
//! transposes), under `avx512f` (16-lane rows, a wider autovectorised column pass) and portably
//! (scalar transposes, whatever the baseline target vectorises). `avx512f` implies `fma` for
//! LLVM, which is harmless: Rust never contracts `a * b + c` into a fused multiply-add on its
//! own (there is no `fp-contract` in Rust), and the tests compare every float at every level.

use std::sync::OnceLock;

use super::jarosz::{decimation_index, window_size};
use super::luma::{luma_row, LumaMode};
use crate::pixels::PixelView;

/// The 64x64 output buffer.
pub(crate) type Buffer64 = Box<[[f32; 64]; 64]>;

/// An instruction-set level of the fast path.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Plain Rust, vectorised only as far as the compile-time target allows (SSE2 on x86-64).
    Portable,
    /// AVX2 (x86-64): 8x8 register transposes, 32-row strips (four 8-lane running sums in
    /// flight along the rows).
    Avx2,
    /// AVX-512F (x86-64): as AVX2, with 16-lane vectors for the running sums and the column
    /// passes.
    Avx512,
}

impl Level {
    /// Every level, slowest first.
    pub const ALL: [Level; 3] = [Level::Portable, Level::Avx2, Level::Avx512];

    /// Whether this CPU can run the level.
    pub fn is_available(self) -> bool {
        match self {
            Level::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest level this CPU runs (detected once).
    pub fn best() -> Level {
        static BEST: OnceLock<Level> = OnceLock::new();
        *BEST.get_or_init(|| {
            Level::ALL
                .into_iter()
                .rev()
                .find(|l| l.is_available())
                .unwrap_or(Level::Portable)
        })
    }
}

/// The fast downsample at the best level available. `pixels` must be at least 5x5.
pub(crate) fn downsample(pixels: &PixelView<'_>, mode: LumaMode) -> Buffer64 {
    downsample_at(Level::best(), pixels, mode).expect("the best level is available")
}

/// The fast downsample at a chosen level, or `None` if this CPU cannot run it.
pub(crate) fn downsample_at(
    level: Level,
    pixels: &PixelView<'_>,
    mode: LumaMode,
) -> Option<Buffer64> {
    if !level.is_available() {
        return None;
    }
    let mut out = Box::new([[0f32; 64]; 64]);
    match level {
        Level::Portable => run::<8, false>(pixels, mode, &mut out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `is_available` checked AVX2 above.
        Level::Avx2 => unsafe { x86::run_avx2(pixels, mode, &mut out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `is_available` checked AVX-512F and AVX2 above.
        Level::Avx512 => unsafe { x86::run_avx512(pixels, mode, &mut out) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("only the portable level is available here"),
    }
    Some(out)
}

/// The whole pipeline, generic over the row-strip height `S` and over whether the x86 AVX
/// transposes may be used (`SIMD`, only true inside functions compiled with AVX2). Inlined into
/// each level's `#[target_feature]` function so that its loops vectorise for that level.
#[inline(always)]
fn run<const S: usize, const SIMD: bool>(
    pixels: &PixelView<'_>,
    mode: LumaMode,
    out: &mut [[f32; 64]; 64],
) {
    let (rows, cols) = (pixels.height() as usize, pixels.width() as usize);
    if rows == 64 && cols == 64 {
        // The reference skips filtering for 64x64 input.
        for (y, o) in out.iter_mut().enumerate() {
            luma_row(pixels, y as u32, mode, o);
        }
        return;
    }
    let row_window = window_size(cols);
    let col_window = window_size(rows);
    let dec_cols: [usize; 64] = std::array::from_fn(|j| decimation_index(j, cols));
    let dec_rows: [usize; 64] = std::array::from_fn(|i| decimation_index(i, rows));
    // Rows are padded to whole blocks of S so that transposes never need a tail case; the
    // padding columns hold finite junk that no kept output ever reads.
    let padded = cols.div_ceil(S) * S;

    let mut strip = vec![0f32; S * padded]; // S rows of `padded` floats
    let mut lanes_in: Vec<[f32; S]> = vec![[0f32; S]; padded];
    let mut lanes_out: Vec<[f32; S]> = vec![[0f32; S]; padded];
    // Row pass 1 writes each strip straight into column pass 1's ring: whole strips of S
    // slots, and at least S more than the window so no row is overwritten before it is
    // subtracted.
    let mut col1 = ColumnBox::new(padded, rows, col_window, (col_window + S).div_ceil(S) * S);
    let mut second = SecondPass::<S> {
        filtered: vec![0f32; S * padded],
        padded,
        cols,
        row_window,
        dec_cols,
        dec_rows,
        sampled: [[0f32; S]; 64],
        col2: ColumnBox::new(64, rows, col_window, col_window + 1),
        out_row: [0f32; 64],
    };

    let mut y0 = 0;
    while y0 < rows {
        let n = S.min(rows - y0);
        for r in 0..n {
            luma_row(
                pixels,
                (y0 + r) as u32,
                mode,
                &mut strip[r * padded..r * padded + cols],
            );
        }
        // Row pass 1.
        to_lanes::<S, SIMD>(&strip, padded, &mut lanes_in);
        box_lanes(&lanes_in[..cols], &mut lanes_out[..cols], row_window);
        from_lanes::<S, SIMD>(&lanes_out, padded, col1.slots_mut(y0, S));
        // Column pass 1, one row at a time; every S output rows go through the second pass.
        for _ in 0..n {
            let k = col1.next_output().map(|k| k % S);
            let dst = k.map(|k| &mut second.filtered[k * padded..(k + 1) * padded]);
            let emitted = col1.push(dst);
            if emitted.is_some_and(|k| k % S == S - 1) {
                second.run::<SIMD>(S, &mut lanes_in, out);
            }
        }
        y0 += n;
    }
    while let Some(k) = col1.next_output() {
        col1.drain(Some(
            &mut second.filtered[(k % S) * padded..(k % S + 1) * padded],
        ));
        if k % S == S - 1 {
            second.run::<SIMD>(S, &mut lanes_in, out);
        }
    }
    if rows % S != 0 {
        second.run::<SIMD>(rows % S, &mut lanes_in, out);
    }
    second.finish(out);
}

/// Row pass 2 and column pass 2, fed `S` rows of column pass 1 output at a time.
struct SecondPass<const S: usize> {
    /// Column pass 1 output rows, `padded` floats apart.
    filtered: Vec<f32>,
    padded: usize,
    cols: usize,
    row_window: usize,
    dec_cols: [usize; 64],
    dec_rows: [usize; 64],
    /// Row pass 2 at the decimation columns: `sampled[j][row]`.
    sampled: [[f32; S]; 64],
    col2: ColumnBox,
    out_row: [f32; 64],
}

impl<const S: usize> SecondPass<S> {
    /// Runs the first `n` rows of `filtered` through row pass 2 and column pass 2.
    #[inline(always)]
    fn run<const SIMD: bool>(
        &mut self,
        n: usize,
        lanes: &mut [[f32; S]],
        out: &mut [[f32; 64]; 64],
    ) {
        to_lanes::<S, SIMD>(&self.filtered, self.padded, lanes);
        box_lanes_sampled(
            &lanes[..self.cols],
            self.row_window,
            &self.dec_cols,
            &mut self.sampled,
        );
        for r in 0..n {
            let index = self.col2.pushed;
            for (v, s) in self.col2.slot_mut(index).iter_mut().zip(&self.sampled) {
                *v = s[r];
            }
            let wanted = self
                .col2
                .next_output()
                .is_some_and(|k| self.dec_rows.contains(&k));
            let emitted = self.col2.push(wanted.then_some(&mut self.out_row[..]));
            if wanted {
                scatter_rows(emitted, &self.dec_rows, &self.out_row, out);
            }
        }
    }

    /// The last outputs of column pass 2, after every row went in.
    #[inline(always)]
    fn finish(&mut self, out: &mut [[f32; 64]; 64]) {
        while let Some(k) = self.col2.next_output() {
            if self.dec_rows.contains(&k) {
                self.col2.drain(Some(&mut self.out_row));
                scatter_rows(Some(k), &self.dec_rows, &self.out_row, out);
            } else {
                self.col2.drain(None);
            }
        }
    }
}

/// Writes `row` to every output row decimated from input row `emitted`.
#[inline(always)]
fn scatter_rows(
    emitted: Option<usize>,
    dec_rows: &[usize; 64],
    row: &[f32; 64],
    out: &mut [[f32; 64]; 64],
) {
    if let Some(k) = emitted {
        for (o, &d) in out.iter_mut().zip(dec_rows) {
            if d == k {
                *o = *row;
            }
        }
    }
}

/// `box1DFloat` on `S` lines at once: `input[x][lane]`, one running sum per lane, the
/// reference's phases and operation order.
#[inline(always)]
fn box_lanes<const S: usize>(input: &[[f32; S]], output: &mut [[f32; S]], w: usize) {
    let len = input.len();
    let half = (w + 2) / 2;
    let (phase1, phase2, phase3) = (half - 1, w - half + 1, len - w);
    let mut sum = [0f32; S];
    let mut count = 0u32;
    let mut oi = 0;
    for v in &input[..phase1] {
        add(&mut sum, v);
        count += 1;
    }
    for v in &input[phase1..w] {
        add(&mut sum, v);
        count += 1;
        output[oi] = div(&sum, count);
        oi += 1;
    }
    debug_assert_eq!(phase1 + phase2, w);
    for ((new, old), o) in input[w..]
        .iter()
        .zip(&input[..phase3])
        .zip(&mut output[oi..oi + phase3])
    {
        add(&mut sum, new);
        sub(&mut sum, old);
        *o = div(&sum, count);
    }
    oi += phase3;
    for (old, o) in input[phase3..phase3 + half - 1]
        .iter()
        .zip(&mut output[oi..])
    {
        sub(&mut sum, old);
        count -= 1;
        *o = div(&sum, count);
    }
}

/// [`box_lanes`] keeping only the outputs at the decimation columns (`dec[j]`, non-decreasing):
/// the running sum still visits every element; only the divisions and stores are skipped.
#[inline(always)]
fn box_lanes_sampled<const S: usize>(
    input: &[[f32; S]],
    w: usize,
    dec: &[usize; 64],
    output: &mut [[f32; S]; 64],
) {
    let len = input.len();
    let half = (w + 2) / 2;
    let (phase1, phase3) = (half - 1, len - w);
    let mut sum = [0f32; S];
    let mut count = 0u32;
    let mut next = 0; // the next decimation column to fill
    let mut oi = 0;
    for v in &input[..phase1] {
        add(&mut sum, v);
        count += 1;
    }
    for v in &input[phase1..w] {
        add(&mut sum, v);
        count += 1;
        emit_sampled(&sum, count, oi, dec, &mut next, output);
        oi += 1;
    }
    for (new, old) in input[w..].iter().zip(&input[..phase3]) {
        add(&mut sum, new);
        sub(&mut sum, old);
        emit_sampled(&sum, count, oi, dec, &mut next, output);
        oi += 1;
    }
    for old in &input[phase3..phase3 + half - 1] {
        sub(&mut sum, old);
        count -= 1;
        emit_sampled(&sum, count, oi, dec, &mut next, output);
        oi += 1;
    }
}

/// Stores the output for column `oi` at every decimation column that takes it.
#[inline(always)]
fn emit_sampled<const S: usize>(
    sum: &[f32; S],
    count: u32,
    oi: usize,
    dec: &[usize; 64],
    next: &mut usize,
    output: &mut [[f32; S]; 64],
) {
    if *next < 64 && dec[*next] == oi {
        let v = div(sum, count);
        while *next < 64 && dec[*next] == oi {
            output[*next] = v;
            *next += 1;
        }
    }
}

#[inline(always)]
fn add<const S: usize>(sum: &mut [f32; S], v: &[f32; S]) {
    for (s, x) in sum.iter_mut().zip(v) {
        *s += *x;
    }
}

#[inline(always)]
fn sub<const S: usize>(sum: &mut [f32; S], v: &[f32; S]) {
    for (s, x) in sum.iter_mut().zip(v) {
        *s -= *x;
    }
}

/// `sum / (float)count` per lane: a true division, as the reference.
#[inline(always)]
fn div<const S: usize>(sum: &[f32; S], count: u32) -> [f32; S] {
    let c = count as f32;
    let mut q = [0f32; S];
    for (q, &s) in q.iter_mut().zip(sum) {
        *q = s / c;
    }
    q
}

/// `box1DFloat` along columns, streamed one input row at a time over all columns at once (lanes
/// = columns). Input rows live in a ring of `slots` rows (at least `window + 1`): the caller
/// writes row `pushed` into [`slot_mut`](Self::slot_mut) (or several rows at once into
/// [`slots_mut`](Self::slots_mut)), then [`push`](Self::push) consumes it, subtracting row
/// `pushed - window` from the ring.
struct ColumnBox {
    width: usize,
    len: usize,
    window: usize,
    half: usize,
    slots: usize,
    sum: Vec<f32>,
    ring: Vec<f32>,
    count: u32,
    pushed: usize,
    emitted: usize,
}

impl ColumnBox {
    fn new(width: usize, len: usize, window: usize, slots: usize) -> Self {
        assert!(slots > window);
        ColumnBox {
            width,
            len,
            window,
            half: (window + 2) / 2,
            slots,
            sum: vec![0f32; width],
            ring: vec![0f32; width * slots],
            count: 0,
            pushed: 0,
            emitted: 0,
        }
    }

    /// Where input row `index` goes (it must not be more than `slots - window - 1` rows ahead
    /// of the next row pushed, or it overwrites a row still to be subtracted).
    #[inline(always)]
    fn slot_mut(&mut self, index: usize) -> &mut [f32] {
        let slot = index % self.slots;
        &mut self.ring[slot * self.width..(slot + 1) * self.width]
    }

    /// Where input rows `first..first + n` go, contiguous: needs `first % slots + n <= slots`.
    #[inline(always)]
    fn slots_mut(&mut self, first: usize, n: usize) -> &mut [f32] {
        let slot = first % self.slots;
        assert!(slot + n <= self.slots);
        &mut self.ring[slot * self.width..(slot + n) * self.width]
    }

    /// The output row the next [`push`](Self::push) or [`drain`](Self::drain) produces, if any.
    fn next_output(&self) -> Option<usize> {
        if self.pushed < self.len {
            (self.pushed >= self.half - 1).then_some(self.emitted)
        } else {
            (self.emitted < self.len).then_some(self.emitted)
        }
    }

    /// Adds input row `pushed` (already in its slot) and, past the first `window` rows,
    /// subtracts row `pushed - window`. When that completes an output row, writes it to `out`
    /// if given (skipping the division otherwise) and returns its index.
    #[inline(always)]
    fn push(&mut self, out: Option<&mut [f32]>) -> Option<usize> {
        debug_assert!(self.pushed < self.len);
        let w = self.width;
        let new_slot = self.pushed % self.slots;
        let row = &self.ring[new_slot * w..(new_slot + 1) * w];
        let emitted = if self.pushed < self.window {
            self.count += 1;
            for (s, &x) in self.sum.iter_mut().zip(row) {
                *s += x;
            }
            if self.pushed >= self.half - 1 {
                if let Some(out) = out {
                    let c = self.count as f32;
                    for (o, &s) in out[..w].iter_mut().zip(&self.sum) {
                        *o = s / c;
                    }
                }
                Some(self.emitted)
            } else {
                None
            }
        } else {
            let old_slot = (self.pushed - self.window) % self.slots;
            let old = &self.ring[old_slot * w..(old_slot + 1) * w];
            let c = self.count as f32;
            match out {
                Some(out) => {
                    for (((s, &x), &r), o) in self
                        .sum
                        .iter_mut()
                        .zip(row)
                        .zip(old)
                        .zip(out[..w].iter_mut())
                    {
                        let v = (*s + x) - r;
                        *s = v;
                        *o = v / c;
                    }
                }
                None => {
                    for ((s, &x), &r) in self.sum.iter_mut().zip(row).zip(old) {
                        *s = (*s + x) - r;
                    }
                }
            }
            Some(self.emitted)
        };
        self.pushed += 1;
        if emitted.is_some() {
            self.emitted += 1;
        }
        emitted
    }

    /// After the last input row: subtracts the oldest row still in the window, shrinks the
    /// count and writes the next output row to `out` if given.
    #[inline(always)]
    fn drain(&mut self, out: Option<&mut [f32]>) {
        debug_assert!(self.pushed == self.len && self.emitted < self.len);
        let w = self.width;
        // Output `emitted` (in the last half-1) drops input row `emitted - (window - half) - 1`,
        // i.e. the reference's `li`, which starts at `len - window`.
        let li = self.len - self.window + (self.emitted - (self.len - (self.half - 1)));
        let slot = li % self.slots;
        let old = &self.ring[slot * w..(slot + 1) * w];
        self.count -= 1;
        let c = self.count as f32;
        match out {
            Some(out) => {
                for ((s, &x), o) in self.sum.iter_mut().zip(old).zip(out[..w].iter_mut()) {
                    *s -= x;
                    *o = *s / c;
                }
            }
            None => {
                for (s, &x) in self.sum.iter_mut().zip(old) {
                    *s -= x;
                }
            }
        }
        self.emitted += 1;
    }
}

/// Transposes a strip of `S` rows (`stride` floats apart, `stride` a multiple of `S`) into
/// `lanes[x][row]`.
#[inline(always)]
fn to_lanes<const S: usize, const SIMD: bool>(
    strip: &[f32],
    stride: usize,
    lanes: &mut [[f32; S]],
) {
    assert!(strip.len() >= S * stride && lanes.len() >= stride && stride.is_multiple_of(S));
    #[cfg(target_arch = "x86_64")]
    if SIMD && S.is_multiple_of(8) {
        for b in (0..stride).step_by(8) {
            for rh in (0..S).step_by(8) {
                // SAFETY: the 8x8 block reads rows rh..rh+8 at columns b..b+8 of `strip`, and
                // writes lanes rh..rh+8 of lanes[b..b+8]; all in bounds by the assert above.
                unsafe {
                    x86::transpose8x8(
                        strip.as_ptr().add(rh * stride + b),
                        stride,
                        lanes.as_mut_ptr().cast::<f32>().add(b * S + rh),
                        S,
                    );
                }
            }
        }
        return;
    }
    for (r, row) in strip.chunks_exact(stride).take(S).enumerate() {
        for (l, &v) in lanes.iter_mut().zip(row) {
            l[r] = v;
        }
    }
}

/// The inverse of [`to_lanes`].
#[inline(always)]
fn from_lanes<const S: usize, const SIMD: bool>(
    lanes: &[[f32; S]],
    stride: usize,
    strip: &mut [f32],
) {
    assert!(strip.len() >= S * stride && lanes.len() >= stride && stride.is_multiple_of(S));
    #[cfg(target_arch = "x86_64")]
    if SIMD && S.is_multiple_of(8) {
        for b in (0..stride).step_by(8) {
            for rh in (0..S).step_by(8) {
                // SAFETY: reads lanes rh..rh+8 of lanes[b..b+8], writes rows rh..rh+8 at
                // columns b..b+8 of `strip`; in bounds by the assert above.
                unsafe {
                    x86::transpose8x8(
                        lanes.as_ptr().cast::<f32>().add(b * S + rh),
                        S,
                        strip.as_mut_ptr().add(rh * stride + b),
                        stride,
                    );
                }
            }
        }
        return;
    }
    for (r, row) in strip.chunks_exact_mut(stride).take(S).enumerate() {
        for (l, v) in lanes.iter().zip(row) {
            *v = l[r];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{run, LumaMode, PixelView};

    /// The pipeline compiled for AVX2 (no FMA): 32-row strips, i.e. four 8-lane running sums
    /// in flight per row pass to hide the add latency (8 and 16 rows measured 5-25 % and
    /// 0-15 % slower).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn run_avx2(
        pixels: &PixelView<'_>,
        mode: LumaMode,
        out: &mut [[f32; 64]; 64],
    ) {
        run::<32, true>(pixels, mode, out)
    }

    /// The pipeline compiled for AVX-512F: 32-row strips, two 16-lane running sums in flight
    /// (16 rows measured 0-5 % slower, 64 rows 10-100 % slower: the sums spill).
    #[target_feature(enable = "avx512f,avx2")]
    pub(super) unsafe fn run_avx512(
        pixels: &PixelView<'_>,
        mode: LumaMode,
        out: &mut [[f32; 64]; 64],
    ) {
        run::<32, true>(pixels, mode, out)
    }

    /// Transposes the 8x8 block at `src` (rows `src_stride` floats apart) into `dst` (rows
    /// `dst_stride` apart).
    ///
    /// # Safety
    /// AVX must be available; `src` must be readable and `dst` writable for 8 rows of 8 floats
    /// at their strides.
    #[inline]
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn transpose8x8(
        src: *const f32,
        src_stride: usize,
        dst: *mut f32,
        dst_stride: usize,
    ) {
        // SAFETY: the caller guarantees the 8 rows are in bounds.
        unsafe {
            let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * src_stride)));
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            let t6 = _mm256_unpacklo_ps(r[6], r[7]);
            let t7 = _mm256_unpackhi_ps(r[6], r[7]);
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let o = [
                _mm256_permute2f128_ps::<0x20>(u0, u4),
                _mm256_permute2f128_ps::<0x20>(u1, u5),
                _mm256_permute2f128_ps::<0x20>(u2, u6),
                _mm256_permute2f128_ps::<0x20>(u3, u7),
                _mm256_permute2f128_ps::<0x31>(u0, u4),
                _mm256_permute2f128_ps::<0x31>(u1, u5),
                _mm256_permute2f128_ps::<0x31>(u2, u6),
                _mm256_permute2f128_ps::<0x31>(u3, u7),
            ];
            for (i, v) in o.into_iter().enumerate() {
                _mm256_storeu_ps(dst.add(i * dst_stride), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::reference_downsample;
    use super::*;
    use crate::pixels::PixelFormat;

    const FORMATS: [PixelFormat; 3] = [PixelFormat::Rgb8, PixelFormat::Rgba8, PixelFormat::Grey8];
    const MODES: [LumaMode; 2] = [LumaMode::Reference, LumaMode::PipCompat];

    /// Image contents the filters treat differently: noise exercises rounding everywhere, flat
    /// and striped images sit on exact values and ties, gradients and blocks in between.
    #[derive(Debug, Clone, Copy)]
    enum Content {
        Noise,
        Flat,
        Stripes,
        Gradient,
        Blocks,
    }

    const CONTENTS: [Content; 5] = [
        Content::Noise,
        Content::Flat,
        Content::Stripes,
        Content::Gradient,
        Content::Blocks,
    ];

    /// A `w`x`h` image with `extra` junk bytes after each row; returns the bytes and the stride.
    fn image(
        w: usize,
        h: usize,
        format: PixelFormat,
        extra: usize,
        content: Content,
        seed: u64,
    ) -> (Vec<u8>, usize) {
        let bpp = format.bytes_per_pixel();
        let stride = w * bpp + extra;
        let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            // xorshift64*: deterministic, good enough for test pictures.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
        };
        let (a, b, c) = (next() % 256, next() % 256, 1 + next() % 37);
        let mut data = vec![0u8; stride * h];
        for y in 0..h {
            for x in 0..stride {
                let (px, ch) = (x / bpp, (x % bpp) as u32);
                let v = if px >= w {
                    next() as u8 // junk beyond the row: must not matter
                } else {
                    match content {
                        Content::Noise => next() as u8,
                        Content::Flat => (a + 7 * ch) as u8,
                        Content::Stripes => {
                            if (px as u32 / c + y as u32 * (b % 2)).is_multiple_of(2) {
                                a as u8
                            } else {
                                b as u8
                            }
                        }
                        Content::Gradient => {
                            ((px as u32 * (ch + 1) * 255) / w as u32 + (y as u32 * a) / h as u32)
                                as u8
                        }
                        Content::Blocks => {
                            let cell = (px as u32 / c) ^ (y as u32 / (c + 3)) ^ ch;
                            (cell.wrapping_mul(2_654_435_761) >> 24) as u8
                        }
                    }
                };
                data[y * stride + x] = v;
            }
        }
        (data, stride)
    }

    /// Compares every float of the fast path, at every level this CPU runs, with the reference.
    fn check(w: usize, h: usize, format: PixelFormat, extra: usize, content: Content, seed: u64) {
        let (data, stride) = image(w, h, format, extra, content, seed);
        let view = PixelView::new(&data, w as u32, h as u32, stride, format).unwrap();
        for mode in MODES {
            let want = reference_downsample(&view, mode);
            for level in Level::ALL.into_iter().filter(|l| l.is_available()) {
                let got = downsample_at(level, &view, mode).unwrap();
                for (i, (gr, wr)) in got.iter().zip(want.iter()).enumerate() {
                    for (j, (g, wv)) in gr.iter().zip(wr).enumerate() {
                        assert_eq!(
                            g.to_bits(),
                            wv.to_bits(),
                            "{w}x{h} {format:?} +{extra} {content:?} seed {seed} {mode:?} \
                             {level:?}: [{i}][{j}] = {g} != {wv}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn levels_are_detected_consistently() {
        assert!(Level::Portable.is_available());
        assert!(Level::best().is_available());
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            assert_eq!(Level::best(), Level::Avx512);
        }
        eprintln!(
            "levels available: {:?}",
            Level::ALL
                .into_iter()
                .filter(|l| l.is_available())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn transposes_round_trip() {
        fn round_trip<const S: usize, const SIMD: bool>() {
            let stride = 3 * S;
            let strip: Vec<f32> = (0..S * stride).map(|i| i as f32).collect();
            let mut lanes = vec![[0f32; S]; stride];
            to_lanes::<S, SIMD>(&strip, stride, &mut lanes);
            for (x, l) in lanes.iter().enumerate() {
                for (r, &v) in l.iter().enumerate() {
                    assert_eq!(v, strip[r * stride + x]);
                }
            }
            let mut back = vec![0f32; S * stride];
            from_lanes::<S, SIMD>(&lanes, stride, &mut back);
            assert_eq!(back, strip);
        }
        round_trip::<8, false>();
        round_trip::<16, false>();
        #[cfg(target_arch = "x86_64")]
        if Level::Avx2.is_available() {
            round_trip::<8, true>();
            round_trip::<16, true>();
            round_trip::<32, true>();
        }
    }

    #[test]
    fn fixed_sizes_equal_the_reference() {
        let sides = [5, 6, 7, 8, 17, 63, 64, 65, 127, 128, 129, 255, 256, 257];
        let mut seed = 1;
        for &w in &sides {
            for &h in &sides {
                let content = CONTENTS[seed as usize % CONTENTS.len()];
                let format = FORMATS[seed as usize % FORMATS.len()];
                check(w, h, format, (seed % 5) as usize, content, seed);
                seed += 1;
            }
        }
    }

    #[test]
    fn square_64_and_neighbours_every_format_and_content() {
        for (k, &(w, h)) in [
            (64, 64),
            (65, 65),
            (64, 65),
            (63, 64),
            (128, 128),
            (129, 129),
        ]
        .iter()
        .enumerate()
        {
            for format in FORMATS {
                for content in CONTENTS {
                    check(w, h, format, k, content, k as u64 * 31 + 7);
                }
            }
        }
    }

    #[test]
    fn extreme_aspect_ratios() {
        for (w, h) in [(3000, 5), (5, 3000), (2001, 6), (7, 1999), (1000, 130)] {
            for content in [Content::Noise, Content::Gradient, Content::Stripes] {
                check(w, h, PixelFormat::Rgb8, 3, content, (w * h) as u64);
            }
        }
    }

    #[test]
    fn large_image() {
        check(1283, 961, PixelFormat::Rgba8, 4, Content::Noise, 99);
    }

    /// 40 random images per run by default; set `HASHMATCH_FAST_CASES` for a longer soak
    /// (release mode: `cargo test --release --lib fast`).
    fn random_cases() -> u32 {
        std::env::var("HASHMATCH_FAST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(40)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(random_cases()))]

        #[test]
        fn random_images_equal_the_reference(
            w in 5usize..700,
            h in 5usize..700,
            format in 0usize..3,
            extra in 0usize..9,
            content in 0usize..5,
            seed in any::<u64>(),
        ) {
            check(w, h, FORMATS[format], extra, CONTENTS[content], seed);
        }
    }
}
