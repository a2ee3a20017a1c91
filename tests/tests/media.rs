//! Media over real HTTP, on SQLite and PostgreSQL: upload (at once and in the background),
//! alt text, attaching to a status, serving through the read gate, avatars and headers, and
//! every refused upload (422, Mastodon's error JSON, no row and no file left behind).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use cohort_model::Role;
use cohort_tests::harness::{Instance, engines, settle};
use image::{DynamicImage, GrayImage, ImageFormat, Luma, Rgb, RgbImage};
use serde_json::Value;

const BOUNDARY: &str = "cohort-test-boundary-7d3f";

/// A multipart body with text fields and files (name, file name, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn send_multipart(
    instance: &Instance,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let response = instance
        .http
        .request(method, instance.url(path))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn upload(
    instance: &Instance,
    token: &str,
    name: &str,
    bytes: &[u8],
    fields: &[(&str, &str)],
) -> (u16, Value) {
    send_multipart(
        instance,
        reqwest::Method::POST,
        "/api/v2/media",
        token,
        multipart(fields, &[("file", name, bytes)]),
    )
    .await
}

/// GET a file: status, content type, `nosniff` header present, bytes.
async fn fetch(
    instance: &Instance,
    url: &str,
    token: Option<&str>,
) -> (u16, String, bool, Vec<u8>) {
    let mut request = instance.http.get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let nosniff = response
        .headers()
        .get("x-content-type-options")
        .is_some_and(|v| v == "nosniff");
    (
        status,
        content_type,
        nosniff,
        response.bytes().await.unwrap().to_vec(),
    )
}

fn noisy(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 7 + y * 13) as u8, (x * x + y) as u8, (x ^ y) as u8])
    })
}

fn png(image: DynamicImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes
}

/// A JPEG carrying an EXIF block with a camera make and a GPS latitude reference.
fn jpeg_with_exif() -> Vec<u8> {
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(noisy(48, 32))
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    let mut tiff: Vec<u8> = vec![0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8];
    let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        let mut e = tag.to_be_bytes().to_vec();
        e.extend_from_slice(&kind.to_be_bytes());
        e.extend_from_slice(&count.to_be_bytes());
        e.extend_from_slice(&value);
        e
    };
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend(entry(0x010F, 2, 10, 38u32.to_be_bytes()));
    tiff.extend(entry(0x8825, 4, 1, 48u32.to_be_bytes()));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(b"SecretCam\0");
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    out.extend(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn media_rows(instance: &Instance) -> i64 {
    instance
        .store()
        .scalar_i64_for_tests("SELECT COUNT(*) FROM media_attachments")
        .await
        .unwrap()
}

fn media_files(instance: &Instance) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() { count(&path) } else { 1 }
            })
            .sum()
    }
    count(&instance.data_dir().join("media"))
}

fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no Mastodon error JSON: {body}"))
}

