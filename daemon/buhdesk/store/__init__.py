"""The store: engine and migrations, tables, stored raw bytes and attachment files, backup."""
