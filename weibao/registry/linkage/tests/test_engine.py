"""The engine: exact ID links, the model, the twins rule, clusters, model files."""

import pandas as pd
import pytest

from weibao.lib.checksums import id_check_char
from weibao.registry.linkage.engine import LINK, decide, link, train
from weibao.registry.linkage.features import build_features
from weibao.registry.linkage.model import Model

from .data import people


def _id(area, birth, seq):
    first17 = f"{area}{birth.replace('-', '')}{seq:03d}"
    return first17 + id_check_char(first17)


@pytest.fixture(scope="module")
def trained():
    left, right = people(400, seed=3)
    return link(left, right, u_pairs=2e5, em_pairs=2e5)


def test_link_finds_most_true_pairs_and_few_false(trained):
    links = trained.links()
    true = links["left_id"].str[2:] == links["right_id"].str[2:]
    assert true.mean() > 0.97
    assert true.sum() > 0.9 * 400 * 0.9


def test_same_valid_id_links_exactly_even_with_different_names():
    number = _id("310115", "2015-03-07", 11)
    left = pd.DataFrame({"unique_id": ["a"], "full_name": ["王小明"], "id_number": [number]})
    right = pd.DataFrame({"unique_id": ["b", "c"], "full_name": ["李四", "张三"], "id_number": [number, ""]})
    result = link(left, right, u_pairs=1e4, em_pairs=1e4)
    exact = result.pairs[result.pairs["method"] == "exact_id"]
    assert exact[["left_id", "right_id"]].values.tolist() == [["a", "b"]]
    assert exact["decision"].tolist() == [LINK]


def test_twins_with_valid_different_ids_never_auto_link(trained):
    born = "2016-05-08"
    twin_a, twin_b = _id("310105", born, 351), _id("310105", born, 353)
    common = {
        "sex": "男",
        "birth_date": born,
        "locality": "仙霞新村街道",
        "guardian_name": "赵刚",
        "phone": "13800138000",
    }
    left = pd.DataFrame([{"unique_id": "t1", "full_name": "赵睿泽", "id_number": twin_a, **common}])
    right = pd.DataFrame([{"unique_id": "t2", "full_name": "赵瑞泽", "id_number": twin_b, **common}])
    result = link(left, right, model=trained.model, lower=0.0)
    pair = result.pairs.iloc[0]
    assert pair["both_ids_differ"]
    assert pair["decision"] != LINK
    assert result.clusters["cluster_id"].nunique() == 2


def test_decide_keeps_twins_out_even_at_probability_one():
    scored = pd.DataFrame(
        {"left_id": ["a"], "right_id": ["b"], "match_probability": [1.0], "match_weight": [40.0],
         "idk_l": ["310105201605083513"], "idk_r": ["310105201605083521"]}
    )  # fmt: skip
    empty = pd.DataFrame({"left_id": [], "right_id": []})
    assert decide(scored, empty)["decision"].tolist() == ["review"]


def test_homophone_and_traditional_names_link_with_the_trained_model(trained):
    common = {"sex": "女", "birth_date": "2012-11-24", "locality": "嘉定镇街道", "phone": "13912345678"}
    left = pd.DataFrame([{"unique_id": "x", "full_name": "陈梓涵", **common}])
    right = pd.DataFrame(
        [{"unique_id": "h", "full_name": "陈子涵", **common}, {"unique_id": "t", "full_name": "陳梓涵", **common},
         {"unique_id": "s", "full_name": "陈涵梓", **common}, {"unique_id": "o", "full_name": "陈", **common}]
    )  # fmt: skip
    result = link(left, right, model=trained.model, lower=0.0)
    p = result.pairs.set_index("right_id")["match_probability"]
    assert p["h"] > 0.99 and p["t"] > 0.99 and p["s"] > 0.99
    assert p["o"] > 0.5  # surname only: weaker, but still evidence


def test_model_save_and_load_round_trip(trained, tmp_path):
    path = trained.model.save(tmp_path / "v1.json")
    loaded = Model.load(path)
    assert loaded.settings["comparisons"] == trained.model.settings["comparisons"]
    left, right = people(60, seed=9)
    key = ["left_id", "right_id"]  # DuckDB returns rows in no fixed order
    a = link(left, right, model=trained.model).pairs.sort_values(key)
    b = link(left, right, model=loaded).pairs.sort_values(key)
    assert a[key].values.tolist() == b[key].values.tolist()
    assert a["match_probability"].round(9).tolist() == b["match_probability"].round(9).tolist()


