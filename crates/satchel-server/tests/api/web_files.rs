//! What the web app's file manager asks of the server: a selection as one zip through a signed URL
//! (valid archives, nested folders, ZIP64 past 4 GiB, other users' ids refused), thumbnails (sizes,
//! types refused, one decode per content, huge images refused without decoding), and signed URLs
//! of older versions and for previews.

use std::io::Cursor;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, User, expect_json, expect_problem, id_of, noise};

/// Asks for a zip URL of `ids` as `user`.
async fn zip_url(app: &TestApp, user: &User, ids: &[String]) -> reqwest::Response {
    app.post(user, "/api/v1/zip", json!({ "node_ids": ids }))
        .await
}

/// Checks `bytes` with Python's zipfile (another implementation): every CRC, then extracts it and
/// returns the sorted names and the folder they went to.
fn check_zip(bytes: &[u8]) -> (String, tempfile::TempDir) {
    let archive = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(archive.path(), bytes).unwrap();
    let out = tempfile::tempdir().unwrap();
    let check = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; z.extractall(sys.argv[2]); print(sorted(z.namelist()))"])
        .arg(archive.path())
        .arg(out.path())
        .output()
        .expect("python3 runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    (
        String::from_utf8_lossy(&check.stdout).trim().to_owned(),
        out,
    )
}

#[tokio::test]
async fn a_selection_downloads_as_one_zip_with_its_nested_folders() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let trip = app.mkdir(&ana, "root", "Trip").await;
    let day = app.mkdir(&ana, &id_of(&trip), "Day 1").await;
    app.upload(&ana, &id_of(&day), "été 🎉.jpg", b"photo".to_vec())
        .await;
    app.upload(&ana, &id_of(&day), "big.bin", noise(3 << 20, 4))
        .await;
    app.mkdir(&ana, &id_of(&trip), "Empty").await;
    let notes = app
        .upload(&ana, "root", "notes.txt", b"notes".to_vec())
        .await;

    let made = expect_json(
        zip_url(&app, &ana, &[id_of(&trip), id_of(&notes)]).await,
        StatusCode::OK,
    )
    .await;
    let url = made["url"].as_str().unwrap().to_owned();
    assert!(url.contains("/api/v1/zip/"), "{url}");
    // No token needed: the browser's download manager fetches it.
    let zip = app.client.get(&url).send().await.unwrap();
    assert_eq!(zip.status(), StatusCode::OK);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let disposition = zip.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let (names, out) = check_zip(&zip.bytes().await.unwrap());
    assert_eq!(
        names,
        "['Trip/', 'Trip/Day 1/', 'Trip/Day 1/big.bin', 'Trip/Day 1/été 🎉.jpg', 'Trip/Empty/', 'notes.txt']"
    );
    assert_eq!(
        std::fs::read(out.path().join("Trip/Day 1/big.bin")).unwrap(),
        noise(3 << 20, 4)
    );
    assert_eq!(
        std::fs::read(out.path().join("notes.txt")).unwrap(),
        b"notes"
    );

    // One folder alone is named after it.
    let folder = expect_json(zip_url(&app, &ana, &[id_of(&day)]).await, StatusCode::OK).await;
    let zip = app
        .client
        .get(folder["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let disposition = zip.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.contains("filename=\"Day 1.zip\""),
        "{disposition}"
    );
    let (names, _) = check_zip(&zip.bytes().await.unwrap());
    assert_eq!(names, "['Day 1/', 'Day 1/big.bin', 'Day 1/été 🎉.jpg']");
}

