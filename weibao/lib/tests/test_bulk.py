import datetime
import uuid

import pytest
from django.utils import timezone

from weibao.lib.bulk import Rows, allocate_ids, insert_rows
from weibao.lib.testing import A1, area
from weibao.registry.models import Person


@pytest.mark.django_db
def test_keys_taken_ahead_are_never_handed_out_again():
    first = Person.objects.create(name="甲")
    taken = allocate_ids(Person, 3)
    assert len(taken) == 3 and min(taken) > first.pk and taken == sorted(set(taken))
    later = Person.objects.create(name="乙")  # an ordinary insert, after the keys were taken
    assert later.pk > max(taken)
    assert allocate_ids(Person, 0) == []


@pytest.mark.django_db
def test_rows_made_ready_ahead_are_written_as_given():
    """Text with the characters COPY escapes, a date, NULL and a key taken ahead survive the round trip."""
    (pk,) = allocate_ids(Person, 1)
    odd = "王\t五\\n\n"
    now = timezone.now()
    rows = Rows(
        Person,
        ["id", "uuid", "kind", "name", "name_pinyin", "name_initials", "sex", "birth_date", "street_id",
         "address", "phone", "household_id", "sensitivity", "created", "updated"],
        [(pk, uuid.uuid4(), "minor", "王五", "wangwu", "ww", "M", datetime.date(2015, 3, 1), area(A1).pk, odd,
          "", None, "normal", now, now)],
    )  # fmt: skip
    assert not Person.objects.filter(pk=pk).exists()  # nothing written yet
    rows.write()
    person = Person.objects.get(pk=pk)
    assert (person.name, person.address, person.birth_date, person.street_id, person.household_id) == (
        "王五",
        odd,
        datetime.date(2015, 3, 1),
        area(A1).pk,
        None,
    )
    columns = ["uuid", "kind", "name", "name_pinyin", "name_initials", "sex", "address", "phone", "sensitivity",
               "created", "updated"]  # fmt: skip
    more = [
        (uuid.uuid4(), "minor", name, "", "", "F", "", "", "normal", now, now) for name in ("赵六", "钱七")
    ]
    assert insert_rows(Person, columns, more, with_ids=True) == sorted(
        Person.objects.filter(name__in=["赵六", "钱七"]).values_list("pk", flat=True)
    )
