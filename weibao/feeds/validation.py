"""Validating and normalising feed records, row by row but with everything looked up once per batch.

``RecordValidator(feed)`` precomputes what every row needs (column mapping, area codes, the event type's
field schema, today's date); ``validate(raw)`` then does only dictionary look-ups and the GB 11643 check.
It returns ``(clean, problems)``: ``problems`` is a list of ``(field, code, message)``; messages are
Chinese with an English gloss, and ``code`` is what the batch report counts rejections by.
"""

import datetime
import json

from django.utils import timezone

from weibao.accounts.choices import AreaLevel
from weibao.accounts.models import Area
from weibao.lib.checksums import validate_id_number
from weibao.lib.dates import EARLIEST_YEAR
from weibao.registry.choices import DocumentType, PersonKind
from weibao.registry.services import normalise_document

from .choices import Carries, FieldType
from .readers import EXTRA, FORMULA, RESERVED, UNPARSED, UNSTORABLE

# Canonical fields of every feed record, with their labels and maximum lengths.
PERSON_FIELDS = {
    "source_id": ("源记录编号", 200),
    "id_type": ("证件类型", 20),
    "id_number": ("证件号码", 40),
    "name": ("姓名", 50),
    "sex": ("性别", 10),
    "birth_date": ("出生日期", 20),
    "street": ("街镇/区代码", 12),
    "address": ("住址", 200),
    "phone": ("联系电话", 30),
    "kind": ("人员类别", 10),
}
EVENT_FIELDS = {"occurred_on": ("发生日期", 20)}
MAX_TEXT = 500
REASONS = {
    "required": "必填项缺失 (missing)",
    "too_long": "内容过长 (too long)",
    "wrong_type": "类型错误 (wrong type)",
    "check_char": "身份证号码校验位错误 (wrong check character)",
    "invalid": "格式或内容无效 (invalid)",
    "impossible_date": "日期不存在 (impossible date)",
    "future_date": "日期晚于今天 (date in the future)",
    "unknown_area": "未知的区划代码 (unknown area code)",
    "unknown_choice": "不在可选范围内 (not one of the choices)",
    "mismatch": "与证件号码不一致 (disagrees with the ID number)",
    "conflict": "源记录编号重复且内容不同 (source id resent with different content)",
    "unparsed": "无法解析的记录 (unparsable record)",
    "unstorable": "含有无法保存的字符 (NUL or invalid Unicode)",
    "formula": "公式没有计算结果 (formula without a saved value)",
    "internal": "系统处理出错 (internal error)",
}
SEX = {
    "m": "M",
    "男": "M",
    "1": "M",
    "male": "M",
    "f": "F",
    "女": "F",
    "2": "F",
    "female": "F",
    "u": "U",
    "未知": "U",
    "": "U",
    "0": "U",
    "9": "U",
}
KIND = {"": PersonKind.MINOR, "minor": PersonKind.MINOR, "未成年人": PersonKind.MINOR, "adult": PersonKind.ADULT, "成年人": PersonKind.ADULT, "监护人": PersonKind.ADULT}  # fmt: skip
TRUE = {"1", "true", "yes", "y", "是", "t"}
FALSE = {"0", "false", "no", "n", "否", "f"}
MIN_DATE = datetime.date(EARLIEST_YEAR, 1, 1)  # as forms and the API (weibao.lib.dates)


def marked_columns(raw: dict, key: str) -> list[str]:
    """The columns a reader marked under ``key`` (a list of names; anything else sent under it marks none)."""
    columns = raw.get(key)
    return [c for c in columns if isinstance(c, str)] if isinstance(columns, list) else []


def _unparsed(line) -> str:
    """Why a JSONL line was not taken as a record: not a JSON object, or one holding a reserved key."""
    try:
        value = json.loads(line) if isinstance(line, str) else None
    except (ValueError, RecursionError):
        value = None
    if isinstance(value, dict) and (keys := [k for k in RESERVED if k in value]):
        return f"该行含有系统保留的字段名 {'、'.join(keys)} (reserved key)"
    return "该行不是有效的 JSON 对象 (not a JSON object)"


def reason_label(key: str) -> str:
    """``"id_number/check_char"`` → ``"证件号码：身份证号码校验位错误 (…)"``."""
    field, _, code = key.partition("/")
    label = (PERSON_FIELDS.get(field) or EVENT_FIELDS.get(field) or (field,))[0]
    return f"{label}：{REASONS.get(code, code)}"


