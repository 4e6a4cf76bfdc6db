//! The `hashmatch` command line, end to end: output formats, exit codes, a bad file among good
//! ones, folders, `scan`.

use std::path::{Path, PathBuf};
use std::process::Command;

use hashmatch::{Hash256, Hasher, HasherConfig};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hashmatch"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hashmatch-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A textured image with plenty of structure (quality 100).
fn textured(seed: u32) -> image::RgbImage {
    image::RgbImage::from_fn(160, 120, |x, y| {
        let v = (x * 7 + y * 13 + seed * 31) ^ (x * y + seed);
        image::Rgb([
            (v % 251) as u8,
            ((v / 3) % 241) as u8,
            ((x + seed) * 5 % 256) as u8,
        ])
    })
}

fn write_fixtures(dir: &Path) {
    textured(1).save(dir.join("a.png")).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    textured(2).save(dir.join("sub/b.jpg")).unwrap();
    image::GrayImage::from_pixel(100, 100, image::Luma([128]))
        .save(dir.join("flat.png"))
        .unwrap();
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn text_output_matches_the_library_and_walks_folders() {
    let dir = scratch("text");
    write_fixtures(&dir);
    let (code, stdout, stderr) = run(&[
        "hash",
        dir.join("a.png").to_str().unwrap(),
        dir.join("sub").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let hasher = Hasher::new(HasherConfig::default());
    for (line, file) in lines.iter().zip(["a.png", "sub/b.jpg"]) {
        let fields: Vec<&str> = line.splitn(3, ' ').collect();
        let want = hasher.hash_file(dir.join(file)).unwrap();
        assert_eq!(fields[0].parse::<Hash256>().unwrap(), want.hash);
        assert_eq!(fields[1], want.quality.to_string());
        assert!(fields[2].ends_with(file), "{line}");
    }
    assert!(stderr.is_empty(), "piped output must be quiet: {stderr}");
}

#[test]
fn a_corrupt_file_is_reported_and_the_others_still_hashed() {
    let dir = scratch("corrupt");
    write_fixtures(&dir);
    std::fs::remove_file(dir.join("flat.png")).unwrap();
    let png = std::fs::read(dir.join("a.png")).unwrap();
    std::fs::write(dir.join("truncated.png"), &png[..png.len() / 2]).unwrap();
    std::fs::write(dir.join("notes.txt"), b"not an image").unwrap();
    let (code, stdout, stderr) = run(&["hash", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "a failed file must fail the run");
    assert_eq!(
        stdout.lines().count(),
        2,
        "good files still hashed: {stdout}"
    );
    assert!(
        stderr.contains("truncated.png") && stderr.contains("cannot decode PNG"),
        "{stderr}"
    );
    assert!(
        stderr.contains("notes.txt") && stderr.contains("unrecognised image format"),
        "{stderr}"
    );
    assert!(!stdout.contains("truncated.png") && !stdout.contains("notes.txt"));
}

#[test]
fn low_quality_is_skipped_with_its_own_exit_code_unless_the_floor_is_lowered() {
    let dir = scratch("quality");
    write_fixtures(&dir);
    let flat = dir.join("flat.png");
    let (code, stdout, stderr) = run(&["hash", flat.to_str().unwrap()]);
    assert_eq!((code, stdout.as_str()), (3, ""));
    assert!(
        stderr.contains("quality 0 is below the floor of 50"),
        "{stderr}"
    );
    let (code, stdout, _) = run(&["hash", "--min-quality", "0", flat.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with(&format!(
        "{} 0 ",
        Hasher::new(HasherConfig {
            quality_floor: 0,
            ..Default::default()
        })
        .hash_file(&flat)
        .unwrap()
        .hash
    )));
}

#[test]
fn csv_and_json_formats() {
    let dir = scratch("formats");
    write_fixtures(&dir);
    let a = dir.join("a.png");
    let want = Hasher::new(HasherConfig::default()).hash_file(&a).unwrap();
    let (code, stdout, _) = run(&["hash", "--format", "csv", a.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        format!(
            "hash,quality,path\n{},{},{}\n",
            want.hash,
            want.quality,
            a.display()
        )
    );

    let (code, stdout, _) = run(&[
        "hash",
        "--format",
        "json",
        "--dihedral",
        a.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let dihedral = Hasher::new(HasherConfig::default())
        .dihedral_file(&a)
        .unwrap();
    assert_eq!(v["hash"], want.hash.to_string());
    assert_eq!(v["quality"], want.quality);
    assert_eq!(
        v["dihedral"]["rot90"],
        dihedral.get(hashmatch::pdq::Dihedral::Rotate90).to_string()
    );
    assert_eq!(v["path"], a.display().to_string());
}

#[test]
fn missing_path_and_bad_arguments() {
    let (code, _, stderr) = run(&["hash", "/nonexistent/upload.jpg"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/upload.jpg"), "{stderr}");
    let (code, _, _) = run(&["hash", "--policy", "bogus", "x.png"]);
    assert_eq!(code, 2);
    let (code, _, _) = run(&["hash", "--min-quality", "101", "x.png"]);
    assert_eq!(code, 2);
}

#[test]
fn policies_change_large_images_only() {
    let dir = scratch("policy");
    let big = image::RgbImage::from_fn(1200, 700, |x, y| {
        let v = (x / 9) * 37 + (y / 7) * 91 + x * y / 50;
        image::Rgb([
            (v % 256) as u8,
            ((v / 2) % 256) as u8,
            ((x * 3 + y) % 256) as u8,
        ])
    });
    let path = dir.join("big.png");
    big.save(&path).unwrap();
    let hash_with = |policy: &str| {
        let (code, stdout, stderr) = run(&[
            "hash",
            "--policy",
            policy,
            "--min-quality",
            "0",
            path.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        stdout
            .split(' ')
            .next()
            .unwrap()
            .parse::<Hash256>()
            .unwrap()
    };
    let native = hash_with("native");
    let reference512 = hash_with("reference512");
    let fast = hash_with("fast");
    let expect = |resize| {
        Hasher::new(HasherConfig {
            resize,
            quality_floor: 0,
            ..Default::default()
        })
        .hash_file(&path)
        .unwrap()
        .hash
    };
    assert_eq!(native, expect(hashmatch::ResizePolicy::Native));
    assert_eq!(reference512, expect(hashmatch::ResizePolicy::Reference512));
    assert_eq!(fast, expect(hashmatch::ResizePolicy::Fast));
}

/// A list of the fixtures' own hashes, in CSV, written next to them.
fn write_list(dir: &Path, lines: &str) -> PathBuf {
    let path = dir.join("known.csv");
    std::fs::write(&path, lines).unwrap();
    path
}

#[test]
fn match_names_list_entry_distance_and_orientation() {
    let dir = scratch("match");
    write_fixtures(&dir);
    let hasher = Hasher::new(HasherConfig::default());
    let a = hasher.hash_file(dir.join("a.png")).unwrap();
    // A photo-like picture (one of the demo landscapes) and its mirror image.
    let landscape = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/uploads/landscape-2.jpg");
    let landscape_hash = hasher.hash_file(&landscape).unwrap();
    image::imageops::flip_horizontal(&image::open(&landscape).unwrap())
        .save(dir.join("mirrored.png"))
        .unwrap();
    let list = write_list(
        &dir,
        &format!(
            "hash,entry_id,label\n{},42,case 7\n{},43,\n",
            a.hash, landscape_hash.hash
        ),
    );
    let uploads = [dir.join("a.png"), dir.join("sub"), dir.join("mirrored.png")];
    let mut args = vec!["match", "--list", list.to_str().unwrap()];
    args.extend(uploads.iter().map(|p| p.to_str().unwrap()));

    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    let expected_first = format!(
        "{}: 1 match\n  list known entry 42 distance 0 orientation orig label \"case 7\"\n",
        uploads[0].display()
    );
    assert!(stdout.starts_with(&expected_first), "{stdout}");
    assert!(stdout.contains("b.jpg: no match"), "{stdout}");
    assert!(
        stdout.contains("mirrored.png: no match"),
        "without --dihedral a mirror is not found: {stdout}"
    );

    args.insert(1, "--dihedral");
    args.extend(["--format", "json"]);
    let (code, stdout, _) = run(&args);
    assert_eq!(code, 0);
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    let mirrored = &records[2]["matches"][0];
    assert_eq!(mirrored["list"], "known");
    assert_eq!(mirrored["entry_id"], 43);
    assert_eq!(mirrored["orientation"], "flip-y");
    assert!(mirrored["distance"].as_u64().unwrap() <= 31);
    assert_eq!(records[0]["matches"][0]["label"], "case 7");
}

#[test]
fn a_malformed_list_is_refused_unless_lenient() {
    let dir = scratch("badlist");
    write_fixtures(&dir);
    let a = Hasher::new(HasherConfig::default())
        .hash_file(dir.join("a.png"))
        .unwrap();
    let list = write_list(
        &dir,
        &format!("{},1\n{},2\n", a.hash, &a.hash.to_string()[..40]),
    );
    let upload = dir.join("a.png");
    let (code, stdout, stderr) = run(&[
        "match",
        "--list",
        list.to_str().unwrap(),
        upload.to_str().unwrap(),
    ]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.contains("known.csv, line 2: invalid hash: expected 64 hex digits, found 40"),
        "{stderr}"
    );
    let (code, stdout, stderr) = run(&[
        "match",
        "--lenient",
        "--list",
        list.to_str().unwrap(),
        upload.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("line 2: skipped"), "{stderr}");
    assert!(stdout.contains("1 match"), "{stdout}");
}

#[test]
fn the_readme_demo_finds_every_reupload() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let list = root.join("demo-list.csv");
    let uploads = root.join("uploads");
    // The README's first command.
    let (code, stdout, stderr) = run(&[
        "scan",
        "--list",
        list.to_str().unwrap(),
        uploads.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        summary(&stderr).contains("10 upload(s) scanned: 6 matched, 4 no match, 0 failed"),
        "{stderr}"
    );
    for (file, entry) in [
        ("landscape-2.jpg", 1001),
        ("landscape-5.jpg", 1002),
        ("reupload-resized.jpg", 1001),
        ("reupload-mirrored.jpg", 1001),
        ("reupload-rotated.jpg", 1002),
        ("reupload-recompressed.jpg", 1002),
    ] {
        let block = stdout
            .split(&format!("{file}: "))
            .nth(1)
            .unwrap_or_else(|| panic!("{file} missing: {stdout}"));
        let block = block.split("\nexamples").next().unwrap_or(block);
        assert!(
            block.starts_with("1 match") && block.contains(&format!("entry {entry} ")),
            "{file}: {block}"
        );
    }
    for file in [
        "landscape-1.jpg",
        "landscape-3.jpg",
        "landscape-4.jpg",
        "landscape-6.jpg",
    ] {
        assert!(
            stdout.contains(&format!("{file}: no match")),
            "{file}: {stdout}"
        );
    }
}

#[test]
fn index_build_then_match_and_stats_from_the_snapshot() {
    let dir = scratch("snapshot");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let snapshot = dir.join("known.hmsnap");
    let (code, _, stderr) = run(&[
        "index",
        "build",
        "--list",
        root.join("demo-list.csv").to_str().unwrap(),
        "--out",
        snapshot.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1 list(s), 2 entries"), "{stderr}");

    let upload = root.join("uploads/reupload-recompressed.jpg");
    let (code, stdout, stderr) = run(&[
        "match",
        "--index",
        snapshot.to_str().unwrap(),
        upload.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("1 match") && stdout.contains("list demo-list entry 1002"),
        "{stdout}"
    );

    let (code, stdout, _) = run(&["stats", snapshot.to_str().unwrap()]);
    assert_eq!(
        (code, stdout.as_str()),
        (
            0,
            "demo-list: 2 entries, 0 disabled, threshold 31, enabled\n"
        )
    );

    // A corrupt snapshot is refused with its reason, never treated as an empty list.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&snapshot, &bytes).unwrap();
    let (code, stdout, stderr) = run(&[
        "match",
        "--index",
        snapshot.to_str().unwrap(),
        upload.to_str().unwrap(),
    ]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(stderr.contains("checksum"), "{stderr}");
    let (code, _, stderr) = run(&["match", upload.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--index SNAPSHOT or at least one --list"),
        "{stderr}"
    );
}

#[test]
fn list_import_disable_enable_change_the_snapshot() {
    let dir = scratch("listcmd");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let snapshot = dir.join("lists.hmsnap");
    let s = snapshot.to_str().unwrap();
    let demo = root.join("demo-list.csv");
    let upload = root.join("uploads/landscape-2.jpg");

    let (code, _, stderr) = run(&[
        "list",
        "import",
        "--index",
        s,
        "--name",
        "hotline",
        demo.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("imported 2 entries"), "{stderr}");
    // Importing the same name again is refused and leaves the snapshot as it was.
    let (code, _, stderr) = run(&[
        "list",
        "import",
        "--index",
        s,
        "--name",
        "hotline",
        demo.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already exists"), "{stderr}");

    let (code, stdout, _) = run(&["match", "--index", s, upload.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("list hotline entry 1001"), "{stdout}");

    let (code, _, stderr) = run(&[
        "list", "disable", "--index", s, "--list", "hotline", "--entry", "1001",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("needs --reason"), "{stderr}");
    let (code, _, stderr) = run(&[
        "list",
        "disable",
        "--index",
        s,
        "--list",
        "hotline",
        "--entry",
        "1001",
        "--reason",
        "review 7: not a match",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = run(&["match", "--index", s, upload.to_str().unwrap()]);
    assert!(stdout.contains("landscape-2.jpg: no match"), "{stdout}");
    let (_, stdout, _) = run(&["stats", s]);
    assert_eq!(
        stdout,
        "hotline: 2 entries, 1 disabled, threshold 31, enabled\n"
    );

    let (code, _, _) = run(&[
        "list", "enable", "--index", s, "--list", "hotline", "--entry", "1001",
    ]);
    assert_eq!(code, 0);
    let (_, stdout, _) = run(&["match", "--index", s, upload.to_str().unwrap()]);
    assert!(stdout.contains("list hotline entry 1001"), "{stdout}");
    let (code, _, stderr) = run(&[
        "list", "enable", "--index", s, "--list", "hotline", "--entry", "999",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no entry 999 in list \"hotline\""),
        "{stderr}"
    );
}

/// Uploads for `scan` in `dir/uploads`: a known photo at the top, its rotated copy two folders
/// down, an unrelated image beside them; and `dir/hotline.csv`, a list naming the photo (entry
/// 77). Returns (uploads folder, list).
fn write_scan_fixtures(root: &Path) -> (PathBuf, PathBuf) {
    let dir = root.join("uploads");
    let landscape = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/uploads/landscape-2.jpg");
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::copy(&landscape, dir.join("known.jpg")).unwrap();
    let photo = image::open(&landscape).unwrap();
    photo
        .rotate90()
        .save(dir.join("sub/deeper/rotated.png"))
        .unwrap();
    textured(3).save(dir.join("sub/unrelated.png")).unwrap();
    let known = Hasher::new(HasherConfig::default())
        .hash_file(&landscape)
        .unwrap();
    let list = root.join("hotline.csv");
    std::fs::write(
        &list,
        format!("hash,entry_id,label\n{},77,case 9\n", known.hash),
    )
    .unwrap();
    (dir, list)
}

/// The summary line `scan` ends with on stderr.
fn summary(stderr: &str) -> &str {
    stderr
        .lines()
        .rfind(|l| l.contains("scanned"))
        .unwrap_or_else(|| panic!("no summary: {stderr}"))
}

#[test]
fn scan_walks_subfolders_finds_rotated_copies_and_sums_up() {
    let dir = scratch("scan");
    let (uploads, list) = write_scan_fixtures(&dir);
    // A file named directly is scanned too, after the folder.
    let single = dir.join("single.png");
    textured(4).save(&single).unwrap();
    let args = [
        "scan",
        "--list",
        list.to_str().unwrap(),
        uploads.to_str().unwrap(),
        single.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    let verdicts: Vec<&str> = stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    let names: Vec<&str> = verdicts
        .iter()
        .map(|l| l.rsplit('/').next().unwrap().split(':').next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["known.jpg", "rotated.png", "unrelated.png", "single.png"],
        "sorted walk into every subfolder, then the file named: {stdout}"
    );
    let uploads_text = uploads.display().to_string();
    let expected = format!(
        "{u}/known.jpg: 1 match\n  list hotline entry 77 distance 0 orientation orig label \"case 9\"\n",
        u = uploads_text
    );
    assert!(stdout.starts_with(&expected), "{stdout}");
    let rotated = stdout
        .split(&format!("{uploads_text}/sub/deeper/rotated.png: "))
        .nth(1)
        .unwrap_or_else(|| panic!("rotated copy not scanned: {stdout}"));
    assert!(
        rotated.starts_with("1 match\n  list hotline entry 77 ")
            && rotated
                .lines()
                .nth(1)
                .unwrap()
                .contains("orientation rot90"),
        "the rotated copy is found by default: {stdout}"
    );
    assert!(stdout.contains("unrelated.png: no match"), "{stdout}");
    assert!(stdout.ends_with("single.png: no match\n"), "{stdout}");
    assert_eq!(
        summary(&stderr),
        "hashmatch: 4 upload(s) scanned: 2 matched, 2 no match, 0 failed (could not be read or \
         decoded; not checked), 0 skipped (too small or below the quality floor; not checked)"
    );

    // --no-dihedral looks at each upload as it is: the rotated copy is missed.
    let mut plain = args.to_vec();
    plain.insert(1, "--no-dihedral");
    let (code, stdout, stderr) = run(&plain);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("rotated.png: no match"), "{stdout}");
    assert!(stdout.contains("known.jpg: 1 match"), "{stdout}");
    assert!(
        summary(&stderr).contains("4 upload(s) scanned: 1 matched, 3 no match, 0 failed"),
        "{stderr}"
    );
}

#[test]
fn scan_reports_a_corrupt_upload_as_failed_never_clean() {
    let dir = scratch("scan-corrupt");
    let (uploads, list) = write_scan_fixtures(&dir);
    let known = std::fs::read(uploads.join("known.jpg")).unwrap();
    std::fs::write(uploads.join("sub/broken.jpg"), &known[..known.len() / 3]).unwrap();
    let (code, stdout, stderr) = run(&[
        "scan",
        "--list",
        list.to_str().unwrap(),
        uploads.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "a failed upload fails the run: {stderr}");
    assert!(!stdout.contains("broken.jpg"), "{stdout}");
    assert!(
        stderr.contains("broken.jpg: cannot decode JPEG"),
        "the failure and its reason are reported: {stderr}"
    );
    assert_eq!(
        stdout.lines().filter(|l| !l.starts_with(' ')).count(),
        3,
        "the good uploads are still scanned: {stdout}"
    );
    assert!(
        summary(&stderr).contains("4 upload(s) scanned: 2 matched, 1 no match, 1 failed"),
        "{stderr}"
    );

    // Too small or flat: skipped (status 3), not checked, and not counted as clean either.
    std::fs::remove_file(uploads.join("sub/broken.jpg")).unwrap();
    image::GrayImage::from_pixel(100, 100, image::Luma([128]))
        .save(uploads.join("flat.png"))
        .unwrap();
    image::RgbImage::new(3, 40)
        .save(uploads.join("sub/sliver.png"))
        .unwrap();
    let (code, _, stderr) = run(&[
        "scan",
        "--list",
        list.to_str().unwrap(),
        uploads.to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("flat.png: skipped"), "{stderr}");
    assert!(stderr.contains("sliver.png: skipped"), "{stderr}");
    assert!(
        summary(&stderr).contains(
            "5 upload(s) scanned: 2 matched, 1 no match, 0 failed (could not be read or \
             decoded; not checked), 2 skipped"
        ),
        "{stderr}"
    );
}

#[test]
fn scan_prints_what_match_dihedral_prints() {
    let dir = scratch("scan-as-match");
    let (uploads, list) = write_scan_fixtures(&dir);
    let snapshot = dir.join("hotline.hmsnap");
    let (code, _, stderr) = run(&[
        "index",
        "build",
        "--list",
        list.to_str().unwrap(),
        "--out",
        snapshot.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    for format in ["text", "json"] {
        let common = [
            "--index",
            snapshot.to_str().unwrap(),
            "--format",
            format,
            uploads.to_str().unwrap(),
        ];
        let (scan_code, scan_out, _) = run(&[&["scan"][..], &common].concat());
        let (match_code, match_out, _) = run(&[&["match", "--dihedral"][..], &common].concat());
        assert_eq!((scan_code, &scan_out), (match_code, &match_out));
        assert_eq!(
            scan_out
                .lines()
                .filter(|l| l.contains("rotated.png"))
                .count(),
            1
        );
    }
    let (_, stdout, _) = run(&[
        "scan",
        "--index",
        snapshot.to_str().unwrap(),
        "--format",
        "json",
        uploads.join("sub").to_str().unwrap(),
    ]);
    let rotated: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(rotated["matches"][0]["list"], "hotline");
    assert_eq!(rotated["matches"][0]["entry_id"], 77);
    assert_eq!(rotated["matches"][0]["orientation"], "rotate90");
    let (code, _, stderr) = run(&["scan", uploads.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("scan needs --index SNAPSHOT or at least one --list"),
        "{stderr}"
    );
}
