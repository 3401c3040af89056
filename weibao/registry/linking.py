"""Linking persons in the database with the engine in ``registry.linkage``.

New persons (created by a feed batch without an exact ID match) are compared with the registry:

* above ``settings.LINKAGE_UPPER_THRESHOLD`` the new person is merged into the existing one (``auto_merge``), unless both
  carry valid, different ID numbers — those go to review at most (twins);
* between the thresholds the pair waits in the review queue (``MatchCandidate``);
* below ``settings.LINKAGE_LOWER_THRESHOLD`` the new person stays a new person.

Identifiers never leave the database in clear: the engine's exact ID key is the blind index. The registry's
features come from ``feature_cache`` (rebuilt only for the persons that changed since the last call).
"""

import datetime
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery

from weibao.accounts.services import system_actor
from weibao.lib.bulk import IdSet, drop_temp_table, temp_table
from weibao.lib.memory import cycles_paused

from . import services
from .choices import DocumentType
from .feature_cache import registry_features, registry_rows
from .linkage import Model, build_features, link, train
from .models import Guardianship, IdentityDocument, LinkageModel, MatchCandidate, Person

ROLE_COLUMNS = [
    "unique_id",
    "full_name",
    "birth_date",
    "sex",
    "locality",
    "address",
    "phone",
    "guardian_name",
]


def person_features(queryset) -> pd.DataFrame:
    """Engine features of persons, with the blind index of a valid mainland ID as the exact key."""
    ids = IdentityDocument.objects.filter(person=OuterRef("pk"), type=DocumentType.MAINLAND_ID, is_valid=True)
    guardian = Guardianship.objects.filter(minor=OuterRef("pk")).order_by("pk")
    rows = queryset.annotate(
        idk=Subquery(ids.values("number_index")[:1]),
        guardian_name=Subquery(guardian.values("guardian__name")[:1]),
    ).values_list(
        "pk", "name", "birth_date", "sex", "street__name", "address", "phone", "guardian_name", "idk"
    )
    frame = pd.DataFrame.from_records(list(rows), columns=[*ROLE_COLUMNS, "idk"])
    if frame.empty:
        return build_features(pd.DataFrame(columns=ROLE_COLUMNS))
    frame["unique_id"] = frame["unique_id"].astype(str)
    frame["birth_date"] = frame["birth_date"].map(lambda d: d.isoformat() if d else "")
    frame["sex"] = frame["sex"].map({"M": "男", "F": "女"}).fillna("")
    features = build_features(frame[ROLE_COLUMNS].fillna(""))
    features["idk"] = frame["idk"].values
    return features


def current_model() -> Model | None:
    latest = LinkageModel.objects.first()
    return Model(latest.settings, latest.version) if latest else None


def train_model(*, actor=None) -> LinkageModel:
    """Train a new version on the whole registry (no labels: EM), and keep it."""
    features = registry_features()
    version = f"v{datetime.datetime.now():%Y%m%d%H%M%S}"
    model = train(features, version=version)
    return LinkageModel.objects.create(
        version=version, settings=model.settings, records=len(features), trained_by=actor
    )


def _field_weights(values, factors) -> dict:
    """Each field's match weight (log2 Bayes factor): positive where the field speaks for a match.
    ``values``: the pair's values of the ``factors`` columns, in that order."""
    weights = {}
    for name, value in zip(factors, values, strict=True):
        if value is not None and value == value and abs(value) != float("inf"):  # not NaN
            weights[FIELD_LABELS.get(name[3:], name[3:])] = round(float(value), 2)
    return weights


# Engine comparison names → what a reviewer reads.
FIELD_LABELS = {
    "name": "姓名",
    "birth_date": "出生日期",
    "sex": "性别",
    "household": "家庭与住址",
    "document": "证件",
}


def _thresholds() -> dict:
    return {"upper": settings.LINKAGE_UPPER_THRESHOLD, "lower": settings.LINKAGE_LOWER_THRESHOLD}


