//! The C API (`src/ffi`, `include/hashmatch.h`), from both sides.
//!
//! The Rust tests call every `extern "C"` function directly: NULL for each pointer argument,
//! zero lengths, garbage and truncated images, a buffer too small, `_free(NULL)` twice, every
//! status named, outputs left alone on failure. `c_program_passes` then compiles
//! `tests/c/test_hashmatch.c` with `cc -std=c11 -Wall -Wextra -Werror` against the static
//! library cargo just built (`target/<profile>/libhashmatch.a`) and runs it, threads included;
//! `header_compiles_as_cpp` compiles the header as C++17.

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::{null, null_mut};

use hashmatch::ffi::hash::*;
use hashmatch::ffi::hasher::*;
use hashmatch::ffi::matcher::*;
use hashmatch::ffi::*;

const A_HEX: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const B_HEX: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("ffi")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn c_path(p: &Path) -> CString {
    c(p.to_str().unwrap())
}

fn new_error() -> hm_error {
    hm_error {
        code: -7,
        message: [b'?' as c_char; HM_ERROR_MESSAGE_SIZE],
    }
}

fn message(err: &hm_error) -> String {
    // SAFETY: the library NUL-terminates the message.
    unsafe { CStr::from_ptr(err.message.as_ptr()) }
        .to_str()
        .unwrap()
        .to_string()
}

fn text(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: the library returns NUL-terminated static strings.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}

/// Asserts a call failed with `status` and filled `err` in to match.
#[track_caller]
fn fails(status: hm_status, got: hm_status, err: &hm_error) {
    assert_eq!(got, status, "status (message: {:?})", message(err));
    assert_eq!(err.code, status);
    assert!(!message(err).is_empty());
}

#[track_caller]
fn ok(got: hm_status, err: &hm_error) {
    assert_eq!(got, HM_OK, "{}", message(err));
    assert_eq!(err.code, HM_OK);
    assert_eq!(message(err), "");
}

fn hash(hex: &str) -> hm_pdq_hash {
    let mut out = hm_pdq_hash::default();
    // SAFETY: valid pointers.
    let status = unsafe { hm_pdq_hash_from_hex(c(hex).as_ptr(), &mut out, null_mut()) };
    assert_eq!(status, HM_OK);
    out
}

const ALL_STATUSES: [hm_status; 26] = [
    HM_OK,
    HM_NULL_ARGUMENT,
    HM_INVALID_ARGUMENT,
    HM_BUFFER_TOO_SMALL,
    HM_PANIC,
    HM_INVALID_HASH,
    HM_INVALID_PIXELS,
    HM_UNKNOWN_FORMAT,
    HM_DECODE_FAILED,
    HM_DECODER_CRASHED,
    HM_TOO_LARGE,
    HM_DECODER_LIMIT,
    HM_TOO_SMALL,
    HM_LOW_QUALITY,
    HM_LIST_LINE,
    HM_MATCHER,
    HM_UNKNOWN_LIST,
    HM_LIST_EXISTS,
    HM_UNKNOWN_ENTRY,
    HM_ENTRY_EXISTS,
    HM_NOT_A_SNAPSHOT,
    HM_SNAPSHOT_VERSION,
    HM_SNAPSHOT_TRUNCATED,
    HM_SNAPSHOT_CHECKSUM,
    HM_SNAPSHOT_MALFORMED,
    HM_IO,
];

#[test]
fn every_status_has_its_own_message_and_unknown_ones_are_named() {
    let mut seen = std::collections::HashSet::new();
    for status in ALL_STATUSES {
        let s = text(hm_status_str(status));
        assert_ne!(s, "unknown status", "{status}");
        assert!(seen.insert(s), "two statuses share a message");
    }
    for status in [-1, 5, 9, 25, 41, 1000, i32::MIN, i32::MAX] {
        assert_eq!(text(hm_status_str(status)), "unknown status");
    }
    // The numbers are the API: they never change.
    assert_eq!(
        ALL_STATUSES,
        [
            0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 30, 31, 32,
            33, 34, 40
        ]
    );
    assert_eq!(text(hm_version()), env!("CARGO_PKG_VERSION"));
}

#[test]
fn messages_are_the_librarys_display_text() {
    use hashmatch::Error;
    // Through the exports that produce each family of errors; the C test covers the snapshot
    // ones on real files.
    let mut err = new_error();
    let mut out = hm_pdq_hash::default();
    // SAFETY: valid pointers throughout.
    unsafe {
        fails(
            HM_INVALID_HASH,
            hm_pdq_hash_from_hex(c("zz").as_ptr(), &mut out, &mut err),
            &err,
        );
    }
    assert!(message(&err).contains("invalid hash"));
    // The message is the library's own Display text.
    let lib: Error = "zz".parse::<hashmatch::Hash256>().unwrap_err();
    assert_eq!(message(&err), lib.to_string());
}

#[test]
fn hex_round_trip_distance_and_buffer_too_small() {
    let a = hash(A_HEX);
    let b = hash(&B_HEX.to_uppercase());
    assert_eq!(a.bytes[0], 0xf8);
    assert_eq!(a.bytes[31], 0x22);
    assert_eq!(hm_pdq_hash_distance(a, b), 6);
    assert_eq!(hm_pdq_hash_distance(a, a), 0);
    let mut err = new_error();
    let mut buf = [b'x' as c_char; HM_PDQ_HEX_SIZE];
    // SAFETY: valid pointers and sizes, or NULLs the functions must refuse.
    unsafe {
        ok(
            hm_pdq_hash_to_hex(&b, buf.as_mut_ptr(), buf.len(), &mut err),
            &err,
        );
        assert_eq!(text(buf.as_ptr()), B_HEX);
        let mut small = [b'x' as c_char; HM_PDQ_HEX_SIZE];
        for size in [0, 1, 64] {
            fails(
                HM_BUFFER_TOO_SMALL,
                hm_pdq_hash_to_hex(&a, small.as_mut_ptr(), size, &mut err),
                &err,
            );
            assert!(message(&err).contains("65"));
        }
        assert!(small.iter().all(|&ch| ch == b'x' as c_char));
        fails(
            HM_NULL_ARGUMENT,
            hm_pdq_hash_to_hex(null(), buf.as_mut_ptr(), buf.len(), &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_pdq_hash_to_hex(&a, null_mut(), 65, &mut err),
            &err,
        );
        assert_eq!(
            hm_pdq_hash_to_hex(&a, null_mut(), 65, null_mut()),
            HM_NULL_ARGUMENT
        );

        let mut untouched = hm_pdq_hash { bytes: [0xab; 32] };
        for bad in ["", "f8f8", &A_HEX.replace('f', "g"), &format!("{A_HEX}0")] {
            fails(
                HM_INVALID_HASH,
                hm_pdq_hash_from_hex(c(bad).as_ptr(), &mut untouched, &mut err),
                &err,
            );
        }
        let not_utf8 = [0xffu8, 0xfe, 0];
        fails(
            HM_INVALID_ARGUMENT,
            hm_pdq_hash_from_hex(not_utf8.as_ptr().cast(), &mut untouched, &mut err),
            &err,
        );
        assert_eq!(untouched.bytes, [0xab; 32]);
        fails(
            HM_NULL_ARGUMENT,
            hm_pdq_hash_from_hex(null(), &mut untouched, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_pdq_hash_from_hex(c(A_HEX).as_ptr(), null_mut(), &mut err),
            &err,
        );
    }
}

#[test]
fn orientation_names_are_the_libraries() {
    for (i, d) in hashmatch::pdq::Dihedral::ALL.iter().enumerate() {
        assert_eq!(text(hm_orientation_str(i as hm_orientation)), d.name());
    }
    assert_eq!(HM_ORIENTATION_ROTATE90, 1);
    assert_eq!(HM_ORIENTATION_FLIP_MINUS1, 7);
    for bad in [-1, 8, i32::MAX] {
        assert_eq!(text(hm_orientation_str(bad)), "unknown");
    }
}

/// A hasher with `config`, freed by the caller.
fn hasher(config: Option<&hm_hasher_config>) -> *mut hm_hasher {
    let mut h = null_mut();
    let mut err = new_error();
    // SAFETY: valid pointers.
    unsafe {
        ok(
            hm_hasher_new(config.map_or(null(), |c| c as *const _), &mut h, &mut err),
            &err,
        )
    };
    assert!(!h.is_null());
    h
}

fn textured_rgb(w: u32, h: u32) -> Vec<u8> {
    (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                (x * y % 251) as u8,
            ]
        })
        .collect()
}

