"""List settings forgive the spaces and separators people type; `region` is one botocore knows, read offline.

GIVEN a list of addresses written with commas or semicolons and any spaces around them (as `-c` passes it), the
setting holds exactly those addresses; an empty item (a doubled or trailing separator) is skipped. GIVEN a region,
it is accepted only if botocore's bundled partitions list it, and a near miss gets a "did you mean".
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stacks.settings import Settings, SettingsError, known_regions
from tests.conftest import cdk_json_context

LIST_SETTINGS = ("recipients", "alarm_emails")

addresses = st.lists(
    st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z0-9]{1,5})?@[a-z][a-z0-9-]{0,8}[a-z0-9]\.(com|org|io|de)", fullmatch=True),
    min_size=1,
    max_size=5,
    unique_by=str.lower,
)
separators = st.sampled_from([",", ";"])
spaces = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def written(draw: st.DrawFn, items: list[str]) -> str:
    """`items` joined as a person types them: each separator a comma or semicolon, spaces on either side or none,
    sometimes a doubled or a trailing separator."""
    text = draw(spaces)
    for index, item in enumerate(items):
        text += item
        if index < len(items) - 1 or draw(st.booleans()):
            text += draw(spaces) + draw(separators) + draw(spaces)
            if draw(st.integers(0, 4)) == 0:
                text += draw(separators) + draw(spaces)
    return text


def _setting(key: str, value: Any) -> Any:
    return getattr(Settings.from_context({**cdk_json_context(), key: value}), key)


def _refusal(context: dict[str, Any]) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_context({**cdk_json_context(), **context})
    return str(raised.value)


@pytest.mark.parametrize("key", LIST_SETTINGS)
@given(data=st.data(), items=addresses)
def test_a_list_setting_holds_the_addresses_whatever_separators_and_spaces_join_them(
    key: str, data: st.DataObject, items: list[str]
) -> None:
    text = data.draw(written(items))
    assert _setting(key, text) == tuple(items)


@pytest.mark.parametrize(
    "text",
    [
        "a@x.com,b@x.com",
        "a@x.com, b@x.com",
        "a@x.com; b@x.com",
        "a@x.com;b@x.com",
        "a@x.com ,b@x.com",
        " a@x.com ; b@x.com ",
        "a@x.com,,b@x.com",
        "a@x.com, b@x.com,",
        "a@x.com;\tb@x.com;",
    ],
)
def test_the_forms_people_type_mean_the_same_two_recipients(text: str) -> None:
    assert _setting("recipients", text) == ("a@x.com", "b@x.com")


@pytest.mark.parametrize("key", LIST_SETTINGS)
def test_a_list_of_addresses_joined_by_spaces_alone_is_refused_in_one_line_naming_the_setting(key: str) -> None:
    message = _refusal({key: "a@x.com b@x.com"})
    assert message.startswith(f"Invalid setting '{key}' = 'a@x.com b@x.com': expected ")
    assert "separated by commas or semicolons" in message
    assert "\n" not in message


def test_recipients_that_are_only_separators_name_no_address_and_are_refused() -> None:
    assert _refusal({"recipients": " , ; "}).startswith("Invalid setting 'recipients' = ' , ; ': expected 1 to 50 ")


def test_the_same_address_twice_is_refused_whatever_separates_it() -> None:
    assert _refusal({"recipients": "a@x.com; A@x.com"}).startswith("Invalid setting 'recipients'")


# Regions


@given(region=st.sampled_from(sorted(known_regions())))
def test_every_region_botocore_knows_is_accepted(region: str) -> None:
    assert _setting("region", region) == region


def test_the_known_regions_span_the_partitions_and_leave_out_the_global_pseudo_regions() -> None:
    assert {"eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1", "eusc-de-east-1"} <= known_regions()
    assert not any(region.endswith("-global") for region in known_regions())


def test_eu_west_9_gets_one_line_naming_region_with_a_did_you_mean() -> None:
    message = _refusal({"region": "eu-west-9"})
    assert "\n" not in message
    assert message.startswith("Invalid setting 'region' = 'eu-west-9': did you mean 'eu-west-")
    suggested = message.split("did you mean '")[1].split("'")[0]
    assert suggested in known_regions()
    assert message.endswith("Expected an AWS region name such as eu-west-1, one of the regions botocore knows.")


@pytest.mark.parametrize(
    ("near_miss", "suggested"),
    [("EU-WEST-1", "eu-west-1"), ("euwest1", "eu-west-1"), ("eu-centrale-1", "eu-central-1"), ("us-east-7", None)],
)
def test_a_near_miss_is_refused_with_the_nearest_known_region(near_miss: str, suggested: str | None) -> None:
    message = _refusal({"region": near_miss})
    assert message.startswith(f"Invalid setting 'region' = {near_miss!r}: did you mean '")
    if suggested is not None:
        assert f"did you mean '{suggested}'?" in message


@pytest.mark.parametrize("unknown", ["mars", "xx-nowhere-0", "local"])
def test_a_region_near_nothing_known_is_refused_without_a_guess(unknown: str) -> None:
    assert _refusal({"region": unknown}) == (
        f"Invalid setting 'region' = {unknown!r}: expected an AWS region name such as eu-west-1, one of the regions "
        "botocore knows."
    )


def test_the_regions_are_read_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the region check tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    known_regions.cache_clear()
    assert "eu-west-1" in known_regions()
    assert _refusal({"region": "eu-west-9"}).startswith("Invalid setting 'region'")
