"""Product telemetry pull connector: daily usage from Parquet files or an Iceberg table."""

from connectors.telemetry.connector import (
    IcebergUsage,
    ParquetUsage,
    TelemetryColumns,
    TelemetryConnector,
    UsageSource,
)

__all__ = ["IcebergUsage", "ParquetUsage", "TelemetryColumns", "TelemetryConnector", "UsageSource"]
