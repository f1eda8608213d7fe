"""The one JSON reader: nested dataclasses, lists, defaults, errors that say where."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from desktop.core.files.codec import BadValueError, read


@dataclass(slots=True)
class _Point:
    at: float
    label: str = ""


@dataclass(slots=True)
class _Track:
    name: str
    points: list[_Point]
    extra: dict[str, object] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


def test_nested_lists_of_dataclasses_are_read_with_defaults() -> None:
    track = read(
        _Track,
        {"name": "a", "points": [{"at": 1}, {"at": 2.5, "label": "x"}], "new": 1},
    )
    assert track == _Track("a", [_Point(1.0), _Point(2.5, "x")])
    assert isinstance(track.points[0].at, float)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ([1], "expected an object, got a list"),
        ({"points": []}, "field 'name' is missing"),
        ({"name": "a", "points": {}}, "field 'points': expected a list"),
        (
            {"name": "a", "points": [{"at": "soon"}]},
            "field 'points': field 'at': expected a number, got 'soon'",
        ),
        ({"name": "a", "points": [], "extra": []}, "field 'extra': expected an object"),
    ],
)
def test_what_does_not_fit_is_named(value: object, says: str) -> None:
    with pytest.raises(BadValueError, match=says):
        read(_Track, value)
