import sys

from services.awards.app import create_app
from shared.serve import serve

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "what-if":
        from services.awards.entrypoints.what_if_cli import main

        main(sys.argv[2:])
    else:
        serve("awards", create_app, default_port=8002)
