"""The data files of a compliance cycle, and the rules they follow: ID files (:mod:`.ids`,
which also defines what an ID is) and X's results (:mod:`.results`), both read as streams of
line blocks (:mod:`.lines`) with line lengths capped."""
