"""The registry's linkage features are cached and refreshed only for the persons whose inputs changed."""

import datetime
from dataclasses import replace as dataclasses_replace

import pandas as pd
import pytest
import time_machine
from django.utils import timezone

from weibao.lib.bulk import is_postgres
from weibao.lib.checksums import id_check_char
from weibao.lib.testing import A1, area
from weibao.registry import feature_cache, services
from weibao.registry.feature_cache import refresh, registry_features
from weibao.registry.linking import person_features
from weibao.registry.models import Guardianship, Person

pytestmark = pytest.mark.django_db

START = datetime.datetime(2027, 1, 4, 9, 0, tzinfo=datetime.UTC)  # after the world was built


def _id(seq):
    first17 = f"31010120150601{seq:03d}"
    return first17 + id_check_char(first17)


def _people(lead, n=6):
    return [
        services.save_person(
            Person(
                name=f"陈{'一二三四五六七八'[i]}", sex="MF"[i % 2], birth_date="2015-06-01", street=area(A1)
            ),
            actor=lead,
        )
        for i in range(n)
    ]


def _by_id(features: pd.DataFrame) -> dict:
    return {
        row["unique_id"]: row
        for row in features.astype(object).where(features.notna(), None).to_dict("records")
    }


def _settle(clock):
    """Let time pass past the margin of the last refresh, refresh once, and let time pass again."""
    clock.shift(datetime.timedelta(hours=1))
    refresh()
    clock.shift(datetime.timedelta(hours=1))


def _assert_fresh():
    """The cache equals features built from the database right now."""
    assert _by_id(registry_features()) == _by_id(person_features(Person.objects.all()))


def test_second_call_reads_nothing_and_changes_read_only_the_changed_persons(world):
    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        people = _people(lead)
        _, done = refresh()
        assert done["rebuilt"] and done["read"] == Person.objects.count()
        clock.shift(datetime.timedelta(hours=1))
        _, done = refresh()  # persons changed within MARGIN before the last refresh are read once more
        assert (done["rebuilt"], done["read"]) == (False, len(people))
        clock.shift(datetime.timedelta(hours=1))
        _, done = refresh()
        assert (done["rebuilt"], done["read"]) == (False, 0)

        people[0].name = "陈思远"
        services.save_person(people[0], actor=lead, reason="更正")
        _, done = refresh()
        assert (done["read"], done["kept"]) == (1, Person.objects.count() - 1)
        assert registry_features().set_index("unique_id").loc[str(people[0].pk), "nm"] == "陈思远"

        _settle(clock)
        services.add_document(people[1], "mainland_id", _id(1), actor=lead)
        mother = services.save_person(Person(name="林美华", kind="adult", street=area(A1)), actor=lead)
        services.add_guardianship(
            Guardianship(minor=people[2], guardian=mother, relation="mother"), actor=lead
        )
        _, done = refresh()
        assert done["read"] == 3  # the child with a new document, the child with a mother, the mother
        _assert_fresh()

        _settle(clock)
        mother.name = "林美花"
        services.save_person(mother, actor=lead, reason="更正")
        _, done = refresh()
        assert done["read"] == 2  # the mother and her child (the guardian's name is a feature of the child)
        _assert_fresh()


def test_merge_and_split_leave_and_restore_the_absorbed_person(world):
    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        a, b, *_ = _people(lead)
        services.add_document(b, "mainland_id", _id(3), actor=lead)
        refresh()
        clock.shift(datetime.timedelta(hours=1))
        merge = services.merge_persons(a, b, actor=lead, reason="同一人")
        cached = _by_id(registry_features())
        assert str(b.pk) not in cached and cached[str(a.pk)]["idk"]  # b's document moved to a
        _assert_fresh()
        clock.shift(datetime.timedelta(hours=1))
        services.split_merge(merge, actor=lead, reason="不是同一人")
        cached = _by_id(registry_features())
        assert cached[str(b.pk)]["idk"] and not cached[str(a.pk)]["idk"]
        _assert_fresh()