#[test]
fn hasher_config_round_trips_and_bad_values_are_refused() {
    let def = hm_hasher_config_default();
    let rust = hashmatch::HasherConfig::default();
    assert_eq!(def.quality_floor, rust.quality_floor);
    assert_eq!(def.max_pixels, rust.decode.limits.max_pixels);
    assert_eq!(def.resize_policy, HM_RESIZE_NATIVE);
    let mut err = new_error();
    for (resize, exif, luma) in [
        (HM_RESIZE_FAST, HM_EXIF_APPLY, HM_LUMA_PIP_COMPAT),
        (HM_RESIZE_REFERENCE512, HM_EXIF_IGNORE, HM_LUMA_REFERENCE),
    ] {
        let config = hm_hasher_config {
            resize_policy: resize,
            exif_policy: exif,
            luma_mode: luma,
            quality_floor: 7,
            max_input_bytes: 1,
            max_width: 2,
            max_height: 3,
            max_pixels: 4,
            max_alloc_bytes: 5,
        };
        let h = hasher(Some(&config));
        let mut got = def;
        // SAFETY: valid pointers.
        unsafe {
            ok(hm_hasher_config_get(h, &mut got, &mut err), &err);
            hm_hasher_free(h);
        }
        assert_eq!(got, config);
    }
    let mut h = null_mut();
    // SAFETY: valid pointers or NULLs the functions must refuse.
    unsafe {
        for bad in [
            hm_hasher_config {
                resize_policy: 3,
                ..def
            },
            hm_hasher_config {
                exif_policy: 2,
                ..def
            },
            hm_hasher_config {
                luma_mode: -1,
                ..def
            },
        ] {
            fails(
                HM_INVALID_ARGUMENT,
                hm_hasher_new(&bad, &mut h, &mut err),
                &err,
            );
            assert!(h.is_null());
        }
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_new(&def, null_mut(), &mut err),
            &err,
        );
        let mut got = def;
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_config_get(null(), &mut got, &mut err),
            &err,
        );
        let h = hasher(None);
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_config_get(h, null_mut(), &mut err),
            &err,
        );
        hm_hasher_free(h);
        hm_hasher_free(null_mut());
        hm_hasher_free(null_mut());
    }
}

#[test]
fn hashing_bytes_files_and_pixels_agrees_with_the_rust_api() {
    let upload = root().join("examples/uploads/landscape-2.jpg");
    let bytes = std::fs::read(&upload).unwrap();
    let rust = hashmatch::Hasher::default();
    let expected = rust.hash_bytes(&bytes).unwrap();
    let expected_dihedral = rust.dihedral_bytes(&bytes).unwrap();
    let h = hasher(None);
    let mut err = new_error();
    let mut out = hm_pdq_result::default();
    let mut dih = hm_pdq_dihedral::default();
    let path = c_path(&upload);
    // SAFETY: valid pointers and lengths.
    unsafe {
        ok(
            hm_hasher_hash_bytes(h, bytes.as_ptr(), bytes.len(), &mut out, &mut err),
            &err,
        );
        assert_eq!(out, hm_pdq_result::from(expected));
        out = hm_pdq_result::default();
        ok(
            hm_hasher_hash_file(h, path.as_ptr(), &mut out, &mut err),
            &err,
        );
        assert_eq!(out, hm_pdq_result::from(expected));
        ok(
            hm_hasher_dihedral_bytes(h, bytes.as_ptr(), bytes.len(), &mut dih, &mut err),
            &err,
        );
        assert_eq!(dih, hm_pdq_dihedral::from(expected_dihedral));
        dih = hm_pdq_dihedral::default();
        ok(
            hm_hasher_dihedral_file(h, path.as_ptr(), &mut dih, &mut err),
            &err,
        );
        assert_eq!(dih, hm_pdq_dihedral::from(expected_dihedral));
    }

    let (w, ht) = (200u32, 120u32);
    let rgb = textured_rgb(w, ht);
    let view = hashmatch::PixelView::packed(&rgb, w, ht, hashmatch::PixelFormat::Rgb8).unwrap();
    let expected = rust.hash_pixels(&view).unwrap();
    let expected_dihedral = rust.dihedral_pixels(&view).unwrap();
    // The same image with 5 bytes of padding after each row.
    let stride = 3 * w as usize + 5;
    let mut padded = vec![0xeeu8; stride * ht as usize];
    for (y, row) in rgb.chunks(3 * w as usize).enumerate() {
        padded[y * stride..y * stride + row.len()].copy_from_slice(row);
    }
    // SAFETY: valid pointers and lengths.
    unsafe {
        for (data, len, stride) in [
            (rgb.as_ptr(), rgb.len(), 0),
            (rgb.as_ptr(), rgb.len(), 3 * w as usize),
            (padded.as_ptr(), padded.len(), stride),
        ] {
            out = hm_pdq_result::default();
            ok(
                hm_hasher_hash_pixels(
                    h,
                    data,
                    len,
                    w,
                    ht,
                    stride,
                    HM_PIXEL_RGB8,
                    &mut out,
                    &mut err,
                ),
                &err,
            );
            assert_eq!(out, hm_pdq_result::from(expected));
            ok(
                hm_hasher_dihedral_pixels(
                    h,
                    data,
                    len,
                    w,
                    ht,
                    stride,
                    HM_PIXEL_RGB8,
                    &mut dih,
                    &mut err,
                ),
                &err,
            );
            assert_eq!(dih, hm_pdq_dihedral::from(expected_dihedral));
        }
        // Grey and RGBA layouts are accepted (the same bytes read differently).
        for (format, width) in [(HM_PIXEL_GREY8, 3 * w), (HM_PIXEL_RGBA8, 3 * w / 4)] {
            ok(
                hm_hasher_hash_pixels(
                    h,
                    rgb.as_ptr(),
                    rgb.len(),
                    width,
                    ht,
                    0,
                    format,
                    &mut out,
                    &mut err,
                ),
                &err,
            );
        }
        hm_hasher_free(h);
    }
}

