"""lib.links.RowLinks: the link reverse() makes, without reverse() a row."""

import uuid

import pytest
from django.urls import NoReverseMatch, reverse

from voxdash.lib.links import RowLinks


@pytest.mark.parametrize(
    "name, sample, values",
    [
        ("calls:detail", "x", ["call_1", "CA-9.z~", "a b", "é", "a?b#c", "%41", "x"]),
        ("placements:detail", uuid.UUID(int=0), [uuid.UUID(int=5), uuid.uuid4()]),
        ("webhooks:log_detail", 987654321, [1, 42, 987654321]),
    ],
)
def test_each_link_is_the_one_reverse_makes(name, sample, values):
    links = RowLinks(name, sample=sample)
    assert [links.url(v) for v in values] == [reverse(name, args=[v]) for v in values]


def test_a_value_its_converter_refuses_fails_as_reverse_does():
    with pytest.raises(NoReverseMatch):
        RowLinks("calls:detail", sample="x").url("a/b")


def test_a_sample_that_is_not_once_in_the_path_is_refused():
    with pytest.raises(ValueError):
        RowLinks("calls:detail", sample="calls")
