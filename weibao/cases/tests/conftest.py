import pytest

from weibao.cases.testing import build_case_world


@pytest.fixture
def world(db):
    return build_case_world()
