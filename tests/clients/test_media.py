"""Media with real clients: Mastodon.py and toot upload an image and post it, and the file
served back carries no EXIF (checked on the bytes: the PNG `eXIf` chunk and the camera make
planted in it are gone). Standard library only: the test image is the server's own default
avatar with an EXIF block added."""

import re
import struct
import zlib

import requests

from conftest import BASE_URL, unique
from test_toot import Toot  # toot's runner (temporary HOME, login through the browser flow)

MAKE = b"SecretCam"


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def exif_tiff():
    """Big-endian TIFF: IFD0 with a camera make and a GPS IFD holding a latitude reference."""
    def entry(tag, kind, count, value):
        return struct.pack(">HHI", tag, kind, count) + value
    ifd0 = struct.pack(">H", 2) + entry(0x010F, 2, 10, struct.pack(">I", 38)) + entry(0x8825, 4, 1, struct.pack(">I", 48)) + struct.pack(">I", 0)
    gps = struct.pack(">H", 1) + entry(0x0001, 2, 2, b"N\0\0\0") + struct.pack(">I", 0)
    return b"MM\0*" + struct.pack(">I", 8) + ifd0 + MAKE + b"\0" + gps


def png_with_exif():
    png = requests.get(f"{BASE_URL}/avatars/original/missing.png", timeout=30).content
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # After the signature (8) and IHDR (8 + 13 + 4): an eXIf chunk, before the image data.
    at = 8 + 25
    out = png[:at] + png_chunk(b"eXIf", exif_tiff()) + png[at:]
    assert MAKE in out and b"eXIf" in out
    return out


def assert_served_without_exif(url, token):
    response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, (url, response.status_code)
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    body = response.content
    assert body.startswith(b"\x89PNG")
    assert MAKE not in body, "the camera make was served"
    assert b"eXIf" not in body and b"Exif" not in body, "EXIF was served"


def test_mastodon_py_uploads_an_image_and_posts_it_without_exif(clients, tmp_path):
    api = clients.sign_up("photographer")
    path = tmp_path / "photo.png"
    path.write_bytes(png_with_exif())
    media = api.media_post(str(path), mime_type="image/png", description="a grey square",
                           focus=(0.5, -0.5), synchronous=True)
    assert media["type"] == "image"
    assert media["url"], media
    assert media["description"] == "a grey square"
    api.media_update(media["id"], description="a plain grey square")

    text = unique("with a picture ")
    status = api.status_post(text, media_ids=[media["id"]])
    [attachment] = status["media_attachments"]
    assert attachment["id"] == media["id"]
    assert attachment["description"] == "a plain grey square"
    assert attachment["blurhash"]
    assert attachment["meta"]["original"]["width"] == 400
    assert_served_without_exif(attachment["url"], api.access_token)
    assert_served_without_exif(attachment["preview_url"], api.access_token)

    # A followers-only post's file is not served to a stranger.
    private = api.status_post(unique("followers only "), visibility="private",
                              media_ids=[api.media_post(str(path), mime_type="image/png", synchronous=True)["id"]])
    stranger = clients.sign_up("stranger")
    url = private["media_attachments"][0]["url"]
    assert requests.get(url, timeout=30).status_code == 404
    assert requests.get(url, headers={"Authorization": f"Bearer {stranger.access_token}"}, timeout=30).status_code == 404
    assert requests.get(url, headers={"Authorization": f"Bearer {api.access_token}"}, timeout=30).status_code == 200


def test_mastodon_py_sets_an_avatar(clients, tmp_path):
    api = clients.sign_up("avatar")
    assert api.me["avatar"].endswith("/avatars/original/missing.png")
    path = tmp_path / "me.png"
    path.write_bytes(png_with_exif())
    me = api.account_update_credentials(avatar=str(path), avatar_mime_type="image/png")
    assert "/media/" in me["avatar"], me["avatar"]
    assert_served_without_exif(me["avatar"], api.access_token)


def test_toot_posts_with_media_without_exif(clients, tmp_path):
    account = clients.sign_up("tootphoto")
    toot = Toot(tmp_path / "home")
    toot.login(account.username)
    path = tmp_path / "toot-photo.png"
    path.write_bytes(png_with_exif())
    text = unique("toot with media ")
    out = toot.run("post", text, "--media", str(path), "--description", "grey").stdout
    assert re.search(r"Toot posted: (\S+)", out), out
    [status] = [s for s in account.account_statuses(account.me["id"], limit=5) if text in s["content"]]
    [attachment] = status["media_attachments"]
    assert attachment["description"] == "grey"
    assert_served_without_exif(attachment["url"], account.access_token)
