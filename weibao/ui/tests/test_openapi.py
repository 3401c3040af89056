"""The OpenAPI document of the whole API validates, with no warning (name collisions, unresolved types)."""

import yaml
from django.core.management import call_command


def test_openapi_document_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    paths = yaml.safe_load(out.read_text(encoding="utf-8"))["paths"]
    for prefix in ("/api/reports/partner/", "/api/cases/cases/", "/api/alerts/", "/api/feeds/"):
        assert any(p.startswith(prefix) for p in paths), prefix
