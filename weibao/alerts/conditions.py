"""The condition language of rules: a small JSON structure, validated, compiled to ONE set-based SQL query.

A definition is one clause; a clause is a one-key object::

    {"all": [clause, …]}            every sub-clause holds (evidence of all of them)
    {"any": [clause, …]}            at least one holds
    {"event_count": {"event_type": "police_dv_callout" | [codes], "within_days": 365, "min": 2}}
    {"events_across_departments": {"event_types": [codes] (optional), "within_days": 180, "min_departments": 3}}
    {"no_event": {"event_type": code | [codes], "within_days": 400 (optional: ever)}}
    {"category": {"code": "left_behind" | [codes], "active": true}}
    {"age": {"min": 6, "max": 15}}      whole years today, both ends included
    {"no_other_guardian": {}}          at most one current registered guardian

The compiled SQL runs in DuckDB over the snapshot tables ``persons``, ``events``, ``event_types``,
``person_categories`` and ``guardianships`` (see ``snapshot.py``), with the screening day in the DuckDB
variable ``today``. It returns one row per flagged person: ``person_id`` and ``event_ids`` (the evidence,
empty for rules about absences). Only living minors (``kind = 'minor'``, under 18 today) are screened.
"""

import json
import re

import yaml
from django.core.exceptions import ValidationError

MAX_DEPTH, MAX_CHILDREN, MAX_DAYS = 5, 20, 3650
# Bounds on the size of a rule: clauses in all (groups and leaves; YAML aliases cannot blow a small text up
# into a huge tree past it), and characters of the definition as text (typed, sent or imported).
MAX_NODES, MAX_TEXT = 100, 20_000
YAML_MAX_DEPTH = 32  # levels of lists and mappings a definition or rules file may have at all (``load_yaml``)


class YamlTooDeep(ValueError):
    """A YAML text whose lists and mappings nest more than ``YAML_MAX_DEPTH`` levels, or hold themselves."""


def load_yaml(text: str):
    """``yaml.safe_load`` with nesting bounded: ``"[" * 1000`` makes the parser recurse once per level — a
    ``RecursionError`` under Python's default limit, a parse beyond it when a library has raised the limit —
    so either way it is ``YamlTooDeep``. What the loader refuses (a date such as ``2020-02-30`` raises
    ``ValueError`` there) is a ``yaml.YAMLError`` like any other unreadable text."""
    try:
        value = yaml.safe_load(text)
    except RecursionError:
        raise YamlTooDeep from None
    except (ValueError, TypeError) as exc:  # raised by a constructor (dates, timestamps, …)
        raise yaml.YAMLError(str(exc)) from None
    _check_height(value)
    return value


def _check_height(value) -> None:
    """The height of the tree, each list or mapping measured once: an alias is the object it names, so a few
    hundred characters of aliases of aliases (naming millions of lists) cost a few steps, not their expansion;
    an alias of its own ancestor (a loop) is too deep. Iterative: the check must not recurse either."""
    heights: dict[int, int] = {}  # id of a list or mapping measured → its height
    begun: set[int] = set()  # the ones whose children are being measured: the ancestors of the current one
    stack = [(value, False)]
    while stack:
        node, children_measured = stack.pop()
        if not isinstance(node, dict | list):
            continue
        key = id(node)
        children = [
            c for c in (node.values() if isinstance(node, dict) else node) if isinstance(c, dict | list)
        ]
        if children_measured:
            begun.discard(key)
            heights[key] = 1 + max((heights[id(c)] for c in children), default=0)
            if heights[key] > YAML_MAX_DEPTH:
                raise YamlTooDeep
        elif key in begun:
            raise YamlTooDeep  # it holds itself
        elif key not in heights:
            begun.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in heights)


# Every code interpolated into SQL must match this (the alphabet of Django's SlugField, which the
# EventType and Category codes are): no quote, space or punctuation can ever reach the SQL text.
CODE_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
LEAVES = ("event_count", "events_across_departments", "no_event", "category", "age", "no_other_guardian")
GROUPS = ("all", "any")
TODAY = "getvariable('today')"


# --- validation ---------------------------------------------------------------------------------------