def _is_new(features: pd.DataFrame, keys: set) -> np.ndarray:
    """Which rows of ``features`` are of the persons ``keys`` (ids as strings): a hash look-up in Arrow
    (``Series.isin`` took ~0.7 s over 3 million rows)."""
    ids = pa.array(features["unique_id"].array)  # the Arrow strings themselves, no copy
    found = pc.is_in(ids, value_set=pa.array(list(keys), type=ids.type))
    return found.to_numpy(zero_copy_only=False).astype(bool, copy=False)


def link_new(features: pd.DataFrame, person_ids, *, within: bool = False, live: np.ndarray | None = None):
    """``(result, new)``: the engine's pairs of the given (new) persons with the rest of the registry
    (``features``: all persons) — None when there is nothing to compare — and how many current rows those
    persons have. The registry side is the whole table, not a copy without the new persons (a filter copies
    every string of millions of rows): pairs that end on a new person are dropped — unless ``within``, when
    the new persons are also compared with each other (each pair once, the higher id absorbed into the
    lower): the same child twice in one file without an ID number. ``live``: which rows of ``features`` are
    current (``feature_cache.registry_rows``; None: all) — the others take no part."""
    keys = {str(pk) for pk in person_ids}
    model = current_model()
    if model is None and live is not None:  # trained on these very tables: the current rows only
        features, live = features[live], None
    is_new = _is_new(features, keys)
    if live is not None:
        is_new &= live
    new = features[is_new]
    n_live = len(features) if live is None else int(live.sum())
    if new.empty or (len(new) == n_live and not (within and len(new) > 1)):
        return None, len(new)
    result = link(
        new, features, model=model, features_ready=True,
        memory_limit=settings.LINKAGE_MEMORY_LIMIT, right_live=live, **_thresholds(),
    )  # fmt: skip
    pairs = result.pairs
    among_new = pairs["right_id"].isin(keys)
    keep = ~among_new
    if within:
        left, right = pairs["left_id"].astype("int64"), pairs["right_id"].astype("int64")
        keep |= among_new & (left > right)
    result.pairs = pairs[keep].reset_index(drop=True)
    return result, len(new)


def link_persons(person_ids, *, actor=None, within: bool = False) -> dict:
    """Compare the given (new) persons with the rest of the registry — and with each other if ``within`` —
    and act on the result."""
    actor = actor or system_actor()
    features, live = registry_rows()
    result, n_new = link_new(features, person_ids, within=within, live=live)
    del features
    if result is None:
        return {"linked": 0, "review": 0, "new": n_new}
    outcome = _apply(result, actor)
    thresholds = [settings.LINKAGE_LOWER_THRESHOLD, settings.LINKAGE_UPPER_THRESHOLD]
    return outcome | {"new": n_new - outcome["linked"], "thresholds": thresholds}


def relink_registry(*, actor=None) -> dict:
    """The batch job: de-duplicate the whole registry with the current model (pairs it cannot decide go
    to review; pairs above the upper threshold merge)."""
    actor = actor or system_actor()
    features = registry_features()
    if len(features) < 2:
        return {"linked": 0, "review": 0}
    result = link(
        features, None, model=current_model(), features_ready=True,
        memory_limit=settings.LINKAGE_MEMORY_LIMIT, **_thresholds(),
    )  # fmt: skip
    del features
    return _apply(result, actor)


def _live_persons(pks) -> dict:
    """Live (not merged) persons by primary key, as ``services.PersonRef`` (values, not model instances)."""
    out = {}
    with IdSet(pks) as ids:
        for q in ids.filters("pk"):
            rows = Person.objects.filter(q).order_by().values_list(*services.PersonRef.FIELDS)
            out.update((row[0], services.PersonRef(*row)) for row in rows)
    return out