def parse_date(text: str) -> datetime.date:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD (a time part is ignored). Raises ``ValueError``."""
    text = text.strip()[:10] if len(text) > 10 and text[10] in " T" else text.strip()
    if len(text) == 8 and text.isdigit():
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    parts = text.replace("/", "-").replace(".", "-").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise TypeError(text)
    return datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))


class RecordValidator:
    """Everything needed to check one feed's records, computed once."""

    def __init__(self, feed, *, today: datetime.date | None = None, mapping: dict | None = None):
        self.feed = feed
        self.today = today or timezone.localdate()
        self.is_event = feed.carries == Carries.EVENTS
        mapping = (feed.mapping if mapping is None else mapping) or {}  # a queued file keeps its own
        self.schema = (feed.event_type.fields or {}) if self.is_event and feed.event_type_id else {}
        fields = dict(PERSON_FIELDS)
        if self.is_event:
            fields.update(EVENT_FIELDS)
            fields.update({name: (spec.get("label", name), MAX_TEXT) for name, spec in self.schema.items()})
        self.fields = fields
        self.columns = {name: mapping.get(name) or name for name in fields}  # canonical → column
        self.fields_by_column = {column: name for name, column in self.columns.items()}
        self._specs = [(name, column, fields[name][1]) for name, column in self.columns.items()]
        self._good_dates: dict[str, datetime.date] = {}
        self.streets, self.districts = {}, {}
        for area_id, code, level in Area.objects.values_list("id", "code", "level"):
            if level == AreaLevel.STREET:
                self.streets[code] = area_id
            elif level == AreaLevel.DISTRICT:
                self.districts[code] = area_id

    # -- helpers ---------------------------------------------------------------------------------------
    def _date(self, field, text, problems, *, past=True):
        good = self._good_dates.get(text)  # feeds repeat the same few thousand dates
        if good is not None and (not past or good <= self.today):
            return good
        try:
            value = parse_date(text)
        except TypeError:
            problems.append(
                (field, "invalid", f"{self._label(field)}格式应为 YYYY-MM-DD (expected YYYY-MM-DD)")
            )
            return None
        except ValueError:
            problems.append(
                (field, "impossible_date", f"{self._label(field)}“{text}”不存在 (impossible date)")
            )
            return None
        if value < MIN_DATE:
            problems.append((field, "impossible_date", f"{self._label(field)}早于1900年 (before 1900)"))
            return None
        if past and value > self.today:
            problems.append((field, "future_date", f"{self._label(field)}晚于今天 (in the future)"))
            return None
        if len(self._good_dates) < 200_000:
            self._good_dates[text] = value
        return value

    def _label(self, field):
        return self.fields.get(field, (field,))[0]

    def values(self, raw: dict) -> tuple[dict, list]:
        """The record's canonical fields as stripped strings, and type/length problems."""
        problems, values = [], {}
        get = raw.get
        for name, column, limit in self._specs:
            value = get(column)
            if value.__class__ is str:  # nearly always: a file's cells are text
                value = value.strip()
                if len(value) <= limit:
                    values[name] = value
                    continue
            elif value is None:
                values[name] = ""
                continue
            elif isinstance(value, str):
                value = value.strip()
            elif isinstance(value, bool):
                value = "1" if value else "0"
            elif isinstance(value, (int, float)):
                value = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            else:
                problems.append(
                    (name, "wrong_type", f"{self._label(name)}应为文本或数字 (must be text or a number)")
                )
                value = ""
            if len(value) > limit:
                problems.append(
                    (
                        name,
                        "too_long",
                        f"{self._label(name)}过长：{len(value)} 个字符，上限 {limit} (too long)",
                    )
                )
                value = ""
            values[name] = value
        return values, problems

    # -- the check -------------------------------------------------------------------------------------
    def validate(self, raw: dict) -> tuple[dict | None, list]:
        """``(clean, problems)``; ``clean`` holds the normalised fields (``_number``: the plain ID number,
        never stored in clear) when there are no problems."""
        if UNPARSED in raw:
            return None, [("record", "unparsed", _unparsed(raw[UNPARSED]))]
        v, problems = self.values(raw)
        for column in marked_columns(raw, UNSTORABLE):
            field = self.fields_by_column.get(column, column)
            problems.append(
                (
                    field,
                    "unstorable",
                    f"{self._label(field)}含有无法保存的字符（空字符 NUL 或无效的 Unicode 代理项），已转义保存"
                    " (contains NUL or a lone surrogate; kept escaped)",
                )
            )
        for column in marked_columns(raw, FORMULA):
            if (field := self.fields_by_column.get(column)) is None:
                continue  # an extra column, kept as sent (its formula text, marked)
            problems.append(
                (
                    field,
                    "formula",
                    f"{self._label(field)}是没有计算结果的公式（{raw.get(column, '')}），"
                    "请在 Excel 中打开并保存后重新上传，或在此填写数值"
                    " (a formula the file holds no value for: open and save the file in Excel, or enter the value)",
                )
            )
        clean = {"source_id": v["source_id"]}
        flagged = {p[0] for p in problems}
        if not v["source_id"] and "source_id" not in flagged:
            problems.append(("source_id", "required", "缺少源记录编号 (source_id is required)"))
        if not v["name"] and "name" not in flagged:
            problems.append(("name", "required", "缺少姓名 (name is required)"))
        clean["name"] = " ".join(v["name"].split())
        # identity document
        doc_type = v["id_type"] or DocumentType.MAINLAND_ID
        number, id_birth, id_sex = "", None, None
        if v["id_number"]:
            try:
                if doc_type == DocumentType.MAINLAND_ID:
                    number = validate_id_number(v["id_number"], today=self.today)
                    id_birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
                    id_sex = "M" if int(number[16]) % 2 else "F"
                else:
                    number, _valid = normalise_document(doc_type, v["id_number"])
            except ValueError as exc:
                message = str(exc)
                code = "check_char" if "校验位" in message else "invalid"
                field = "id_type" if "证件类型" in message else "id_number"
                problems.append((field, code, message))
        clean["id_type"] = doc_type
        clean["_number"] = number
        # birth date and sex
        birth = self._date("birth_date", v["birth_date"], problems) if v["birth_date"] else None
        if birth and id_birth and birth != id_birth:
            problems.append(
                ("birth_date", "mismatch", "出生日期与身份证号码不一致 (disagrees with the ID number)")
            )
        clean["birth_date"] = birth or id_birth
        sex = SEX.get(v["sex"].lower())
        if sex is None:
            problems.append(
                ("sex", "unknown_choice", f"性别“{v['sex']}”无效，应为 男/女 或 M/F (must be M or F)")
            )
        clean["sex"] = id_sex if sex in (None, "U") and id_sex else sex
        kind = KIND.get(v["kind"].lower())
        if kind is None:
            problems.append(
                ("kind", "unknown_choice", "人员类别应为 minor 或 adult (must be minor or adult)")
            )
        clean["kind"] = kind
        # area
        code = v["street"]
        street_id = district = None
        if code:
            if len(code) == 12 and code.endswith("000"):
                code = code[:9]
            if code in self.streets:
                street_id = self.streets[code]
            elif code in self.districts:
                district = code
            else:
                problems.append(("street", "unknown_area", f"未知的区划代码“{code}” (unknown area code)"))
        clean["street"], clean["_street_id"], clean["district"] = (
            (code if street_id else ""),
            street_id,
            district,
        )
        clean["address"], clean["phone"] = v["address"], v["phone"]
        if self.is_event:
            self._event(v, clean, problems, flagged)
        return (None if problems else clean), problems

    def _event(self, v, clean, problems, flagged):
        if v["occurred_on"]:
            clean["occurred_on"] = self._date("occurred_on", v["occurred_on"], problems)
        elif "occurred_on" not in flagged:
            problems.append(("occurred_on", "required", "缺少发生日期 (occurred_on is required)"))
        data = {}
        for name, spec in self.schema.items():
            text = v[name]
            label = spec.get("label", name)
            if not text:
                if spec.get("required") and name not in flagged:
                    problems.append((name, "required", f"缺少{label} ({name} is required)"))
                continue
            kind = spec.get("type", FieldType.STRING)
            if kind == FieldType.INTEGER:
                try:
                    data[name] = int(text)
                except ValueError:
                    problems.append((name, "wrong_type", f"{label}应为整数 (must be an integer)"))
            elif kind == FieldType.DATE:
                value = self._date(name, text, problems, past=False)
                data[name] = value.isoformat() if value else None
            elif kind == FieldType.BOOLEAN:
                low = text.lower()
                if low in TRUE or low in FALSE:
                    data[name] = low in TRUE
                else:
                    problems.append((name, "wrong_type", f"{label}应为 是/否 (must be yes or no)"))
            elif kind == FieldType.CHOICE:
                if text in spec.get("choices", []):
                    data[name] = text
                else:
                    choices = "/".join(spec.get("choices", []))
                    problems.append(
                        (name, "unknown_choice", f"{label}应为 {choices} 之一 (not one of the choices)")
                    )
            else:
                data[name] = text
        clean["event"] = data


def normalised_data(clean: dict, masked: str, index: str) -> dict:
    """What a source record keeps: the normalised fields, the ID number only masked and as blind index."""
    data = {k: v for k, v in clean.items() if not k.startswith("_")}
    if data.get("birth_date"):
        data["birth_date"] = data["birth_date"].isoformat()
    if data.get("occurred_on"):
        data["occurred_on"] = data["occurred_on"].isoformat()
    data["id_number_masked"], data["id_index"] = masked, index
    return data


def extra_columns(raw: dict, validator: RecordValidator) -> list[str]:
    known = set(validator.columns.values())
    return [k for k in raw if k not in known and k not in (EXTRA, UNSTORABLE, FORMULA)]
