//! The built-in MP4/H.264 decoder against Meta's vPDQ sample hashes (`../shared/vectors/vpdq`),
//! FFmpeg's C-path RGB (when the `ffmpeg` CLI is installed), and damaged or foreign inputs.
#![cfg(feature = "video")]

use std::path::{Path, PathBuf};
use std::process::Command;

use hashmatch::video::decode::{VideoDecoder, VideoLimits};
use hashmatch::{Error, Hash256};
use rayon::prelude::*;

fn vectors() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/vpdq");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is missing", dir.display());
        None
    }
}

fn videos(dir: &Path) -> Vec<PathBuf> {
    let mut videos: Vec<PathBuf> = std::fs::read_dir(dir.join("sample-videos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    videos.sort();
    videos
}

/// `frameNumber,quality,pdqHex,timestamp` lines of the native-size reference.
fn reference(dir: &Path, video: &Path) -> Vec<(u64, u8, Hash256)> {
    let stem = video.file_stem().unwrap().to_str().unwrap();
    let text = std::fs::read_to_string(dir.join(format!("sample-hashes/{stem}.txt"))).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (
                fields[0].parse().unwrap(),
                fields[1].parse().unwrap(),
                fields[2].parse().unwrap(),
            )
        })
        .collect()
}

struct Outcome {
    name: String,
    frames: usize,
    identical: usize,
    worst_good: u32,
}

fn check_video(dir: &Path, video: &Path) -> Outcome {
    let name = video.file_name().unwrap().to_string_lossy().into_owned();
    let expected = reference(dir, video);
    let mut decoder = VideoDecoder::open(video, &VideoLimits::default()).unwrap();
    assert_eq!(decoder.frames_per_second(), 30.0, "{name}");
    let (mut frames, mut identical, mut worst_good) = (0usize, 0usize, 0u32);
    while let Some(frame) = decoder.next_frame().unwrap() {
        assert_eq!(frame.number(), frames as u64, "{name}");
        assert_eq!(
            (frame.width(), frame.height()),
            (decoder.width(), decoder.height())
        );
        let (number, quality, hash) = expected[frames];
        assert_eq!(number, frames as u64, "{name}");
        let pdq = hashmatch::pdq::hash(&frame.to_rgb().unwrap().view()).unwrap();
        let distance = pdq.hash.distance(&hash);
        identical += usize::from(distance == 0);
        if quality >= 50 {
            worst_good = worst_good.max(distance);
        }
        frames += 1;
    }
    assert_eq!(frames, expected.len(), "{name}: frame count");
    Outcome {
        name,
        frames,
        identical,
        worst_good,
    }
}

#[test]
fn sample_videos_reproduce_the_reference_hashes() {
    let Some(dir) = vectors() else { return };
    let videos = videos(&dir);
    assert_eq!(videos.len(), 14);
    let outcomes: Vec<Outcome> = videos.par_iter().map(|v| check_video(&dir, v)).collect();
    let (mut frames, mut identical) = (0, 0);
    for o in &outcomes {
        println!(
            "{:40} {:4}/{:4} identical, worst q>=50 distance {}",
            o.name, o.identical, o.frames, o.worst_good
        );
        if o.name == "test-padded-dimensions.mp4" {
            // Its reference was made with FFmpeg's x86 SIMD converter, not the C one.
            assert!(o.worst_good <= 31, "{}", o.name);
        } else {
            frames += o.frames;
            identical += o.identical;
        }
    }
    println!("13 older videos: {identical}/{frames} frames identical");
    assert_eq!(frames, 5722);
    assert!(identical >= 5700, "{identical}/{frames}");
}

/// RGB of every frame, as FFmpeg's C converter (`-cpuflags 0`) outputs it.
fn ffmpeg_rgb(video: &Path) -> Option<Vec<u8>> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-cpuflags", "0", "-i"])
        .arg(video)
        .args([
            "-vsync",
            "passthrough",
            "-sws_flags",
            "area",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .ok()?;
    assert!(output.status.success(), "ffmpeg failed on {video:?}");
    Some(output.stdout)
}

#[test]
fn rgb_equals_ffmpeg_c_path() {
    let Some(dir) = vectors() else { return };
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("skipped: the ffmpeg CLI is not installed");
        return;
    }
    let names = ["pattern-sd-grey-bar.mp4", "doorknob-hd-no-bar.mp4"];
    names.par_iter().for_each(|name| {
        let video = dir.join("sample-videos").join(name);
        let expected = ffmpeg_rgb(&video).unwrap();
        let mut decoder = VideoDecoder::open(&video, &VideoLimits::default()).unwrap();
        let frame_bytes = decoder.width() as usize * decoder.height() as usize * 3;
        let mut count = 0;
        while let Some(frame) = decoder.next_frame().unwrap() {
            let rgb = frame.to_rgb().unwrap();
            let want = &expected[count * frame_bytes..][..frame_bytes];
            assert!(
                rgb.as_bytes() == want,
                "{name}: frame {count} differs from FFmpeg's RGB"
            );
            count += 1;
        }
        assert_eq!(count * frame_bytes, expected.len(), "{name}: frame count");
        println!("{name}: {count} frames, RGB identical to ffmpeg -cpuflags 0");
    });
}

