"""Reporting settings."""

from pydantic import Field

from shared.process.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    reporting_port: int = 8000
    # How often changed progress rows go to reporting.progress.v1 (and the progress gauges refresh).
    progress_publish_interval_seconds: float = Field(default=2, gt=0, le=3600)
    # true: aggregate progress against the targets (/v1/progress*, without its CNY `awards`
    # block) is open to anyone; false (the default): it needs the role `reader` too.
    public_progress: bool = False
    # Where browsers reach the awards service (the dashboard links its lookup page and exports).
    awards_url: str = "http://127.0.0.1:8002"
