"""How large the data files and their lines can be, in one place (imports nothing heavy, so the
hook can size a download without loading pyarrow).

An ID line is at most 19 digits (plus padding, a BOM or ``\\r`` that the reader strips); a result
line about 200 bytes. Lines past these caps are refused as the file streams, and a download
past its cap stops, however well it compresses.
"""

from __future__ import annotations

# An ID line with its padding, BOM and "\r": anything longer is not an ID file.
MAX_ID_LINE = 256
# A real result line is about 200 bytes; one of 16 KiB is no result.
MAX_RESULT_LINE = 16 << 10
# What X can send: about 200 bytes a result line, at most one line per uploaded ID (plus
# repeats, which real files have); the cap allows four times that, and never less than 64 MiB.
RESULT_LINE_BYTES = 200
HEADROOM = 4
MIN_RESULTS_CAP = 64 << 20
# When nothing says how many IDs went up: room for 10M results at the same headroom (8 GB). X
# documents no largest job, so a smaller default would refuse real results; a bomb is stopped
# by the compression ratio below long before it, whatever the cap.
UNKNOWN_RESULTS_CAP = 10_000_000 * RESULT_LINE_BYTES * HEADROOM
# Real results gzip about 4 to 16 times (random to consecutive IDs, gzip levels 1 to 9), 26
# with every line twice; a gzip bomb inflates about 1,000 times. Past the floor, a download that
# inflates more than this many times the compressed bytes received is refused: a body of N
# bytes costs at most this many times N of work (or the floor), never the cap's worth.
MAX_COMPRESSION_RATIO = 100
COMPRESSION_RATIO_FLOOR = 16 << 20


def results_byte_cap(uploaded_ids: int | None) -> int:
    """The most bytes a results file for ``uploaded_ids`` IDs may hold (decompressed)."""
    if not uploaded_ids:
        return UNKNOWN_RESULTS_CAP
    return max(MIN_RESULTS_CAP, uploaded_ids * RESULT_LINE_BYTES * HEADROOM)
