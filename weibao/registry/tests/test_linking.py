"""Linking persons in the database: auto-merge above the upper threshold, review in between, twins never."""

import datetime

import pytest

from weibao.audit.models import AuditEvent
from weibao.lib.checksums import id_check_char
from weibao.lib.testing import A1, A2, area
from weibao.registry import services
from weibao.registry.linking import link_persons, relink_registry, train_model
from weibao.registry.models import Guardianship, IdentityDocument, LinkageModel, MatchCandidate, Person

pytestmark = pytest.mark.django_db

BORN = datetime.date(2014, 9, 3)


def _id(seq, born="20140903"):
    first17 = f"310101{born}{seq:03d}"
    return first17 + id_check_char(first17)


def _person(
    name,
    *,
    street=A1,
    born=BORN,
    sex="F",
    id_number=None,
    guardian=None,
    phone="",
    address="南京东路100弄3号",
):
    person = Person.objects.create(
        name=name, sex=sex, birth_date=born, street=area(street), phone=phone, address=address
    )
    if id_number:
        IdentityDocument.objects.create(person=person, **services.document_fields("mainland_id", id_number))
    if guardian:
        parent = Person.objects.create(name=guardian, kind="adult", street=area(street))
        Guardianship.objects.create(minor=person, guardian=parent, relation="mother")
    return person


def _background(n=40):
    names = ["李娜", "王芳", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴敏"]
    for i in range(n):
        _person(
            names[i % 10] + "子"[: i % 2],
            born=BORN - datetime.timedelta(days=37 * i + 5),
            sex="MF"[i % 2],
            id_number=_id(100 + 2 * i, (BORN - datetime.timedelta(days=37 * i + 5)).strftime("%Y%m%d")),
        )


def test_same_child_without_id_links_by_itself(db):
    _background()
    existing = _person("陈思远", id_number=_id(1), guardian="林美华", phone="13912345678")
    new = _person("陈思远", guardian="林美华", phone="13912345678")
    outcome = link_persons([new.pk])
    assert outcome["linked"] == 1
    assert Person.all_objects.get(pk=new.pk).merged_into_id == existing.pk
    assert AuditEvent.objects.filter(action="merge", reason__startswith="自动匹配").exists()


def test_the_same_new_child_twice_links_within_the_new_persons_only_when_asked(db):
    _background()
    first = _person("陈思远", guardian="林美华", phone="13912345678")
    second = _person("陈思远", guardian="林美华", phone="13912345678")
    assert link_persons([first.pk, second.pk])["linked"] == 0  # new persons against the registry only
    outcome = link_persons([first.pk, second.pk], within=True)  # a feed batch: also with each other
    assert outcome["linked"] == 1
    assert Person.all_objects.get(pk=second.pk).merged_into_id == first.pk  # the later into the earlier


def test_uncertain_pair_goes_to_review_with_field_weights(db):
    _background()
    existing = _person("陈思远", id_number=_id(1))
    new = _person("陈远", street=A2, born=BORN, address="中山南路8号")
    outcome = link_persons([new.pk])
    candidate = MatchCandidate.objects.get(person=new, other=existing)
    assert (
        outcome["review"] == 1 and 0.5 <= candidate.match_probability < 0.95
    )  # a given-name character missing
    assert "姓名" in candidate.match_weights and "出生日期" in candidate.match_weights
    assert Person.objects.filter(pk=new.pk).exists()


def test_twins_with_different_valid_ids_never_link(db):
    _background()
    a = _person("王一诺", id_number=_id(21), guardian="王丽")
    b = _person("王一诺", id_number=_id(23), guardian="王丽")
    link_persons([b.pk])
    assert Person.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_stranger_stays_a_new_person(db):
    _background()
    _person("陈思远", id_number=_id(1))
    new = _person("欧阳娜娜", street=A2, born=datetime.date(2010, 1, 1))
    outcome = link_persons([new.pk])
    assert (outcome["linked"], outcome["review"], outcome["new"]) == (0, 0, 1)


def test_relink_and_train_store_a_model_version(db):
    _background()
    a = _person("陈思远", id_number=_id(1), guardian="林美华", phone="13912345678")
    b = _person("陈思远", guardian="林美华", phone="13912345678")
    outcome = relink_registry()
    assert outcome["linked"] == 2  # the child, and the mother recorded twice
    assert Person.objects.filter(pk__in=[a.pk, b.pk]).count() == 1
    assert Person.objects.filter(name="林美华").count() == 1
    model = train_model()
    assert LinkageModel.objects.get() == model and model.records == Person.objects.count()


def test_linking_again_queues_a_pair_once(db):
    _background()
    existing = _person("陈思远", id_number=_id(1))
    new = _person("陈远", street=A2, born=BORN, address="中山南路8号")
    assert link_persons([new.pk])["review"] == 1
    assert link_persons([new.pk])["review"] == 0  # the pair is already waiting
    assert MatchCandidate.objects.filter(person=new, other=existing).count() == 1


def test_queue_reviews_keeps_queued_pairs_and_the_given_order(db):
    """The review pairs' bulk insert (COPY + ON CONFLICT on PostgreSQL, ``bulk_create`` elsewhere): a pair
    already queued — whatever its status — stays as it is, new pairs are queued in order with their weights."""
    from weibao.registry.linking import queue_reviews

    a, b, c, d = (_person(n) for n in ("甲", "乙", "丙", "丁"))
    decided = MatchCandidate.objects.create(
        person=a, other=b, match_probability=0.7, model_version="v0", status=MatchCandidate.Status.DIFFERENT
    )
    queued = queue_reviews(
        [
            (a.pk, b.pk, 0.8, "v1", {"姓名": 1.5}),  # already there
            (c.pk, d.pk, 0.6, "v1", {"姓名": -0.25, "出生日期": 3.0}),
            (a.pk, c.pk, 0.55, "v1", {}),
            (c.pk, d.pk, 0.61, "v1", {}),  # the same pair twice in a batch: the first stays
        ]
    )
    assert queued == 2 and queue_reviews([]) == 0
    decided.refresh_from_db()
    assert (decided.status, decided.match_probability, decided.model_version) == ("different", 0.7, "v0")
    new = list(MatchCandidate.objects.exclude(pk=decided.pk).order_by("pk"))
    assert [(m.person_id, m.other_id, m.match_probability, m.model_version, m.match_weights, m.status)
            for m in new] == [
        (c.pk, d.pk, 0.6, "v1", {"姓名": -0.25, "出生日期": 3.0}, "pending"),
        (a.pk, c.pk, 0.55, "v1", {}, "pending"),
    ]  # fmt: skip
    assert all(m.uuid and m.created for m in new) and len({m.uuid for m in new}) == 2


def test_linking_leaves_garbage_collection_as_it_was(db):
    import gc

    _background()
    _person("陈思远", id_number=_id(1), guardian="林美华", phone="13912345678")
    new = _person("陈思远", guardian="林美华", phone="13912345678")
    assert gc.isenabled()
    assert link_persons([new.pk])["linked"] == 1
    assert gc.isenabled()
