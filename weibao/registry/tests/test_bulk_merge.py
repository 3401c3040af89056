"""The bulk path of the engine's auto-merges (``AutoMergeBatch``) ends where the per-pair path ends."""

import pytest
from django.db import IntegrityError, transaction

from weibao.accounts.services import system_actor
from weibao.audit.chain import verify
from weibao.audit.models import AuditEvent
from weibao.lib.bulk import IdSet
from weibao.lib.checksums import id_check_char
from weibao.lib.testing import A1, area
from weibao.registry import services
from weibao.registry.models import (
    Category,
    DepartmentLink,
    Guardianship,
    IdentityDocument,
    MergeRecord,
    Person,
    PersonCategory,
)

pytestmark = pytest.mark.django_db


def _id(seq):
    first17 = f"31010120150601{seq:03d}"
    return first17 + id_check_char(first17)


class _Rollback(Exception):
    pass


def _state():
    """Everything a merge touches, comparable across runs (merge records and events in order)."""
    rows = {
        f"{model._meta.label_lower}.{field}": dict(
            model._base_manager.order_by("pk").values_list("pk", model._meta.get_field(field).attname)
        )
        for model, field in services._person_references()
    }
    persons = {pk: row for pk, *row in Person.all_objects.values_list("pk", "merged_into_id", "sensitivity")}
    merges = [
        (m.survivor_id, m.absorbed_id, {k: sorted(v) if isinstance(v, list) else v for k, v in m.moved.items()},
         m.reason, m.merged_by_id, m.split_at is not None)
        for m in MergeRecord.objects.order_by("pk")
    ]  # fmt: skip
    events = [
        (e.action, e.object_type, e.object_id, e.object_repr, e.actor_id, e.reason,
         {k: v for k, v in e.extra.items() if k != "merge"})
        for e in AuditEvent.objects.filter(action__in=["merge", "split"]).order_by("seq")
    ]  # fmt: skip
    return {"rows": rows, "persons": persons, "merges": merges, "events": events}


def _world(world):
    """Registry persons with rows that collide on unique constraints, new persons, sensitivity."""
    lead = world.users["lead_a1"]
    police, edu = world.orgs["police_a"], world.orgs["edu"]

    def person(name, **kw):
        return services.save_person(
            Person(name=name, sex="M", birth_date="2015-06-01", street=area(A1), **kw), actor=lead
        )

    p = {name: person(name) for name in ["R1", "R2", "X", "Y", "Z", "N1", "N2", "N3", "N4"]}
    father = person("父亲", kind="adult")
    mother = person("母亲", kind="adult")
    left_behind = Category.objects.get(code="left_behind")
    # the same ID on R1 and N1 (a collision: N1's document stays with N1), another only on N2
    services.add_document(p["R1"], "mainland_id", _id(1), actor=lead)
    services.add_document(p["N1"], "mainland_id", _id(1), actor=lead)
    services.add_document(p["N2"], "passport", "E1234567", actor=lead)
    # department links: police on R1, N1 and N2 (both collide), education on N2 (moves)
    for who in ("R1", "N1", "N2"):
        DepartmentLink.objects.create(person=p[who], organisation=police, basis="sent")
    DepartmentLink.objects.create(person=p["N2"], organisation=edu, basis="sent")
    # guardianships: the same father since the same day on R1 and N1 (collides); without a date on both
    # (NULL: no collision, both move); a mother on N2; N4 is a guardian of a registry child (its other key)
    for who in ("R1", "N1"):
        Guardianship.objects.create(minor=p[who], guardian=father, relation="father", since="2015-06-01")
        Guardianship.objects.create(minor=p[who], guardian=father, relation="other")
    Guardianship.objects.create(minor=p["N2"], guardian=mother, relation="mother")
    Guardianship.objects.create(minor=p["R2"], guardian=p["N4"], relation="other")
    for who in ("N1", "N2", "X", "Y"):
        PersonCategory.objects.create(person=p[who], category=left_behind)
    DepartmentLink.objects.create(person=p["X"], organisation=edu, basis="sent")
    DepartmentLink.objects.create(person=p["Y"], organisation=edu, basis="sent")  # X's then collides on Y
    Person.all_objects.filter(pk__in=[p["N3"].pk, p["X"].pk]).update(sensitivity="sensitive")
    # a cluster of three (N1, N2 into R1), a plain pair, a guardian absorbed, and a chain X → Y → Z
    plan = [("R1", "N1", 0.99), ("R1", "N2", 0.98), ("R2", "N3", 0.97), ("R2", "N4", 0.965),
            ("Y", "X", 0.96), ("Z", "Y", 0.955)]  # fmt: skip
    return [pk for pk in (x.pk for x in p.values())], plan