class _Checker:
    def __init__(self, event_types: set[str], categories: set[str]):
        self.event_types, self.categories = event_types, categories
        self.errors: list[str] = []
        self.nodes, self.too_big = 0, False

    def fail(self, path: str, zh: str, en: str) -> None:
        self.errors.append(f"{path}：{zh} ({en})")

    def clause(self, node, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:  # stop walking: an alias-expanded tree may be enormous
            if not self.too_big:
                self.too_big = True
                self.fail("条件", f"总共最多 {MAX_NODES} 个条件", f"at most {MAX_NODES} clauses in all")
            return None
        if depth > MAX_DEPTH:
            return self.fail(path, f"嵌套不能超过 {MAX_DEPTH} 层", f"nesting deeper than {MAX_DEPTH}")
        if not isinstance(node, dict) or len(node) != 1:
            return self.fail(
                path,
                '每个条件必须是只有一个键的对象，如 {"all": [...]}',
                "a clause is an object with one key",
            )
        ((kind, body),) = node.items()
        where = f"{path}.{kind}"
        if kind in GROUPS:
            if not isinstance(body, list) or not body:
                return self.fail(where, "必须是非空的条件列表", "must be a non-empty list of clauses")
            if len(body) > MAX_CHILDREN:
                return self.fail(where, f"最多 {MAX_CHILDREN} 个条件", f"at most {MAX_CHILDREN} clauses")
            for i, child in enumerate(body):
                if self.too_big:
                    break
                self.clause(child, f"{where}[{i}]", depth + 1)
            return None
        if kind not in LEAVES:
            allowed = "、".join(GROUPS + LEAVES)
            return self.fail(
                path, f"未知的条件类型“{kind}”，可用：{allowed}", f"unknown clause type {kind!r}"
            )
        if not isinstance(body, dict):
            return self.fail(where, "参数必须是对象", "parameters must be an object")
        getattr(self, kind)(body, where)
        return None

    def _keys(self, body: dict, where: str, allowed: set[str]) -> None:
        for key in sorted(set(body) - allowed, key=str):  # YAML keys may be ints, dates, …
            self.fail(f"{where}.{key}", "不认识的参数", "unknown parameter")

    def _int(self, body, key, where, lo, hi, *, required=True):
        value = body.get(key)
        if value is None:
            if required:
                self.fail(f"{where}.{key}", "必填", "required")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.fail(f"{where}.{key}", f"必须是 {lo}–{hi} 的整数", f"must be an integer from {lo} to {hi}")
            return None
        return value

    def _codes(self, body, key, where, known: set[str], label: str, *, required=True) -> None:
        value = body.get(key)
        if value is None:
            if required:
                self.fail(f"{where}.{key}", "必填", "required")
            return
        codes = [value] if isinstance(value, str) else value
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) and c for c in codes):
            return self.fail(f"{where}.{key}", "必须是代码或代码列表", "must be a code or a list of codes")
        for code in codes:
            if code not in known:
                self.fail(f"{where}.{key}", f"没有代码为“{code}”的{label}", f"unknown {label} code {code!r}")
            elif not CODE_RE.match(code):
                self.fail(f"{where}.{key}", f"代码“{code}”含有不允许的字符", f"invalid code {code!r}")

    def event_count(self, body, where):
        self._keys(body, where, {"event_type", "within_days", "min"})
        self._codes(body, "event_type", where, self.event_types, "事件类型")
        self._int(body, "within_days", where, 1, MAX_DAYS)
        self._int(body, "min", where, 1, 1000, required=False)

    def events_across_departments(self, body, where):
        self._keys(body, where, {"event_types", "within_days", "min_departments"})
        self._codes(body, "event_types", where, self.event_types, "事件类型", required=False)
        self._int(body, "within_days", where, 1, MAX_DAYS)
        self._int(body, "min_departments", where, 2, 20)

    def no_event(self, body, where):
        self._keys(body, where, {"event_type", "within_days"})
        self._codes(body, "event_type", where, self.event_types, "事件类型")
        self._int(body, "within_days", where, 1, MAX_DAYS, required=False)

    def category(self, body, where):
        self._keys(body, where, {"code", "active"})
        self._codes(body, "code", where, self.categories, "人员类别")
        active = body.get("active", True)
        if not isinstance(active, bool):
            self.fail(f"{where}.active", "必须是 true 或 false", "must be true or false")

    def age(self, body, where):
        self._keys(body, where, {"min", "max"})
        lo = self._int(body, "min", where, 0, 17, required=False)
        hi = self._int(body, "max", where, 0, 17, required=False)
        if "min" not in body and "max" not in body:
            self.fail(where, "至少填写 min 或 max", "give min or max")
        if lo is not None and hi is not None and lo > hi:
            self.fail(f"{where}.min", "不能大于 max", "must not exceed max")

    def no_other_guardian(self, body, where):
        self._keys(body, where, set())


