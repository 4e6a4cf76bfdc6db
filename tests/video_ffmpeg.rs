//! The optional FFmpeg backend (feature `ffmpeg`; `.ci/run` runs these) as a test oracle for
//! the built-in decoder, and as the decoder of what the built-in one refuses.
//! Needs `../shared` and, for the re-encoded copies, the `ffmpeg` CLI; compares with the
//! built-in decoder, so it needs the `video` feature too.
#![cfg(all(feature = "ffmpeg", feature = "video"))]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use hashmatch::video::file::read_vpdq;
use hashmatch::video::{
    self, ffmpeg, VideoHasherConfig, VideoIndex, VideoLimits, VideoMatchOptions,
};
use hashmatch::Error;

fn samples() -> Option<PathBuf> {
    common::shared_dir("video_ffmpeg").map(|shared| shared.join("vectors/vpdq"))
}

fn every_frame() -> VideoHasherConfig {
    VideoHasherConfig {
        seconds_per_hash: 0.0,
        ..VideoHasherConfig::default()
    }
}

/// With FFmpeg on its portable C code, FFmpeg's frames and the built-in decoder's give the same
/// records, frame for frame, hash for hash.
#[test]
fn ffmpeg_and_the_builtin_decoder_agree_bit_for_bit() {
    let Some(dir) = samples() else { return };
    ffmpeg::force_portable_conversion();
    for name in ["pattern-sd-grey-bar.mp4", "doorknob-hd-no-bar.mp4"] {
        let path = dir.join("sample-videos").join(name);
        let theirs = ffmpeg::hash_file(&path, &every_frame(), &VideoLimits::default()).unwrap();
        let ours = video::hash_file(&path, &every_frame(), &VideoLimits::default()).unwrap();
        assert_eq!(theirs.frame_count, ours.frame_count, "{name}");
        assert_eq!(theirs.frames_per_second, ours.frames_per_second, "{name}");
        assert_eq!(theirs.features, ours.features, "{name}");
        println!(
            "{name}: {} frames identical through FFmpeg and the built-in decoder",
            ours.frame_count
        );
    }
}

/// Re-encodes `source` to `out` with the ffmpeg CLI, or says why not and returns false.
fn reencode(source: &Path, out: &Path, codec_args: &[&str]) -> bool {
    if !common::ffmpeg_cli("video_ffmpeg") {
        return false;
    }
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(source)
        .args(codec_args)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg failed to make {out:?}");
    true
}

/// A WebM (VP9) copy of a sample video: the built-in decoder names what it cannot read, and
/// `video::hash_file` hands it to FFmpeg; the copy matches its source's reference records.
#[test]
fn a_webm_copy_is_decoded_by_ffmpeg_and_matches_its_source() {
    let Some(dir) = samples() else { return };
    let scratch = std::env::temp_dir().join(format!("hashmatch-ffmpeg-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let webm = scratch.join("copy.webm");
    let source = dir.join("sample-videos/pattern-sd-grey-bar.mp4");
    let vp9 = [
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "800k",
        "-an",
    ];
    if !reencode(&source, &webm, &vp9) {
        return;
    }
    match video::decode::VideoDecoder::open(&webm, &VideoLimits::default()) {
        Err(Error::UnsupportedVideo { what }) => assert!(what.contains("MP4"), "{what}"),
        other => panic!("the built-in decoder should refuse WebM, got {other:?}"),
    }
    let hashed = video::hash_file(
        &webm,
        &VideoHasherConfig::default(),
        &VideoLimits::default(),
    )
    .unwrap();
    assert_eq!(hashed.frame_count, 206);
    assert_eq!(hashed.features.len(), 7);

    let mut index = VideoIndex::new(VideoMatchOptions::default());
    index.add_list("known").unwrap();
    for (id, stem) in [
        "pattern-sd-grey-bar",
        "chair-orig-22-sd-bar",
        "doorknob-hd-no-bar",
    ]
    .iter()
    .enumerate()
    {
        let records = read_vpdq(&dir.join(format!("sample-hashes/{stem}.txt"))).unwrap();
        index
            .insert("known", id as u64 + 1, Some(stem), &records)
            .unwrap();
    }
    let found = index.query(&hashed.features).unwrap();
    println!("VP9/WebM copy: {found:?}");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].entry_id, 1);
    std::fs::remove_dir_all(&scratch).ok();
}

/// FFmpeg's input is bounded by the same limits, and what it cannot read is a typed error.
#[test]
fn limits_and_foreign_files_are_typed_errors() {
    let Some(dir) = samples() else { return };
    let path = dir.join("sample-videos/pattern-sd-grey-bar.mp4");
    let small = VideoLimits {
        max_height: 256,
        ..VideoLimits::default()
    };
    assert!(matches!(
        ffmpeg::hash_file(&path, &VideoHasherConfig::default(), &small),
        Err(Error::TooLarge {
            what: "video frame height",
            ..
        })
    ));
    let few = VideoLimits {
        max_frames: 50,
        ..VideoLimits::default()
    };
    assert!(matches!(
        ffmpeg::hash_file(&path, &VideoHasherConfig::default(), &few),
        Err(Error::TooLarge {
            what: "video frame count",
            ..
        })
    ));
    let scratch = std::env::temp_dir().join(format!("hashmatch-ffmpeg-bad-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let junk = scratch.join("junk.mkv");
    std::fs::write(&junk, b"\x1a\x45\xdf\xa3 not really a matroska file").unwrap();
    match ffmpeg::hash_file(
        &junk,
        &VideoHasherConfig::default(),
        &VideoLimits::default(),
    ) {
        Err(Error::UnsupportedVideo { .. }) | Err(Error::VideoDecode { .. }) => {}
        other => panic!("expected a typed error, got {other:?}"),
    }
    assert!(matches!(
        ffmpeg::hash_file(
            &scratch.join("missing.mp4"),
            &VideoHasherConfig::default(),
            &VideoLimits::default()
        ),
        Err(Error::Io { .. })
    ));
    std::fs::remove_dir_all(&scratch).ok();
}
