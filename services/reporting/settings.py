"""Reporting settings."""

from pydantic import Field

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    reporting_port: int = 8000
    progress_gauge_interval_seconds: float = Field(default=15, gt=0)
