"""The data files of a compliance cycle, and the rules they follow: ID files (:mod:`.ids`,
which also defines what an ID is) and X's results (:mod:`.results`), both read as streams of
line blocks (:mod:`.lines`) with line lengths capped (:mod:`.limits`); the results de-duplicated
as they stream (:mod:`.seen`) and written as normalized Parquet (:mod:`.normalize`); paths given
as strings or ``ObjectStoragePath``, local or remote (:mod:`.storage_paths`)."""
