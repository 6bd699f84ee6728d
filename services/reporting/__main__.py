import sys

from services.reporting.app import create_app
from shared.serve import serve

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "rebuild":
        from services.reporting.entrypoints.rebuild import main

        main()
    else:
        serve("reporting", create_app, default_port=8000)
