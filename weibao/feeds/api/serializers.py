from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import LandingStatus
from ..models import Batch, EventType, Feed, LandingRecord
from ..protect import received
from ..readers import RESERVED


class EventTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = EventType
        fields = ["code", "name", "name_en", "domain", "fields", "is_sensitive", "is_active"]


class FeedSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    owner_name = serializers.CharField(source="owner.name", read_only=True)
    event_type = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Feed
        fields = ["uuid", "code", "name", "owner", "owner_name", "carries", "event_type", "schema_version",
                  "mapping", "is_active"]  # fmt: skip
        read_only_fields = fields


class BatchSerializer(serializers.ModelSerializer):
    feed = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Batch
        fields = ["uuid", "feed", "idempotency_key", "source", "filename", "status", "received", "accepted",
                  "duplicates", "rejected", "rejected_by_reason", "seconds", "started", "finished", "message"]  # fmt: skip
        read_only_fields = fields


@extend_schema_field(
    {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": True}}
)
class RecordsField(serializers.Field):
    """A non-empty list of JSON objects, taken as parsed: ``ListField(child=JSONField())`` re-encoded every
    record to check it (about 1 s per 10,000 records); the pipeline validates the fields itself."""

    default_error_messages = {
        "not_a_list": "应为记录列表 (expected a list of records)",
        "empty": "记录列表不能为空 (the list of records is empty)",
    }

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list")
        if not data:
            self.fail("empty")
        bad = [i for i, r in enumerate(data) if not isinstance(r, dict)]
        if bad:  # the size limit: services.ingest_records
            raise serializers.ValidationError(
                f"第 {', '.join(str(i + 1) for i in bad[:10])} 条记录不是 JSON 对象 (records must be objects)"
            )
        reserved = [(i, key) for i, r in enumerate(data) for key in RESERVED if key in r]
        if reserved:
            raise serializers.ValidationError(
                "；".join(f"第 {i + 1} 条记录含有系统保留的字段名 {key}" for i, key in reserved[:10])
                + " (reserved key)"
            )
        return data

    def to_representation(self, value):
        return value


class BatchCreateSerializer(serializers.Serializer):
    idempotency_key = serializers.CharField(max_length=200)
    records = RecordsField()


class LandingRecordSerializer(serializers.ModelSerializer):
    """Identifiers are stored encrypted; shown as received to those who may read them whole (the view's
    ``in_clear``), masked to the others (``masked``: true)."""

    batch = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    raw = serializers.SerializerMethodField()
    corrected = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=LandingStatus.choices, source="shown_status", read_only=True)
    masked = serializers.SerializerMethodField()

    def get_masked(self, obj) -> bool:
        in_clear = self.context.get("in_clear")
        return in_clear is None or not in_clear(obj.batch.feed)

    def get_raw(self, obj) -> dict:
        return received(obj.raw, masked=self.get_masked(obj))

    def get_corrected(self, obj) -> dict | None:
        return received(obj.corrected, masked=self.get_masked(obj))

    class Meta:
        model = LandingRecord
        fields = ["id", "batch", "row_number", "source_id", "raw", "status", "errors", "corrected", "masked"]
        read_only_fields = fields


class FixSerializer(serializers.Serializer):
    fields = serializers.DictField(child=serializers.CharField(allow_blank=True))
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class DiscardSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