#[tokio::test]
async fn zip_urls_refuse_other_users_ids_and_altered_signatures() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let eve = app.user("eve@example.org").await;
    let secret = app.upload(&ana, "root", "secret.txt", b"s".to_vec()).await;
    let own = app.upload(&eve, "root", "own.txt", b"o".to_vec()).await;
    // Another user's id is unknown, alone or among one's own: nothing is recorded.
    expect_problem(
        zip_url(&app, &eve, &[id_of(&secret)]).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        zip_url(&app, &eve, &[id_of(&own), id_of(&secret)]).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        zip_url(&app, &eve, &[]).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    expect_problem(
        zip_url(&app, &eve, &["nonsense".to_owned()]).await,
        StatusCode::BAD_REQUEST,
        "invalid_id",
    )
    .await;

    let made = expect_json(zip_url(&app, &ana, &[id_of(&secret)]).await, StatusCode::OK).await;
    let url = made["url"].as_str().unwrap().to_owned();
    let altered = format!(
        "{}{}",
        &url[..url.len() - 1],
        if url.ends_with('0') { '1' } else { '0' }
    );
    let answer = app.client.get(&altered).send().await.unwrap();
    expect_problem(answer, StatusCode::FORBIDDEN, "bad_signature").await;
    // A download URL's signature does not open a zip URL of the same id, nor the reverse.
    let download = expect_json(
        app.post(
            &ana,
            &format!("/api/v1/files/{}/download-url", id_of(&secret)),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let crossed = download["url"]
        .as_str()
        .unwrap()
        .replace("/api/v1/signed/", "/api/v1/zip/");
    let answer = app.client.get(&crossed).send().await.unwrap();
    expect_problem(answer, StatusCode::FORBIDDEN, "bad_signature").await;

    // A file trashed after the URL was made is gone from it.
    let trashed = app
        .delete(&ana, &format!("/api/v1/nodes/{}", id_of(&secret)))
        .await;
    assert_eq!(trashed.status(), StatusCode::NO_CONTENT);
    let answer = app.client.get(&url).send().await.unwrap();
    expect_problem(answer, StatusCode::NOT_FOUND, "not_found").await;

    // Signing out ends the URLs the session made.
    let kept = app.upload(&ana, "root", "kept.txt", b"k".to_vec()).await;
    let made = expect_json(zip_url(&app, &ana, &[id_of(&kept)]).await, StatusCode::OK).await;
    let logout = app
        .post_anonymous("/api/v1/auth/logout", json!({"refresh_token": ana.refresh}))
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let answer = app
        .client
        .get(made["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    expect_problem(answer, StatusCode::GONE, "url_revoked").await;
}

/// A zip whose offsets pass 4 GiB: 65 copies of a 64 MiB file (copies share their chunks, so the
/// server stores it once). The archive is read as a stream; only its tail is kept, written at its
/// place in a sparse file, and Python's zipfile reads the ZIP64 directory and the last entry (which
/// starts past 4 GiB) from it.
#[tokio::test]
async fn a_zip_past_four_gib_uses_zip64() {
    use futures_util::StreamExt;
    use std::io::{Seek, SeekFrom, Write};

    const SIZE: usize = 64 << 20;
    const COPIES: usize = 65;
    const TAIL: usize = SIZE + (8 << 20);
    if crate::helpers::test_blobs().is_some() {
        // 4 GiB read back from a bucket costs minutes; the archive's writer is the same.
        return;
    }
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let folder = app.mkdir(&ana, "root", "Big").await;
    let content = noise(SIZE, 7);
    let first = app
        .upload(&ana, &id_of(&folder), "copy-00.bin", content.clone())
        .await;
    for i in 1..COPIES {
        let copied = app
            .post(
                &ana,
                &format!("/api/v1/nodes/{}/copy", id_of(&first)),
                json!({"parent_id": id_of(&folder), "name": format!("copy-{i:02}.bin")}),
            )
            .await;
        assert_eq!(copied.status(), StatusCode::CREATED);
    }
    let made = expect_json(zip_url(&app, &ana, &[id_of(&folder)]).await, StatusCode::OK).await;
    let response = app
        .client
        .get(made["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.bytes_stream();
    // The last pieces, at least TAIL bytes of them.
    let mut tail: std::collections::VecDeque<bytes::Bytes> = std::collections::VecDeque::new();
    let (mut kept, mut total) = (0usize, 0u64);
    while let Some(piece) = stream.next().await {
        let piece = piece.unwrap();
        total += piece.len() as u64;
        kept += piece.len();
        tail.push_back(piece);
        while tail.front().is_some_and(|first| kept - first.len() >= TAIL) {
            kept -= tail.pop_front().map_or(0, |first| first.len());
        }
    }
    assert!(total > 4 << 30, "the archive passes 4 GiB ({total} bytes)");
    let mut sparse = tempfile::NamedTempFile::new().unwrap();
    let file = sparse.as_file_mut();
    file.seek(SeekFrom::Start(total - kept as u64)).unwrap();
    for piece in tail {
        file.write_all(&piece).unwrap();
    }
    file.flush().unwrap();
    let check = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nnames = z.namelist()\nlast = z.getinfo('Big/copy-64.bin')\nassert last.header_offset > 2**32, last.header_offset\nprint(len(names), last.file_size, hashlib.sha256(z.read(last)).hexdigest())"])
        .arg(sparse.path())
        .output()
        .expect("python3 runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let expected = format!(
        "{} {} {}",
        COPIES + 1,
        SIZE,
        crate::helpers::sha256_hex(&content)
    );
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), expected);
}

/// A PNG of `width` × `height` (a gradient, with some transparency).
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            128,
            if x < 10 { 0 } else { 255 },
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG");
    out.into_inner()
}

/// A PNG whose header claims `width` × `height` but holds no pixels.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc.checksum(&ihdr).to_be_bytes());
    out
}

async fn thumbnail(app: &TestApp, user: &User, id: &str, size: &str) -> reqwest::Response {
    app.get(user, &format!("/api/v1/files/{id}/thumbnail{size}"))
        .await
}

/// The dimensions of a JPEG answer.
async fn jpeg_size(response: reqwest::Response) -> (u32, u32) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let bytes = response.bytes().await.unwrap();
    let image =
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).expect("a JPEG");
    (image.width(), image.height())
}