#[tokio::test]
async fn an_upload_is_stripped_of_exif_attached_to_a_status_and_rendered() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;

        let original = jpeg_with_exif();
        assert!(contains(&original, b"SecretCam"));
        let (status, media) = upload(
            &instance,
            &pat,
            "photo.jpg",
            &original,
            &[("description", "a hand")],
        )
        .await;
        assert_eq!(status, 200, "{media}");
        let id = media["id"].as_str().unwrap().to_owned();
        assert_eq!(media["type"], "image");
        assert_eq!(media["description"], "a hand");
        assert_eq!(media["meta"]["original"]["width"], 48);
        assert_eq!(media["meta"]["original"]["size"], "48x32");
        assert!(media["blurhash"].as_str().is_some_and(|b| !b.is_empty()));
        assert!(media["remote_url"].is_null());

        let (status, shown) = instance
            .get(&format!("/api/v1/media/{id}"), Some(&pat))
            .await;
        assert_eq!(status, 200, "{shown}");
        let (status, updated) = instance
            .http
            .put(instance.url(&format!("/api/v1/media/{id}")))
            .bearer_auth(&pat)
            .form(&[("description", "my left hand"), ("focus", "0.5,-0.25")])
            .send()
            .await
            .map(|r| (r.status().as_u16(), r))
            .unwrap();
        assert_eq!(status, 200);
        let updated: Value = updated.json().await.unwrap();
        assert_eq!(updated["description"], "my left hand");
        assert_eq!(updated["meta"]["focus"]["x"], 0.5);
        assert_eq!(updated["meta"]["focus"]["y"], -0.25);

        let (status, post) = instance
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "look"), ("media_ids[]", id.as_str())],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        let attachments = post["media_attachments"].as_array().unwrap();
        assert_eq!(attachments.len(), 1);
        assert_eq!(attachments[0]["id"], id.as_str());
        assert_eq!(attachments[0]["description"], "my left hand");
        let url = attachments[0]["url"].as_str().unwrap().to_owned();
        let preview = attachments[0]["preview_url"].as_str().unwrap().to_owned();
        let post_id = post["id"].as_str().unwrap().to_owned();
        let (_, read_back) = instance
            .get(&format!("/api/v1/statuses/{post_id}"), None)
            .await;
        assert_eq!(read_back["media_attachments"][0]["url"], url.as_str());

        // The public post's file is served to anyone, as a JPEG without EXIF.
        for file in [&url, &preview] {
            let path = file
                .split_once("/media/")
                .map(|(_, p)| format!("/media/{p}"))
                .unwrap();
            let (status, content_type, nosniff, bytes) =
                fetch(&instance, &instance.url(&path), None).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(content_type, "image/jpeg");
            assert!(nosniff);
            assert!(!contains(&bytes, b"Exif"), "EXIF served");
            assert!(!contains(&bytes, b"SecretCam"), "camera make served");
            assert!(image::load_from_memory(&bytes).is_ok());
        }

        // An attached upload cannot be attached again.
        let before = media_rows(&instance).await;
        let (status, body) = instance
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[("status", "again"), ("media_ids[]", id.as_str())],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(error_of(&body).contains("media"));
        assert_eq!(media_rows(&instance).await, before);

        // An edit replaces the media: the old upload is let go, a new one is taken.
        let (_, second) = upload(
            &instance,
            &pat,
            "second.png",
            &png(DynamicImage::ImageRgb8(noisy(20, 20))),
            &[],
        )
        .await;
        let second_id = second["id"].as_str().unwrap().to_owned();
        let edited = instance
            .http
            .put(instance.url(&format!("/api/v1/statuses/{post_id}")))
            .bearer_auth(&pat)
            .form(&[
                ("status", "look again"),
                ("media_ids[]", second_id.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(edited.status().as_u16(), 200);
        let edited: Value = edited.json().await.unwrap();
        let ids: Vec<&str> = edited["media_attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![second_id.as_str()]);
        instance.stop().await;
    }
}

#[tokio::test]
async fn a_large_upload_is_answered_202_and_processed_in_the_background() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[("COHORT_MEDIA_ASYNC_BYTES", "0")]).await;
        instance.create_account("pat", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;
        let (status, media) = upload(
            &instance,
            &pat,
            "p.png",
            &png(DynamicImage::ImageRgb8(noisy(64, 64))),
            &[],
        )
        .await;
        assert_eq!(status, 202, "{media}");
        assert!(media["url"].is_null());
        let id = media["id"].as_str().unwrap().to_owned();
        // Polled as clients do, until the background task has stored the files.
        let mut done = Value::Null;
        for _ in 0..400 {
            let (status, body) = instance
                .get(&format!("/api/v1/media/{id}"), Some(&pat))
                .await;
            if status == 200 {
                done = body;
                break;
            }
            assert_eq!(status, 206, "{body}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(
            done["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("/original.png")),
            "{done}"
        );
        assert_eq!(media_files(&instance), 2);
        instance.stop().await;
    }
}

#[tokio::test]
async fn media_of_a_followers_only_post_is_served_only_to_those_who_may_see_it() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        let pat_id = instance.create_account("pat", Role::Member, false).await;
        instance.create_account("sam", Role::Member, false).await;
        instance.create_account("lee", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;
        let sam = instance.sign_in("sam", "read write follow").await;
        let lee = instance.sign_in("lee", "read write follow").await;
        let (status, _) = instance
            .post(
                &format!("/api/v1/accounts/{pat_id}/follow"),
                Some(&sam),
                &[],
            )
            .await;
        assert_eq!(status, 200);

        let (_, media) = upload(
            &instance,
            &pat,
            "p.png",
            &png(DynamicImage::ImageRgb8(noisy(32, 32))),
            &[],
        )
        .await;
        let id = media["id"].as_str().unwrap().to_owned();
        let url = media["url"].as_str().unwrap().to_owned();
        // Unattached: its owner only.
        assert_eq!(fetch(&instance, &url, Some(&pat)).await.0, 200);
        assert_eq!(fetch(&instance, &url, Some(&sam)).await.0, 404);
        assert_eq!(fetch(&instance, &url, None).await.0, 404);
        // Someone else cannot attach it, read or describe it.
        let (status, body) = instance
            .post(
                "/api/v1/statuses",
                Some(&lee),
                &[("status", "mine now"), ("media_ids[]", id.as_str())],
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            instance
                .get(&format!("/api/v1/media/{id}"), Some(&lee))
                .await
                .0,
            404
        );

        let (status, post) = instance
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", "followers only"),
                    ("visibility", "private"),
                    ("media_ids[]", id.as_str()),
                ],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        assert_eq!(fetch(&instance, &url, None).await.0, 404, "anonymous");
        assert_eq!(
            fetch(&instance, &url, Some(&lee)).await.0,
            404,
            "a stranger"
        );
        let (status, content_type, _, _) = fetch(&instance, &url, Some(&sam)).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "image/png"),
            "a follower"
        );
        assert_eq!(
            fetch(&instance, &url, Some(&pat)).await.0,
            200,
            "the author"
        );

        // Deleted: nobody.
        let post_id = post["id"].as_str().unwrap();
        instance
            .delete(&format!("/api/v1/statuses/{post_id}"), Some(&pat))
            .await;
        assert_eq!(fetch(&instance, &url, Some(&sam)).await.0, 404);
        instance.stop().await;
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_with_422_and_nothing_is_stored() {
    for engine in engines() {
        let mut instance = Instance::start(
            engine,
            &[
                ("COHORT_MEDIA_MAX_PIXELS", "1000000"),
                ("COHORT_MEDIA_MAX_BYTES", "200000"),
            ],
        )
        .await;
        instance.create_account("pat", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;

        let good = png(DynamicImage::ImageRgb8(noisy(64, 64)));
        let truncated = good[..good.len() / 2].to_vec();
        let bomb = png(DynamicImage::ImageLuma8(GrayImage::from_pixel(
            2000,
            2000,
            Luma([0]),
        )));
        assert!(bomb.len() < 200_000);
        let mut huge = png(DynamicImage::ImageRgb8(noisy(8, 8)));
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0u8; 60]);
        let too_big = png(DynamicImage::ImageRgb8(noisy(400, 400)));
        assert!(too_big.len() > 200_000, "{}", too_big.len());

        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "a text file named .png",
                b"not an image at all\n".to_vec(),
                "not an image",
            ),
            ("a truncated upload", truncated, "truncated"),
            ("a decompression bomb", bomb, "pixels"),
            ("huge dimensions", huge, ""),
            ("an unsupported format", bmp, "unsupported"),
            ("over the byte limit", too_big, "larger than"),
            ("an empty file", Vec::new(), "empty"),
        ];
        for (case, bytes, reason) in cases {
            let (status, body) = upload(&instance, &pat, "photo.png", &bytes, &[]).await;
            assert_eq!(status, 422, "{case}: {body}");
            assert!(error_of(&body).contains(reason), "{case}: {body}");
            assert_eq!(media_rows(&instance).await, 0, "{case}: a row was stored");
            assert_eq!(media_files(&instance), 0, "{case}: a file was stored");
        }
        let (status, body) = send_multipart(
            &instance,
            reqwest::Method::POST,
            "/api/v2/media",
            &pat,
            multipart(&[("description", "no file")], &[]),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert!(error_of(&body).contains("blank"));
        let (status, body) = upload(&instance, &pat, "p.png", &good, &[("focus", "3,0")]).await;
        assert_eq!(status, 422, "{body}");
        assert!(error_of(&body).contains("focus"));
        assert_eq!(media_rows(&instance).await, 0);
        assert_eq!(media_files(&instance), 0);

        // A status naming more than four uploads, or an unknown one, stores nothing.
        let statuses_before = instance
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
            .await
            .unwrap();
        for ids in [vec!["1", "2", "3", "4", "5"], vec!["12345"], vec!["nope"]] {
            let mut form = vec![("status", "hi")];
            form.extend(ids.iter().map(|i| ("media_ids[]", *i)));
            let (status, body) = instance.post("/api/v1/statuses", Some(&pat), &form).await;
            assert_eq!(status, 422, "{ids:?}: {body}");
            error_of(&body);
        }
        let statuses_after = instance
            .store()
            .scalar_i64_for_tests("SELECT COUNT(*) FROM statuses")
            .await
            .unwrap();
        assert_eq!(statuses_before, statuses_after);
        instance.stop().await;
    }
}

