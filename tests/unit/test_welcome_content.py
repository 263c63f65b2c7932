"""Message content: variables rendered, unknown variables and WeCom's limits refused with a clear message."""
import pytest

from app.core import content


def errors_of(text, attachments=None) -> list[str]:
    with pytest.raises(content.ContentInvalid) as info:
        content.parse(text, attachments)
    return [e.text() for e in info.value.errors]


def test_variables_are_rendered():
    message = content.parse("{客户昵称}您好，我是{员工姓名}，有事随时找我 {{VIP}}")
    assert message.variables == {"客户昵称", "员工姓名"}
    text, attachments = content.render(message, {"客户昵称": "王芳", "员工姓名": "李雷"})
    assert text == "王芳您好，我是李雷，有事随时找我 {VIP}" and attachments == []


def test_a_missing_name_leaves_no_dangling_comma():
    message = content.parse("你好，{客户昵称}！欢迎光临")
    assert content.render(message, {})[0] == "你好！欢迎光临"


def test_unknown_variable_and_stray_brace_are_named():
    problems = errors_of("你好 {客户名字}，{员工姓名")
    assert any("未知变量 {客户名字}" in p and "{客户昵称}" in p for p in problems)
    assert any("单独的花括号" in p for p in problems)


def test_text_limit_counts_bytes_and_empty_message_is_refused():
    assert any("4000 字节" in p for p in errors_of("好" * 1334))
    content.parse("好" * 1333)
    assert errors_of("  ") == ["文字和附件不能都为空"]


def test_attachments_follow_wecom_limits():
    link = {"msgtype": "link", "link": {"title": "新品", "url": "https://shop.example/new"}}
    image = {"msgtype": "image", "pic_url": "https://img.example/a.png"}  # the flat form is accepted too
    mini = {"msgtype": "miniprogram", "miniprogram": {"title": "小" * 22, "appid": "wx1", "page": "/p",
                                                      "pic_media_id": "MEDIA"}}
    message = content.parse("", [link, image])
    assert message.attachments[1] == {"msgtype": "image", "image": {"pic_url": "https://img.example/a.png"}}
    problems = errors_of("hi", [link] * 10)
    assert "最多 9 个附件，现在 10 个" in problems
    assert any("「标题」最多 64 字节" in p for p in errors_of("hi", [mini]))
    assert any("需要图片素材 media_id 或图片链接" in p for p in errors_of("hi", [{"msgtype": "image"}]))
    assert any("类型不支持" in p for p in errors_of("hi", [{"msgtype": "voice"}]))
    assert any("http:// 或 https://" in p for p in errors_of("hi", [{"msgtype": "link", "title": "t", "url": "shop"}]))


def test_editor_fields_become_attachments():
    form = {"text": "hi", "att-0-msgtype": "link", "att-0-link-title": "T", "att-0-link-url": "https://x.cn",
            "att-0-miniprogram-title": "ignored", "att-1-msgtype": "", "att-1-link-title": "blank row"}
    text, attachments = content.from_form(form)
    assert (text, attachments) == ("hi", [{"msgtype": "link", "link": {"title": "T", "url": "https://x.cn",
                                                                       "picurl": "", "desc": ""}}])
    assert content.parse(text, attachments).attachments[0]["link"] == {"title": "T", "url": "https://x.cn"}
