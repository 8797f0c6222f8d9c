"""ID files: normalization, the error that names file, line and value, and streaming blocks."""

from __future__ import annotations

import io

import pytest
from airflow.sdk import ObjectStoragePath

from x_compliance.exceptions import IdFileChangedError, InvalidIdError
from x_compliance.files.ids import (
    NotAsItStands,
    iter_checked_blocks,
    iter_id_blocks,
    iter_verified_blocks,
    validate_ids,
)
from x_compliance.files.lines import iter_line_blocks


def _write(tmp_path, data: bytes):
    path = tmp_path / "ids.txt"
    path.write_bytes(data)
    return path


def _normalized(path, **kw) -> bytes:
    return b"".join(block for block, _, _ in iter_id_blocks(path, **kw))


def test_messy_but_valid_file_is_normalized(tmp_path):
    path = _write(tmp_path, b"\xef\xbb\xbf 1170025343920402432 \r\n\r\n\t42\n\n9223372036854775807")
    assert _normalized(path) == b"1170025343920402432\n42\n9223372036854775807\n"
    stats = validate_ids(path)
    assert (stats.ids, stats.upload_bytes) == (3, 43)


def test_clean_file_passes_through_unchanged(tmp_path):
    data = b"".join(b"%d\n" % (10**18 + i) for i in range(50_000))
    path = _write(tmp_path, data)
    assert _normalized(path, block_size=4096) == data
    assert validate_ids(path).ids == 50_000


@pytest.mark.parametrize(
    ("data", "line", "value"),
    [
        (b"1\n2\nabc\n", 3, "abc"),
        (b"1\n12345678901234567890\n", 2, "12345678901234567890"),
        (b"1\n\n\n-5\n", 4, "-5"),
        (b"1\n2\n3.0", 3, "3.0"),
        (b"1\n1 2\n", 2, "1 2"),
        (b"1\nNULL\r\n", 2, "NULL"),
        (b"1\n9223372036854775808\n", 2, "9223372036854775808"),
        ("1\n\u0661\u0662\n".encode(), 2, "\u0661\u0662"),
    ],
)
def test_bad_line_names_file_line_and_value(tmp_path, data, line, value):
    path = _write(tmp_path, data)
    with pytest.raises(InvalidIdError) as exc:
        validate_ids(path, job_id="77")
    assert (exc.value.line_number, exc.value.value) == (line, value)
    assert str(path) in str(exc.value) and f"line {line}" in str(exc.value) and "job 77" in str(exc.value)


def test_line_numbers_stay_right_across_blocks(tmp_path):
    lines = [b"%d" % i for i in range(1, 5000)] + [b"oops"]
    path = _write(tmp_path, b"\n".join(lines) + b"\n")
    with pytest.raises(InvalidIdError) as exc:
        validate_ids_small_blocks(path)
    assert exc.value.line_number == 5000


def test_lines_as_long_are_read_in_whole_lines_and_still_numbered_right(tmp_path):
    """A 4096-byte block holds 204 lines of 20 bytes and 16 bytes of the next: the second read
    is 16 bytes short, so from then on each read ends on a line (nothing carried and joined on)."""
    lines = [b"%d" % (10**18 + i) for i in range(5000)]
    data = b"\n".join(lines) + b"\n"
    reads = []

    class Recording(io.BytesIO):
        def read(self, size=-1):
            reads.append(size)
            return super().read(size)

    blocks = list(iter_line_blocks(Recording(data), 4096, max_line=20, source="ids.txt"))
    assert reads[:4] == [4096, 4080 - 16, 4080, 4080]
    assert [len(block) for block, _, _ in blocks[:3]] == [4080, 4080, 4080]
    assert [first for _, first, _ in blocks[:3]] == [1, 205, 409]
    assert b"".join(block for block, _, _ in blocks) == data
    lines[4321] = b"1" * 18 + b"x"  # as long as the others: found by the check of whole lines
    with pytest.raises(InvalidIdError) as exc:
        validate_ids(_write(tmp_path, b"\n".join(lines) + b"\n"))
    assert (exc.value.line_number, exc.value.value) == (4322, "1" * 18 + "x")