def _plan_objects(pks, plan):
    """Fresh person objects, as ``linking._apply`` holds them (its in-memory sensitivity bookkeeping)."""
    persons = {p.name: p for p in Person.objects.filter(pk__in=pks)}
    return [(persons[s], persons[a], prob) for s, a, prob in plan]


def _per_pair(pks, plan, actor):
    for survivor, absorbed, prob in _plan_objects(pks, plan):
        services.auto_merge(survivor, absorbed, probability=prob, model_version="v1", actor=actor)
        if absorbed.sensitivity == "sensitive":
            survivor.sensitivity = "sensitive"


def _bulk(pks, plan, actor):
    batch = services.AutoMergeBatch(actor=actor, model_version="v1", person_ids=pks)
    for survivor, absorbed, prob in _plan_objects(pks, plan):
        assert batch.add(survivor, absorbed, prob)
        if absorbed.sensitivity == "sensitive":
            survivor.sensitivity = "sensitive"
    return batch.apply()


def _reference(pks, plan, actor):
    """The per-pair end state, then rolled back."""
    try:
        with transaction.atomic():
            _per_pair(pks, plan, actor)
            state = _state()
            raise _Rollback
    except _Rollback:
        return state


def test_bulk_merge_ends_where_the_per_pair_path_ends(world):
    actor = system_actor()
    pks, plan = _world(world)
    initial = _state()
    expected = _reference(pks, plan, actor)
    assert _state() == initial

    merges = _bulk(pks, plan, actor)
    assert len(merges) == len(plan) == len(expected["merges"])
    assert _state() == expected
    assert verify()[1] is None

    # and what that is, spelled out for the cluster of three and its collisions
    by = {p.name: p for p in Person.all_objects.filter(pk__in=pks)}
    r1, n1, n2 = by["R1"], by["N1"], by["N2"]
    assert n1.merged_into_id == n2.merged_into_id == r1.pk and by["Y"].merged_into_id == by["Z"].pk
    assert set(IdentityDocument.objects.values_list("person__name", flat=True)) == {"R1", "N1"}
    assert IdentityDocument.objects.filter(person=r1).count() == 2  # the passport moved, the same ID stayed
    police = DepartmentLink.objects.filter(organisation=world.orgs["police_a"], person__in=pks)
    assert sorted(police.values_list("person__name", flat=True)) == ["N1", "N2", "R1"]
    assert Guardianship.objects.filter(minor=r1).count() == 4  # father twice (NULL since), mother, own father
    assert Guardianship.objects.filter(minor=n1).count() == 1  # the same father since the same day stays
    assert Guardianship.objects.get(relation="other", minor=by["R2"]).guardian == by["R2"]  # guardian key
    assert by["R2"].sensitivity == "sensitive" and by["Z"].sensitivity == "sensitive"
    assert [DepartmentLink.objects.filter(person=by[n]).count() for n in "XYZ"] == [1, 0, 1]  # X's collided
    assert AuditEvent.objects.filter(action="merge").count() == len(plan)


def test_split_after_a_bulk_merge_restores_exactly(world):
    actor = system_actor()
    pks, plan = _world(world)
    initial = _state()
    merges = _bulk(pks, plan, actor)
    for merge_id in reversed(merges):
        services.split_merge(
            MergeRecord.objects.get(pk=merge_id), actor=world.users["lead_a1"], reason="复核发现并非同一人"
        )
    after = _state()
    assert after["rows"] == initial["rows"] and after["persons"] == initial["persons"]
    assert all(m[-1] for m in after["merges"]) and verify()[1] is None


def test_twins_are_refused_within_a_batch(world):
    lead, actor = world.users["lead_a1"], system_actor()
    a, b, c = (services.save_person(Person(name=n, street=area(A1)), actor=lead) for n in ("甲", "乙", "丙"))
    services.add_document(a, "mainland_id", _id(1), actor=lead)
    services.add_document(c, "mainland_id", _id(3), actor=lead)
    batch = services.AutoMergeBatch(actor=actor, model_version="v1", person_ids=[a.pk, b.pk, c.pk])
    assert batch.add(b, a, 0.99)  # b now holds a's ID …
    assert not batch.add(b, c, 0.98)  # … so c, with another valid ID, is refused as the merge would be
    assert len(batch.apply()) == 1 and Person.objects.filter(pk=c.pk).exists()


