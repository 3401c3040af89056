"""``{% risk_summary person %}``: a person's open alerts and risk score, for the person page."""

from django import template

from weibao.accounts import access

from ..models import Alert

register = template.Library()


@register.inclusion_tag("alerts/includes/risk_summary.html", takes_context=True)
def risk_summary(context, person):
    user = context["request"].user
    if not access.can_view_alerts(user):
        return {"show": False}
    alerts = list(
        Alert.objects.visible_to(user).open().filter(person=person).select_related("rule_version__level")
    )
    return {"show": True, "alerts": alerts, "score": sum(a.rule_version.level.weight for a in alerts)}