def test_duckdb_connection_never_autoloads_extensions():
    from weibao.registry.linkage.model import connect

    con = connect()
    settings = dict(con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name LIKE 'auto%_known_extensions'"
    ).fetchall())  # fmt: skip
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def test_training_on_a_registry_without_duplicates_keeps_a_usable_prior():
    """A fresh registry (every person once, valid IDs) estimated a prior of 0 and crashed training."""
    import datetime

    from weibao.lib.synthetic import PopulationGenerator

    gen = PopulationGenerator(5, today=datetime.date(2026, 1, 1))
    rows = []
    for i in range(1200):
        sex = "M" if i % 2 else "F"
        born = gen.birth_date(0, 17, datetime.date(2026, 1, 1))
        rows.append(
            {
                "unique_id": str(i),
                "full_name": gen.person_name(sex, born.year),
                "birth_date": born.isoformat(),
                "sex": sex,
                "id_number": gen.id_number("310101", born, sex),
            }
        )
    model = train(build_features(pd.DataFrame(rows)), version="fresh")
    assert 0 < model.settings["probability_two_random_records_match"] < 1


def test_clusters_are_computed_on_first_use_from_the_pairs_link_returned():
    number = _id("310115", "2015-03-07", 12)
    left = pd.DataFrame({"unique_id": ["a", "x"], "full_name": ["王小明", "周杰"], "id_number": [number, ""]})
    right = pd.DataFrame(
        {"unique_id": ["b", "c"], "full_name": ["王小明", "张三"], "id_number": [number, ""]}
    )
    result = link(left, right, u_pairs=1e4, em_pairs=1e4)
    assert result._clusters is None  # not computed by ``link``
    result.pairs = result.pairs.iloc[0:0]  # a caller filtering the pairs afterwards (as ``link_new`` does)
    cl = result.clusters.set_index(["side", "record_id"])["cluster_id"]
    assert cl[("left", "a")] == cl[("right", "b")]
    assert len({cl[("left", "x")], cl[("right", "c")], cl[("left", "a")]}) == 3
    assert result.clusters is result.clusters


def test_rows_not_live_take_no_part_and_the_result_is_that_of_the_live_rows_alone(trained):
    """``right_live``: older versions of rows stay in the table (no copy) and are skipped — the pairs and the
    clusters are those of linking against the live rows only."""
    import numpy as np

    left, right = people(400, seed=3)
    lf, rf = build_features(left), build_features(right)
    # older versions of 40 rows (other names and ID numbers: they would pair) and 20 rows that left, not live
    old = rf.iloc[:40].copy()
    old["idk"] = old["idk"].shift(1)
    old["nm"] = old["nm"].iloc[::-1].to_numpy()
    gone = lf.iloc[:20].assign(unique_id=[f"gone-{i}" for i in range(20)])
    held = pd.concat([old, rf, gone], ignore_index=True)
    live = np.r_[np.zeros(len(old), bool), np.ones(len(rf), bool), np.zeros(len(gone), bool)]
    kwargs = {"model": trained.model, "features_ready": True, "lower": 0.3}
    expected = link(lf, rf, **kwargs)
    got = link(lf, held, right_live=live, **kwargs)

    def pairs(result):
        return result.pairs.sort_values(["left_id", "right_id"]).reset_index(drop=True)

    assert len(expected.pairs) > 300
    assert len(link(lf, held, **kwargs).pairs) > len(expected.pairs)  # the rows not live would pair
    pd.testing.assert_frame_equal(pairs(got), pairs(expected))
    clusters = ["side", "record_id", "cluster_id"]
    pd.testing.assert_frame_equal(
        got.clusters.sort_values(clusters[:2]).reset_index(drop=True),
        expected.clusters.sort_values(clusters[:2]).reset_index(drop=True),
    )
    with pytest.raises(ValueError):
        link(lf, held, right_live=live, features_ready=True)  # no model: it would train on the stale rows
