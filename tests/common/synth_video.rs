//! Small H.264 MP4 videos made on the spot, for tests and the demo: every frame a lossless
//! I_PCM picture (`less-avc`, baseline profile, 4:2:0), muxed into MP4 by the `mp4` crate. The
//! decoder gets back exactly the Y, U and V planes written here.
#![allow(dead_code)]

/// A frame's planes: Y (`width * height`), then U and V (`width/2 * height/2` each).
pub struct Yuv420 {
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

/// BT.601 limited-range Y'CbCr of packed RGB (chroma from each 2x2 block's mean), the inverse
/// of what decoders assume for these videos. `width` and `height` must be even.
pub fn yuv420_from_rgb(rgb: &[u8], width: usize, height: usize) -> Yuv420 {
    let px = |x: usize, y: usize| {
        let i = (y * width + x) * 3;
        (rgb[i] as f64, rgb[i + 1] as f64, rgb[i + 2] as f64)
    };
    let clamp = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    let mut y_plane = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let (r, g, b) = px(x, y);
            y_plane.push(clamp(
                16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0,
            ));
        }
    }
    let (cw, ch) = (width / 2, height / 2);
    let mut u = Vec::with_capacity(cw * ch);
    let mut v = Vec::with_capacity(cw * ch);
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut r, mut g, mut b) = (0.0, 0.0, 0.0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (pr, pg, pb) = px(2 * cx + dx, 2 * cy + dy);
                r += pr / 4.0;
                g += pg / 4.0;
                b += pb / 4.0;
            }
            u.push(clamp(
                128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0,
            ));
            v.push(clamp(128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0));
        }
    }
    Yuv420 { y: y_plane, u, v }
}

/// An MP4 of `frames` (each `width x height`, both multiples of 16) at `fps` frames per second.
pub fn make_mp4(frames: &[Yuv420], width: u32, height: u32, fps: u32) -> Vec<u8> {
    use less_avc::ycbcr_image::{DataPlane, Planes, YCbCrImage};
    use less_avc::BitDepth;

    assert!(width.is_multiple_of(16) && height.is_multiple_of(16) && !frames.is_empty());
    fn planes(f: &Yuv420, width: u32, height: u32) -> YCbCrImage<'_> {
        YCbCrImage {
            planes: Planes::YCbCr((
                DataPlane {
                    data: &f.y,
                    stride: width as usize,
                    bit_depth: BitDepth::Depth8,
                },
                DataPlane {
                    data: &f.u,
                    stride: width as usize / 2,
                    bit_depth: BitDepth::Depth8,
                },
                DataPlane {
                    data: &f.v,
                    stride: width as usize / 2,
                    bit_depth: BitDepth::Depth8,
                },
            )),
            width,
            height,
        }
    }
    // One encoded picture as an MP4 sample: its NAL unit with a 4-byte big-endian length.
    let avcc = |nal: &less_avc::nal_unit::NalUnit| {
        let bytes = nal.to_nal_unit();
        let mut out = (bytes.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&bytes);
        out
    };
    let (initial, mut encoder) =
        less_avc::LessEncoder::new(&planes(&frames[0], width, height)).unwrap();
    let mut samples = vec![avcc(&initial.frame)];
    for f in &frames[1..] {
        samples.push(avcc(&encoder.encode(&planes(f, width, height)).unwrap()));
    }

    let config = mp4::Mp4Config {
        major_brand: str::parse("isom").unwrap(),
        minor_version: 512,
        compatible_brands: vec![
            str::parse("isom").unwrap(),
            str::parse("avc1").unwrap(),
            str::parse("mp41").unwrap(),
        ],
        timescale: 1000,
    };
    let mut writer =
        mp4::Mp4Writer::write_start(std::io::Cursor::new(Vec::new()), &config).unwrap();
    let timescale = fps * 512;
    writer
        .add_track(&mp4::TrackConfig {
            track_type: mp4::TrackType::Video,
            timescale,
            language: "und".into(),
            media_conf: mp4::MediaConfig::AvcConfig(mp4::AvcConfig {
                width: width as u16,
                height: height as u16,
                seq_param_set: initial.sps.to_nal_unit(),
                pic_param_set: initial.pps.to_nal_unit(),
            }),
        })
        .unwrap();
    for (i, bytes) in samples.into_iter().enumerate() {
        writer
            .write_sample(
                1,
                &mp4::Mp4Sample {
                    start_time: i as u64 * 512,
                    duration: 512,
                    rendering_offset: 0,
                    is_sync: true,
                    bytes: bytes.into(),
                },
            )
            .unwrap();
    }
    writer.write_end().unwrap();
    writer.into_writer().into_inner()
}

/// A test scene that changes with `scene` (one scene per second of a test video) and drifts a
/// little with `t` (the frame within the second): a few smooth waves whose directions and
/// frequencies depend on the scene (the structure PDQ hashes), in moderate colours so that
/// 4:2:0 subsampling and the limited range change nothing but rounding.
pub fn scene_rgb(width: usize, height: usize, scene: u32, t: u32) -> Vec<u8> {
    // SplitMix64 of the scene: its waves' parameters.
    let mut state = u64::from(scene).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234_5678;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let waves: Vec<(f64, f64, f64)> = (0..4)
        .map(|_| {
            let angle = next() * std::f64::consts::TAU;
            let cycles = 1.0 + next() * 5.0;
            (
                angle.cos() * cycles,
                angle.sin() * cycles,
                next() * std::f64::consts::TAU,
            )
        })
        .collect();
    let drift = f64::from(t) * 0.002;
    let mut rgb = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let (u, v) = (x as f64 / width as f64 + drift, y as f64 / height as f64);
            let level = |k: usize| {
                let (fx, fy, phase) = waves[k];
                (std::f64::consts::TAU * (fx * u + fy * v) + phase).sin()
            };
            let luma = 128.0 + 45.0 * (level(0) + level(1));
            let tint = 25.0 * level(2);
            let shade = 25.0 * level(3);
            for c in [luma + tint, luma - 0.5 * tint + shade, luma - shade] {
                rgb.push(c.round().clamp(20.0, 235.0) as u8);
            }
        }
    }
    rgb
}