def validate(definition, *, event_types: set[str] | None = None, categories: set[str] | None = None) -> None:
    """Raise ``ValidationError({"definition": [...]})`` naming every problem by its path, Chinese first."""
    if event_types is None or categories is None:
        from weibao.feeds.models import EventType
        from weibao.registry.models import Category

        event_types = (
            set(EventType.objects.values_list("code", flat=True)) if event_types is None else event_types
        )
        categories = (
            set(Category.objects.values_list("code", flat=True)) if categories is None else categories
        )
    checker = _Checker(event_types, categories)
    checker.clause(definition, "条件", 1)
    if not checker.too_big:
        try:
            check_text_length(definition)
        except ValidationError as exc:
            checker.errors += exc.message_dict["definition"]
    if checker.errors:
        raise ValidationError({"definition": checker.errors})


def _too_long() -> ValidationError:
    return ValidationError(
        {
            "definition": [
                f"条件文本不能超过 {MAX_TEXT} 个字符 (the definition may be at most {MAX_TEXT} characters)"
            ]
        }
    )


def check_text_length(definition) -> None:
    """Raise ``ValidationError({"definition": …})`` if the definition, as JSON, is longer than ``MAX_TEXT``.

    Only call it on a tree of at most ``MAX_NODES`` clauses (``validate`` does). Values inside a clause may
    still be YAML aliases that expand enormously: the tree is walked first, stopping past ``MAX_TEXT`` values
    (each is at least one character of JSON), and serialised only when it is surely small."""
    stack, seen = [definition], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_TEXT:
            raise _too_long()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    try:
        text = json.dumps(definition, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # e.g. non-string keys in a nested object: the checker reports those
        return
    if len(text) > MAX_TEXT:
        raise _too_long()


# --- compilation --------------------------------------------------------------------------------------


def _refuse(what) -> ValidationError:
    return ValidationError({"definition": [f"条件无法编译：{what!r} 不合法 (refusing to compile {what!r})"]})


def _clause(node) -> tuple:
    """``(kind, body)`` of one clause of a stored definition, refused unless well formed (a one-key object;
    a group's body a non-empty list) — the compilers' check; ``validate`` words the errors for people."""
    if not isinstance(node, dict) or len(node) != 1:
        raise _refuse(node)
    ((kind, body),) = node.items()
    if kind in GROUPS and (not isinstance(body, list) or not body):
        raise _refuse(kind)
    return kind, body


def _code(value) -> str:
    """A code as an SQL literal, only if it matches ``CODE_RE`` (stored definitions are checked again here)."""
    if not isinstance(value, str) or not CODE_RE.match(value):
        raise _refuse(value)
    return f"'{value}'"


def _in_codes(value) -> str:
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, list) or not codes:
        raise _refuse(value)
    return "(" + ", ".join(_code(c) for c in codes) + ")"


def _int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(value)
    return value


def _window(days, column="e.occurred_on") -> str:
    if days is None:
        return f"{column} <= {TODAY}"
    return f"{column} > {TODAY} - {_int(days)} AND {column} <= {TODAY}"


def _types(value) -> str:
    return f"e.type_id IN (SELECT id FROM event_types WHERE code IN {_in_codes(value)})"


