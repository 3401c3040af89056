from rest_framework import serializers

from ..models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "seq",
            "at",
            "actor_username",
            "ip",
            "request_id",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "reason",
            "extra",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields
