//! The C API: the only place with `extern "C"`.
//!
//! Each function checks its arguments, converts them, calls the public Rust API and maps the
//! outcome to an `hm_status`; nothing else happens here. The header `include/hashmatch.h` is
//! generated from these files by `build.rs` (cbindgen), so the doc comments below are the C
//! documentation: they speak of C pointers and C ownership.
//!
//! Conventions shared by every function (they are repeated in the header's preamble):
//! - Fallible functions return an `hm_status` (0 is `HM_OK`) and take an optional
//!   caller-owned `hm_error` that receives the status and a message. There is no
//!   thread-local "last error", so a Go goroutine that moves between threads sees its own error.
//! - Outputs are written only when the call returns `HM_OK`.
//! - `_free(NULL)` does nothing. The library copies every string and buffer it keeps; the
//!   caller's memory is only read during the call.
//! - A Rust panic never crosses the boundary: it is caught and reported as `HM_PANIC`.
//!
//! Rust code should use the Rust API; this module is public so that the C surface can be
//! tested and benchmarked from Rust.

// The C names are the API (`hm_matcher_new`, `hm_status`), not Rust's conventions.
#![allow(non_camel_case_types)]
// Every export states in its doc comment (which is the C header's) what each pointer must be;
// a Rust-style `# Safety` section would repeat it in the C header.
#![allow(clippy::missing_safety_doc)]

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::{Error, MatcherErrorKind};

pub mod enrol;
pub mod hash;
pub mod hasher;
pub mod matcher;
pub mod report;
pub mod robust;
pub mod video;

/// The outcome of a call: 0 (`HM_OK`) on success, a positive `HM_*` code otherwise.
///
/// The numbers never change meaning; new codes get new numbers. `hm_status_str` names any
/// value, including ones this version does not know.
pub type hm_status = i32;

/// Success.
pub const HM_OK: hm_status = 0;
/// A required pointer argument was NULL.
pub const HM_NULL_ARGUMENT: hm_status = 1;
/// An argument is out of range: an unknown `HM_*` enum value, or a string that is not UTF-8.
pub const HM_INVALID_ARGUMENT: hm_status = 2;
/// The caller's buffer is too small; the message (and, where the function has one, its
/// `needed` output) says how large it must be.
pub const HM_BUFFER_TOO_SMALL: hm_status = 3;
/// A bug inside the library: a Rust panic was caught at the boundary. The handle stays usable.
pub const HM_PANIC: hm_status = 4;
/// A hash given as text is not 64 hex digits.
pub const HM_INVALID_HASH: hm_status = 10;
/// Raw pixels do not describe an image (zero size, stride shorter than a row, buffer too short).
pub const HM_INVALID_PIXELS: hm_status = 11;
/// The bytes are not an image in any supported format (JPEG, PNG, GIF, WebP, BMP, TIFF).
pub const HM_UNKNOWN_FORMAT: hm_status = 12;
/// The bytes look like a supported format but cannot be decoded (corrupt or truncated).
pub const HM_DECODE_FAILED: hm_status = 13;
/// A third-party decoder crashed on this input; the crash was caught.
pub const HM_DECODER_CRASHED: hm_status = 14;
/// The input exceeds a configured limit (bytes, width, height or pixel count).
pub const HM_TOO_LARGE: hm_status = 15;
/// Decoding would exceed the configured memory limit.
pub const HM_DECODER_LIMIT: hm_status = 16;
/// The image is smaller than PDQ can hash (a side under 5 pixels).
pub const HM_TOO_SMALL: hm_status = 17;
/// The hash quality is below the configured floor (a flat or nearly flat image).
pub const HM_LOW_QUALITY: hm_status = 18;
/// A line of a hash list file is malformed.
pub const HM_LIST_LINE: hm_status = 19;
/// The matcher refused the operation for another reason: an empty list name, more entries
/// than it can hold.
pub const HM_MATCHER: hm_status = 20;
/// No list has that name.
pub const HM_UNKNOWN_LIST: hm_status = 21;
/// A list of that name exists already.
pub const HM_LIST_EXISTS: hm_status = 22;
/// The list has no entry with that id.
pub const HM_UNKNOWN_ENTRY: hm_status = 23;
/// The list has an entry with that id already (or one insert repeats an id).
pub const HM_ENTRY_EXISTS: hm_status = 24;
/// The file is not a hashmatch snapshot.
pub const HM_NOT_A_SNAPSHOT: hm_status = 30;
/// The snapshot has a format version this build cannot read.
pub const HM_SNAPSHOT_VERSION: hm_status = 31;
/// The snapshot is truncated.
pub const HM_SNAPSHOT_TRUNCATED: hm_status = 32;
/// A checksum of the snapshot does not match (the file was damaged).
pub const HM_SNAPSHOT_CHECKSUM: hm_status = 33;
/// The snapshot's checksums hold but its content is inconsistent.
pub const HM_SNAPSHOT_MALFORMED: hm_status = 34;
/// Reading or writing a file failed (the message names the file and the system's error).
pub const HM_IO: hm_status = 40;
/// The video's container or codec is not supported (the message names it).
pub const HM_UNSUPPORTED_VIDEO: hm_status = 50;
/// The video could not be demuxed or decoded (corrupt or truncated).
pub const HM_VIDEO_DECODE_FAILED: hm_status = 51;
/// A line of a vPDQ file is malformed.
pub const HM_VPDQ_LINE: hm_status = 52;
/// No frame of the video reaches the quality floor: it cannot be matched.
pub const HM_VIDEO_LOW_QUALITY: hm_status = 53;
/// The video hasher was given a frame rate or a call it cannot honour.
pub const HM_INVALID_VIDEO_INPUT: hm_status = 54;
/// A transparency report (JSON) is malformed or fails its checksum.
pub const HM_REPORT_MALFORMED: hm_status = 60;

