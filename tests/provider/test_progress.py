"""Sizes in transfer logs, and durations in wait reports and on the Compliance page, read as a
person would write them."""

from __future__ import annotations

import logging

import pytest

from x_compliance.hooks.progress import Progress, duration, human_size


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 KB"),
        (23_620, "23.6 KB"),
        (1_181_000, "1.2 MB"),
        (380_000_000, "380.0 MB"),
        (5_300_000_000, "5.3 GB"),
    ],
)
def test_human_size(nbytes, text):
    assert human_size(nbytes) == text


def test_a_small_upload_no_longer_reads_as_zero_megabytes():
    progress = Progress(logging.getLogger("test"), "Uploaded", total_bytes=23_620, total_ids=1_181)
    progress.advance(23_620, 1_181)
    line = progress.line()
    assert line.startswith("Uploaded 1,181 of 1,181 IDs, 23.6 KB of 23.6 KB (100%) at ")
    assert "0.0" not in line.split(" at ")[0]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "unknown"),
        (0, "0.0 s"),
        (4.24, "4.2 s"),
        (59.94, "59.9 s"),
        (60, "1 min 0 s"),
        (725, "12 min 5 s"),
        (3599.6, "1 h 0 min"),  # rounded to the second first
        (3600, "1 h 0 min"),
        (12_000, "3 h 20 min"),
    ],
)
def test_duration(seconds, text):
    assert duration(seconds) == text
