"""Reporting settings."""

from pydantic import Field

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    reporting_port: int = 8000
    # How often changed progress rows go to reporting.progress.v1 (and the progress gauges refresh).
    progress_publish_interval_seconds: float = Field(default=2, gt=0, le=3600)
    # false: the dashboard and /v1/progress* need one of API_READ_TOKENS, like the other reads.
    public_dashboard: bool = True
    # Where browsers reach the awards service (the dashboard links its lookup page and exports).
    awards_url: str = "http://127.0.0.1:8002"
