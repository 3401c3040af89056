import pytest


@pytest.fixture
def world(db):
    from weibao.lib.testing import build_world

    return build_world()


@pytest.fixture(autouse=True)
def _linkage_cache_dir(settings, tmp_path_factory):
    """Each test its own cache of linkage features (the file is keyed by database name, which tests reuse)."""
    settings.LINKAGE_CACHE_DIR = tmp_path_factory.mktemp("linkage")
