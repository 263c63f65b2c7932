"""The 素材库 page as operators and viewers use it: upload with WeCom's limits, preview, search, delete."""
import io

from sqlalchemy import func, select

from app.extensions import db
from app.media.models import MediaBlob, MediaItem
from app.welcome.models import WelcomeTemplate
from tests.conftest import csrf_token

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200
MB = 1024 * 1024


def upload(client, kind, filename, data, name=""):
    form = {"csrf_token": csrf_token(client, "/media/"), "kind": kind, "name": name,
            "file": (io.BytesIO(data), filename)}
    return client.post("/media/", data=form, content_type="multipart/form-data",
                       follow_redirects=True).get_data(as_text=True)


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(MediaItem)) + \
        db.session.scalar(select(func.count()).select_from(MediaBlob))


def test_upload_preview_search_and_delete(client, signed_in_as):
    signed_in_as("operator")
    page = upload(client, "image", "新人礼.png", PNG, name="新人礼海报")
    assert "素材「新人礼海报」已加入素材库" in page
    item = db.session.scalar(select(MediaItem))
    assert (item.kind, item.content_type, item.size, item.uploaded_by) == \
        ("image", "image/png", len(PNG), "operator-user")
    assert f'src="/media/{item.id}/file"' in page  # the thumbnail
    image = client.get(f"/media/{item.id}/file")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG
    upload(client, "file", "价目表.pdf", b"%PDF-1.4 price list")
    found = client.get("/media/?q=价目").get_data(as_text=True)
    assert "价目表.pdf" in found and "新人礼海报" not in found
    assert "新人礼海报" in client.get("/media/?kind=image").get_data(as_text=True)
    page = client.post(f"/media/{item.id}/delete", data={"csrf_token": csrf_token(client, "/media/")},
                       follow_redirects=True).get_data(as_text=True)
    assert "素材「新人礼海报」已删除" in page
    db.session.expire_all()
    assert db.session.scalars(select(MediaItem.name)).all() == ["价目表.pdf"]


def test_oversized_wrong_type_and_duplicate_files_are_refused_and_nothing_is_stored(client, signed_in_as):
    signed_in_as("community_manager")
    assert "图片只支持 JPG 或 PNG 格式" in upload(client, "image", "a.png", b"GIF89a" + b"\0" * 50)
    assert "视频只支持 MP4 格式" in upload(client, "video", "a.mp4", PNG)
    big = upload(client, "image", "big.jpg", b"\xff\xd8\xff" + b"\0" * (10 * MB))
    assert "图片最大 10 MB，这个文件有 10.0 MB" in big
    assert "文件是空的" in upload(client, "file", "empty.txt", b"")
    assert stored() == 0
    upload(client, "image", "a.png", PNG)
    assert "这个文件已在素材库里：「a.png」" in upload(client, "image", "again.png", PNG)
    assert stored() == 2


def test_viewers_see_the_library_but_cannot_change_it(client, signed_in_as):
    signed_in_as("viewer")
    page = client.get("/media/").get_data(as_text=True)
    assert "素材库还是空的" in page and "data-media-upload" not in page
    token = csrf_token(client, "/media/")
    response = client.post("/media/", data={"csrf_token": token, "kind": "image",
                                            "file": (io.BytesIO(PNG), "a.png")}, content_type="multipart/form-data")
    assert response.status_code == 403 and stored() == 0


def test_the_welcome_editor_picks_library_files_without_any_media_id_field(client, signed_in_as):
    signed_in_as("operator")
    upload(client, "image", "poster.png", PNG, name="新人礼海报")
    upload(client, "file", "价目表.pdf", b"%PDF-1.4 price list")
    poster, prices = db.session.scalars(select(MediaItem).order_by(MediaItem.id)).all()
    editor = client.get("/welcome/templates/new").get_data(as_text=True)
    assert "新人礼海报" in editor and f'value="image-{poster.id}"' in editor
    assert "image-media_id" not in editor  # nobody types a media_id for an image
    url = "/welcome/templates/new"
    form = {"csrf_token": csrf_token(client, url), "name": "默认", "scope": "default", "text": "欢迎", "enabled": "1",
            "library": [f"image-{poster.id}", f"file-{prices.id}"]}
    preview = client.post(url, data={**form, "action": "preview"}).get_data(as_text=True)
    assert f'src="/media/{poster.id}/file"' in preview and "文件：价目表.pdf" in preview
    gone = client.post(url, data={**form, "library": ["image-9999"], "action": "save"}).get_data(as_text=True)
    assert "素材库里已没有所选的素材（编号 9999）" in gone and db.session.scalar(select(WelcomeTemplate)) is None
    client.post(url, data={**form, "action": "save"})
    saved = db.session.scalar(select(WelcomeTemplate))
    assert saved.attachments == [{"msgtype": "image", "image": {"library_id": poster.id}},
                                 {"msgtype": "file", "file": {"library_id": prices.id}}]
    again = client.get(f"/welcome/templates/{saved.id}").get_data(as_text=True)
    assert f'value="file-{prices.id}" checked' in again
    refused = client.post(f"/media/{prices.id}/delete", data={"csrf_token": csrf_token(client, "/media/")},
                          follow_redirects=True).get_data(as_text=True)
    assert "没有删除：欢迎语「默认」等 1 处还在使用这个素材" in refused