#[tokio::test]
async fn avatars_and_headers_are_uploaded_replaced_and_default_otherwise() {
    for engine in engines() {
        let mut instance = Instance::start(engine, &[]).await;
        instance.create_account("pat", Role::Member, false).await;
        let pat = instance.sign_in("pat", "read write follow").await;

        let (_, me) = instance
            .get("/api/v1/accounts/verify_credentials", Some(&pat))
            .await;
        for key in ["avatar", "avatar_static", "header", "header_static"] {
            let url = me[key].as_str().unwrap();
            let (status, content_type, _, bytes) = fetch(&instance, url, None).await;
            assert_eq!(
                (status, content_type.as_str()),
                (200, "image/png"),
                "{key}: {url}"
            );
            assert!(image::load_from_memory(&bytes).is_ok());
        }

        let avatar = png(DynamicImage::ImageRgb8(noisy(300, 200)));
        let (status, me) = send_multipart(
            &instance,
            reqwest::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            &pat,
            multipart(
                &[("display_name", "Pat")],
                &[
                    ("avatar", "me.png", &avatar),
                    ("header", "h.jpg", &jpeg_with_exif()),
                ],
            ),
        )
        .await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["display_name"], "Pat");
        let avatar_url = me["avatar"].as_str().unwrap().to_owned();
        assert!(avatar_url.contains("/media/"), "{avatar_url}");
        let (status, _, _, bytes) = fetch(&instance, &avatar_url, None).await;
        assert_eq!(status, 200);
        let served = image::load_from_memory(&bytes).unwrap();
        assert_eq!((served.width(), served.height()), (400, 400));
        let (status, _, _, bytes) = fetch(&instance, me["header"].as_str().unwrap(), None).await;
        assert_eq!(status, 200);
        assert!(!contains(&bytes, b"SecretCam"));
        assert_eq!(media_files(&instance), 4);

        // A refused avatar changes nothing, the display name included.
        let (status, body) = send_multipart(
            &instance,
            reqwest::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            &pat,
            multipart(
                &[("display_name", "Changed")],
                &[("avatar", "me.png", b"text")],
            ),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        error_of(&body);
        let (_, me) = instance
            .get("/api/v1/accounts/verify_credentials", Some(&pat))
            .await;
        assert_eq!(me["display_name"], "Pat");
        assert_eq!(me["avatar"], avatar_url.as_str());

        // A new avatar replaces the old one, whose files are removed.
        let (status, me) = send_multipart(
            &instance,
            reqwest::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            &pat,
            multipart(&[], &[("avatar", "me2.png", &avatar)]),
        )
        .await;
        assert_eq!(status, 200, "{me}");
        assert_ne!(me["avatar"], avatar_url.as_str());
        assert_eq!(fetch(&instance, &avatar_url, None).await.0, 404);
        assert_eq!(media_files(&instance), 4);
        instance.stop().await;
    }
}