#[tokio::test]
async fn thumbnails_come_in_a_few_sizes_and_only_for_images() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let eve = app.user("eve@example.org").await;
    let photo = app.upload(&ana, "root", "wide.png", png(2000, 1000)).await;
    let id = id_of(&photo);
    assert_eq!(
        jpeg_size(thumbnail(&app, &ana, &id, "?size=256").await).await,
        (256, 128)
    );
    assert_eq!(
        jpeg_size(thumbnail(&app, &ana, &id, "?size=64").await).await,
        (64, 32)
    );
    // Rounded up to the next size made; the default is 256.
    assert_eq!(
        jpeg_size(thumbnail(&app, &ana, &id, "?size=300").await).await,
        (1024, 512)
    );
    assert_eq!(
        jpeg_size(thumbnail(&app, &ana, &id, "").await).await,
        (256, 128)
    );
    // A small image is not enlarged.
    let small = app.upload(&ana, "root", "small.png", png(40, 30)).await;
    assert_eq!(
        jpeg_size(thumbnail(&app, &ana, &id_of(&small), "?size=1024").await).await,
        (40, 30)
    );
    // Validators: the same thumbnail again is 304.
    let first = thumbnail(&app, &ana, &id, "?size=64").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .request(
            &ana,
            reqwest::Method::GET,
            &format!("/api/v1/files/{id}/thumbnail?size=64"),
        )
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // Other types, folders and broken images have none; another user's file does not exist.
    let text = app
        .upload(&ana, "root", "notes.txt", b"hello".to_vec())
        .await;
    let svg = app
        .upload(
            &ana,
            "root",
            "drawing.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
        )
        .await;
    let broken = app
        .upload(&ana, "root", "broken.jpg", b"not a jpeg at all".to_vec())
        .await;
    let folder = app.mkdir(&ana, "root", "Photos").await;
    for node in [&text, &svg, &broken, &folder] {
        expect_problem(
            thumbnail(&app, &ana, &id_of(node), "?size=64").await,
            StatusCode::NOT_FOUND,
            "no_thumbnail",
        )
        .await;
    }
    expect_problem(
        thumbnail(&app, &eve, &id, "?size=64").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The broken one is remembered: asking again decodes nothing.
    let decoded = app.state.thumbnailer.decoded();
    expect_problem(
        thumbnail(&app, &ana, &id_of(&broken), "?size=256").await,
        StatusCode::NOT_FOUND,
        "no_thumbnail",
    )
    .await;
    assert_eq!(app.state.thumbnailer.decoded(), decoded);
}