class _Compiler:
    """Clauses → CTEs. The same clause twice (in one definition, or in several compiled together, sharing
    ``ctes``) is one CTE, computed once."""

    def __init__(self, ctes: list[tuple[str, str]] | None = None):
        self.ctes = [] if ctes is None else ctes
        self.names = {sql: name for name, sql in self.ctes}
        self.count = 0

    def add(self, sql: str) -> str:
        self.count += 1
        if self.count > MAX_NODES:
            raise _refuse(f"more than {MAX_NODES} clauses")
        if sql not in self.names:
            self.names[sql] = f"c{len(self.ctes) + 1}"
            self.ctes.append((self.names[sql], sql))
        return self.names[sql]

    def node(self, node) -> str:
        kind, body = _clause(node)
        if kind in GROUPS:
            names = [self.node(child) for child in body]
            union = " UNION ALL ".join(f"SELECT person_id, event_id FROM {n}" for n in names)
            if kind == "any" or len(names) == 1:
                return self.add(union)
            held = " AND ".join(f"u.person_id IN (SELECT person_id FROM {n})" for n in names)
            return self.add(f"SELECT u.person_id, u.event_id FROM ({union}) u WHERE {held}")
        if kind not in LEAVES or not isinstance(body, dict):
            raise _refuse(kind)
        return self.add(getattr(self, kind)(body))

    def event_count(self, b) -> str:
        sql = (
            f"SELECT e.person_id, e.id AS event_id FROM events e "
            f"WHERE {_types(b['event_type'])} AND {_window(b['within_days'])}"
        )
        if _int(b.get("min", 1)) > 1:
            sql += f" QUALIFY count(*) OVER (PARTITION BY e.person_id) >= {_int(b['min'])}"
        return sql

    def events_across_departments(self, b) -> str:
        typed = f"{_types(b['event_types'])} AND " if b.get("event_types") else ""
        return (
            "SELECT e.person_id, e.id AS event_id FROM events e JOIN event_types t ON t.id = e.type_id "
            f"WHERE {typed}{_window(b['within_days'])} AND e.person_id IN ("
            "SELECT e.person_id FROM events e JOIN event_types t ON t.id = e.type_id "
            f"WHERE {typed}{_window(b['within_days'])} "
            f"GROUP BY e.person_id HAVING count(DISTINCT t.domain) >= {_int(b['min_departments'])})"
        )

    def no_event(self, b) -> str:
        return (
            "SELECT s.person_id, NULL::BIGINT AS event_id FROM screened s WHERE NOT EXISTS ("
            f"SELECT 1 FROM events e WHERE e.person_id = s.person_id AND {_types(b['event_type'])} "
            f"AND {_window(b.get('within_days'))})"
        )

    def category(self, b) -> str:
        held = (
            f"SELECT pc.person_id FROM person_categories pc WHERE pc.code IN {_in_codes(b['code'])} "
            f"AND (pc.since IS NULL OR pc.since <= {TODAY}) AND (pc.until IS NULL OR pc.until >= {TODAY})"
        )
        negate = "" if b.get("active", True) else "NOT "
        return f"SELECT s.person_id, NULL::BIGINT AS event_id FROM screened s WHERE s.person_id {negate}IN ({held})"

    def age(self, b) -> str:
        clauses = ["p.birth_date IS NOT NULL"]
        if b.get("min") is not None:
            clauses.append(f"p.birth_date <= CAST({TODAY} - INTERVAL {_int(b['min'])} YEAR AS DATE)")
        if b.get("max") is not None:
            clauses.append(f"p.birth_date > CAST({TODAY} - INTERVAL {_int(b['max']) + 1} YEAR AS DATE)")
        return (
            f"SELECT p.id AS person_id, NULL::BIGINT AS event_id FROM persons p WHERE {' AND '.join(clauses)}"
        )

    def no_other_guardian(self, b) -> str:
        # at most one current guardian: not among the minors with two or more
        return (
            "SELECT s.person_id, NULL::BIGINT AS event_id FROM screened s WHERE NOT EXISTS ("
            "SELECT 1 FROM (SELECT g.minor_id FROM guardianships g "
            f"WHERE (g.since IS NULL OR g.since <= {TODAY}) AND (g.until IS NULL OR g.until >= {TODAY}) "
            "GROUP BY g.minor_id HAVING count(*) > 1) m WHERE m.minor_id = s.person_id)"
        )


