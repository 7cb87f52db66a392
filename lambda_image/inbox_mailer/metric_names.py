"""Every metric the function emits: the one list that the dashboard and the alarms read too.

The stacks load this file (stacks/metric_names.py), so a renamed metric changes the graphs and alarms with it
and can never leave them empty. Nothing here imports anything outside the standard library.
"""

from __future__ import annotations

from enum import StrEnum


class Metric(StrEnum):
    # A file reached the recipients.
    FILES_MAILED = "FilesMailed"  # attached
    FILES_LINKED = "FilesLinked"  # as a download link
    # Recipients were told a file arrived that nobody can read yet (archived, or encrypted with a key the function
    # may not use); the owner must act. Alarmed on every occurrence.
    FILES_UNREADABLE = "FilesUnreadable"
    BYTES_ATTACHED = "BytesAttached"
    # One failed try; the queue retries the file, then moves it to the dead-letter queue.
    FILES_FAILED = "FilesFailed"
    # SES said "slow down": the file is retried soon, without counting towards the dead-letter queue.
    SENDS_THROTTLED = "SendsThrottled"
    # Uploads that were deliberately not mailed, one metric per reason.
    SKIPPED_DELETED = "SkippedDeleted"
    SKIPPED_SUPERSEDED = "SkippedSuperseded"
    SKIPPED_OUTSIDE_PREFIX = "SkippedOutsidePrefix"
    SKIPPED_FOLDER_MARKER = "SkippedFolderMarker"
    SKIPPED_TEST_EVENT = "SkippedTestEvent"
    SKIPPED_OTHER_EVENT = "SkippedOtherEvent"
    # A message that announces nothing at all (an S3 notification with an empty Records list).
    SKIPPED_EMPTY_EVENT = "SkippedEmptyEvent"
    # Which form of the event's key named the object (settles how S3 encodes keys in events).
    KEY_MATCHED_AS_GIVEN = "KeyMatchedAsGiven"
    KEY_MATCHED_DECODED = "KeyMatchedDecoded"


# Skips that mean "a file someone uploaded was not mailed": alarmed on when they become frequent.
UNEXPECTED_SKIPS = (Metric.SKIPPED_DELETED, Metric.SKIPPED_SUPERSEDED)
