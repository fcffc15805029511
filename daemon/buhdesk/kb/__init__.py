"""The knowledge base: articles, their search, and the articles offered in letters and reports."""
