import pytest


@pytest.fixture
def world(db):
    from weibao.lib.testing import build_world

    return build_world()
