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


def test_a_sample_also_found_before_the_argument_still_gives_reverse_s_link():
    # "x" is in "/voxdash/" (VOXDASH_URL_PREFIX): the argument is the last occurrence.
    links = RowLinks("calls:detail", sample="calls")
    assert links.url("call_1") == reverse("calls:detail", args=["call_1"])
