"""ID files: the ID rule in its three forms, normalization, the error that names file, line and
value, validation once with a scratch copy only when a line needs it, and the reader that
refuses a file changed since it was validated."""

from __future__ import annotations

import io
import os

import pyarrow as pa
import pytest
from airflow.sdk import ObjectStoragePath

from x_compliance.exceptions import IdFileChangedError, InvalidIdError, XComplianceError
from x_compliance.files.id_files import BLOCK_SIZE, iter_id_blocks, validated_id_file
from x_compliance.files.ids import count_id_lines, first_bad_id, id_problem
from x_compliance.files.lines import iter_line_blocks

CLEAN = b"".join(b"%d\n" % (10**18 + i) for i in range(50_000))


def _write(tmp_path, data: bytes):
    path = tmp_path / "ids.txt"
    path.write_bytes(data)
    return path


def _read_all(validated, size: int = 1 << 20) -> bytes:
    """What an upload of ``validated`` reads, read as an upload does."""
    out, left = [], validated.bytes
    with validated.open() as fh:
        fh.seek(0)
        while left:
            out.append(fh.read(min(size, left)))
            left -= len(out[-1])
    return b"".join(out)


# -- the rule ------------------------------------------------------------------------------------

RULE_CASES = [
    "1",
    "0",
    "42",
    "0000000000000000001",
    "8999999999999999999",
    "9223372036854775807",
    "9223372036854775808",
    "9999999999999999999",
    "12345678901234567890",
    "",
    "12a",
    "-5",
    " 1",
    "\u0661\u0662",
    "\u00b9\u00b2",
]


@pytest.mark.parametrize("value", RULE_CASES)
def test_the_block_and_column_checks_say_what_the_rule_says(value):
    """One rule, three forms: a value, a block of lines, an Arrow column agree on every case."""
    is_id = id_problem(value) is None
    encoded = value.encode()
    for block in (b"7\n" * 3 + encoded + b"\n", (encoded + b"\n") * 5):  # mixed and uniform widths
        assert (count_id_lines(block) is not None) == is_id, block
    for column in (pa.array(["7", value, "8"]), pa.array(["7", value], pa.large_string())):
        assert first_bad_id(column) == (None if is_id else 1)
    assert first_bad_id(pa.chunked_array([["1"], ["2", value]])) == (None if is_id else 2)


def test_the_column_check_sees_nulls_and_slices():
    assert first_bad_id(pa.array(["1", None])) == 1
    column = pa.array(["x", "1", "9223372036854775807", "9223372036854775808"])
    assert first_bad_id(column.slice(1, 2)) is None
    assert first_bad_id(column.slice(1)) == 2
    assert first_bad_id(pa.array([], pa.string())) is None


def test_a_block_counts_its_lines_only_when_every_one_is_an_id_as_it_stands():
    assert count_id_lines(b"1\n22\n333\n") == 3
    assert count_id_lines(CLEAN) == 50_000
    for messy in (b"1\r\n2\n", b"1\n\n2\n", b" 1\n", b"1\n2", b"\xef\xbb\xbf1\n"):
        assert count_id_lines(messy) is None, messy


# -- reading and normalizing ---------------------------------------------------------------------


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
def test_bad_line_names_file_line_and_value(tmp_path, scratch, data, line, value):
    path = _write(tmp_path, data)
    with pytest.raises(InvalidIdError) as exc, validated_id_file(path, job_id="77"):
        pass
    assert (exc.value.line_number, exc.value.value) == (line, value)
    assert str(path) in str(exc.value) and f"line {line}" in str(exc.value) and "job 77" in str(exc.value)


def test_line_numbers_stay_right_across_blocks(tmp_path):
    lines = [b"%d" % i for i in range(1, 5000)] + [b"oops"]
    path = _write(tmp_path, b"\n".join(lines) + b"\n")
    with pytest.raises(InvalidIdError) as exc:
        for _ in iter_id_blocks(path, block_size=1000):
            pass
    assert exc.value.line_number == 5000


def test_lines_as_long_are_read_in_whole_lines_and_still_numbered_right(tmp_path, scratch):
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
    assert [len(block) for block, _ in blocks[:3]] == [4080, 4080, 4080]
    assert [first for _, first in blocks[:3]] == [1, 205, 409]
    assert b"".join(block for block, _ in blocks) == data
    lines[4321] = b"1" * 18 + b"x"  # as long as the others: found by the check of whole lines
    with pytest.raises(InvalidIdError) as exc, validated_id_file(_write(tmp_path, b"\n".join(lines) + b"\n")):
        pass
    assert (exc.value.line_number, exc.value.value) == (4322, "1" * 18 + "x")


# -- validation once, and what it hands the upload -----------------------------------------------


def test_a_clean_file_is_sent_itself_no_copy_made(tmp_path, scratch):
    path = _write(tmp_path, CLEAN)
    with validated_id_file(path, job_id="3") as validated:
        assert (validated.path, validated.ids, validated.bytes) == (path, 50_000, len(CLEAN))
        assert not list(scratch.iterdir())
        assert _read_all(validated) == CLEAN


