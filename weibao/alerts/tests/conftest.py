"""Fixtures the alert tests share: the shipped rules set aside, and one alert built from the rule tests write."""

import pytest

from weibao.alerts import engine
from weibao.alerts.choices import RuleStatus
from weibao.alerts.models import Alert, Rule


@pytest.fixture
def only_own_rules(db):
    """The shipped rules back to draft, so that only the rules a test makes raise alerts."""
    Rule.objects.update(status=RuleStatus.DRAFT)


@pytest.fixture
def alert(world, only_own_rules):
    """The one alert two domestic-violence call-outs of person a1 raise, under a two-in-30-days rule."""
    from weibao.alerts.tests.test_engine import make_rule
    from weibao.alerts.tests.test_pages import dv_twice

    make_rule(definition={"event_count": {"event_type": "police_dv_callout", "within_days": 30, "min": 2}})
    dv_twice(world.persons["a1"])
    engine.screen()
    return Alert.objects.get()
