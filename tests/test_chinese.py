import re
import pytest
from django.test import Client
from django.urls import reverse
from tests import patients
from tests.patients import as_form_values
from tests.admin_forms import admin_form_data
from screening.models import GuidanceSection

pytestmark = pytest.mark.django_db

def test_probe(client, published_rules):
    for nxt in ["/language/", "/check/clear/", "//evil.example/check/", "https://evil.example/", "/admin/", "/check/question/condition/?change=1", "/zh-hans/check/answers/", "/favicon.ico", "/preview/check/", "", "check/answers/", "/check/../admin/", "/zh-hans/zh-hans/", "/static/css/app.css"]:
        r = client.post("/language/", {"language": "zh-hans", "next": nxt})
        print(repr(nxt), r.status_code, r.get("Location"))
    r = client.post("/language/", {"language": "fr", "next": "/"})
    print(r.status_code, re.search(r"<title>(.*?)</title>", r.content.decode()).group(1), re.findall(r'name="next" value="([^"]*)"', r.content.decode()))
    r = client.post("/zh-hans/language/", {"language": "fr", "next": "/"})
    print(r.status_code, re.search(r"<title>(.*?)</title>", r.content.decode()).group(1))
    for h in [{}, {"Accept-Language": "zh-CN,zh;q=0.9"}, {"Accept-Language": "zh-TW"}, {"Accept-Language": "en-GB,en;q=0.9,zh;q=0.8"}, {"Accept-Language": "zh"}]:
        c = Client()
        r = c.get("/", headers=h)
        print(h, r.status_code, r.get("Location"), r.get("Vary"))
    c = Client(); c.cookies["django_language"] = "en"
    r = c.get("/", headers={"Accept-Language": "zh"}); print("cookie en", r.status_code, r.get("Vary"))
    c = Client(); c.cookies["django_language"] = "zh-hans"
    r = c.get("/"); print("cookie zh", r.status_code, r.get("Location"))
    r = c.get("/check/answers/"); print("cookie zh deep", r.status_code, r.get("Content-Language"))
    r = c.get("/admin/login/"); print("cookie zh admin", r.status_code, r.get("Content-Language"))
    strict = Client(enforce_csrf_checks=True)
    r = strict.post("/language/", {"language": "zh-hans", "next": "/"})
    print("csrf", r.status_code, re.findall(r'name="next" value="([^"]*)"', r.content.decode()), "django_language" in r.cookies)

def test_crlf(admin_client, published_rules):
    s = GuidanceSection.objects.get(identifier="how_to_use")
    s.body_zh_hans_checked = True; s._change_reason="x"; s.save()
    url = reverse("admin:screening_guidancesection_change", args=[s.pk])
    data = admin_form_data(admin_client.get(url))
    data["body"] = data["body"].replace("\n", "\r\n")
    data["body_zh_hans"] = data["body_zh_hans"].replace("\n", "\r\n")
    data["title_zh_hans_checked"] = "on"
    r = admin_client.post(url, data, follow=True)
    print([str(m) for m in r.context["messages"]])
    s.refresh_from_db()
    print(s.body_zh_hans_checked, s.title_zh_hans_checked, repr(s.body[:120]))