/// Every status with its text, in number order.
const STATUS_TEXT: &[(hm_status, &CStr)] = &[
    (HM_OK, c"ok"),
    (HM_NULL_ARGUMENT, c"a required pointer argument is NULL"),
    (HM_INVALID_ARGUMENT, c"an argument is out of range"),
    (HM_BUFFER_TOO_SMALL, c"the buffer is too small"),
    (HM_PANIC, c"internal error (a panic was caught)"),
    (HM_INVALID_HASH, c"invalid hash"),
    (HM_INVALID_PIXELS, c"invalid pixel buffer"),
    (HM_UNKNOWN_FORMAT, c"unrecognised image format"),
    (HM_DECODE_FAILED, c"cannot decode the image"),
    (
        HM_DECODER_CRASHED,
        c"the image decoder crashed on this input (caught)",
    ),
    (HM_TOO_LARGE, c"the input exceeds a configured limit"),
    (HM_DECODER_LIMIT, c"decoding would exceed the memory limit"),
    (HM_TOO_SMALL, c"the image is too small to hash"),
    (HM_LOW_QUALITY, c"the hash quality is below the floor"),
    (HM_LIST_LINE, c"malformed hash list line"),
    (HM_MATCHER, c"the matcher refused the operation"),
    (HM_UNKNOWN_LIST, c"no such list"),
    (HM_LIST_EXISTS, c"the list exists already"),
    (HM_UNKNOWN_ENTRY, c"no such entry in the list"),
    (HM_ENTRY_EXISTS, c"the entry is in the list already"),
    (HM_NOT_A_SNAPSHOT, c"not a hashmatch snapshot"),
    (HM_SNAPSHOT_VERSION, c"unsupported snapshot version"),
    (HM_SNAPSHOT_TRUNCATED, c"the snapshot is truncated"),
    (
        HM_SNAPSHOT_CHECKSUM,
        c"the snapshot is damaged (checksum mismatch)",
    ),
    (HM_SNAPSHOT_MALFORMED, c"the snapshot is malformed"),
    (HM_IO, c"I/O error"),
    (
        HM_UNSUPPORTED_VIDEO,
        c"unsupported video container or codec",
    ),
    (HM_VIDEO_DECODE_FAILED, c"cannot decode the video"),
    (HM_VPDQ_LINE, c"malformed vPDQ line"),
    (
        HM_VIDEO_LOW_QUALITY,
        c"no frame of the video reaches the quality floor",
    ),
    (HM_INVALID_VIDEO_INPUT, c"invalid video hasher input"),
    (HM_REPORT_MALFORMED, c"malformed transparency report"),
];