/// Decodes everything, returning the frames before the first error and the error.
fn decode_all(bytes: Vec<u8>) -> (u64, Option<Error>) {
    let mut decoder = match VideoDecoder::from_bytes(bytes, &VideoLimits::default()) {
        Ok(d) => d,
        Err(e) => return (0, Some(e)),
    };
    let mut frames = 0;
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => {
                assert_eq!(frame.number(), frames);
                frame.to_rgb().unwrap();
                frames += 1;
            }
            Ok(None) => return (frames, None),
            Err(e) => {
                // A failed decoder stays failed.
                assert!(decoder.next_frame().is_err());
                return (frames, Some(e));
            }
        }
    }
}

fn sample(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("sample-videos/pattern-sd-grey-bar.mp4")).unwrap()
}

/// Where the `mdat` payload is: (start, end).
fn mdat(bytes: &[u8]) -> (usize, usize) {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if &bytes[at + 4..at + 8] == b"mdat" {
            return (at + 8, at + size);
        }
        at += size;
    }
    panic!("no mdat");
}

#[test]
fn truncated_video_gives_frames_then_an_error() {
    let Some(dir) = vectors() else { return };
    let mut bytes = sample(&dir);
    let whole = decode_all(bytes.clone()).0;
    bytes.truncate(bytes.len() / 2);
    let (frames, error) = decode_all(bytes);
    println!("cut at 50 %: {frames} of {whole} frames, then {error:?}");
    assert!(frames > 0 && frames < whole);
    match error {
        Some(Error::VideoDecode { frame, message, .. }) => {
            assert_eq!(frame, frames);
            assert!(message.contains("truncated"), "{message}");
        }
        other => panic!("expected VideoDecode, got {other:?}"),
    }
}

#[test]
fn garbage_in_the_mdat_gives_frames_then_an_error() {
    let Some(dir) = vectors() else { return };
    let mut bytes = sample(&dir);
    let whole = decode_all(bytes.clone()).0;
    let (start, end) = mdat(&bytes);
    // 128 KiB, more than any one sample of this video holds: the garbage covers at least one
    // sample's NAL length prefix, which the decoder checks. (Garbage wholly inside one sample's
    // entropy-coded slice data, with its NAL structure intact, decodes to concealed pictures
    // without an error, as it does in FFmpeg: H.264 has no checksum to catch it.)
    let middle = start + (end - start) / 2;
    let mut state = 0x2545_f491_u32;
    for b in &mut bytes[middle..middle + (128 << 10)] {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *b = state as u8;
    }
    let (frames, error) = decode_all(bytes);
    println!("128 KiB of garbage mid-mdat: {frames} of {whole} frames, then {error:?}");
    assert!(frames > 0 && frames < whole);
    match error {
        Some(Error::VideoDecode { frame, .. }) => assert_eq!(frame, frames),
        other => panic!("expected VideoDecode, got {other:?}"),
    }
}

#[test]
fn foreign_bytes_are_typed_errors() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0\x90\x91h6".to_vec();
    let mut state = 12345u64;
    let random: Vec<u8> = (0..10_000)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            (state >> 56) as u8
        })
        .collect();
    for (what, bytes) in [("empty", vec![]), ("png", png), ("random", random)] {
        match VideoDecoder::from_bytes(bytes, &VideoLimits::default()) {
            Err(Error::UnsupportedVideo { what: message }) => {
                println!("{what}: {message}");
                assert!(message.contains("not an MP4"), "{what}: {message}");
            }
            other => panic!("{what}: expected UnsupportedVideo, got {other:?}"),
        }
    }
    // An MP4 without a moov box.
    let ftyp_only = b"\0\0\0\x10ftypisom\0\0\0\0".to_vec();
    assert!(matches!(
        VideoDecoder::from_bytes(ftyp_only, &VideoLimits::default()),
        Err(Error::VideoDecode { frame: 0, .. })
    ));
}

#[test]
fn limits_are_checked_before_decoding() {
    let Some(dir) = vectors() else { return };
    let bytes = sample(&dir);
    let small = |f: fn(&mut VideoLimits)| {
        let mut limits = VideoLimits::default();
        f(&mut limits);
        VideoDecoder::from_bytes(bytes.clone(), &limits)
    };
    let too_large = |r: hashmatch::Result<VideoDecoder>| match r {
        Err(Error::TooLarge { what, .. }) => what,
        other => panic!("expected TooLarge, got {other:?}"),
    };
    assert!(too_large(small(|l| l.max_input_bytes = 1000)).contains("input"));
    assert!(too_large(small(|l| l.max_frames = 10)).contains("frame count"));
    assert!(too_large(small(|l| l.max_width = 320)).contains("width"));
    assert!(too_large(small(|l| l.max_height = 320)).contains("height"));
    assert!(too_large(small(|l| l.max_pixels = 100_000)).contains("pixel"));
}

#[test]
fn codec_other_than_h264_is_named() {
    let Some(dir) = vectors() else { return };
    let mut bytes = sample(&dir);
    // The sample entry in `stsd` (the `ftyp` box lists `avc1` as a brand too).
    let stsd = bytes
        .windows(4)
        .position(|w| w == b"stsd")
        .expect("stsd box");
    let at = stsd
        + bytes[stsd..]
            .windows(4)
            .position(|w| w == b"avc1")
            .expect("avc1 sample entry");
    bytes[at..at + 4].copy_from_slice(b"hvc1");
    match VideoDecoder::from_bytes(bytes, &VideoLimits::default()) {
        Err(Error::UnsupportedVideo { what }) => {
            assert!(what.contains("hvc1") && what.contains("HEVC"), "{what}")
        }
        other => panic!("expected UnsupportedVideo, got {other:?}"),
    }
}