#[tokio::test]
async fn a_post_with_media_federates_as_documents_and_its_remote_media_is_served_through_the_gate()
{
    for engine in engines() {
        let mut alpha = Instance::start_named(engine, "alpha", &[]).await;
        let mut beta = Instance::start_named(engine, "beta", &[]).await;
        alpha.create_account("pat", Role::Member, false).await;
        beta.create_account("bob", Role::Member, false).await;
        beta.create_account("stranger", Role::Member, false).await;
        let pat = alpha.sign_in("pat", "read write follow").await;
        let bob = beta.sign_in("bob", "read write follow").await;
        let stranger = beta.sign_in("stranger", "read").await;

        // Bob on beta follows pat on alpha.
        beta.follow_remote(&bob, &format!("pat@{}", alpha.domain))
            .await;
        settle(&[&alpha, &beta]).await;

        let (_, media) = upload(
            &alpha,
            &pat,
            "x.png",
            &png(DynamicImage::ImageRgb8(noisy(40, 30))),
            &[("description", "an X-ray")],
        )
        .await;
        let id = media["id"].as_str().unwrap().to_owned();
        let (status, post) = alpha
            .post(
                "/api/v1/statuses",
                Some(&pat),
                &[
                    ("status", "with a picture"),
                    ("media_ids[]", id.as_str()),
                    ("visibility", "private"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{post}");
        let local_url = post["media_attachments"][0]["url"]
            .as_str()
            .unwrap()
            .to_owned();
        settle(&[&alpha, &beta]).await;

        let (_, home) = beta.get("/api/v1/timelines/home", Some(&bob)).await;
        let arrived = home
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("with a picture"))
            })
            .unwrap_or_else(|| panic!("the post did not arrive: {home}"));
        let attachment = &arrived["media_attachments"][0];
        assert_eq!(attachment["type"], "image");
        // Served by beta, which fetches it from alpha; the origin's address is remote_url.
        let proxied = attachment["url"].as_str().unwrap().to_owned();
        let beta_origin = format!("http://{}", beta.domain);
        assert!(
            proxied.starts_with(&beta_origin) && proxied.ends_with("/remote"),
            "{proxied}"
        );
        assert_eq!(attachment["preview_url"], proxied.as_str());
        let proxied = proxied.replace(&beta_origin, &beta.base);
        assert_eq!(attachment["remote_url"], local_url.as_str());
        assert_eq!(attachment["description"], "an X-ray");
        assert_eq!(attachment["meta"]["original"]["width"], 40);
        assert_eq!(attachment["blurhash"], media["blurhash"]);
        // A followers-only post's file: alpha serves it to pat, and to beta only when beta
        // signs the request (bob follows pat there); nobody fetches it unsigned.
        let at_alpha = local_url.replace(&format!("http://{}", alpha.domain), &alpha.base);
        let (status, _, _, original) = fetch(&alpha, &at_alpha, Some(&pat)).await;
        assert_eq!(status, 200);
        let (status, _, _, _) = fetch(&alpha, &at_alpha, None).await;
        assert_eq!(status, 404, "an unsigned fetch of followers-only media");
        let forged = alpha
            .http
            .get(&at_alpha)
            .header("date", "Sat, 28 Nov 2026 10:00:00 GMT")
            .header(
                "signature",
                "keyId=\"http://nowhere.localhost/actor#main-key\",algorithm=\"rsa-sha256\",\
                 headers=\"(request-target) host date\",signature=\"AAAA\"",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status().as_u16(), 401, "a bad signature is refused");
        let (status, content_type, nosniff, bytes) = fetch(&beta, &proxied, Some(&bob)).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(content_type, "image/png");
        assert!(nosniff);
        assert_eq!(bytes, original, "beta serves alpha's file as it is");
        // Beta's read gate decides who sees it there.
        let (status, _, _, _) = fetch(&beta, &proxied, Some(&stranger)).await;
        assert_eq!(status, 404, "a non-follower on beta");
        let (status, _, _, _) = fetch(&beta, &proxied, None).await;
        assert_eq!(status, 404, "anonymous on beta");
        // Nothing was stored on beta.
        assert_eq!(media_files(&beta), 0);
        alpha.stop().await;
        beta.stop().await;
    }
}