/// The number of bytes in `message`, its terminating NUL included.
pub const HM_ERROR_MESSAGE_SIZE: usize = 512;

/// What went wrong in a call: a status and a message. Owned by the caller (on the stack or
/// anywhere); the library never allocates or keeps it.
///
/// Pass a pointer to one as the last argument of any fallible function, or NULL to get only the
/// returned status. After the call `code` equals the returned status and `message` holds a
/// NUL-terminated UTF-8 description (empty on success), cut at a character boundary if longer
/// than `HM_ERROR_MESSAGE_SIZE - 1` bytes. One `hm_error` may be reused for any number of calls,
/// but not by two threads at once.
#[repr(C)]
pub struct hm_error {
    /// The status the call returned.
    pub code: hm_status,
    /// NUL-terminated UTF-8 text naming what failed and why (for example the file and the
    /// system's error, or the list and entry id).
    pub message: [c_char; HM_ERROR_MESSAGE_SIZE],
}

/// The library's version, `"MAJOR.MINOR.PATCH"`: a static NUL-terminated string (never NULL,
/// never to be freed). Thread-safe.
#[no_mangle]
pub extern "C" fn hm_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the version has no NUL"),
        };
    VERSION.as_ptr()
}

/// A short English description of a status: a static NUL-terminated string (never NULL, never
/// to be freed). A value no `HM_*` constant has gives "unknown status". Thread-safe.
#[no_mangle]
pub extern "C" fn hm_status_str(status: hm_status) -> *const c_char {
    STATUS_TEXT
        .iter()
        .find(|(code, _)| *code == status)
        .map_or(c"unknown status", |(_, text)| text)
        .as_ptr()
}

/// A failed call: its status and message.
pub(crate) struct Failure {
    status: hm_status,
    message: String,
}

impl Failure {
    pub(crate) fn new(status: hm_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(argument: &str) -> Self {
        Failure::new(HM_NULL_ARGUMENT, format!("{argument} is NULL"))
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(HM_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::InvalidHash(_) => HM_INVALID_HASH,
            Error::InvalidPixels { .. } => HM_INVALID_PIXELS,
            Error::UnknownFormat { .. } => HM_UNKNOWN_FORMAT,
            Error::Decode { .. } => HM_DECODE_FAILED,
            Error::DecoderPanicked { .. } => HM_DECODER_CRASHED,
            Error::TooLarge { .. } => HM_TOO_LARGE,
            Error::DecoderLimit { .. } => HM_DECODER_LIMIT,
            Error::TooSmall { .. } => HM_TOO_SMALL,
            Error::LowQuality { .. } => HM_LOW_QUALITY,
            Error::ListLine { .. } => HM_LIST_LINE,
            Error::Matcher { kind, .. } => match kind {
                MatcherErrorKind::UnknownList => HM_UNKNOWN_LIST,
                MatcherErrorKind::ListExists => HM_LIST_EXISTS,
                MatcherErrorKind::UnknownEntry => HM_UNKNOWN_ENTRY,
                MatcherErrorKind::EntryExists => HM_ENTRY_EXISTS,
                MatcherErrorKind::Refused => HM_MATCHER,
            },
            Error::NotASnapshot { .. } => HM_NOT_A_SNAPSHOT,
            Error::UnsupportedSnapshotVersion { .. } => HM_SNAPSHOT_VERSION,
            Error::SnapshotTruncated { .. } => HM_SNAPSHOT_TRUNCATED,
            Error::SnapshotChecksum { .. } => HM_SNAPSHOT_CHECKSUM,
            Error::SnapshotMalformed { .. } => HM_SNAPSHOT_MALFORMED,
            // A new variant must get its own code here (and in STATUS_TEXT): this match is
            // exhaustive inside the crate, so it does not compile until it has one.
            Error::Io { .. } => HM_IO,
            Error::UnsupportedVideo { .. } => HM_UNSUPPORTED_VIDEO,
            Error::VideoDecode { .. } => HM_VIDEO_DECODE_FAILED,
            Error::VpdqLine { .. } => HM_VPDQ_LINE,
            Error::VideoLowQuality { .. } => HM_VIDEO_LOW_QUALITY,
            Error::InvalidVideoInput { .. } => HM_INVALID_VIDEO_INPUT,
            Error::ReportMalformed { .. } => HM_REPORT_MALFORMED,
            Error::Eval { .. } | Error::InvalidOption { .. } => HM_INVALID_ARGUMENT,
        };
        Failure::new(status, e.to_string())
    }
}

pub(crate) type FfiResult = Result<(), Failure>;

/// The boundary every fallible export goes through: runs `body`, catches a panic, and reports
/// the outcome in the returned status and in `*err` when `err` is not NULL.
///
/// # Safety
/// `err` is NULL or points to a writable `hm_error`.
pub(crate) unsafe fn boundary(err: *mut hm_error, body: impl FnOnce() -> FfiResult) -> hm_status {
    let outcome = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => Failure::new(HM_OK, ""),
        Ok(Err(failure)) => failure,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            Failure::new(HM_PANIC, format!("internal error (panic caught): {what}"))
        }
    };
    // SAFETY: the caller passes NULL or a valid, writable hm_error.
    if let Some(err) = unsafe { err.as_mut() } {
        err.code = outcome.status;
        write_message(&mut err.message, &outcome.message);
    }
    outcome.status
}

