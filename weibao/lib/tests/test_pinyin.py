import pytest

from weibao.lib.pinyin import looks_like_pinyin, name_keys


@pytest.mark.parametrize(
    "name,full,initials",
    [
        ("张三", "zhangsan", "zs"),
        ("曾小明", "zengxiaoming", "zxm"),
        ("单田芳", "shantianfang", "stf"),
        ("仇英", "qiuying", "qy"),
        ("欧阳娜娜", "ouyangnana", "oynn"),
        ("长孙无忌", "zhangsunwuji", "zswj"),
        ("吕布", "lvbu", "lb"),
        ("王 小二", "wangxiaoer", "wxe"),
        ("", "", ""),
    ],
)
def test_name_keys(name, full, initials):
    assert name_keys(name) == (full, initials)


def test_looks_like_pinyin():
    assert looks_like_pinyin("zs") and looks_like_pinyin("zhang san")
    assert not looks_like_pinyin("张三") and not looks_like_pinyin("3101") and not looks_like_pinyin("")