def _apply(result, actor) -> dict:
    """Act on the engine's pairs, most probable first: merge the ``link`` pairs (a person absorbed by an earlier
    pair is skipped; a pair the merge would refuse as twins goes to review), queue the others for review. The
    merges of a batch are applied together (``services.AutoMergeBatch``: set-based, one merge record and one
    audit event per pair), the review pairs are queued in bulk (``queue_reviews``); all in one transaction."""
    with cycles_paused():
        return _decide(result, actor)


def _decide(result, actor) -> dict:
    version = result.model.version if result.model else ""
    factors = [c for c in result.pairs.columns if c.startswith("mw_")]
    pairs = result.pairs.sort_values("match_probability", ascending=False, kind="stable")
    lefts, rights = pairs["left_id"].astype(int).tolist(), pairs["right_id"].astype(int).tolist()
    links = (pairs["decision"] == "link") & ~pairs["both_ids_differ"].astype(bool)
    persons = _live_persons(set(lefts) | set(rights))
    with transaction.atomic():
        batch = services.AutoMergeBatch(
            actor=actor,
            model_version=version,
            person_ids=set(pairs["left_id"][links].astype(int)) | set(pairs["right_id"][links].astype(int)),
        )
        linked, reviews = 0, []
        probabilities = pairs["match_probability"].astype(float).tolist()
        for n, (left, right, is_link, probability) in enumerate(
            zip(lefts, rights, links.tolist(), probabilities, strict=True)
        ):
            absorbed, survivor = persons.get(left), persons.get(right)
            if absorbed is None or survivor is None:  # already merged through a better pair
                continue
            if is_link and batch.add(survivor, absorbed, probability):
                del persons[left]
                if absorbed.sensitivity == "sensitive":  # as the merge will in the database
                    survivor.sensitivity = "sensitive"
                linked += 1
            else:
                reviews.append((left, right, probability, version, n))
        weights = pairs[factors].iloc[[n for *_, n in reviews]].itertuples(index=False, name=None)
        reviews = [
            (*review[:4], _field_weights(values, factors))
            for review, values in zip(reviews, weights, strict=True)
        ]
        batch.apply()
        review = queue_reviews(reviews)
    return {"linked": linked, "review": review, "model": version}


def queue_reviews(reviews) -> int:
    """Queue pairs for review: ``reviews`` is [(person id, other id, probability, model version, field
    weights)]; a pair already queued (in any status) stays as it is. Returns how many were queued.

    PostgreSQL: the pairs go to a temporary table by one COPY, then one ``INSERT … SELECT … ON CONFLICT DO
    NOTHING`` (in the given order); elsewhere ``bulk_create(ignore_conflicts=True)``."""
    from django.db import connection
    from django.utils import timezone

    if not reviews:
        return 0
    now = timezone.now()
    if connection.vendor != "postgresql":
        before = MatchCandidate.objects.count()
        MatchCandidate.objects.bulk_create(
            [
                MatchCandidate(person_id=person, other_id=other, match_probability=probability,
                               model_version=version, match_weights=weights)
                for person, other, probability, version, weights in reviews
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )  # fmt: skip
        return MatchCandidate.objects.count() - before
    columns = (
        "n integer, person_id bigint, other_id bigint, match_probability double precision, model_version text, "
        "match_weights jsonb"
    )
    staged = temp_table(
        columns, rows=((n, *review[:4], json.dumps(review[4])) for n, review in enumerate(reviews))
    )
    table = connection.ops.quote_name(MatchCandidate._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (uuid, person_id, other_id, match_probability, match_weights, model_version, "  # noqa: S608
            f"status, created) SELECT gen_random_uuid(), person_id, other_id, match_probability, match_weights, "
            f"model_version, %s, %s FROM {staged} ORDER BY n ON CONFLICT DO NOTHING",
            [MatchCandidate.Status.PENDING, now],
        )
        queued = cursor.rowcount
    drop_temp_table(staged)
    return queued