#[tokio::test]
async fn a_content_is_decoded_once_whoever_asks_and_however_often() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let bytes = png(1500, 1500);
    let mine = app.upload(&ana, "root", "a.png", bytes.clone()).await;
    let same = app.upload(&bob, "root", "same.png", bytes).await;
    let (mine, same) = (id_of(&mine), id_of(&same));
    let mut requests = Vec::new();
    for i in 0..12 {
        let (user, node) = if i % 2 == 0 {
            (&ana, &mine)
        } else {
            (&bob, &same)
        };
        let size = ["?size=64", "?size=256", "?size=1024"][i % 3];
        requests.push(thumbnail(&app, user, node, size));
    }
    for answer in futures_util::future::join_all(requests).await {
        assert_eq!(answer.status(), StatusCode::OK);
    }
    assert_eq!(app.state.thumbnailer.decoded(), 1, "one decode for all");
}

/// A GIF of one pixel on a `width` × `height` screen (which decoders paint whole).
fn gif_bomb(width: u16, height: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    out.extend_from_slice(&[0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
    // LZW, minimum code size 2: clear, index 0, end.
    out.extend_from_slice(&[2, 2, 0x44, 0x01, 0, 0x3b]);
    out
}

#[tokio::test]
async fn huge_images_are_refused_without_being_decoded() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    // 100,000 × 100,000 pixels would be 40 GB as RGBA; a 60,000 × 60,000 GIF, 14 GB: both are
    // refused from the header, before any pixel is decoded.
    let png_bomb = app
        .upload(&ana, "root", "bomb.png", png_header_only(100_000, 100_000))
        .await;
    let screen_bomb = app
        .upload(&ana, "root", "bomb.gif", gif_bomb(60_000, 60_000))
        .await;
    for bomb in [png_bomb, screen_bomb] {
        expect_problem(
            thumbnail(&app, &ana, &id_of(&bomb), "?size=64").await,
            StatusCode::NOT_FOUND,
            "no_thumbnail",
        )
        .await;
    }
    assert_eq!(app.state.thumbnailer.decodes(), 0, "nothing decoded");
    // A small GIF of the same make decodes.
    let small = app
        .upload(&ana, "root", "small.gif", gif_bomb(20, 10))
        .await;
    assert_eq!(
        jpeg_size(thumbnail(&app, &ana, &id_of(&small), "?size=64").await).await,
        (20, 10)
    );
    assert_eq!(app.state.thumbnailer.decodes(), 1);
}

#[tokio::test]
async fn signed_urls_serve_older_versions_and_previews_inline_when_harmless() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let file = app
        .upload(&ana, "root", "notes.txt", b"first".to_vec())
        .await;
    app.upload(&ana, "root", "notes.txt", b"second".to_vec())
        .await;
    let made = expect_json(
        app.post(
            &ana,
            &format!("/api/v1/files/{}/download-url", id_of(&file)),
            json!({"version": 1}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(made["version"], 1);
    let url = made["url"].as_str().unwrap();
    let old = app.client.get(url).send().await.unwrap();
    assert!(
        old.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(old.bytes().await.unwrap().as_ref(), b"first");
    // A version that does not exist is not found.
    expect_problem(
        app.post(
            &ana,
            &format!("/api/v1/files/{}/download-url", id_of(&file)),
            json!({"version": 9}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // `&inline=1` shows harmless types inline (always sandboxed), never HTML.
    let preview = app
        .client
        .get(format!("{url}&inline=1"))
        .send()
        .await
        .unwrap();
    let headers = preview.headers();
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(headers["content-security-policy"], "sandbox");
    let evil = app
        .upload(
            &ana,
            "root",
            "evil.html",
            b"<script>alert(1)</script>".to_vec(),
        )
        .await;
    let made: Value = expect_json(
        app.post(
            &ana,
            &format!("/api/v1/files/{}/download-url", id_of(&evil)),
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let answer = app
        .client
        .get(format!("{}&inline=1", made["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert!(
        answer.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(answer.headers()["content-security-policy"], "sandbox");
}