def test_change_committed_late_inside_the_margin_is_seen(world):
    """A transaction still open when the cache was refreshed commits rows stamped before the refresh."""
    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        people = _people(lead)
        refresh()
        clock.shift(datetime.timedelta(hours=1))
        refresh()
        late = timezone.now() - feature_cache.MARGIN / 2
        Person.all_objects.filter(pk=people[3].pk).update(name="陈晚到", updated=late)
        clock.shift(datetime.timedelta(minutes=1))
        _, done = refresh()
        assert done["read"] == 1
        _assert_fresh()


def test_rows_changed_behind_the_services_back_make_it_rebuild(world):
    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        people = _people(lead)
        refresh()
        clock.shift(datetime.timedelta(days=1))
        Person.all_objects.filter(pk=people[4].pk).delete()
        _, done = refresh()
        assert done["rebuilt"]
        _assert_fresh()


def test_unreadable_cache_is_rebuilt(world):
    _people(world.users["city"], n=2)
    refresh()
    path = feature_cache.cache_path()
    path.write_bytes(b"not an arrow file")
    _, done = refresh()
    assert done["rebuilt"]
    _assert_fresh()


def test_the_cache_file_is_owner_only(world):
    import stat

    _people(world.users["lead_a1"])
    refresh()
    files = [p for p in feature_cache.cache_path().parent.iterdir() if p.suffix == ".arrow"]
    assert files
    assert stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


@pytest.mark.skipif(not is_postgres(), reason="JIT is PostgreSQL's")
@pytest.mark.parametrize("setting", ["on", "off"])
def test_refresh_reads_without_jit_and_leaves_the_setting_as_it_was(world, monkeypatch, setting):
    """PostgreSQL's JIT is off while the cache reads (compiling the feature query cost more than running it),
    and as before afterwards, whatever it was — also inside a caller's transaction."""
    from django.db import connection, transaction

    from weibao.registry import linking

    def jit():
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            return cursor.fetchone()[0]

    seen, build = [], linking.person_features

    def recording(queryset):
        seen.append(jit())
        return build(queryset)

    monkeypatch.setattr(linking, "person_features", recording)
    _people(world.users["city"], n=2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', %s, false)", [setting])
    with transaction.atomic():
        refresh(rebuild=True)
        assert jit() == setting
    refresh()
    assert jit() == setting
    assert seen == ["off"] * len(seen) and len(seen) >= 2


def _forget():
    """As a new process: nothing held in memory, the files only."""
    feature_cache._memo.clear()


def test_changes_go_to_a_delta_file_and_a_new_process_reads_base_and_delta(world):
    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        a, b, c, *_ = _people(lead)
        _settle(clock)
        path = feature_cache.cache_path()
        base = path.read_bytes()
        a.name = "陈改名"
        services.save_person(a, actor=lead, reason="更正")
        services.merge_persons(b, c, actor=lead, reason="同一人")  # c leaves the registry
        _, done = refresh()
        assert done["read"] == 2 and not done["rebuilt"]
        delta = feature_cache.delta_path(path)
        assert path.read_bytes() == base and delta.exists()  # the base file is not rewritten
        _assert_fresh()
        _forget()
        _, done = refresh()
        assert not done["rebuilt"]
        cached = _by_id(registry_features())
        assert cached[str(a.pk)]["nm"] == "陈改名" and str(c.pk) not in cached
        _assert_fresh()
        # the delta accumulates over the calls: a later change, then a new process again
        clock.shift(datetime.timedelta(hours=1))
        b.name = "陈又改"
        services.save_person(b, actor=lead, reason="更正")
        refresh()
        _forget()
        assert path.read_bytes() == base
        assert _by_id(registry_features())[str(a.pk)]["nm"] == "陈改名"
        _assert_fresh()
        import stat

        assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in (path, delta))


