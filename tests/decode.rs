//! Decoding untrusted uploads: hostile inputs of every format give typed errors quickly (never a
//! panic, never a wrong `Ok`), limits hold before allocation, pixels equal Pillow's (the decoder
//! HMA hashes with), EXIF orientation is applied only when asked, and `decode_reduced` scales
//! JPEG as libjpeg does.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hashmatch::decode::{decode, decode_file, decode_reduced, Decoded};
use hashmatch::{DecodeLimits, DecodeOptions, Error, ExifOrientation, ImageFormat, PixelFormat};
use proptest::prelude::*;

const W: u32 = 48;
const H: u32 = 40;

/// A small colourful test picture.
fn picture() -> image::RgbImage {
    image::RgbImage::from_fn(W, H, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 6) as u8, ((x * y) % 256) as u8 ^ 0x5a])
    })
}

fn encode(img: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .unwrap_or_else(|e| panic!("{format:?}: {e}"));
    out.into_inner()
}

type Sample = (&'static str, ImageFormat, Vec<u8>);

/// Small valid files of every supported format, made with `image`'s encoders (once).
fn samples() -> Vec<Sample> {
    static SAMPLES: std::sync::OnceLock<Vec<Sample>> = std::sync::OnceLock::new();
    SAMPLES.get_or_init(make_samples).clone()
}

fn make_samples() -> Vec<Sample> {
    let rgb = image::DynamicImage::ImageRgb8(picture());
    let grey = image::DynamicImage::ImageLuma8(rgb.to_luma8());
    vec![
        (
            "jpeg",
            ImageFormat::Jpeg,
            encode(&rgb, image::ImageFormat::Jpeg),
        ),
        (
            "grey jpeg",
            ImageFormat::Jpeg,
            encode(&grey, image::ImageFormat::Jpeg),
        ),
        (
            "png",
            ImageFormat::Png,
            encode(&rgb, image::ImageFormat::Png),
        ),
        (
            "gif",
            ImageFormat::Gif,
            encode(&rgb, image::ImageFormat::Gif),
        ),
        (
            "webp",
            ImageFormat::Webp,
            encode(&rgb, image::ImageFormat::WebP),
        ),
        (
            "bmp",
            ImageFormat::Bmp,
            encode(&rgb, image::ImageFormat::Bmp),
        ),
        (
            "tiff",
            ImageFormat::Tiff,
            encode(&rgb, image::ImageFormat::Tiff),
        ),
    ]
}

/// The contract for any input: `Ok` only with a real image within the limits, `Err` otherwise,
/// and a panic is a test failure (a caught decoder panic is an `Err`, but one we want to know of,
/// so it is returned to the caller to report).
fn check_contract(bytes: &[u8], options: &DecodeOptions) -> Result<Decoded, Error> {
    let result = decode(bytes, options);
    if let Ok(d) = &result {
        let p = &d.pixels;
        assert!(p.width() > 0 && p.height() > 0);
        assert!(p.width() <= options.limits.max_width && p.height() <= options.limits.max_height);
        assert_eq!(
            p.as_bytes().len(),
            p.width() as usize * p.height() as usize * p.format().bytes_per_pixel()
        );
    }
    result
}

#[test]
fn valid_samples_of_every_format_decode() {
    for (name, format, bytes) in samples() {
        let d = decode(&bytes, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.format, format, "{name}");
        assert_eq!((d.pixels.width(), d.pixels.height()), (W, H), "{name}");
        let want = if name.starts_with("grey") {
            PixelFormat::Grey8
        } else if format == ImageFormat::Gif {
            PixelFormat::Rgba8 // GIF frames come out RGBA from `image`
        } else {
            PixelFormat::Rgb8
        };
        assert_eq!(d.pixels.format(), want, "{name}");
    }
}

#[test]
fn lossless_samples_round_trip_exactly() {
    let want = picture().into_raw();
    for (name, _, bytes) in samples() {
        if matches!(name, "png" | "bmp" | "tiff" | "webp") {
            let d = decode(&bytes, &DecodeOptions::default()).unwrap();
            assert_eq!(d.pixels.as_bytes(), want.as_slice(), "{name}");
        }
    }
}

/// Every truncation of every sample is an error: a truncated upload is never hashed as if it
/// were whole. (The only exceptions allowed are cuts that remove nothing but the trailer after
/// the last pixel data, which must then decode to the full, correct image.)
#[test]
fn truncated_files_are_errors() {
    let options = DecodeOptions::default();
    for (name, _, bytes) in samples() {
        let full = decode(&bytes, &options).unwrap();
        let mut ok_lengths = Vec::new();
        for len in 0..bytes.len() {
            match check_contract(&bytes[..len], &options) {
                Ok(d) => {
                    assert_eq!(
                        d.pixels, full.pixels,
                        "{name} cut at {len} decodes differently"
                    );
                    ok_lengths.push(len);
                }
                Err(Error::DecoderPanicked { message, .. }) => {
                    panic!("{name} cut at {len}: decoder panicked: {message}")
                }
                Err(_) => {}
            }
        }
        // Only a short tail (trailer, padding) may be missing from an accepted file.
        assert!(
            ok_lengths.iter().all(|&l| bytes.len() - l <= 16),
            "{name} ({} bytes) decodes when cut at {ok_lengths:?}",
            bytes.len()
        );
        eprintln!(
            "{name}: {} bytes, {} truncations, accepted at {ok_lengths:?}",
            bytes.len(),
            bytes.len()
        );
    }
}

/// Flipping any byte (and every third byte with two more patterns) never panics; a corruption that still decodes gives a whole
/// image of the right size unless the flip hit the size field.
#[test]
fn corrupted_bytes_never_panic() {
    let options = DecodeOptions::default();
    for (name, _, bytes) in samples() {
        let (mut ok, mut err, mut other_size) = (0, 0, Vec::new());
        for pos in 0..bytes.len() {
            let patterns: &[u8] = if pos % 3 == 0 {
                &[0xFF, 0x80, 0x01]
            } else {
                &[0xFF]
            };
            for &pattern in patterns {
                let mut b = bytes.clone();
                b[pos] ^= pattern;
                match check_contract(&b, &options) {
                    Ok(d) => {
                        ok += 1;
                        if (d.pixels.width(), d.pixels.height()) != (W, H) {
                            other_size.push(pos);
                        }
                    }
                    Err(Error::DecoderPanicked { message, .. }) => {
                        panic!("{name} byte {pos} ^ {pattern:#x}: decoder panicked: {message}")
                    }
                    Err(_) => err += 1,
                }
            }
        }
        other_size.dedup();
        eprintln!("{name}: {ok} corruptions decoded, {err} rejected, other size at {other_size:?}");
        // Only a flip in the width or height field itself changes the size (GIF screen bytes
        // 6..10, the VP8L size bits, TIFF's ImageWidth/ImageLength entries).
        assert!(
            other_size.len() <= 4,
            "{name}: size changed by flips at {other_size:?}"
        );
    }
}

fn any_sample_prefix() -> impl Strategy<Value = Vec<u8>> {
    let magics: Vec<Vec<u8>> = vec![
        vec![0xFF, 0xD8, 0xFF],
        b"\x89PNG\r\n\x1a\n".to_vec(),
        b"GIF89a".to_vec(),
        b"RIFF\0\0\0\0WEBPVP8 ".to_vec(),
        b"BM".to_vec(),
        b"II*\0".to_vec(),
        b"MM\0*".to_vec(),
        vec![],
    ];
    (
        proptest::sample::select(magics),
        proptest::collection::vec(any::<u8>(), 0..2048),
    )
        .prop_map(|(mut magic, tail)| {
            magic.extend(tail);
            magic
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random bytes behind every format's magic number: an error, never a panic.
    #[test]
    fn random_bytes_never_panic(bytes in any_sample_prefix()) {
        let result = check_contract(&bytes, &DecodeOptions::default());
        prop_assert!(
            !matches!(result, Err(Error::DecoderPanicked { .. })),
            "decoder panicked: {result:?}"
        );
    }

    /// Random overwrites, insertions and cuts of valid files: never a panic, and any `Ok` is a
    /// whole image within the limits.
    #[test]
    fn mutated_files_never_panic(
        which in 0usize..7,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let samples = samples();
        let mut bytes = samples[which].2.clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let result = check_contract(&bytes, &DecodeOptions::default());
        prop_assert!(
            !matches!(result, Err(Error::DecoderPanicked { .. })),
            "decoder panicked: {result:?}"
        );
    }
}

// ---- Hand-made hostile files -------------------------------------------------------------------

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend(kind);
    out.extend(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

/// A zlib stream of `n` zero bytes, compressed with fixed-Huffman runs of 258 (13 bits each).
fn zlib_zeros(n: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, bits: u32) {
            self.acc |= value << self.len;
            self.len += bits;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// Huffman codes go most significant bit first.
        fn code(&mut self, code: u64, bits: u32) {
            let reversed = (0..bits).fold(0, |r, i| r | ((code >> i) & 1) << (bits - 1 - i));
            self.put(reversed, bits);
        }
    }
    let mut b = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        len: 0,
    };
    b.put(1, 1); // final block
    b.put(1, 2); // fixed Huffman
    let literal_zero = |b: &mut Bits| b.code(0x30, 8);
    let mut left = n;
    if left > 0 {
        literal_zero(&mut b);
        left -= 1;
    }
    while left >= 258 {
        b.code(0xC5, 8); // length 258 (code 285)
        b.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        literal_zero(&mut b);
    }
    b.code(0, 7); // end of block
    if b.len > 0 {
        b.put(0, 8 - b.len);
    }
    // Adler-32 of n zero bytes: a = 1, b = n (mod 65521).
    let adler = ((n % 65521) << 16 | 1) as u32;
    b.out.extend(adler.to_be_bytes());
    b.out
}

/// A valid all-black 1-bit greyscale PNG of `w` x `h`: a decompression bomb when large (a
/// 20000x20000 one is ~300 KB and decodes to 400 MB).
fn zero_png(w: u32, h: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([1, 0, 0, 0, 0]); // 1-bit grey, deflate, no filter, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    let raw = u64::from(h) * (1 + u64::from(w).div_ceil(8));
    png_chunk(&mut png, b"IDAT", &zlib_zeros(raw));
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// Asserts a `TooLarge` error on `what`, returned in well under a second.
fn assert_too_large(bytes: &[u8], options: &DecodeOptions, what_contains: &str) {
    let start = Instant::now();
    let result = decode(bytes, options);
    let took = start.elapsed();
    match result {
        Err(Error::TooLarge { what, .. }) if what.contains(what_contains) => {}
        other => panic!("expected TooLarge on {what_contains}, got {other:?}"),
    }
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn zero_png_generator_is_valid() {
    let d = decode(&zero_png(300, 200), &DecodeOptions::default()).unwrap();
    assert_eq!((d.pixels.width(), d.pixels.height()), (300, 200));
    assert_eq!(d.pixels.format(), PixelFormat::Grey8);
    assert!(d.pixels.as_bytes().iter().all(|&v| v == 0));
}

#[test]
fn png_header_claiming_100000x100000_is_too_large() {
    assert_too_large(
        &zero_png(100_000, 100_000),
        &DecodeOptions::default(),
        "width",
    );
}

#[test]
fn png_decompression_bombs_are_too_large() {
    let bomb = zero_png(20_000, 20_000);
    assert!(bomb.len() < 400_000, "{} bytes", bomb.len());
    // 400 megapixels: over the default pixel count.
    assert_too_large(&bomb, &DecodeOptions::default(), "pixel count");

    // 100 megapixels: fine by default, refused under a smaller budget.
    let smaller = zero_png(10_000, 10_000);
    let mut options = DecodeOptions::default();
    options.limits.max_pixels = 50_000_000;
    assert_too_large(&smaller, &options, "pixel count");
    let mut options = DecodeOptions::default();
    options.limits.max_alloc_bytes = 64 << 20;
    assert_too_large(&smaller, &options, "decoded size");
}

/// A GIF whose screen and frame claim 65535x65535 (17 GB of RGBA).
#[test]
fn gif_bomb_is_too_large() {
    let mut gif = b"GIF89a".to_vec();
    gif.extend([0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0, 0]); // screen, global palette of 2
    gif.extend([0, 0, 0, 255, 255, 255]);
    gif.extend([0x2C, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0]); // frame 65535x65535
    gif.extend([2, 2, 0x44, 0x01, 0]); // LZW: a few pixels then the end
    gif.push(0x3B);
    assert_too_large(&gif, &DecodeOptions::default(), "width");
}

/// A JPEG header claiming 65500x65500: refused before libjpeg-turbo allocates anything.
#[test]
fn jpeg_header_claiming_65500x65500_is_too_large() {
    let (_, _, mut jpeg) = samples().swap_remove(0);
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline SOF0");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xDC, 0xFF, 0xDC]);
    assert_too_large(&jpeg, &DecodeOptions::default(), "width");
    // Under the side limit but over the pixel count.
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x7F, 0xFF, 0x7F, 0xFF]);
    assert_too_large(&jpeg, &DecodeOptions::default(), "pixel count");
}

/// A JPEG cut before its end marker is an error (libjpeg-turbo warns; Pillow refuses it too);
/// junk between the last scan and the end marker is accepted with the same pixels (so does
/// Pillow).
#[cfg(feature = "turbojpeg")]
#[test]
fn jpeg_end_marker_handling_matches_pillow() {
    let (_, _, jpeg) = samples().swap_remove(0);
    match decode(&jpeg[..jpeg.len() - 2], &DecodeOptions::default()) {
        Err(Error::Decode { format: "JPEG", .. }) => {}
        other => panic!("{other:?}"),
    }
    let mut junk = jpeg[..jpeg.len() - 2].to_vec();
    junk.extend([0, 0, 0, 0xFF, 0xD9]);
    assert_eq!(
        decode(&junk, &DecodeOptions::default()).unwrap().pixels,
        decode(&jpeg, &DecodeOptions::default()).unwrap().pixels
    );
}

#[test]
fn empty_and_unknown_inputs_are_unknown_format() {
    for bytes in [
        &b""[..],
        b"hello, world",
        b"\0\0\0\0\0\0\0\0",
        b"%PDF-1.7\n",
    ] {
        match decode(bytes, &DecodeOptions::default()) {
            Err(Error::UnknownFormat { magic }) => assert!(!magic.is_empty()),
            other => panic!("{bytes:?}: {other:?}"),
        }
    }
}

#[test]
fn input_over_the_byte_limit_is_too_large() {
    let (_, _, png) = samples().swap_remove(2);
    let mut options = DecodeOptions::default();
    options.limits.max_input_bytes = png.len() as u64 - 1;
    assert_too_large(&png, &options, "input size");
}

#[test]
fn decode_file_reports_missing_files() {
    let path = Path::new("/nonexistent/hashmatch/upload.jpg");
    match decode_file(path, &DecodeOptions::default()) {
        Err(Error::Io { path: p, .. }) => assert_eq!(p, path),
        other => panic!("{other:?}"),
    }
}

// ---- EXIF orientation and reduced decoding -----------------------------------------------------

#[test]
fn exif_orientation_is_applied_only_when_asked() {
    let Some(shared) = common::shared_dir("exif_orientation_is_applied_only_when_asked") else {
        return;
    };
    let path = shared.join("vectors/pdq/reg-test-input/exif-rotn/exif-rotn-6.jpg");
    let ignore = decode_file(&path, &DecodeOptions::default()).unwrap();
    let apply = DecodeOptions {
        exif: ExifOrientation::Apply,
        ..DecodeOptions::default()
    };
    let rotated = decode_file(&path, &apply).unwrap();
    let (w, h) = (ignore.pixels.width(), ignore.pixels.height());
    assert_eq!((w, h), (4032, 3024));
    assert_eq!((rotated.pixels.width(), rotated.pixels.height()), (h, w));
    // Orientation 6 = rotate 90 clockwise: the stored bottom-left pixel becomes the top-left.
    let bpp = 3;
    let stored_bottom_left = &ignore.pixels.as_bytes()[((h - 1) * w) as usize * bpp..][..bpp];
    assert_eq!(&rotated.pixels.as_bytes()[..bpp], stored_bottom_left);
    // A file with orientation 1 is unchanged by `Apply`.
    let upright = shared.join("vectors/pdq/reg-test-input/exif-rotn/exif-rotn-1.jpg");
    assert_eq!(
        decode_file(&upright, &apply).unwrap().pixels,
        decode_file(&upright, &DecodeOptions::default())
            .unwrap()
            .pixels
    );
}

#[test]
fn exif_orientation_applies_to_png_too() {
    // `image`'s path reads eXIf chunks; a PNG without one is unchanged.
    let (_, _, png) = samples().swap_remove(2);
    let apply = DecodeOptions {
        exif: ExifOrientation::Apply,
        ..DecodeOptions::default()
    };
    let d = decode(&png, &apply).unwrap();
    assert_eq!((d.pixels.width(), d.pixels.height()), (W, H));
}

#[cfg(feature = "turbojpeg")]
#[test]
fn decode_reduced_picks_the_smallest_sufficient_jpeg_scale() {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(1000, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    }));
    let jpeg = encode(&img, image::ImageFormat::Jpeg);
    let options = DecodeOptions::default();
    for (min_side, want) in [
        (0, (125, 75)),
        (75, (125, 75)),
        (76, (250, 150)),
        (150, (250, 150)),
        (151, (500, 300)),
        (300, (500, 300)),
        (301, (1000, 600)),
        (5000, (1000, 600)),
    ] {
        let d = decode_reduced(&jpeg, &options, min_side).unwrap();
        assert_eq!(
            (d.pixels.width(), d.pixels.height()),
            want,
            "min_side {min_side}"
        );
    }
    // Full scale is exactly `decode`.
    assert_eq!(
        decode_reduced(&jpeg, &options, 5000).unwrap().pixels,
        decode(&jpeg, &options).unwrap().pixels
    );
    // Limits apply to the full-size header.
    let mut small = DecodeOptions::default();
    small.limits.max_width = 999;
    assert!(matches!(
        decode_reduced(&jpeg, &small, 10),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn decode_reduced_leaves_other_formats_full_size() {
    for (name, format, bytes) in samples() {
        let d = decode_reduced(&bytes, &DecodeOptions::default(), 1).unwrap();
        let full = decode(&bytes, &DecodeOptions::default()).unwrap();
        if format == ImageFormat::Jpeg && cfg!(feature = "turbojpeg") {
            // 48x40 at 1/8.
            assert_eq!((d.pixels.width(), d.pixels.height()), (6, 5), "{name}");
        } else {
            assert_eq!(d.pixels, full.pixels, "{name}");
        }
    }
}

// ---- Pixels against Pillow ---------------------------------------------------------------------

/// One Pillow decode: its mode, size, and pixels as `RGB` (or as `L` for grey modes).
struct PillowDecode {
    mode: String,
    width: u32,
    height: u32,
    /// `convert("L")` for grey modes (`L`, `LA`, `1`, `I;16`), `convert("RGB")` otherwise.
    pixels: Vec<u8>,
    grey: bool,
}

/// Decodes `requests` (path, reduce factor for `Image.draft`, 1 = none) with Pillow in one
/// Python process (`tag` names its scratch directory).
fn pillow_decode(python: &Path, tag: &str, requests: &[(PathBuf, u32)]) -> Vec<PillowDecode> {
    let dir = std::env::temp_dir().join(format!("hashmatch-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("list.txt");
    let lines: Vec<String> = requests
        .iter()
        .map(|(p, reduce)| format!("{reduce}\t{}", p.display()))
        .collect();
    std::fs::write(&list, lines.join("\n")).unwrap();
    let script = r#"
import sys
from PIL import Image
out = sys.argv[2]
for i, line in enumerate(open(sys.argv[1]).read().split("\n")):
    reduce, path = line.split("\t", 1)
    reduce = int(reduce)
    im = Image.open(path)
    if reduce > 1:
        im.draft("RGB", (max(1, im.size[0] // reduce), max(1, im.size[1] // reduce)))
    mode = im.mode
    grey = mode in ("L", "LA", "1", "I;16")
    im = im.convert("L" if grey else "RGB")
    open(f"{out}/{i}.raw", "wb").write(im.tobytes())
    print(mode, im.size[0], im.size[1], int(grey), flush=True)
"#;
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&list)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let decodes = stdout
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(' ').collect();
            let raw = dir.join(format!("{i}.raw"));
            let pixels = std::fs::read(&raw).unwrap();
            std::fs::remove_file(&raw).unwrap();
            PillowDecode {
                mode: f[0].to_string(),
                width: f[1].parse().unwrap(),
                height: f[2].parse().unwrap(),
                pixels,
                grey: f[3] == "1",
            }
        })
        .collect::<Vec<_>>();
    assert_eq!(decodes.len(), requests.len());
    std::fs::remove_dir_all(&dir).ok();
    decodes
}

/// Our pixels in Pillow's layout: RGB with alpha dropped, or grey.
fn comparable(d: &Decoded) -> Vec<u8> {
    match d.pixels.format() {
        PixelFormat::Rgba8 => d
            .pixels
            .as_bytes()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        _ => d.pixels.as_bytes().to_vec(),
    }
}

fn same_pixels(ours: &Decoded, pillow: &PillowDecode) -> bool {
    let grey = ours.pixels.format() == PixelFormat::Grey8;
    grey == pillow.grey
        && (ours.pixels.width(), ours.pixels.height()) == (pillow.width, pillow.height)
        && comparable(ours) == pillow.pixels
}

fn files_with(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_with(&path, extensions, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
}

/// Writes extra files Pillow is compared on: a greyscale JPEG (no vector has one), and GIF, BMP,
/// TIFF and 16-bit PNGs (no vector is in those formats).
fn generated_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let rgb = image::DynamicImage::ImageRgb8(picture());
    let rgb16 = image::DynamicImage::ImageRgb16(image::ImageBuffer::from_fn(W, H, |x, y| {
        image::Rgb([
            (x * 1361) as u16,
            (y * 1601) as u16,
            ((x * y * 37) % 65536) as u16,
        ])
    }));
    let grey16 = image::DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(W, H, |x, y| {
        image::Luma([((x * 1361 + y * 977) % 65536) as u16])
    }));
    let files = [
        (
            "grey.jpg",
            encode(&rgb.grayscale(), image::ImageFormat::Jpeg),
        ),
        ("rgb.gif", encode(&rgb, image::ImageFormat::Gif)),
        ("rgb.bmp", encode(&rgb, image::ImageFormat::Bmp)),
        ("rgb.tiff", encode(&rgb, image::ImageFormat::Tiff)),
        ("rgb16.png", encode(&rgb16, image::ImageFormat::Png)),
        ("grey16.png", encode(&grey16, image::ImageFormat::Png)),
    ];
    files
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

/// JPEG through libjpeg-turbo is pixel-identical to Pillow (hence HMA) on every JPEG vector
/// (progressive, CMYK, 4:4:4 included), a generated greyscale JPEG and a sample of the dev
/// corpus; and `decode_reduced` equals Pillow's `draft` at 1/2, 1/4, 1/8.
#[cfg(feature = "turbojpeg")]
#[test]
fn jpeg_pixels_equal_pillow() {
    let name = "jpeg_pixels_equal_pillow";
    let Some(shared) = common::shared_dir(name) else {
        return;
    };
    let Some(python) = common::oracle_python(name) else {
        return;
    };
    let mut jpegs = Vec::new();
    files_with(&shared.join("vectors/pdq"), &["jpg", "jpeg"], &mut jpegs);
    let vectors = jpegs.len();
    assert!(vectors >= 38, "{vectors} JPEG vectors");
    assert!(jpegs
        .iter()
        .any(|p| p.ends_with("misc-images/modes/CMYK.jpg")));
    let mut corpus = Vec::new();
    files_with(&shared.join("corpus/dev/originals"), &["jpg"], &mut corpus);
    jpegs.extend(corpus.into_iter().step_by(10));
    let tmp = std::env::temp_dir().join(format!("hashmatch-decode-gen-{}", std::process::id()));
    jpegs.extend(
        generated_files(&tmp)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "jpg")),
    );

    let mut requests: Vec<(PathBuf, u32)> = jpegs.iter().map(|p| (p.clone(), 1)).collect();
    // Reduced decoding on the bridge edits and a few corpus files.
    let reduced: Vec<PathBuf> = jpegs
        .iter()
        .filter(|p| {
            p.to_string_lossy().contains("bridge-mods") || p.starts_with(shared.join("corpus"))
        })
        .step_by(3)
        .cloned()
        .collect();
    for factor in [2, 4, 8] {
        requests.extend(reduced.iter().map(|p| (p.clone(), factor)));
    }
    let pillow = pillow_decode(&python, name, &requests);

    let options = DecodeOptions::default();
    let mut mismatches = Vec::new();
    let mut cmyk_checked = false;
    for ((path, factor), want) in requests.iter().zip(&pillow) {
        let bytes = std::fs::read(path).unwrap();
        let ours = if *factor == 1 {
            decode(&bytes, &options)
        } else {
            // The smallest scale whose short side reaches Pillow's is Pillow's own scale.
            decode_reduced(&bytes, &options, want.width.min(want.height))
        }
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if want.mode == "CMYK" {
            cmyk_checked = true;
        }
        if !same_pixels(&ours, want) {
            mismatches.push(format!(
                "{} (1/{factor}, Pillow mode {})",
                path.display(),
                want.mode
            ));
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
    eprintln!(
        "{name}: {} decodes compared ({} files at full size, {vectors} vectors, {} reduced), {} mismatches",
        requests.len(),
        jpegs.len(),
        reduced.len() * 3,
        mismatches.len()
    );
    assert!(cmyk_checked);
    assert!(mismatches.is_empty(), "differ from Pillow: {mismatches:#?}");
}

/// PNG, WebP, GIF, BMP and TIFF: equal to Pillow wherever our convention is Pillow's (alpha
/// dropped, palette to colours, 1-bit and grey+alpha to grey, 16-bit RGB to the high byte).
/// Excluded: 16-bit grey (Pillow clamps `I;16` to 255, we take `v >> 8`; neither is the C++
/// reference, which keeps the low byte), checked here to really differ.
#[test]
fn other_formats_equal_pillow() {
    let name = "other_formats_equal_pillow";
    let Some(shared) = common::shared_dir(name) else {
        return;
    };
    let Some(python) = common::oracle_python(name) else {
        return;
    };
    let mut files = Vec::new();
    files_with(
        &shared.join("vectors/pdq"),
        &["png", "webp", "gif", "bmp", "tif", "tiff"],
        &mut files,
    );
    // The core and random vectors are plain 8-bit RGB/L PNGs already checked by tests/reference.rs.
    files.retain(|p| {
        let s = p.to_string_lossy();
        !s.contains("/core/") && !s.contains("/random/")
    });
    let tmp = std::env::temp_dir().join(format!("hashmatch-decode-gen2-{}", std::process::id()));
    files.extend(
        generated_files(&tmp)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e != "jpg")),
    );
    let requests: Vec<(PathBuf, u32)> = files.iter().map(|p| (p.clone(), 1)).collect();
    let pillow = pillow_decode(&python, name, &requests);
    let options = DecodeOptions::default();
    let (mut equal, mut excluded, mut mismatches) = (0, 0, Vec::new());
    for (path, want) in files.iter().zip(&pillow) {
        let ours =
            decode_file(path, &options).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let same = same_pixels(&ours, want);
        if want.mode == "I;16" {
            assert!(!same, "{}: exclusion no longer needed", path.display());
            excluded += 1;
        } else if same {
            equal += 1;
        } else {
            mismatches.push(format!("{} (Pillow mode {})", path.display(), want.mode));
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
    eprintln!(
        "{name}: {} files, {equal} pixel-identical, {excluded} excluded (16-bit grey)",
        files.len()
    );
    assert!(excluded >= 2, "both 16-bit grey files seen");
    assert!(mismatches.is_empty(), "differ from Pillow: {mismatches:#?}");
}

/// `DecodeLimits` documented defaults.
#[test]
fn default_limits() {
    let l = DecodeLimits::default();
    assert_eq!((l.max_width, l.max_height), (32768, 32768));
    assert_eq!(l.max_pixels, 128_000_000);
}