def test_an_object_storage_path_in_a_local_folder_is_sent_itself(tmp_path, scratch):
    path = _write(tmp_path, b"1\n2\n")
    with validated_id_file(ObjectStoragePath(f"file://{path}")) as validated:
        assert (validated.path, validated.ids) == (path, 2)


def test_an_id_file_in_an_object_store_is_read_once_into_a_scratch_copy(tmp_path, scratch, monkeypatch):
    """No object store here: the one decision that a path is not local is made to say so."""
    from x_compliance.files import id_files

    path = _write(tmp_path, CLEAN)
    monkeypatch.setattr(id_files, "local_file", lambda source: None)
    with validated_id_file(path) as validated:
        assert validated.path.parent == scratch and validated.path.read_bytes() == CLEAN
        assert _read_all(validated) == CLEAN


@pytest.mark.parametrize(
    ("data", "normalized"),
    [
        (b"\xef\xbb\xbf 1170025343920402432 \r\n\r\n\t42\n\n9223372036854775807", None),
        (b"1\n2\r\n3\n", b"1\n2\n3\n"),
        (b"1\n2\n3", b"1\n2\n3\n"),
        (b"\xef\xbb\xbf1\n2\n", b"1\n2\n"),
        (b"1\n\n2\n", b"1\n2\n"),
    ],
    ids=["all-of-it", "crlf", "no-final-newline", "bom", "blank"],
)
def test_a_file_with_lines_to_normalize_is_sent_as_a_scratch_copy_removed_after(
    tmp_path, scratch, data, normalized
):
    normalized = normalized or b"1170025343920402432\n42\n9223372036854775807\n"
    path = _write(tmp_path, data)
    with validated_id_file(path) as validated:
        assert validated.path.parent == scratch and validated.path.read_bytes() == normalized
        assert (validated.ids, validated.bytes) == (normalized.count(b"\n"), len(normalized))
        assert _read_all(validated) == normalized
    assert path.read_bytes() == data  # the source is never touched


def test_lines_to_normalize_past_the_first_block_copy_the_blocks_before_as_they_stand(tmp_path, scratch):
    clean = b"".join(b"%d\n" % (10**18 + i) for i in range(300_000))  # 6 MB: the first block clean
    messy = b"".join(b" %d \r\n" % (2 * 10**18 + i) for i in range(1000))
    path = _write(tmp_path, clean + messy)
    expected = clean + b"".join(b"%d\n" % (2 * 10**18 + i) for i in range(1000))
    assert len(clean) > BLOCK_SIZE
    with validated_id_file(path) as validated:
        assert validated.path != path and validated.path.read_bytes() == expected
        assert validated.ids == 301_000


def test_a_bad_line_after_lines_to_normalize_leaves_no_scratch_copy(tmp_path, scratch):
    clean = b"".join(b"%d\n" % (10**18 + i) for i in range(300_000))
    path = _write(tmp_path, clean + b" 5 \r\n" * 10 + b"12x\n")
    with pytest.raises(InvalidIdError) as exc, validated_id_file(path):
        pass
    assert exc.value.line_number == 300_011
    # and the scratch fixture checks the copy begun at line 300,001 is gone


def test_an_error_in_the_with_block_removes_the_scratch_copy(tmp_path, scratch):
    with pytest.raises(RuntimeError), validated_id_file(_write(tmp_path, b" 1\n")):
        raise RuntimeError("the upload failed")


@pytest.mark.parametrize("content", [b"", b"\n\n \r\n"], ids=["empty", "blank-lines"])
def test_a_file_without_ids_is_refused(tmp_path, scratch, content):
    path = _write(tmp_path, content)
    with pytest.raises(XComplianceError, match="to upload to job 4"), validated_id_file(path, job_id="4"):
        pass


# -- a file changed since its validation ---------------------------------------------------------


def _grow(path):
    with path.open("ab") as fh:
        fh.write(b"77\n")


def _shrink(path):
    os.truncate(path, path.stat().st_size - 20)


def _edit_in_place(path):
    with path.open("r+b") as fh:
        fh.seek(500_000)
        fh.write(b"x")
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 10**9))  # a later mtime, whatever the clock


@pytest.mark.parametrize("change", [_grow, _shrink, _edit_in_place], ids=["grew", "shrank", "edited"])
def test_a_file_changed_after_validation_never_hands_out_its_last_bytes(tmp_path, scratch, change):
    path = _write(tmp_path, CLEAN)
    with validated_id_file(path, job_id="5") as validated:
        change(path)
        read = []
        with pytest.raises(IdFileChangedError, match=r"job 5: .*ids.txt changed"), validated.open() as fh:
            fh.seek(0)
            while piece := fh.read(200_000):
                read.append(piece)
    assert sum(map(len, read)) < len(CLEAN)  # whoever sends it never sends the last byte


def test_a_file_changed_while_it_is_validated_is_refused(tmp_path, scratch, monkeypatch):
    path = _write(tmp_path, CLEAN + b" 1\n")
    from x_compliance.files import id_files

    real, grown = id_files.count_id_lines, []

    def changing(block):
        if not grown:
            _grow(path)  # someone appends while the file is read
            grown.append(True)
        return real(block)

    monkeypatch.setattr(id_files, "count_id_lines", changing)
    with pytest.raises(IdFileChangedError), validated_id_file(path):
        pass
