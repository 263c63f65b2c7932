"""The send engine's personal values: what one recipient's task says (pure)."""
from app.sending import sendrules

CARD = {"msgtype": "link", "link": {"title": "{客户昵称}的海报", "url": "{专属链接}", "desc": "进度"}}
IMAGE = {"msgtype": "image", "image": {"pic_url": "https://img.example.com/{专属链接}.png"}}


def test_personal_values_fill_the_text_and_a_links_fields_and_nothing_else():
    message = sendrules.personalise("{客户昵称}，我是{员工姓名}：{专属链接}", [CARD, IMAGE], "李雷",
                                    {"客户昵称": "王芳", "专属链接": "https://scrm.example.com/referral/p/abc"})
    assert message["text"] == "王芳，我是李雷：https://scrm.example.com/referral/p/abc"
    assert message["attachments"][0]["link"] == {"title": "王芳的海报", "url": "https://scrm.example.com/referral/p/abc",
                                                 "desc": "进度"}
    assert message["attachments"][1] == IMAGE  # only a link's title, description and url take values
    assert CARD["link"]["url"] == "{专属链接}"  # the variant's content is left as it was


def test_a_value_with_braces_is_kept_literally_and_no_values_send_the_shared_text():
    assert sendrules.personalise("{客户昵称}好", [], "李雷", {"客户昵称": "{小王}"})["text"] == "{小王}好"
    assert sendrules.personalise("{客户昵称}好，{员工姓名}", [], "李雷", None)["text"] == "您好，李雷"
