"""The burst bench's stand-in for SES counts recipients as SES does, and its scenarios send to r recipients."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bench.burst import SCENARIOS, TokenBucketSes, figure, recipient_addresses
from inbox_mailer.contract import MailerSettings
from tests.handler.support import CONTRACT_ENV


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _mail(recipients: int, subject: str = "file-1") -> dict[str, Any]:
    return {
        "FromEmailAddress": "mailer@example.com",
        "Destination": {"ToAddresses": recipient_addresses(recipients)},
        "Content": {"Raw": {"Data": f"Subject: {subject}\r\n\r\nbody".encode()}},
    }


def test_a_mail_takes_one_token_per_recipient_and_is_refused_when_fewer_are_left() -> None:
    # GIVEN a bucket of 10 recipients whose clock stands still
    ses = TokenBucketSes(rate=1.0, capacity=10.0, clock=_Clock())

    # WHEN two mails to 4 recipients go out
    ses.send_email(**_mail(4, "file-1"))
    ses.send_email(**_mail(4, "file-2"))

    # THEN a mail to 3 finds only 2 tokens and is refused with SES's throttling error
    with pytest.raises(ClientError) as refused:
        ses.send_email(**_mail(3, "file-3"))
    assert refused.value.response["Error"] == {
        "Code": "TooManyRequestsException",
        "Message": "Maximum sending rate exceeded.",
    }
    assert ses.throttled == 1
    # AND a mail to 2 still goes, after which nothing is left
    ses.send_email(**_mail(2, "file-3"))
    with pytest.raises(ClientError):
        ses.send_email(**_mail(1, "file-4"))
    # AND the mails are recorded per file and per recipient count; the refused ones are not
    assert ses.mailed == {"Subject: file-1": 1, "Subject: file-2": 1, "Subject: file-3": 1}
    assert ses.recipients_per_mail == {4: 2, 2: 1}


def test_copies_count_as_recipients() -> None:
    ses = TokenBucketSes(rate=1.0, capacity=3.0, clock=_Clock())
    mail = _mail(2)
    mail["Destination"]["BccAddresses"] = ["audit@example.com", "archive@example.com"]

    with pytest.raises(ClientError):
        ses.send_email(**mail)


def test_the_bucket_refills_at_its_rate_in_recipients_up_to_its_capacity() -> None:
    # GIVEN an emptied bucket of 10 recipients refilled at 4 a second
    clock = _Clock()
    ses = TokenBucketSes(rate=4.0, capacity=10.0, clock=clock)
    ses.send_email(**_mail(10))

    # WHEN 2 s pass, a mail to 10 is still short of 2 recipients; a mail to 8 goes
    clock.now = 2.0
    with pytest.raises(ClientError):
        ses.send_email(**_mail(10))
    ses.send_email(**_mail(8))

    # AND after a long pause the bucket holds its capacity, not more
    clock.now = 100.0
    ses.send_email(**_mail(10))
    with pytest.raises(ClientError):
        ses.send_email(**_mail(1))


def test_the_scenarios_send_to_one_and_to_ten_recipients_at_the_sandbox_and_production_rates() -> None:
    assert sorted((s.files, s.rate, s.recipients) for s in SCENARIOS.values()) == [
        (200, 1.0, 1),
        (200, 1.0, 10),
        (200, 14.0, 1),
        (200, 14.0, 10),
    ]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_can_send_its_mail_and_drains_in_about_a_minute(name: str) -> None:
    scenario = SCENARIOS[name]
    # SES's bucket holds a mail to every recipient, and two to one, however fast the scenario runs
    assert scenario.ses_capacity >= scenario.recipients
    assert scenario.ses_capacity == max(scenario.rate, 50)
    # The floor counts recipients, in real seconds
    assert scenario.floor_s == pytest.approx(scenario.files * scenario.recipients / (scenario.rate * scenario.speed))
    assert scenario.floor_s <= 60


def test_the_ten_recipient_sandbox_burst_runs_forty_times_faster_than_real_time() -> None:
    assert SCENARIOS["sandbox_1_per_s_10_recipients"].speed == 40


@pytest.mark.parametrize("count", [1, 10])
def test_the_mailer_is_given_as_many_distinct_recipients_as_the_scenario_names(count: int) -> None:
    settings = MailerSettings.from_env({**CONTRACT_ENV, "RECIPIENTS": ",".join(recipient_addresses(count))})

    assert len(settings.recipients) == count


def _result(**changes: Any) -> dict[str, Any]:
    result = {
        "files": 200,
        "recipients": 10,
        "files_mailed": 200,
        "duplicates": 0,
        "recipients_per_mail": {"10": 200},
        "dead_letter": 0,
        "drained": True,
        "ratio": 1.1,
    }
    return {**result, **changes}


def test_the_figure_is_the_worst_scenario_and_is_met_only_by_every_file_mailed_once_to_all_within_the_goal() -> None:
    assert figure([_result(), _result(recipients=1, recipients_per_mail={"1": 200}, ratio=1.2)]).value == 1.2
    assert figure([_result(), _result(ratio=1.2)]).met is True
    assert figure([_result(), _result(ratio=2.2)]).met is False
    assert figure([_result(), _result(recipients_per_mail={"10": 199, "9": 1})]).met is False
    assert figure([_result(), _result(dead_letter=1)]).met is False
    assert figure([_result(), _result(duplicates=1)]).met is False
