"""Request and stored data shown through a translation call in a template is escaped, and a `%` in it is no 500."""
import pytest
from flask import render_template_string

ATTACK = "<script>alert(1)</script>"


def test_crafted_rfm_link_shows_the_script_as_text(client, signed_in_as):
    signed_in_as("viewer")
    response = client.get("/rfm/customers", query_string={"segment": ATTACK, "class8": ATTACK + "2",
                                                          "from": ATTACK + "3"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)" not in page
    for suffix in ("", "2", "3"):
        assert f"&lt;script&gt;alert(1)&lt;/script&gt;{suffix}" in page


@pytest.mark.parametrize("value", ["100%", "%(x)s", "%d %s", "50 % off"])
def test_a_percent_in_the_rfm_filters_is_shown_not_a_500(client, signed_in_as, value):
    signed_in_as("viewer")
    response = client.get("/rfm/customers", query_string={"segment": value, "class8": value, "from": value})
    assert response.status_code == 200
    assert response.get_data(as_text=True).count(f": {value}</span>") == 3


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_template_translation_escapes_its_text_and_params(app, locale):
    with app.test_request_context():
        from flask import session
        session["locale"] = locale
        assert render_template_string("{{ _(x) }}", x="<b>50%</b>") == "&lt;b&gt;50%&lt;/b&gt;"
        rendered = render_template_string("{{ _('确定删除人群「%(name)s」？', name=x) }}", x="<i>%s</i>")
        assert "&lt;i&gt;%s&lt;/i&gt;" in rendered and "<i>" not in rendered
        assert render_template_string("{{ ngettext('%(num)d 个', '%(num)d 个', n) }}", n=3) == "3 个"


def test_a_catalogue_translation_still_applies(app):
    with app.test_request_context():
        from flask import session
        session["locale"] = "en"
        assert render_template_string("{{ _('分层') }}") != "分层"