def test_a_large_delta_is_compacted_into_a_new_base(world, monkeypatch):
    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        people = _people(lead)
        _settle(clock)
        path = feature_cache.cache_path()
        base = path.read_bytes()
        monkeypatch.setattr(feature_cache, "COMPACT_FRACTION", 1 / len(people))
        monkeypatch.setattr(feature_cache, "COMPACT_MIN", 0)
        for person in people[:2]:
            person.name = f"{person.name}改"
            services.save_person(person, actor=lead, reason="更正")
        refresh()
        assert path.read_bytes() != base and not feature_cache.delta_path(path).exists()
        _forget()
        _, done = refresh()
        assert not done["rebuilt"]
        _assert_fresh()


def test_a_delta_of_another_base_is_ignored(world):
    """A delta written for a base that a concurrent refresh has replaced since does not apply to the new base."""
    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        a, *_ = _people(lead)
        _settle(clock)
        path = feature_cache.cache_path()
        a.name = "陈改名"
        services.save_person(a, actor=lead, reason="更正")
        refresh()
        stale_delta = feature_cache.delta_path(path).read_bytes()
        refresh(rebuild=True)  # a new base (with its own token) and no delta
        feature_cache.delta_path(path).write_bytes(stale_delta)
        _forget()
        state = feature_cache._current(path)
        assert state.delta_token is None and state.rows.num_rows == 0
        _assert_fresh()


def test_the_process_keeps_the_table_while_the_files_are_the_same(world):
    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        a, *_ = _people(lead)
        _settle(clock)
        path = feature_cache.cache_path()
        held = feature_cache._memo[str(path)].base
        a.name = "陈改名"
        services.save_person(a, actor=lead, reason="更正")
        refresh()
        refresh()
        assert feature_cache._memo[str(path)].base is held  # not read again
        # another process rewrote the file (a rebuild): read again
        _forget()
        feature_cache.refresh(rebuild=True)
        rebuilt = feature_cache._memo[str(path)].base
        feature_cache._memo[str(path)] = dataclasses_replace(
            feature_cache._memo[str(path)], base_token="other"
        )
        refresh()
        assert feature_cache._memo[str(path)].base is not rebuilt
        _assert_fresh()


def test_a_file_of_the_previous_format_is_used_without_a_rebuild(world):
    """Written before the tokens and the large strings: read, converted, not rebuilt."""
    import pyarrow as pa
    from pyarrow import feather

    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        a, *_ = _people(lead)
        clock.shift(datetime.timedelta(hours=1))
        table, _ = refresh(rebuild=True)
        path = feature_cache.cache_path()
        old = table.cast(
            pa.schema(
                [pa.field("pk", pa.int64())] + [pa.field(n, pa.string()) for n in table.column_names[1:]]
            )
        )
        old = old.replace_schema_metadata({b"weibao.built_at": timezone.now().isoformat().encode()})
        feather.write_feather(old, path, compression="lz4")
        _forget()
        clock.shift(datetime.timedelta(hours=1))
        a.name = "陈改名"
        services.save_person(a, actor=lead, reason="更正")
        _, done = refresh()
        assert not done["rebuilt"] and done["read"] == 1
        _assert_fresh()


def test_registry_rows_hold_replaced_rows_out_of_live_without_a_copy(world):
    lead = world.users["city"]
    with time_machine.travel(START, tick=False) as clock:
        a, b, c, *_ = _people(lead)
        _settle(clock)
        features, live = feature_cache.registry_rows()
        assert live is None
        a.name = "陈改名"
        services.save_person(a, actor=lead, reason="更正")
        services.merge_persons(b, c, actor=lead, reason="同一人")
        features, live = feature_cache.registry_rows()
        assert live is not None and len(features) == len(live) == Person.all_objects.count() + 2
        assert sorted(features["unique_id"][~live]) == sorted(
            str(p.pk) for p in (a, b, c)
        )  # a, b re-read; c left
        assert _by_id(features[live]) == _by_id(person_features(Person.objects.all()))
        _forget()  # a new process reads the same from base + delta
        features, live = feature_cache.registry_rows()
        assert _by_id(features[live]) == _by_id(person_features(Person.objects.all()))
