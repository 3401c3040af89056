"""Report settings with defaults: a deployment overrides any key in ``settings.REPORTS`` (a dict).

Deadlines are in hours. Why these defaults: the law says the police accept a report *immediately*; one hour
for an urgent report (immediate danger) and 24 hours otherwise is what a duty desk can be held to. The police
decide on opening a case within 3 days of acceptance (公安机关办理刑事案件程序规定 Art. 178, ordinary
cases); the reporting unit is told within 3 days of the decision (issue 5); the workstation contacts the
family within 24 hours when urgent, else 72 hours.
"""

from django.conf import settings

from .choices import Situation

DEFAULTS = {
    "ACK_HOURS_URGENT": 1,
    "ACK_HOURS": 24,
    "DECISION_HOURS": 72,  # after acceptance (or after the report if the police never accepted it)
    "FEEDBACK_HOURS": 72,  # after the decision
    "CONTACT_HOURS_URGENT": 24,
    "CONTACT_HOURS": 72,
    # Situations routed to the district police as well as to the workstation.
    "POLICE_SITUATIONS": [s for s in Situation.values if s != Situation.OTHER],
    "DUPLICATE_WINDOW_HOURS": 72,
    # Public web form: submissions per address per window; partner API: per partner per window.
    "PUBLIC_RATE": (10, 3600),
    "PARTNER_RATE": (600, 3600),
    "MAX_TEXT": 5000,  # characters of the description
    "MIN_TEXT": 10,
    "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
    "ATTACHMENT_MAX_COUNT": 5,
}


def get(key: str):
    return getattr(settings, "REPORTS", {}).get(key, DEFAULTS[key])
