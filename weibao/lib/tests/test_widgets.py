"""Date fields are rendered as the browser's date input reads them, whatever the language."""

import pytest
from django.urls import reverse

from weibao.lib.testing import signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_edit_form_shows_the_stored_birth_date(world, language):
    person = world.persons["a1"]  # born 2015-06-01
    client = signed_in(world.users["city"])
    client.cookies["django_language"] = language
    page = client.get(reverse("registry:person_edit", args=[person.uuid])).content.decode()
    assert 'type="date"' in page and 'value="2015-06-01"' in page
