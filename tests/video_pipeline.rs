//! The video pipeline end to end on videos made in the test (lossless H.264 in MP4): decoding,
//! sampling and hashing, the frame API against the file API, damaged files, and the command
//! line. Needs no `../shared`.
#![cfg(feature = "video")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::synth_video::{make_mp4, scene_rgb, yuv420_from_rgb};
use hashmatch::video::decode::{VideoDecoder, VideoLimits};
use hashmatch::video::file::parse_vpdq;
use hashmatch::video::{self, VideoHasher, VideoHasherConfig, VideoIndex, VideoMatchOptions};
use hashmatch::{pdq, Error, PixelFormat, PixelView};

const W: usize = 160;
const H: usize = 96;

/// `seconds` seconds at `fps`, a new scene every second (scenes `first..`).
fn video(first: u32, seconds: u32, fps: u32) -> Vec<u8> {
    let frames: Vec<_> = (0..seconds * fps)
        .map(|n| yuv420_from_rgb(&scene_rgb(W, H, first + n / fps, n % fps), W, H))
        .collect();
    make_mp4(&frames, W as u32, H as u32, fps)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hashmatch-video-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_video_is_sampled_numbered_and_hashed_as_its_frames() {
    let bytes = video(0, 3, 10);
    let hashed = video::hash_bytes(
        bytes,
        &VideoHasherConfig::default(),
        &VideoLimits::default(),
    )
    .unwrap();
    assert_eq!(hashed.frame_count, 30);
    assert_eq!(hashed.frames_per_second, 10.0);
    let numbers: Vec<u64> = hashed.features.iter().map(|f| f.frame_number).collect();
    assert_eq!(numbers, [0, 10, 20]);
    let times: Vec<f64> = hashed.features.iter().map(|f| f.timestamp).collect();
    assert_eq!(times, [0.0, 1.0, 2.0]);
    for (second, f) in hashed.features.iter().enumerate() {
        // The decoded frame went through 4:2:0 and back; its hash stays near the original's,
        // and far from the other seconds' scenes.
        let rgb = scene_rgb(W, H, second as u32, 0);
        let original =
            pdq::hash(&PixelView::packed(&rgb, W as u32, H as u32, PixelFormat::Rgb8).unwrap())
                .unwrap();
        let d = f.hash.distance(&original.hash);
        assert!(d <= 16, "second {second}: {d} bits from the original frame");
        assert!(f.quality >= 50);
        for other in hashed
            .features
            .iter()
            .filter(|o| o.frame_number != f.frame_number)
        {
            assert!(f.hash.distance(&other.hash) > 31);
        }
    }
    // Every frame when asked for it.
    let every = video::hash_bytes(
        video(0, 1, 10),
        &VideoHasherConfig {
            seconds_per_hash: 0.0,
            ..VideoHasherConfig::default()
        },
        &VideoLimits::default(),
    )
    .unwrap();
    assert_eq!(every.features.len(), 10);
}

#[test]
fn the_frame_api_gives_what_the_file_api_gives() {
    let bytes = video(3, 2, 6);
    let from_file = video::hash_bytes(
        bytes.clone(),
        &VideoHasherConfig::default(),
        &VideoLimits::default(),
    )
    .unwrap();
    let mut decoder = VideoDecoder::from_bytes(bytes, &VideoLimits::default()).unwrap();
    assert_eq!((decoder.width(), decoder.height()), (W as u32, H as u32));
    let mut hasher =
        VideoHasher::new(decoder.frames_per_second(), VideoHasherConfig::default()).unwrap();
    let mut n = 0;
    while let Some(frame) = decoder.next_frame().unwrap() {
        assert_eq!(frame.number(), n);
        n += 1;
        // Every frame converted and pushed: the hasher picks the sampled ones itself.
        let rgb = frame.to_rgb().unwrap();
        hasher.push_frame(&rgb.view()).unwrap();
    }
    assert_eq!(hasher.finish(), from_file);
}

#[test]
fn damaged_and_foreign_files_are_typed_errors() {
    let limits = VideoLimits::default();
    let config = VideoHasherConfig::default();
    let good = video(0, 2, 10);
    // The muxer writes the sample table (moov) after the samples: cut short, nothing says
    // where the frames are.
    for cut in [0, 7, 100, good.len() / 2, good.len() - 1] {
        let err = video::hash_bytes(good[..cut].to_vec(), &config, &limits).unwrap_err();
        assert!(
            matches!(
                err,
                Error::VideoDecode { .. } | Error::UnsupportedVideo { .. }
            ),
            "cut at {cut}: {err}"
        );
    }
    assert!(matches!(
        video::hash_bytes(b"\x89PNG\r\n\x1a\n0000".to_vec(), &config, &limits),
        Err(Error::UnsupportedVideo { .. })
    ));
    // A frame too large for the limits is refused before decoding.
    let small = VideoLimits {
        max_width: 64,
        ..VideoLimits::default()
    };
    assert!(matches!(
        video::hash_bytes(good.clone(), &config, &small),
        Err(Error::TooLarge { .. })
    ));
}

/// Garbage over one sample in the middle: the frames before it are hashed and kept, and the
/// video ends in an error, not in a clean result.
#[test]
fn a_corrupt_middle_yields_the_frames_before_it_and_an_error() {
    let good = video(0, 3, 10);
    // Samples are in file order after the `mdat` header; each I_PCM sample is the same size.
    let mdat = good.windows(4).position(|w| w == b"mdat").unwrap() + 4;
    let sample = (good.len() - mdat) / 30; // an upper bound that lands inside sample ~15
    let mut bad = good.clone();
    let at = mdat + sample * 15;
    for (i, b) in bad[at..at + 64].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(151) ^ 0xa5;
    }
    match video::hash_bytes(bad, &VideoHasherConfig::default(), &VideoLimits::default()) {
        Err(Error::VideoDecode {
            frame,
            partial: Some(partial),
            ..
        }) => {
            assert!((10..30).contains(&frame), "failed at frame {frame}");
            assert!(!partial.features.is_empty());
            assert_eq!(partial.features[0].frame_number, 0);
            assert_eq!(partial.frame_count, frame);
        }
        other => panic!("expected a decode error with the frames before it, got {other:?}"),
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hashmatch"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_command_line_hashes_lists_and_matches_videos() {
    let dir = scratch("cli");
    let known = dir.join("known.mp4");
    std::fs::write(&known, video(0, 6, 10)).unwrap();
    std::fs::create_dir_all(dir.join("uploads")).unwrap();
    // A clip of the known video (seconds 2-4), an unrelated video, and an image.
    let clip: Vec<_> = (20..50)
        .map(|n| yuv420_from_rgb(&scene_rgb(W, H, n / 10, n % 10), W, H))
        .collect();
    std::fs::write(
        dir.join("uploads/clip.mp4"),
        make_mp4(&clip, W as u32, H as u32, 10),
    )
    .unwrap();
    std::fs::write(dir.join("uploads/other.mp4"), video(40, 4, 10)).unwrap();
    image::RgbImage::from_fn(120, 90, |x, y| {
        image::Rgb([(x * 2) as u8, (y * 3) as u8, (x ^ y) as u8])
    })
    .save(dir.join("uploads/photo.png"))
    .unwrap();

    // `video hash`: one video to stdout, in the reference's line format.
    let (code, stdout, stderr) = run(&["video", "hash", path(&known)]);
    assert_eq!(code, 0, "{stderr}");
    let records = parse_vpdq(&stdout, Path::new("stdout")).unwrap();
    assert_eq!(records.len(), 6);
    assert!(stdout.starts_with("0,"));
    // Known videos are best listed at every frame (a clip cut anywhere finds its frames).
    let list = dir.join("known-videos");
    let (code, _, stderr) = run(&[
        "video",
        "hash",
        "--seconds-per-hash",
        "0",
        "--out",
        path(&list),
        path(&known),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        parse_vpdq(
            &std::fs::read_to_string(list.join("known.txt")).unwrap(),
            &list
        )
        .unwrap()
        .len(),
        60
    );
    // Several videos without --out is refused rather than mixed on stdout.
    let (code, _, stderr) = run(&["video", "hash", path(&dir.join("uploads"))]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--out"), "{stderr}");

    // `video match`: the clip matches the known video, the other video matches nothing.
    let (code, stdout, stderr) = run(&[
        "video",
        "match",
        "--video-list",
        path(&list),
        path(&dir.join("uploads/clip.mp4")),
        path(&dir.join("uploads/other.mp4")),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "clip.mp4: 1 match\n  list known-videos entry 1 video frames 100.0% of upload"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("other.mp4: no match"), "{stdout}");

    // `--out` wrote the known file's MD5 beside its records: the very file is found as an
    // exact copy without decoding; a malformed digest is refused with its file and line.
    let md5 = std::fs::read_to_string(list.join("known.md5")).unwrap();
    assert_eq!(
        md5.trim(),
        hashmatch::video::VideoMd5::of_file(&known)
            .unwrap()
            .to_string()
    );
    let (code, stdout, stderr) =
        run(&["video", "match", "--video-list", path(&list), path(&known)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "known.mp4: 1 match\n  list known-videos entry 1 video exact copy (file MD5)"
        ),
        "{stdout}"
    );
    let bad_list = dir.join("bad-list");
    std::fs::create_dir_all(&bad_list).unwrap();
    std::fs::write(bad_list.join("x.md5"), "# known file\nnot-a-digest\n").unwrap();
    let (code, _, stderr) = run(&[
        "video",
        "match",
        "--video-list",
        path(&bad_list),
        path(&known),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("x.md5, line 2"), "{stderr}");

    // `scan`: images and videos in one folder, each against its own lists.
    let (code, stdout, stderr) = run(&[
        "scan",
        "--video-list",
        path(&list),
        "--list",
        "examples/demo-list.csv",
        path(&dir.join("uploads")),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("clip.mp4: 1 match"), "{stdout}");
    assert!(stdout.contains("other.mp4: no match"), "{stdout}");
    assert!(stdout.contains("photo.png: no match"), "{stdout}");
    assert!(
        stderr.contains("3 upload(s) scanned: 1 matched, 2 no match, 0 failed"),
        "{stderr}"
    );

    // Without a video list a video is not checked, and says so: never "no match".
    let (code, stdout, stderr) = run(&[
        "scan",
        "--list",
        "examples/demo-list.csv",
        path(&dir.join("uploads")),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(!stdout.contains("clip.mp4"), "{stdout}");
    assert!(
        stderr.contains("clip.mp4: skipped: a video, and no --video-list was given"),
        "{stderr}"
    );

    // `hash` hashes images and points videos to `video hash`.
    let (code, _, stderr) = run(&["hash", path(&dir.join("uploads/clip.mp4"))]);
    assert_eq!(code, 1);
    assert!(stderr.contains("video hash"), "{stderr}");

    // A video list that does not parse is refused with its file and line.
    std::fs::write(list.join("broken.txt"), "0,100,abc,0.000\n").unwrap();
    let (code, _, stderr) = run(&["video", "match", "--video-list", path(&list), path(&known)]);
    assert_eq!(code, 2);
    assert!(stderr.contains("broken.txt, line 1: hash: "), "{stderr}");

    // The index matches what the command line printed.
    let mut index = VideoIndex::new(VideoMatchOptions::default());
    index.add_list("k").unwrap();
    let listed = hashmatch::video::file::read_vpdq(&list.join("known.txt")).unwrap();
    index.insert("k", 1, None, &listed).unwrap();
    assert_eq!(index.query(&records).unwrap()[0].query_percent, 100.0);
}
