"""Importing organisations from CSV or XLSX: every row checked, every error named with row and column.

Nothing is written unless every row is valid, so a file is either imported whole or not at all and the
officer fixes the listed rows and uploads again. Rows whose name already exists in the same area update it.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.tabular import EXTRA_CELLS, TableError, read_table

from . import access
from .models import Area, Organisation, OrganisationType
from .services import save_organisation

# Column headers accepted, Chinese first; each maps to a model field.
COLUMNS = {
    "name": ["名称", "单位名称", "name"],
    "short_name": ["简称", "short_name"],
    "type": ["类型", "单位类型", "type"],
    "area": ["区域", "区域代码", "所在区域", "area"],
    "parent": ["上级单位", "parent"],
    "uscc": ["统一社会信用代码", "uscc"],
    "address": ["地址", "address"],
    "phone": ["联系电话", "电话", "phone"],
}
REQUIRED = ["name", "type", "area"]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _lookup_area(value: str):
    return Area.objects.filter(Q(code=value) | Q(name=value)).order_by("level").first()


def import_organisations(filename: str, data: bytes, *, actor, dry_run: bool = False) -> ImportResult:
    result = ImportResult()
    try:
        headers, rows = read_table(filename, data)
    except TableError as exc:
        result.errors.append((0, "", str(exc)))
        return result
    header_for = {}
    for fieldname, aliases in COLUMNS.items():
        header_for[fieldname] = next(
            (h for h in headers if h.strip().lower() in {a.lower() for a in aliases}), None
        )
    for fieldname in REQUIRED:
        if header_for[fieldname] is None:
            result.errors.append(
                (1, COLUMNS[fieldname][0], f"缺少必填列“{COLUMNS[fieldname][0]}” (missing column)")
            )
    if result.errors:
        return result
    all_types = list(OrganisationType.objects.all())
    types = {t.code: t for t in all_types} | {t.name: t for t in all_types}
    manageable = Organisation.objects.visible_to(actor, access.CHANGE)
    pending, seen, credit_codes = [], {}, {}
    try:
        _check_rows(rows, result, header_for, types, manageable, actor, pending, seen, credit_codes)
    except TableError as exc:
        result.errors.append((0, "", str(exc)))
    if result.rows == 0 and not result.errors:
        result.errors.append((0, "", "文件中没有数据行 (no data rows)"))
    if result.errors or dry_run:
        return result
    return _save(filename, pending, result, actor)


def _check_rows(rows, result, header_for, types, manageable, actor, pending, seen, credit_codes):
    for number, row in rows:
        result.rows += 1
        values = {f: row.get(h, "") if h else "" for f, h in header_for.items()}
        if row.get(EXTRA_CELLS):
            result.errors.append(
                (number, "", f"该行的列数多于表头：{row[EXTRA_CELLS]} (more cells than columns)")
            )
        row_errors = []
        for fieldname in REQUIRED:
            if not values[fieldname]:
                row_errors.append((number, COLUMNS[fieldname][0], "必填 (required)"))
        org_type = types.get(values["type"]) if values["type"] else None
        if values["type"] and org_type is None:
            row_errors.append((number, "类型", f"未知的单位类型“{values['type']}” (unknown type)"))
        area = _lookup_area(values["area"]) if values["area"] else None
        if values["area"] and area is None:
            row_errors.append((number, "区域", f"未知的区域“{values['area']}” (unknown area)"))
        elif area is not None and not access.may_manage_organisations_in(actor, area):
            row_errors.append((number, "区域", f"“{area.full_name}”不在您的管理范围内 (outside your scope)"))
        parent = None
        if values["parent"]:
            parent = Organisation.objects.filter(name=values["parent"]).first()
            if parent is None:
                parent_row = seen.get(values["parent"])
                if parent_row is None:
                    row_errors.append(
                        (number, "上级单位", f"找不到上级单位“{values['parent']}” (unknown parent)")
                    )
        key = (values["name"], area.pk if area else None)
        if values["name"] and key in seen:
            row_errors.append((number, "名称", f"与第 {seen[key]} 行重复 (duplicate of row {seen[key]})"))
        if not row_errors:
            seen[key] = number
            seen.setdefault(values["name"], number)
            organisation = (
                Organisation.objects.filter(name=values["name"], area=area).first() or Organisation()
            )
            if organisation.pk and not manageable.filter(pk=organisation.pk).exists():
                row_errors.append(
                    (number, "名称", "该单位已存在且不在您的管理范围内 (exists outside your scope)")
                )
            else:
                for attr in ("name", "short_name", "uscc", "address", "phone"):
                    setattr(organisation, attr, values[attr])
                organisation.type, organisation.area = org_type, area
                pending.append((number, organisation, values["parent"] or None))
                try:
                    organisation.full_clean(
                        exclude=["parent"], validate_unique=False, validate_constraints=False
                    )
                except ValidationError as exc:
                    for fieldname, messages in exc.message_dict.items():
                        column = COLUMNS.get(fieldname, [fieldname])[0]
                        row_errors.extend((number, column, m) for m in messages)
                code = organisation.uscc
                if code and code in credit_codes:
                    row_errors.append(
                        (number, "统一社会信用代码", f"与第 {credit_codes[code]} 行重复 (duplicate)")
                    )
                elif code and Organisation.objects.filter(uscc=code).exclude(pk=organisation.pk).exists():
                    row_errors.append((number, "统一社会信用代码", "已被其他单位使用 (already used)"))
                if code:
                    credit_codes.setdefault(code, number)
        result.errors.extend(row_errors)


def _save(filename, pending, result, actor) -> ImportResult:
    """Write every checked row in one transaction; a row the database still refuses undoes the file."""
    number = 0
    try:
        with transaction.atomic():
            saved = {}
            for number, organisation, parent_name in pending:  # noqa: B007 (read in the except)
                if parent_name:
                    organisation.parent = (
                        saved.get(parent_name) or Organisation.objects.filter(name=parent_name).first()
                    )
                creating = organisation.pk is None
                save_organisation(organisation, actor=actor, reason=f"导入 {filename}")
                saved[organisation.name] = organisation
                result.created += creating
                result.updated += not creating
            record(
                actor,
                AuditAction.IMPORT,
                object_type="accounts.organisation",
                object_repr=filename[:200],
                extra={"rows": result.rows, "created": result.created, "updated": result.updated},
            )
    except ValidationError as exc:
        result.created = result.updated = 0
        for fieldname, messages in exc.message_dict.items():
            column = COLUMNS.get(fieldname, [""])[0]
            result.errors.extend((number, column, m) for m in messages)
    return result