/// The boundary of an export that cannot fail: a caught panic yields `fallback`.
pub(crate) fn infallible<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Copies `text` into `buf` as a NUL-terminated string, cut at a UTF-8 character boundary.
fn write_message(buf: &mut [c_char], text: &str) {
    let mut end = text.len().min(buf.len() - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for (dst, &src) in buf.iter_mut().zip(&text.as_bytes()[..end]) {
        *dst = src as c_char;
    }
    buf[end] = 0;
}

/// `&*ptr`, or a NULL-argument failure naming `what`.
///
/// # Safety
/// `ptr` is NULL or valid for reads of a `T` for `'a`.
pub(crate) unsafe fn deref<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(what))
}

/// Writes `value` to an output pointer (checked for NULL beforehand with [`out_ptr`]).
///
/// # Safety
/// `ptr` is non-NULL and valid for writes of a `T`.
pub(crate) unsafe fn write_out<T>(ptr: *mut T, value: T) {
    // SAFETY: forwarded from the caller; `write` does not drop the uninitialised old value.
    unsafe { ptr.write(value) }
}

/// Writes `text` and a NUL into the caller's buffer `buf` of `buf_size` bytes, and the bytes it
/// needs (NUL included) into `*needed` when `needed` is not NULL. Fails with
/// `HM_BUFFER_TOO_SMALL`, naming `what`, when it does not fit (only `*needed` is written then).
///
/// # Safety
/// `buf` is valid for `buf_size` bytes when `buf_size` >= the text's size; `needed` is NULL or
/// valid for a write.
pub(crate) unsafe fn write_text(
    text: &str,
    buf: *mut c_char,
    buf_size: usize,
    needed: *mut usize,
    what: &str,
) -> FfiResult {
    let size = text.len() + 1;
    // SAFETY: `needed` is NULL or valid for a write, by the caller's contract.
    if let Some(needed) = unsafe { needed.as_mut() } {
        *needed = size;
    }
    if buf_size < size {
        return Err(Failure::new(
            HM_BUFFER_TOO_SMALL,
            format!("{what} needs {size} bytes, buf_size is {buf_size}"),
        ));
    }
    // SAFETY: `buf` holds `buf_size` >= `size` bytes, by the caller's contract.
    let dst = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), size) };
    dst[..text.len()].copy_from_slice(text.as_bytes());
    dst[text.len()] = 0;
    Ok(())
}

