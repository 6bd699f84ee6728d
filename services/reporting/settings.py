"""Reporting settings."""

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    reporting_port: int = 8000
