"""The accountant's own tools, by mail and from the command line: a request's story, search,
internal notes, the morning list of one's requests, and merging duplicates."""