def validate_ids_small_blocks(path):
    for _ in iter_id_blocks(path, block_size=1000):
        pass


def test_object_storage_path_source(tmp_path):
    path = _write(tmp_path, b"1\n2\n")
    assert validate_ids(ObjectStoragePath(f"file://{path}")).ids == 2


def test_a_clean_file_is_sent_as_validated_and_a_change_stops_it(tmp_path):
    data = b"".join(b"%d\n" % (10**18 + i) for i in range(50_000))
    path = _write(tmp_path, data)
    stats = validate_ids(path)
    assert stats.blocks is not None
    assert b"".join(block for block, _ in iter_verified_blocks(path, stats)) == data
    path.write_bytes(data[:500_000] + b"x" + data[500_001:])  # changed after validation
    with pytest.raises(IdFileChangedError):
        for _ in iter_verified_blocks(path, stats):
            pass


def _checked(path, size: int, sent: list[bytes]) -> None:
    """Run :func:`iter_checked_blocks` over 200-byte blocks, keeping what it yields in ``sent``."""
    for block, _ in iter_checked_blocks(path, size, block_size=200, job_id="5"):
        sent.append(block)


def test_a_file_checked_as_it_is_sent_comes_out_as_it_stands(tmp_path):
    data = b"".join(b"%d\n" % (10**18 + i) for i in range(100))  # 2,000 bytes: ten blocks
    path = _write(tmp_path, data)
    blocks = list(iter_checked_blocks(path, len(data), block_size=200))
    assert b"".join(block for block, _ in blocks) == data and sum(n for _, n in blocks) == 100
    assert len(blocks) == 10


@pytest.mark.parametrize(
    "declared", [1_990, 1_000, 2_010], ids=["grew-in-a-block", "grew-at-a-block", "shrank"]
)
def test_a_file_that_is_not_the_declared_size_never_yields_its_last_byte(tmp_path, declared):
    """The transfer declared ``declared`` bytes: a longer file stops before the block that would
    reach them (also when they end on a block's edge), a shorter one after its last block."""
    data = b"".join(b"%d\n" % (10**18 + i) for i in range(100))
    path = _write(tmp_path, data)
    sent: list[bytes] = []
    with pytest.raises(IdFileChangedError, match=r"job 5: .*ids.txt changed while it was being uploaded"):
        _checked(path, declared, sent)
    assert sum(map(len, sent)) < declared  # the transfer never completes


@pytest.mark.parametrize(
    "data",
    [b"1\n2\r\n3\n", b"1\n2\n3", b"\xef\xbb\xbf1\n2\n", b"1\n\n2\n"],
    ids=["crlf", "no-newline", "bom", "blank"],
)
def test_a_file_checked_as_it_is_sent_must_stand_as_it_is(tmp_path, data):
    path = _write(tmp_path, data)
    with pytest.raises(NotAsItStands):
        _checked(path, len(data), [])


def test_a_bad_line_checked_as_it_is_sent_stops_before_its_block(tmp_path):
    data = b"".join(b"%d\n" % (10**18 + i) for i in range(50)) + b"12x\n"
    path = _write(tmp_path, data)
    sent: list[bytes] = []
    with pytest.raises(InvalidIdError) as exc:
        _checked(path, len(data), sent)
    assert exc.value.line_number == 51 and "unfinished, so X has none of the file" in str(exc.value)
    assert sum(map(len, sent)) == 1_000  # the five blocks before the bad one


def test_a_file_to_normalize_is_checked_again_as_it_is_sent(tmp_path):
    path = _write(tmp_path, b" 1\r\n2\n")
    stats = validate_ids(path)
    assert stats.blocks is None
    assert b"".join(block for block, _ in iter_verified_blocks(path, stats)) == b"1\n2\n"