def test_a_refused_bulk_write_falls_back_to_the_per_pair_path(world, monkeypatch):
    actor = system_actor()
    pks, plan = _world(world)
    expected = _reference(pks, plan, actor)

    def refuse(*args, **kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(services, "_update_by_pk", refuse)
    _bulk(pks, plan, actor)
    assert _state() == expected and verify()[1] is None


def test_conditional_and_primary_key_constraints_stay_on_the_bulk_path(world, monkeypatch):
    """One *open* alert per rule and person (a conditional constraint) and the risk summary keyed by the
    person: the bulk path models both, ends where the per-pair path ends and does not fall back."""
    import datetime

    from django.utils import timezone

    from weibao.alerts.models import Alert, RiskSummary
    from weibao.alerts.tests.test_engine import make_rule

    actor = system_actor()
    pks, plan = _world(world)
    rule = make_rule()
    by = {p.name: p for p in Person.objects.filter(pk__in=pks)}
    now = timezone.now()
    for name, state in [("R1", "new"), ("N1", "visiting"), ("N2", "closed"), ("N3", "new")]:
        Alert.objects.create(
            rule=rule, rule_version=rule.current, person=by[name], state=state,
            fired_at=now, last_fired_at=now, deadline=now + datetime.timedelta(days=2),
        )  # fmt: skip
    for name in ("R1", "N1", "N2"):
        RiskSummary.objects.create(person=by[name], score=20, open_alerts=1)
    expected = _reference(pks, plan, actor)
    monkeypatch.setattr(services.AutoMergeBatch, "_apply_per_pair", lambda self: pytest.fail("fell back"))
    _bulk(pks, plan, actor)
    assert _state() == expected and verify()[1] is None
    r1 = Person.objects.get(pk=by["R1"].pk)
    # N1's open alert collides with R1's and stays; N2's closed one moves; N3's moves to R2
    assert sorted(Alert.objects.filter(person=r1).values_list("state", flat=True)) == ["closed", "new"]
    assert Alert.objects.get(state="visiting").person_id == by["N1"].pk
    assert RiskSummary.objects.filter(person=r1).count() == 1


def test_bulk_merge_of_values_through_temporary_tables_ends_where_the_per_pair_path_ends(world, monkeypatch):
    """As ``linking`` calls it: persons as ``PersonRef`` values, every id set large enough for a temporary
    table on PostgreSQL (``IdSet.SMALL`` lowered; elsewhere slices)."""
    actor = system_actor()
    pks, plan = _world(world)
    expected = _reference(pks, plan, actor)
    monkeypatch.setattr(IdSet, "SMALL", 0)
    monkeypatch.setattr(services.AutoMergeBatch, "_apply_per_pair", lambda self: pytest.fail("fell back"))
    refs = {
        row[3]: services.PersonRef(*row)
        for row in Person.objects.filter(pk__in=pks).values_list(*services.PersonRef.FIELDS)
    }
    assert all(str(ref) == ref.name for ref in refs.values())
    batch = services.AutoMergeBatch(actor=actor, model_version="v1", person_ids=pks)
    for s, a, prob in plan:
        survivor, absorbed = refs[s], refs[a]
        assert batch.add(survivor, absorbed, prob)
        if absorbed.sensitivity == "sensitive":
            survivor.sensitivity = "sensitive"
    ids = batch.apply()
    assert ids == list(MergeRecord.objects.order_by("pk").values_list("pk", flat=True))
    assert _state() == expected and verify()[1] is None
    assert not _temporary_tables()


def _temporary_tables():
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relpersistence = 't' AND relname LIKE 'weibao_tmp_%%'"
        )
        return cursor.fetchall()


@pytest.mark.parametrize("small", [0, 1000])
def test_id_set_filters_select_the_same_rows_and_leave_no_table(world, monkeypatch, small):
    monkeypatch.setattr(IdSet, "SMALL", small)
    pks, _plan = _world(world)
    wanted = pks[::2]
    with IdSet([*wanted, *wanted]) as ids:  # duplicates are harmless
        found = {
            pk for q in ids.filters("pk") for pk in Person.all_objects.filter(q).values_list("pk", flat=True)
        }
        assert not list(IdSet([]).filters("pk"))
    assert found == set(wanted) and not _temporary_tables()
    with IdSet(wanted) as ids:
        assert [
            pk for q in ids.filters("person_id") for pk in
            IdentityDocument.objects.filter(q).values_list("person_id", flat=True)
        ] == list(IdentityDocument.objects.filter(person__in=wanted).values_list("person_id", flat=True))  # fmt: skip
    assert not _temporary_tables()


def test_update_by_pk_sets_each_row(world):
    pks, _plan = _world(world)
    docs = list(IdentityDocument.objects.order_by("-pk").values_list("pk", flat=True))
    holders = {p.name: p.pk for p in Person.objects.filter(pk__in=pks)}
    mapping = dict(zip(docs, [holders[n] for n in ("X", "Y", "Z")], strict=True))
    services._update_by_pk(IdentityDocument, "person_id", list(mapping.items()))
    assert dict(IdentityDocument.objects.values_list("pk", "person_id")) == mapping
    assert not _temporary_tables()
