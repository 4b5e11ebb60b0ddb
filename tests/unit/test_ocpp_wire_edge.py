"""What the wire answers depends on which kind of edge refusal a frame meets: not plain JSON
(FormationViolation) or a value no column takes (PropertyConstraintViolation). And the depth
check's fast path agrees with the exact scan."""

from __future__ import annotations

import json
import random

import pytest

from ingest import edge


@pytest.mark.parametrize(
    "text", ['[2,"1","X",{"a":NaN}]', '[2,"1","X",Infinity]', "[" * 40 + "]" * 40]
)
def test_not_plain_json(text):
    with pytest.raises(edge.NotPlainJson):
        edge.loads(text)


@pytest.mark.parametrize(
    "text", ['[2,"1","X",{"a":"\\u0000"}]', '[2,"1","X",{"a":"\\udfff"}]', "[1e400]"]
)
def test_plain_json_holding_what_no_column_takes(text):
    with pytest.raises(edge.EdgeError) as refused:
        edge.loads(text)
    assert not isinstance(refused.value, edge.NotPlainJson)


def _document(rng: random.Random, depth: int) -> object:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(["[{", "}]", '"', "x", 1, 2.5, None, '"]]]"'])
    if rng.random() < 0.5:
        return [_document(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {f"k{i}": _document(rng, depth - 1) for i in range(rng.randint(0, 3))}


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


def test_the_depth_check_is_exact_with_brackets_and_quotes_in_strings():
    rng = random.Random(12)
    seen = set()
    for _ in range(3000):
        value = _document(rng, 22)
        text = json.dumps(value)
        deep = _depth(value) > edge.MAX_DEPTH
        seen.add(deep)
        try:
            edge.check_depth(text)
            assert not deep, text
        except edge.NotPlainJson:
            assert deep, text
    assert seen == {True, False}
