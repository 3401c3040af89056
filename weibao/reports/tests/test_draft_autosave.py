"""The draft autosave sends the text fields only (never the chosen attachments again), and a form shown again
after an error says that the attachments must be chosen again (a browser never refills a file input)."""

from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from weibao.lib.testing import verify_second_factor
from weibao.reports.models import Draft, Report
from weibao.reports.testing import STAFF

pytestmark = pytest.mark.django_db

NOTICE = "请重新选择附件 (choose the attachments again)"


@pytest.fixture
def client(world):
    client = Client()
    verify_second_factor(client, world.users["reporter"])
    return client


def _png(name="photo.png"):
    return SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png")


def test_the_autosave_leaves_the_attachments_out(client):
    page = client.get("/reports/new/").content.decode()
    assert 'hx-params="not attachments"' in page
    assert 'name="attachments"' in page  # the field it leaves out is the file input


def test_the_draft_endpoint_needs_no_files_and_takes_a_urlencoded_body(client, world):
    response = client.post(
        "/reports/drafts/save/",
        urlencode({"minor_name": "周小北", "description": "学生手臂"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and "草稿已保存" in response.content.decode()
    draft = Draft.objects.get(owner=world.users["reporter"])
    assert draft.data == {"minor_name": "周小北", "description": "学生手臂"}
    response = client.post(
        "/reports/drafts/save/",
        urlencode({"draft": str(draft.uuid), "minor_name": "周小北", "description": "更多"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Draft.objects.count() == 1 and Draft.objects.get().data["description"] == "更多"


def test_a_form_shown_again_asks_for_the_attachments_again(client):
    bad = STAFF | {"minor_id_number": "123"}  # a field error: the form comes back
    response = client.post("/reports/new/", bad | {"attachments": [_png(), _png("b.png")]})
    html = response.content.decode()
    assert response.status_code == 200 and "身份证号码应为18位" in html
    assert NOTICE in html
    response = client.post("/reports/new/", bad)  # nothing chosen: nothing to choose again
    assert response.status_code == 200 and NOTICE not in response.content.decode()
    assert NOTICE not in client.get("/reports/new/").content.decode()
    assert not Report.objects.exists()