/// Checks that an output pointer is not NULL, before any work is done.
pub(crate) fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(Failure::null(what))
    } else {
        Ok(ptr)
    }
}

/// A borrowed byte buffer: `len` bytes at `data`, which may be NULL only when `len` is 0.
///
/// # Safety
/// When non-NULL, `data` is valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(
    data: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and valid for `len` bytes by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A borrowed array of `len` `T`s at `data`, which may be NULL only when `len` is 0.
///
/// # Safety
/// When non-NULL, `data` is valid for reads of `len` `T`s for `'a`.
pub(crate) unsafe fn array<'a, T>(
    data: *const T,
    len: usize,
    what: &str,
) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and valid for `len` elements by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A borrowed NUL-terminated UTF-8 string.
///
/// # Safety
/// `s` is NULL or a valid NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn utf8<'a>(s: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if s.is_null() {
        return Err(Failure::null(what));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(s) }
        .to_str()
        .map_err(|e| Failure::invalid(format!("{what} is not UTF-8: {e}")))
}

/// An optional NUL-terminated UTF-8 string (NULL gives `None`).
///
/// # Safety
/// As [`utf8`].
pub(crate) unsafe fn opt_utf8<'a>(
    s: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Failure> {
    if s.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { utf8(s, what) }.map(Some)
    }
}

/// A file path: any bytes on Unix (paths need not be UTF-8 there), UTF-8 elsewhere.
///
/// # Safety
/// As [`utf8`].
pub(crate) unsafe fn path<'a>(
    s: *const c_char,
    what: &str,
) -> Result<&'a std::path::Path, Failure> {
    if s.is_null() {
        return Err(Failure::null(what));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: non-NULL and NUL-terminated by the caller's contract.
        let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
        Ok(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        // SAFETY: forwarded from the caller.
        unsafe { utf8(s, what) }.map(std::path::Path::new)
    }
}

/// Frees a `Box` handed to C with `Box::into_raw`; NULL does nothing.
///
/// # Safety
/// `ptr` is NULL or came from `Box::into_raw` and was not freed before.
pub(crate) unsafe fn free_box<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: the caller's contract.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank() -> hm_error {
        hm_error {
            code: -1,
            message: [b'?' as c_char; HM_ERROR_MESSAGE_SIZE],
        }
    }

    fn text(err: &hm_error) -> String {
        // SAFETY: the boundary NUL-terminates the message.
        unsafe { CStr::from_ptr(err.message.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_hm_panic_with_its_message() {
        let mut err = blank();
        // SAFETY: `err` is a valid hm_error.
        let status = unsafe { boundary(&mut err, || panic!("boom {}", 42)) };
        assert_eq!((status, err.code), (HM_PANIC, HM_PANIC));
        assert_eq!(text(&err), "internal error (panic caught): boom 42");
        // SAFETY: NULL is allowed.
        let status = unsafe { boundary(std::ptr::null_mut(), || panic!("static")) };
        assert_eq!(status, HM_PANIC);
        assert_eq!(infallible(7usize, || panic!("in an infallible export")), 7);
    }

    #[test]
    fn success_clears_the_error_and_failures_fill_it() {
        let mut err = blank();
        // SAFETY: `err` is a valid hm_error.
        unsafe {
            assert_eq!(boundary(&mut err, || Ok(())), HM_OK);
            assert_eq!((err.code, text(&err)), (HM_OK, String::new()));
            let status = boundary(&mut err, || Err(Failure::null("out")));
            assert_eq!((status, err.code), (HM_NULL_ARGUMENT, HM_NULL_ARGUMENT));
            assert_eq!(text(&err), "out is NULL");
        }
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let mut buf = [0 as c_char; 8];
        write_message(&mut buf, "ab\u{e9}\u{e9}\u{e9}\u{e9}");
        // 7 bytes fit; "ab" + 2 whole "é" (4 bytes) = 6, the third would be cut in half.
        // SAFETY: NUL-terminated by write_message.
        let got = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert_eq!(got, "ab\u{e9}\u{e9}");
        write_message(&mut buf, "");
        assert_eq!(buf[0], 0);
    }
}
