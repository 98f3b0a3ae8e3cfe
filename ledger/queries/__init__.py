"""Saved outcome queries (DuckDB SQL over the Iceberg tables); ``ledger.analysis`` loads and runs them."""
