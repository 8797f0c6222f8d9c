"""Compliance for X data kept in files: twarc2 JSON lines (raw pages and flattened Posts).

:class:`~x_compliance.lake.verdicts.Verdicts` holds a run's flagged records;
:func:`~x_compliance.lake.manifest.current_manifest` says which IDs a file holds (so only the
files that hold a flagged one are read); :func:`~x_compliance.lake.rewrite.rewrite_file`
applies the verdicts to one file, atomically, and returns the audit of every change.
"""
