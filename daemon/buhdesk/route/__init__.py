"""Stage 2, route: parse a stored letter or package, recognise automated mail, join it to its
request or open one."""
