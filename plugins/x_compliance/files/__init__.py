"""The data files of a compliance cycle, and the rules they follow; nothing here speaks HTTP
or imports the hooks. What an ID is (:mod:`.ids`); ID files read, normalized and validated once
before an upload (:mod:`.id_files`), handing the upload a :mod:`.validated` file; X's results
(:mod:`.results`); both read as streams of line blocks (:mod:`.lines`) with line lengths capped
(:mod:`.limits`); the results de-duplicated as they stream (:mod:`.seen`) and written as
normalized Parquet (:mod:`.normalize`); numpy and Arrow arrays shared without pandas
(:mod:`.arrow`); paths given as strings or ``ObjectStoragePath``, local or remote
(:mod:`.storage_paths`)."""