SCREENED = (
    "SELECT id AS person_id FROM persons WHERE kind = 'minor' "
    f"AND (birth_date IS NULL OR birth_date > CAST({TODAY} - INTERVAL 18 YEAR AS DATE))"
)


EVIDENCE = "coalesce(list_sort(list_distinct(list(r.event_id) FILTER (WHERE r.event_id IS NOT NULL))), []) AS event_ids"


def _query(ctes, columns: str, source: str) -> str:
    """The one shape of a compiled query: the CTEs, then ``columns`` and the evidence per flagged row of
    ``source`` (aliased ``r``), persons screened only."""
    with_sql = ",\n".join(f"{name} AS ({sql})" for name, sql in ctes)
    return (
        f"WITH {with_sql}\n"
        f"SELECT {columns}, {EVIDENCE}\n"
        f"FROM {source} r WHERE r.person_id IN (SELECT person_id FROM screened) GROUP BY {columns}"
    )


def compile_many(definitions) -> str:
    """One query for several definitions: ``rule`` (the definition's index), ``person_id``, ``event_ids`` —
    for each definition exactly the rows ``compile_sql`` gives (the same clauses), while what several share —
    the persons screened, a clause that recurs — is worked out once for all."""
    ctes, roots = [], []
    for i, definition in enumerate(definitions):
        root = _Compiler(ctes).node(definition)
        roots.append(f"SELECT {i} AS rule, person_id, event_id FROM {root}")
    if not roots:
        raise _refuse(definitions)
    union = "\nUNION ALL ".join(roots)
    return _query([("screened", SCREENED), *ctes], "r.rule, r.person_id", f"({union})")


def compile_sql(definition) -> str:
    """One query: ``person_id``, ``event_ids`` (sorted, possibly empty) per flagged person."""
    compiler = _Compiler()
    root = compiler.node(definition)
    return _query([("screened", SCREENED), *compiler.ctes], "r.person_id", root)


# --- what the compiled SQL can read (the snapshot loads no more) ----------------------------------------

ALL_TYPES = "*"


def _wider(a, b, *, first: bool):
    """The wider of two look-back windows in days; ``None`` is "ever" (no lower bound)."""
    if first:
        return b
    if a is None or b is None:
        return None
    return max(a, b)


def reads(definitions) -> dict:
    """Which snapshot rows the compiled SQL of ``definitions`` can read, besides the persons screened:

    ``events``: event type code (or ``ALL_TYPES``) → the widest look-back window in days over the clauses that
    read it (``None``: ever); every clause also stops at the screening day, so later events are never read.
    ``categories``: the category codes any ``category`` clause names (only rows current on the day count).
    ``guardianships``: whether a ``no_other_guardian`` clause exists (only current guardianships count).

    Mirrors ``_Compiler``: a clause added there must say here what it reads (``test_snapshot_scope`` checks
    every clause type against an unrestricted snapshot)."""
    out = {"events": {}, "categories": set(), "guardianships": False}

    def window(codes, days):
        for code in [codes] if isinstance(codes, str) else codes:
            if code != ALL_TYPES:
                _code(code)
            seen = code in out["events"]
            out["events"][code] = _wider(out["events"].get(code), days, first=not seen)

    def walk(node):
        kind, body = _clause(node)
        if kind in GROUPS:
            for child in body:
                walk(child)
            return
        if kind not in LEAVES or not isinstance(body, dict):
            raise _refuse(kind)
        if kind == "event_count":
            window(body["event_type"], _int(body["within_days"]))
        elif kind == "events_across_departments":
            window(body.get("event_types") or ALL_TYPES, _int(body["within_days"]))
        elif kind == "no_event":
            days = body.get("within_days")
            window(body["event_type"], None if days is None else _int(days))
        elif kind == "category":
            codes = body["code"]
            for code in [codes] if isinstance(codes, str) else codes:
                out["categories"].add(_code(code)[1:-1])
        elif kind == "no_other_guardian":
            out["guardianships"] = True

    for definition in definitions:
        walk(definition)
    return out