#[test]
fn garbage_truncated_empty_and_missing_uploads_fail_without_output() {
    let bytes = std::fs::read(root().join("examples/uploads/landscape-2.jpg")).unwrap();
    let png = {
        let img =
            image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 9]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    };
    let h = hasher(None);
    let mut err = new_error();
    let sentinel = hm_pdq_result {
        hash: hm_pdq_hash { bytes: [0x5a; 32] },
        quality: 0x5a,
    };
    let mut out = sentinel;
    let mut dih = hm_pdq_dihedral::default();
    let missing = c_path(&scratch("missing").join("no-such-file.jpg"));
    // SAFETY: valid pointers and lengths, or NULLs the functions must refuse.
    unsafe {
        let cases: [(&[u8], hm_status); 6] = [
            (b"not an image at all", HM_UNKNOWN_FORMAT),
            (&bytes[..bytes.len() / 3], HM_DECODE_FAILED),
            (&bytes[..4], HM_DECODE_FAILED),
            (&png[..png.len() / 2], HM_DECODE_FAILED),
            (&[0u8; 100], HM_UNKNOWN_FORMAT),
            (&[], HM_UNKNOWN_FORMAT),
        ];
        for (data, status) in cases {
            fails(
                status,
                hm_hasher_hash_bytes(h, data.as_ptr(), data.len(), &mut out, &mut err),
                &err,
            );
            fails(
                status,
                hm_hasher_dihedral_bytes(h, data.as_ptr(), data.len(), &mut dih, &mut err),
                &err,
            );
        }
        // Zero length with a NULL pointer is an empty upload, not a NULL argument.
        fails(
            HM_UNKNOWN_FORMAT,
            hm_hasher_hash_bytes(h, null(), 0, &mut out, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_hash_bytes(h, null(), 1, &mut out, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_hash_bytes(null(), bytes.as_ptr(), bytes.len(), &mut out, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_hash_bytes(h, bytes.as_ptr(), bytes.len(), null_mut(), &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_dihedral_bytes(h, null(), 1, &mut dih, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_dihedral_bytes(null(), bytes.as_ptr(), bytes.len(), &mut dih, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_dihedral_bytes(h, bytes.as_ptr(), bytes.len(), null_mut(), &mut err),
            &err,
        );
        fails(
            HM_IO,
            hm_hasher_hash_file(h, missing.as_ptr(), &mut out, &mut err),
            &err,
        );
        assert!(message(&err).contains("no-such-file.jpg"));
        fails(
            HM_IO,
            hm_hasher_dihedral_file(h, missing.as_ptr(), &mut dih, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_hash_file(h, null(), &mut out, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_hash_file(null(), missing.as_ptr(), &mut out, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_hash_file(h, missing.as_ptr(), null_mut(), &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_dihedral_file(h, null(), &mut dih, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_dihedral_file(null(), missing.as_ptr(), &mut dih, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_dihedral_file(h, missing.as_ptr(), null_mut(), &mut err),
            &err,
        );

        // Limits from the configuration.
        let tight = hm_hasher_config {
            max_input_bytes: 100,
            ..hm_hasher_config_default()
        };
        let small = hasher(Some(&tight));
        fails(
            HM_TOO_LARGE,
            hm_hasher_hash_bytes(small, bytes.as_ptr(), bytes.len(), &mut out, &mut err),
            &err,
        );
        hm_hasher_free(small);
        let narrow = hm_hasher_config {
            max_width: 10,
            ..hm_hasher_config_default()
        };
        let small = hasher(Some(&narrow));
        fails(
            HM_TOO_LARGE,
            hm_hasher_hash_bytes(small, png.as_ptr(), png.len(), &mut out, &mut err),
            &err,
        );
        hm_hasher_free(small);
        hm_hasher_free(h);
    }
    assert_eq!(out, sentinel);
}

#[test]
fn bad_pixel_buffers_fail_with_their_status() {
    let h = hasher(None);
    let mut err = new_error();
    let (w, ht) = (40u32, 30u32);
    let rgb = textured_rgb(w, ht);
    let flat = vec![128u8; 64 * 64];
    let sentinel = hm_pdq_result {
        hash: hm_pdq_hash { bytes: [7; 32] },
        quality: 7,
    };
    let mut out = sentinel;
    let mut dih = hm_pdq_dihedral::default();
    let n = rgb.len();
    let p = rgb.as_ptr();
    // SAFETY: each buffer pointer is valid for the length passed, or NULL.
    unsafe {
        let cases: [(
            *const u8,
            usize,
            u32,
            u32,
            usize,
            hm_pixel_format,
            hm_status,
        ); 10] = [
            (p, n - 1, w, ht, 0, HM_PIXEL_RGB8, HM_INVALID_PIXELS),
            (
                p,
                n,
                w,
                ht,
                3 * w as usize - 1,
                HM_PIXEL_RGB8,
                HM_INVALID_PIXELS,
            ),
            (p, n, 0, ht, 0, HM_PIXEL_RGB8, HM_INVALID_PIXELS),
            (p, n, w, 0, 0, HM_PIXEL_RGB8, HM_INVALID_PIXELS),
            (null(), 0, w, ht, 0, HM_PIXEL_RGB8, HM_INVALID_PIXELS),
            (null(), n, w, ht, 0, HM_PIXEL_RGB8, HM_NULL_ARGUMENT),
            (p, n, w, ht, 0, 0, HM_INVALID_ARGUMENT),
            (p, n, w, ht, 0, 4, HM_INVALID_ARGUMENT),
            (p, 12, 2, 2, 0, HM_PIXEL_RGB8, HM_TOO_SMALL),
            (
                flat.as_ptr(),
                flat.len(),
                64,
                64,
                0,
                HM_PIXEL_GREY8,
                HM_LOW_QUALITY,
            ),
        ];
        for (data, len, width, height, stride, format, status) in cases {
            fails(
                status,
                hm_hasher_hash_pixels(
                    h, data, len, width, height, stride, format, &mut out, &mut err,
                ),
                &err,
            );
            fails(
                status,
                hm_hasher_dihedral_pixels(
                    h, data, len, width, height, stride, format, &mut dih, &mut err,
                ),
                &err,
            );
        }
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_hash_pixels(null(), p, n, w, ht, 0, HM_PIXEL_RGB8, &mut out, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_hash_pixels(h, p, n, w, ht, 0, HM_PIXEL_RGB8, null_mut(), &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_dihedral_pixels(null(), p, n, w, ht, 0, HM_PIXEL_RGB8, &mut dih, &mut err),
            &err,
        );
        fails(
            HM_NULL_ARGUMENT,
            hm_hasher_dihedral_pixels(h, p, n, w, ht, 0, HM_PIXEL_RGB8, null_mut(), &mut err),
            &err,
        );
        // The floor is the hasher's: 0 accepts the flat image.
        let lenient = hasher(Some(&hm_hasher_config {
            quality_floor: 0,
            ..hm_hasher_config_default()
        }));
        ok(
            hm_hasher_hash_pixels(
                lenient,
                flat.as_ptr(),
                flat.len(),
                64,
                64,
                0,
                HM_PIXEL_GREY8,
                &mut out,
                &mut err,
            ),
            &err,
        );
        assert_eq!(out.quality, 0);
        hm_hasher_free(lenient);
        hm_hasher_free(h);
    }
}

/// A matcher with list "demo" (the two entries of examples/demo-list.csv) and an empty "own".
fn demo_matcher(kind: hm_index_kind) -> *mut hm_matcher {
    let mut m = null_mut();
    let mut err = new_error();
    let label_a = c("demo case A");
    let label_b = c("demo case B");
    let entries = [
        hm_entry {
            hash: hash("a688d466ebb51b9d7cc0c227d92bc3dd3e142cd29da6e538524d5a435b5295a5"),
            id: 1001,
            label: label_a.as_ptr(),
        },
        hm_entry {
            hash: hash("055abba4aaed647e3817378a53ea5a7264b8a50f9d45bd55e57544490c0eeaaa"),
            id: 1002,
            label: label_b.as_ptr(),
        },
    ];
    let mut added = 0;
    // SAFETY: valid pointers.
    unsafe {
        ok(hm_matcher_new(kind, &mut m, &mut err), &err);
        ok(
            hm_matcher_add_list(m, c("demo").as_ptr(), 31, true, &mut err),
            &err,
        );
        ok(
            hm_matcher_add_list(m, c("own").as_ptr(), 31, true, &mut err),
            &err,
        );
        ok(
            hm_matcher_insert_many(
                m,
                c("demo").as_ptr(),
                entries.as_ptr(),
                entries.len(),
                &mut added,
                &mut err,
            ),
            &err,
        );
    }
    assert_eq!(added, 2);
    m
}

/// The matches of a results object as owned values, then frees it.
fn collect(matches: *mut hm_matches) -> Vec<(usize, String, u64, Option<String>, u32, String)> {
    assert!(!matches.is_null());
    // SAFETY: a live results object, freed once at the end.
    unsafe {
        let out = (0..hm_matches_len(matches))
            .map(|i| {
                let m = &*hm_matches_get(matches, i);
                (
                    m.query,
                    text(m.list),
                    m.entry_id,
                    (!m.label.is_null()).then(|| text(m.label)),
                    m.distance,
                    text(hm_orientation_str(m.orientation)),
                )
            })
            .collect();
        assert!(hm_matches_get(matches, hm_matches_len(matches)).is_null());
        hm_matches_free(matches);
        out
    }
}

fn upload(name: &str) -> hashmatch::pdq::PdqHash {
    hashmatch::Hasher::default()
        .hash_file(root().join("examples/uploads").join(name))
        .unwrap()
}

#[test]
fn queries_report_list_entry_label_distance_and_orientation() {
    let known = hm_pdq_result::from(upload("landscape-2.jpg"));
    let other = hm_pdq_result::from(upload("landscape-1.jpg"));
    let rotated = hm_pdq_dihedral::from(
        hashmatch::Hasher::default()
            .dihedral_file(root().join("examples/uploads/reupload-rotated.jpg"))
            .unwrap(),
    );
    let mut err = new_error();
    for kind in [
        HM_INDEX_AUTO,
        HM_INDEX_LINEAR,
        HM_INDEX_BKTREE,
        HM_INDEX_MIH,
    ] {
        let m = demo_matcher(kind);
        let mut out = null_mut();
        let a = |d| {
            (
                0,
                "demo".to_string(),
                1001,
                Some("demo case A".to_string()),
                d,
                "orig".to_string(),
            )
        };
        // SAFETY: valid pointers.
        unsafe {
            let mut got = -1;
            ok(hm_matcher_index_kind(m, &mut got, &mut err), &err);
            assert_eq!(
                got,
                if kind == HM_INDEX_AUTO {
                    HM_INDEX_LINEAR
                } else {
                    kind
                }
            );
            // Fold the demo entries into the index, so the queries below run against it.
            let mut rebuilt = false;
            ok(hm_matcher_compact(m, &mut rebuilt, &mut err), &err);
            assert!(rebuilt, "the demo entries were waiting to be indexed");
            ok(hm_matcher_compact(m, &mut rebuilt, &mut err), &err);
            assert!(!rebuilt, "nothing changed since");
            ok(hm_matcher_compact(m, null_mut(), &mut err), &err);

            ok(
                hm_matcher_query(m, &known, null(), &mut out, &mut err),
                &err,
            );
            assert_eq!(collect(out), [a(2)]);
            ok(
                hm_matcher_query(m, &other, null(), &mut out, &mut err),
                &err,
            );
            assert_eq!(collect(out), []);
            ok(
                hm_matcher_query_radius(m, &known.hash, 1, &mut out, &mut err),
                &err,
            );
            assert_eq!(collect(out), []);
            ok(
                hm_matcher_query_radius(m, &known.hash, 2, &mut out, &mut err),
                &err,
            );
            assert_eq!(collect(out), [a(2)]);
            ok(hm_matcher_knn(m, &other.hash, 1, &mut out, &mut err), &err);
            assert_eq!(collect(out).len(), 1);
            ok(hm_matcher_knn(m, &other.hash, 0, &mut out, &mut err), &err);
            assert_eq!(collect(out), []);
            ok(hm_matcher_knn(m, &known.hash, 5, &mut out, &mut err), &err);
            let knn = collect(out);
            assert_eq!((knn.len(), knn[0].clone()), (2, a(2)));

            ok(
                hm_matcher_query_dihedral(m, &rotated, null(), &mut out, &mut err),
                &err,
            );
            let found = collect(out);
            assert_eq!(found.len(), 1);
            assert_eq!((found[0].2, found[0].5.as_str()), (1002, "rot90"));

            let batch = [
                other,
                known,
                other,
                hm_pdq_result::from(upload("landscape-5.jpg")),
            ];
            ok(
                hm_matcher_query_many(m, batch.as_ptr(), batch.len(), null(), &mut out, &mut err),
                &err,
            );
            let found = collect(out);
            assert_eq!(
                found.iter().map(|f| (f.0, f.2)).collect::<Vec<_>>(),
                [(1, 1001), (3, 1002)]
            );
            ok(
                hm_matcher_query_many(m, null(), 0, null(), &mut out, &mut err),
                &err,
            );
            assert_eq!(collect(out), []);
            hm_matcher_free(m);
        }
    }
}

#[test]
fn quality_floor_is_checked_unless_lowered() {
    let m = demo_matcher(HM_INDEX_AUTO);
    let mut err = new_error();
    let mut low = hm_pdq_result::from(upload("landscape-2.jpg"));
    low.quality = 49;
    let mut dih = hm_pdq_dihedral::from(
        hashmatch::Hasher::default()
            .dihedral_file(root().join("examples/uploads/landscape-2.jpg"))
            .unwrap(),
    );
    dih.quality = 10;
    let sentinel = 0x1234usize as *mut hm_matches;
    let mut out = sentinel;
    let opts = hm_query_options_default();
    assert_eq!(opts.quality_floor, 50);
    let lenient = hm_query_options { quality_floor: 0 };
    // SAFETY: valid pointers; `out` is never dereferenced while it holds the sentinel.
    unsafe {
        fails(
            HM_LOW_QUALITY,
            hm_matcher_query(m, &low, null(), &mut out, &mut err),
            &err,
        );
        fails(
            HM_LOW_QUALITY,
            hm_matcher_query(m, &low, &opts, &mut out, &mut err),
            &err,
        );
        fails(
            HM_LOW_QUALITY,
            hm_matcher_query_dihedral(m, &dih, null(), &mut out, &mut err),
            &err,
        );
        let batch = [hm_pdq_result::from(upload("landscape-5.jpg")), low];
        fails(
            HM_LOW_QUALITY,
            hm_matcher_query_many(m, batch.as_ptr(), 2, null(), &mut out, &mut err),
            &err,
        );
        assert_eq!(out, sentinel);
        ok(
            hm_matcher_query(m, &low, &lenient, &mut out, &mut err),
            &err,
        );
        assert_eq!(collect(out).len(), 1);
        ok(
            hm_matcher_query_dihedral(m, &dih, &lenient, &mut out, &mut err),
            &err,
        );
        assert_eq!(collect(out).len(), 1);
        ok(
            hm_matcher_query_many(m, batch.as_ptr(), 2, &lenient, &mut out, &mut err),
            &err,
        );
        assert_eq!(collect(out).len(), 2);
        hm_matcher_free(m);
    }
}

#[test]
fn every_matcher_export_refuses_null() {
    let m = demo_matcher(HM_INDEX_AUTO);
    let mut err = new_error();
    let h = hash(A_HEX);
    let r = hm_pdq_result {
        hash: h,
        quality: 100,
    };
    let d = hm_pdq_dihedral::default();
    let list = c("own");
    let path = c_path(&scratch("null").join("x.hmsnap"));
    let mut out = null_mut();
    let mut info = hm_list_info::default();
    let mut kind = 0;
    let entry = hm_entry {
        hash: h,
        id: 1,
        label: null(),
    };
    let mut removed = false;
    let l = list.as_ptr();
    let nm: *mut hm_matcher = null_mut();
    let mut opened: *mut hm_matcher = null_mut();
    // SAFETY: every call passes valid pointers except the NULL under test.
    unsafe {
        let calls: Vec<(&str, hm_status)> = vec![
            ("new", hm_matcher_new(HM_INDEX_AUTO, null_mut(), &mut err)),
            ("open path", hm_matcher_open(null(), &mut opened, &mut err)),
            (
                "open out",
                hm_matcher_open(path.as_ptr(), null_mut(), &mut err),
            ),
            (
                "save matcher",
                hm_matcher_save(null(), path.as_ptr(), &mut err),
            ),
            ("save path", hm_matcher_save(m, null(), &mut err)),
            (
                "add_list matcher",
                hm_matcher_add_list(nm, l, 31, true, &mut err),
            ),
            (
                "add_list name",
                hm_matcher_add_list(m, null(), 31, true, &mut err),
            ),
            (
                "set_list matcher",
                hm_matcher_set_list(nm, l, 31, true, &mut err),
            ),
            (
                "set_list name",
                hm_matcher_set_list(m, null(), 31, true, &mut err),
            ),
            (
                "list_info matcher",
                hm_matcher_list_info(null(), l, &mut info, &mut err),
            ),
            (
                "list_info name",
                hm_matcher_list_info(m, null(), &mut info, &mut err),
            ),
            (
                "list_info out",
                hm_matcher_list_info(m, l, null_mut(), &mut err),
            ),
            (
                "index_kind matcher",
                hm_matcher_index_kind(null(), &mut kind, &mut err),
            ),
            (
                "index_kind out",
                hm_matcher_index_kind(m, null_mut(), &mut err),
            ),
            (
                "compact matcher",
                hm_matcher_compact(null(), null_mut(), &mut err),
            ),
            (
                "insert matcher",
                hm_matcher_insert(nm, l, &h, 1, null(), &mut err),
            ),
            (
                "insert list",
                hm_matcher_insert(m, null(), &h, 1, null(), &mut err),
            ),
            (
                "insert hash",
                hm_matcher_insert(m, l, null(), 1, null(), &mut err),
            ),
            (
                "insert_many matcher",
                hm_matcher_insert_many(nm, l, &entry, 1, null_mut(), &mut err),
            ),
            (
                "insert_many list",
                hm_matcher_insert_many(m, null(), &entry, 1, null_mut(), &mut err),
            ),
            (
                "insert_many entries",
                hm_matcher_insert_many(m, l, null(), 1, null_mut(), &mut err),
            ),
            (
                "remove matcher",
                hm_matcher_remove(nm, l, 1, &mut removed, &mut err),
            ),
            (
                "remove list",
                hm_matcher_remove(m, null(), 1, &mut removed, &mut err),
            ),
            ("disable matcher", hm_matcher_disable(nm, l, 1, l, &mut err)),
            (
                "disable list",
                hm_matcher_disable(m, null(), 1, l, &mut err),
            ),
            (
                "disable reason",
                hm_matcher_disable(m, l, 1, null(), &mut err),
            ),
            ("enable matcher", hm_matcher_enable(nm, l, 1, &mut err)),
            ("enable list", hm_matcher_enable(m, null(), 1, &mut err)),
            (
                "query matcher",
                hm_matcher_query(null(), &r, null(), &mut out, &mut err),
            ),
            (
                "query upload",
                hm_matcher_query(m, null(), null(), &mut out, &mut err),
            ),
            (
                "query out",
                hm_matcher_query(m, &r, null(), null_mut(), &mut err),
            ),
            (
                "radius matcher",
                hm_matcher_query_radius(null(), &h, 31, &mut out, &mut err),
            ),
            (
                "radius hash",
                hm_matcher_query_radius(m, null(), 31, &mut out, &mut err),
            ),
            (
                "radius out",
                hm_matcher_query_radius(m, &h, 31, null_mut(), &mut err),
            ),
            (
                "knn matcher",
                hm_matcher_knn(null(), &h, 1, &mut out, &mut err),
            ),
            ("knn hash", hm_matcher_knn(m, null(), 1, &mut out, &mut err)),
            ("knn out", hm_matcher_knn(m, &h, 1, null_mut(), &mut err)),
            (
                "dihedral matcher",
                hm_matcher_query_dihedral(null(), &d, null(), &mut out, &mut err),
            ),
            (
                "dihedral upload",
                hm_matcher_query_dihedral(m, null(), null(), &mut out, &mut err),
            ),
            (
                "dihedral out",
                hm_matcher_query_dihedral(m, &d, null(), null_mut(), &mut err),
            ),
            (
                "many matcher",
                hm_matcher_query_many(null(), &r, 1, null(), &mut out, &mut err),
            ),
            (
                "many uploads",
                hm_matcher_query_many(m, null(), 1, null(), &mut out, &mut err),
            ),
            (
                "many out",
                hm_matcher_query_many(m, &r, 1, null(), null_mut(), &mut err),
            ),
        ];
        for (what, status) in calls {
            assert_eq!(status, HM_NULL_ARGUMENT, "{what}");
        }
        assert!(out.is_null() && opened.is_null());
        assert!(!removed);
        // NULL results read as empty; freeing NULL does nothing, twice.
        assert_eq!(hm_matches_len(null()), 0);
        assert!(hm_matches_get(null(), 0).is_null());
        hm_matches_free(null_mut());
        hm_matches_free(null_mut());
        hm_matcher_free(null_mut());
        hm_matcher_free(null_mut());
        // Nothing was changed by the refused calls.
        ok(hm_matcher_list_info(m, l, &mut info, &mut err), &err);
        assert_eq!(info.entries, 0);
        hm_matcher_free(m);
    }
}

#[test]
fn changes_are_seen_by_the_next_query_and_errors_name_what_is_wrong() {
    let m = demo_matcher(HM_INDEX_AUTO);
    let mut err = new_error();
    let up = hm_pdq_result::from(upload("landscape-1.jpg"));
    let own = c("own");
    let mut out = null_mut();
    let mut info = hm_list_info::default();
    let mut removed = false;
    let mut added = 9;
    // SAFETY: valid pointers.
    unsafe {
        fails(
            HM_LIST_EXISTS,
            hm_matcher_add_list(m, own.as_ptr(), 31, true, &mut err),
            &err,
        );
        assert!(message(&err).contains("own"));
        fails(
            HM_MATCHER,
            hm_matcher_add_list(m, c("").as_ptr(), 31, true, &mut err),
            &err,
        );
        fails(
            HM_INVALID_ARGUMENT,
            hm_matcher_add_list(m, [0xc3u8, 0x28, 0].as_ptr().cast(), 31, true, &mut err),
            &err,
        );
        let label = c("case 4");
        ok(
            hm_matcher_insert(m, own.as_ptr(), &up.hash, 18, label.as_ptr(), &mut err),
            &err,
        );
        drop(label); // copied by the library
        fails(
            HM_ENTRY_EXISTS,
            hm_matcher_insert(m, own.as_ptr(), &up.hash, 18, null(), &mut err),
            &err,
        );
        assert!(message(&err).contains("18"));
        fails(
            HM_UNKNOWN_LIST,
            hm_matcher_insert(m, c("nope").as_ptr(), &up.hash, 1, null(), &mut err),
            &err,
        );
        assert!(message(&err).contains("nope"));
        fails(
            HM_INVALID_ARGUMENT,
            hm_matcher_insert(
                m,
                own.as_ptr(),
                &up.hash,
                19,
                [0xffu8, 0].as_ptr().cast(),
                &mut err,
            ),
            &err,
        );
        let dup = [
            hm_entry {
                hash: up.hash,
                id: 30,
                label: null(),
            },
            hm_entry {
                hash: up.hash,
                id: 30,
                label: null(),
            },
        ];
        fails(
            HM_ENTRY_EXISTS,
            hm_matcher_insert_many(m, own.as_ptr(), dup.as_ptr(), 2, &mut added, &mut err),
            &err,
        );
        assert_eq!(added, 9);
        let bad_label = [hm_entry {
            hash: up.hash,
            id: 31,
            label: [0xffu8, 0].as_ptr().cast(),
        }];
        fails(
            HM_INVALID_ARGUMENT,
            hm_matcher_insert_many(m, own.as_ptr(), bad_label.as_ptr(), 1, &mut added, &mut err),
            &err,
        );
        assert!(message(&err).contains("entries[0].label"));
        ok(
            hm_matcher_insert_many(m, own.as_ptr(), null(), 0, &mut added, &mut err),
            &err,
        );
        assert_eq!(added, 0);

        ok(hm_matcher_query(m, &up, null(), &mut out, &mut err), &err);
        let found = collect(out);
        assert_eq!((found.len(), found[0].3.as_deref()), (1, Some("case 4")));

        ok(
            hm_matcher_disable(m, own.as_ptr(), 18, c("false positive").as_ptr(), &mut err),
            &err,
        );
        ok(
            hm_matcher_list_info(m, own.as_ptr(), &mut info, &mut err),
            &err,
        );
        assert_eq!(
            info,
            hm_list_info {
                entries: 1,
                disabled: 1,
                extra_hashes: 0,
                threshold: 31,
                enabled: true,
                robust: false
            }
        );
        ok(hm_matcher_query(m, &up, null(), &mut out, &mut err), &err);
        assert_eq!(collect(out), []);
        fails(
            HM_UNKNOWN_ENTRY,
            hm_matcher_disable(m, own.as_ptr(), 99, c("x").as_ptr(), &mut err),
            &err,
        );
        ok(hm_matcher_enable(m, own.as_ptr(), 18, &mut err), &err);
        fails(
            HM_UNKNOWN_ENTRY,
            hm_matcher_enable(m, own.as_ptr(), 99, &mut err),
            &err,
        );
        ok(hm_matcher_query(m, &up, null(), &mut out, &mut err), &err);
        assert_eq!(collect(out).len(), 1);

        ok(
            hm_matcher_set_list(m, own.as_ptr(), 31, false, &mut err),
            &err,
        );
        ok(hm_matcher_query(m, &up, null(), &mut out, &mut err), &err);
        assert_eq!(collect(out), []);
        fails(
            HM_UNKNOWN_LIST,
            hm_matcher_set_list(m, c("nope").as_ptr(), 1, true, &mut err),
            &err,
        );
        ok(
            hm_matcher_set_list(m, own.as_ptr(), 31, true, &mut err),
            &err,
        );
        fails(
            HM_UNKNOWN_LIST,
            hm_matcher_list_info(m, c("nope").as_ptr(), &mut info, &mut err),
            &err,
        );

        ok(
            hm_matcher_remove(m, own.as_ptr(), 18, &mut removed, &mut err),
            &err,
        );
        assert!(removed);
        ok(
            hm_matcher_remove(m, own.as_ptr(), 18, &mut removed, &mut err),
            &err,
        );
        assert!(!removed);
        ok(
            hm_matcher_remove(m, own.as_ptr(), 18, null_mut(), &mut err),
            &err,
        );
        fails(
            HM_UNKNOWN_LIST,
            hm_matcher_remove(m, c("nope").as_ptr(), 18, &mut removed, &mut err),
            &err,
        );
        ok(hm_matcher_query(m, &up, null(), &mut out, &mut err), &err);
        assert_eq!(collect(out), []);

        let mut bad = null_mut();
        fails(
            HM_INVALID_ARGUMENT,
            hm_matcher_new(4, &mut bad, &mut err),
            &err,
        );
        fails(
            HM_INVALID_ARGUMENT,
            hm_matcher_new(-1, &mut bad, &mut err),
            &err,
        );
        assert!(bad.is_null());
        hm_matcher_free(m);
    }
}

#[test]
fn snapshots_round_trip_and_bad_files_get_their_status() {
    let dir = scratch("snapshots");
    let m = demo_matcher(HM_INDEX_AUTO);
    let mut err = new_error();
    let snap = dir.join("demo.hmsnap");
    let known = hm_pdq_result::from(upload("landscape-2.jpg"));
    let mut out = null_mut();
    // SAFETY: valid pointers.
    unsafe {
        ok(
            hm_matcher_disable(
                m,
                c("demo").as_ptr(),
                1002,
                c("review 3").as_ptr(),
                &mut err,
            ),
            &err,
        );
        // Results outlive the matcher.
        let mut kept = null_mut();
        ok(
            hm_matcher_query(m, &known, null(), &mut kept, &mut err),
            &err,
        );
        ok(hm_matcher_save(m, c_path(&snap).as_ptr(), &mut err), &err);
        fails(
            HM_IO,
            hm_matcher_save(
                m,
                c_path(&dir.join("no/such/dir.hmsnap")).as_ptr(),
                &mut err,
            ),
            &err,
        );
        hm_matcher_free(m);
        assert_eq!(collect(kept).len(), 1);

        let mut reopened = null_mut();
        ok(
            hm_matcher_open(c_path(&snap).as_ptr(), &mut reopened, &mut err),
            &err,
        );
        let rust = hashmatch::matcher::Matcher::open(&snap).unwrap();
        let mut info = hm_list_info::default();
        for stats in rust.stats() {
            ok(
                hm_matcher_list_info(reopened, c(&stats.name).as_ptr(), &mut info, &mut err),
                &err,
            );
            assert_eq!(info.entries, stats.entries as u64);
            assert_eq!(info.disabled, stats.disabled as u64);
        }
        ok(
            hm_matcher_query(reopened, &known, null(), &mut out, &mut err),
            &err,
        );
        assert_eq!(collect(out).len(), 1);
        hm_matcher_free(reopened);

        let bytes = std::fs::read(&snap).unwrap();
        let bad = dir.join("bad.hmsnap");
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let mut version = bytes.clone();
        version[8] = 99;
        let cases: [(&[u8], hm_status); 5] = [
            (b"hash,entry_id\n", HM_NOT_A_SNAPSHOT),
            (&bytes[..bytes.len() - 1], HM_SNAPSHOT_TRUNCATED),
            (&bytes[..30], HM_SNAPSHOT_TRUNCATED),
            (&flipped, HM_SNAPSHOT_CHECKSUM),
            (&version, HM_SNAPSHOT_VERSION),
        ];
        let mut none = null_mut();
        for (content, status) in cases {
            std::fs::write(&bad, content).unwrap();
            fails(
                status,
                hm_matcher_open(c_path(&bad).as_ptr(), &mut none, &mut err),
                &err,
            );
            assert!(message(&err).contains("bad.hmsnap"), "{}", message(&err));
        }
        fails(
            HM_IO,
            hm_matcher_open(c_path(&dir.join("missing")).as_ptr(), &mut none, &mut err),
            &err,
        );
        assert!(none.is_null());
    }
}

#[test]
fn error_messages_are_cut_at_a_character_boundary() {
    // A path of multi-byte characters far longer than the message buffer.
    let long = "é".repeat(HM_ERROR_MESSAGE_SIZE);
    let h = hasher(None);
    let mut err = new_error();
    let mut out = hm_pdq_result::default();
    // SAFETY: valid pointers.
    unsafe {
        fails(
            HM_IO,
            hm_hasher_hash_file(h, c(&format!("/{long}")).as_ptr(), &mut out, &mut err),
            &err,
        );
        hm_hasher_free(h);
    }
    let msg = message(&err);
    assert!(msg.len() < HM_ERROR_MESSAGE_SIZE && msg.len() > HM_ERROR_MESSAGE_SIZE - 4);
    // A NULL error pointer is fine: only the status comes back.
    // SAFETY: NULLs the function must refuse.
    let status = unsafe { hm_hasher_hash_file(null(), null(), null_mut(), null_mut()) };
    assert_eq!(status, HM_NULL_ARGUMENT);
}

#[test]
fn concurrent_queries_and_changes_on_one_matcher() {
    struct Shared(*mut hm_matcher);
    // SAFETY: hm_matcher is documented safe to share between threads (it wraps a Sync Matcher).
    unsafe impl Sync for Shared {}
    let shared = Shared(demo_matcher(HM_INDEX_AUTO));
    let m = &shared;
    let known = hm_pdq_result::from(upload("landscape-2.jpg"));
    let own = c("own");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut err = new_error();
                for _ in 0..200 {
                    let mut out = null_mut();
                    // SAFETY: valid pointers; the matcher outlives the scope.
                    unsafe {
                        ok(
                            hm_matcher_query(m.0, &known, null(), &mut out, &mut err),
                            &err,
                        )
                    };
                    let found = collect(out);
                    assert_eq!((found.len(), found[0].2), (1, 1001));
                }
            });
        }
        s.spawn(|| {
            let mut err = new_error();
            for i in 0..500u64 {
                let mut h = hm_pdq_hash::from(hashmatch::Hash256::from_words([i, !i, i * 3, 7]));
                h.bytes[0] ^= 0xff;
                // SAFETY: valid pointers.
                unsafe {
                    ok(
                        hm_matcher_insert(m.0, own.as_ptr(), &h, i, null(), &mut err),
                        &err,
                    );
                }
            }
        });
    });
    // SAFETY: no other thread uses the matcher any more.
    unsafe { hm_matcher_free(shared.0) };
}

/// The static library cargo built for this test run. Building the tests compiles the library
/// with every crate type of `[lib]` into `target/<profile>/deps/`, beside this test binary;
/// only `cargo build` also copies it up to `target/<profile>/libhashmatch.a`, which may therefore
/// be older than the code under test and is not used.
fn static_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let name = if cfg!(windows) {
        "hashmatch.lib"
    } else {
        "libhashmatch.a"
    };
    let lib = exe.parent().unwrap().join(name);
    assert!(
        lib.exists(),
        "{} is missing: cargo builds it with the tests ([lib] crate-type has staticlib)",
        lib.display()
    );
    lib
}

/// Whether a C (or C++) compiler is there; CI must have one.
fn have(compiler: &str) -> bool {
    let found = Command::new(compiler)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but `{compiler}` is missing"
        );
        eprintln!("skipped: no `{compiler}` on this machine");
    }
    found
}

/// The system libraries a Rust static library needs on Linux (what `--print
/// native-static-libs` reports; `hashmatch.pc` carries the same).
const NATIVE_LIBS: [&str; 6] = ["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl"];

/// The libraries an optional feature adds to the link line: with `ffmpeg`, the system's
/// libav* as pkg-config gives them.
fn feature_libs() -> Vec<String> {
    if !cfg!(feature = "ffmpeg") {
        return Vec::new();
    }
    let out = Command::new("pkg-config")
        .args([
            "--libs",
            "libavformat",
            "libavcodec",
            "libswscale",
            "libavutil",
        ])
        .output()
        .expect("pkg-config (the ffmpeg feature needs it)");
    assert!(out.status.success(), "pkg-config found no libav*");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn c_program_passes() {
    // The link line below is Linux's (hashmatch.pc carries each platform's own).
    if !cfg!(target_os = "linux") || !have("cc") {
        return;
    }
    let dir = scratch("c-program");
    let exe = dir.join("test_hashmatch");
    let compile = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-pthread"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join("tests/c/test_hashmatch.c"))
        .arg(static_library())
        .args(feature_libs())
        .args(NATIVE_LIBS)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        compile.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&compile.stderr)
    );
    let run = Command::new(&exe).arg(root()).arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "C test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    println!("C test: {}", stdout.trim());
}

#[test]
fn header_compiles_as_cpp() {
    if !cfg!(target_os = "linux") || !have("c++") {
        return;
    }
    let dir = scratch("cpp");
    let source = dir.join("use_header.cpp");
    std::fs::write(
        &source,
        "#include \"hashmatch.h\"\n#include <cstring>\n\
         int main() { hm_error err{}; hm_pdq_hash h{}; \
         hm_status s = hm_pdq_hash_from_hex(\"00\", &h, &err); \
         return s == HM_INVALID_HASH && std::strlen(hm_version()) > 0 ? 0 : 1; }\n",
    )
    .unwrap();
    let exe = dir.join("use_header");
    let compile = Command::new("c++")
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(&source)
        .arg(static_library())
        .args(feature_libs())
        .args(NATIVE_LIBS)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(
        compile.status.success(),
        "c++ failed:\n{}",
        String::from_utf8_lossy(&compile.stderr)
    );
    assert!(Command::new(&exe).status().unwrap().success());
}

#[test]
fn committed_header_is_the_generated_one() {
    // build.rs refreshes include/hashmatch.h; CI's `git diff --exit-code include/` catches a
    // stale commit. Here: the header declares every export of src/ffi.
    let header = std::fs::read_to_string(root().join("include/hashmatch.h")).unwrap();
    let mut exports = 0;
    for file in ["mod.rs", "hash.rs", "hasher.rs", "matcher.rs"] {
        let source = std::fs::read_to_string(root().join("src/ffi").join(file)).unwrap();
        for line in source.lines() {
            let Some(rest) = line
                .strip_prefix("pub unsafe extern \"C\" fn ")
                .or_else(|| line.strip_prefix("pub extern \"C\" fn "))
            else {
                continue;
            };
            let name = rest.split('(').next().unwrap();
            assert!(
                header.contains(&format!(" {name}(")) || header.contains(&format!("*{name}(")),
                "{name} is not in the header"
            );
            exports += 1;
        }
    }
    assert!(
        exports >= 38,
        "only {exports} exports found: did the declarations change shape?"
    );
    assert!(header.contains("#ifndef HASHMATCH_H") && header.contains("extern \"C\""));
}

#[test]
fn results_hold_many_lists_and_strings_c_can_read() {
    // A snapshot made by a Rust user may hold names C cannot represent (an interior NUL).
    use hashmatch::list::Entry;
    use hashmatch::matcher::{ListSettings, Matcher};
    let dir = scratch("strings");
    let rust = Matcher::new();
    let h: hashmatch::Hash256 = A_HEX.parse().unwrap();
    for (i, list) in ["zeta", "alpha", "nul\0inside", "mid"]
        .into_iter()
        .enumerate()
    {
        rust.add_list(list, ListSettings::default()).unwrap();
        for id in 0..3u64 {
            let label = (id != 1).then(|| format!("label {i}/{id}\0tail"));
            rust.insert(list, Entry { hash: h, id, label }).unwrap();
        }
    }
    let snap = dir.join("strings.hmsnap");
    rust.save(&snap).unwrap();
    let mut m = null_mut();
    let mut out = null_mut();
    let mut err = new_error();
    // SAFETY: valid pointers.
    unsafe {
        ok(
            hm_matcher_open(c_path(&snap).as_ptr(), &mut m, &mut err),
            &err,
        );
        ok(
            hm_matcher_knn(m, &hash(A_HEX), 100, &mut out, &mut err),
            &err,
        );
        hm_matcher_free(m);
    }
    let found = collect(out);
    assert_eq!(found.len(), 12);
    let lists: Vec<&str> = found.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(&lists[..3], ["alpha"; 3]);
    assert_eq!(&lists[3..6], ["mid"; 3]);
    assert_eq!(&lists[6..9], ["nul\u{fffd}inside"; 3]);
    assert_eq!(&lists[9..], ["zeta"; 3]);
    assert_eq!(found[0].3.as_deref(), Some("label 1/0\u{fffd}tail"));
    assert_eq!(found[1].3, None);
    assert_eq!(found[11].3.as_deref(), Some("label 0/2\u{fffd}tail"));
}

#[test]
fn disabled_reason_into_a_caller_buffer() {
    let m = demo_matcher(HM_INDEX_AUTO);
    let demo = c("demo");
    let reason = "false positive, review 12";
    let mut err = new_error();
    let mut disabled = true;
    let mut needed = 0usize;
    let mut buf = [b'x' as c_char; 64];
    // SAFETY: valid pointers and sizes, or NULLs the function must refuse.
    unsafe {
        // Enabled: not disabled, empty text, 1 byte needed.
        ok(
            hm_matcher_disabled_reason(
                m,
                demo.as_ptr(),
                1001,
                &mut disabled,
                buf.as_mut_ptr(),
                buf.len(),
                &mut needed,
                &mut err,
            ),
            &err,
        );
        assert!(!disabled);
        assert_eq!((needed, buf[0]), (1, 0));
        ok(
            hm_matcher_disable(m, demo.as_ptr(), 1001, c(reason).as_ptr(), &mut err),
            &err,
        );
        // Ask for the size first, with no buffer.
        fails(
            HM_BUFFER_TOO_SMALL,
            hm_matcher_disabled_reason(
                m,
                demo.as_ptr(),
                1001,
                &mut disabled,
                null_mut(),
                0,
                &mut needed,
                &mut err,
            ),
            &err,
        );
        assert_eq!(needed, reason.len() + 1);
        let mut small = [b'x' as c_char; 8];
        disabled = false;
        fails(
            HM_BUFFER_TOO_SMALL,
            hm_matcher_disabled_reason(
                m,
                demo.as_ptr(),
                1001,
                &mut disabled,
                small.as_mut_ptr(),
                small.len(),
                &mut needed,
                &mut err,
            ),
            &err,
        );
        assert_eq!(needed, reason.len() + 1);
        assert!(!disabled && small.iter().all(|&ch| ch == b'x' as c_char));
        ok(
            hm_matcher_disabled_reason(
                m,
                demo.as_ptr(),
                1001,
                &mut disabled,
                buf.as_mut_ptr(),
                needed,
                null_mut(),
                &mut err,
            ),
            &err,
        );
        assert!(disabled);
        assert_eq!(text(buf.as_ptr()), reason);

        fails(
            HM_UNKNOWN_ENTRY,
            hm_matcher_disabled_reason(
                m,
                demo.as_ptr(),
                5,
                &mut disabled,
                buf.as_mut_ptr(),
                64,
                &mut needed,
                &mut err,
            ),
            &err,
        );
        fails(
            HM_UNKNOWN_LIST,
            hm_matcher_disabled_reason(
                m,
                c("nope").as_ptr(),
                1001,
                &mut disabled,
                buf.as_mut_ptr(),
                64,
                &mut needed,
                &mut err,
            ),
            &err,
        );
        for status in [
            hm_matcher_disabled_reason(
                null(),
                demo.as_ptr(),
                1001,
                &mut disabled,
                buf.as_mut_ptr(),
                64,
                &mut needed,
                &mut err,
            ),
            hm_matcher_disabled_reason(
                m,
                null(),
                1001,
                &mut disabled,
                buf.as_mut_ptr(),
                64,
                &mut needed,
                &mut err,
            ),
            hm_matcher_disabled_reason(
                m,
                demo.as_ptr(),
                1001,
                null_mut(),
                buf.as_mut_ptr(),
                64,
                &mut needed,
                &mut err,
            ),
            hm_matcher_disabled_reason(
                m,
                demo.as_ptr(),
                1001,
                &mut disabled,
                null_mut(),
                64,
                &mut needed,
                &mut err,
            ),
        ] {
            assert_eq!(status, HM_NULL_ARGUMENT);
        }
        hm_matcher_free(m);
    }
}
