"""`python -m services.reporting.follow [--year Y] [--division 650000] [--once]`."""

from services.reporting.entrypoints.progress_follow import main

if __name__ == "__main__":
    main()
